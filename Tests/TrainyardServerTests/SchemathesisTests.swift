import Foundation
import Testing
import TrainyardTestSupport

/// The spec says what the server enforces: schemathesis generates requests from openapi/trainyard.yaml, valid and
/// invalid, and sends them to the real server (a real port, a real PostgreSQL, the bootstrap admin key). It must find
/// no 5xx, no answer the spec does not describe, no invalid request accepted and no valid one refused for a rule the
/// schema could have stated. Tests/Schemathesis holds its configuration (what is left out, and why) and the hook that
/// judges refusals of valid data.
@Suite struct SchemathesisTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Examples per operation and phase: enough to reach every rule, bounded so the run takes a few minutes on 2 cores.
    /// `TRAINYARD_SCHEMATHESIS_MAX_EXAMPLES` raises it to explore further.
    static let maxExamples = ProcessInfo.processInfo.environment["TRAINYARD_SCHEMATHESIS_MAX_EXAMPLES"].flatMap { Int($0) } ?? 30
    /// The seed: fixed, so a run is reproducible; `TRAINYARD_SCHEMATHESIS_SEED` picks another to explore.
    static let seed = ProcessInfo.processInfo.environment["TRAINYARD_SCHEMATHESIS_SEED"].flatMap { Int($0) } ?? 1
    /// Every phase; `TRAINYARD_SCHEMATHESIS_PHASES` (schemathesis's `--phases`) runs fewer, to explore one further.
    static let phases = ProcessInfo.processInfo.environment["TRAINYARD_SCHEMATHESIS_PHASES"] ?? "examples,coverage,fuzzing,stateful"

    @Test func schemathesisFindsNothingOverTheWholeSpec() async throws {
        // Given: the pinned schemathesis and the real server.
        let schemathesis = try await TestSchemathesis.executable()
        let directory = Self.root.appendingPathComponent("Tests/Schemathesis").path
        try await LiveApp.run { app in
            // When: every phase runs over every operation, with every check.
            func runOnce() async throws -> (status: Int32, output: String, elapsed: Duration) {
                let started = ContinuousClock.now
                let (status, output) = try await TestSchemathesis.run(
                    "/usr/bin/timeout",
                    [
                        // A watchdog: a run that hangs fails here instead of holding the suite.
                        "600", schemathesis, "--config-file", directory + "/schemathesis.toml", "--no-color", "run",
                        Self.root.appendingPathComponent("openapi/trainyard.yaml").path, "--url", app.baseURL,
                        "-H", "Authorization: Bearer \(app.token)", "--phases", Self.phases,
                        "--max-examples", "\(Self.maxExamples)", "--checks", "all", "--workers", "2", "--seed", "\(Self.seed)",
                        // Left out until the change that answers 405 with `Allow` to a method a path does not have (issue 16,
                        // the input-limits branch) is merged: until then such a request is a 404. Remove these two then.
                        "--exclude-checks", "unsupported_method",
                        // Hypothesis health checks judge the generator, not the server: drawing 100 locations with URI patterns is large
                        // and slow to draw, and a health check failing the first draw made the run report a flaky internal error.
                        "--suppress-health-check", "all",
                    ],
                    environment: ["SCHEMATHESIS_HOOKS": directory + "/hooks.py", "PYTHONDONTWRITEBYTECODE": "1"])
                return (status, output, ContinuousClock.now - started)
            }
            var run = try await runOnce()
            if run.status != 0, Self.onlyInterpreterErrors(in: run.output) {
                // The Python interpreter's own fault inside schemathesis, not a finding about the server: once more.
                print("schemathesis stopped on an interpreter error, not a finding; running it again:\n\(Self.findings(in: run.output).prefix(3000))")
                run = try await runOnce()
            }
            // Then: it found nothing.
            #expect(
                run.status == 0, "schemathesis (exit \(run.status), \(run.elapsed), seed \(Self.seed)) reported findings:\n\(Self.findings(in: run.output))")
            if run.status == 0 { print("schemathesis passed in \(run.elapsed):\n\(run.output.suffix(1500))") }
        }
    }

    /// Whether a failed run's only errors are CPython's own `SystemError`s (such as "AST constructor recursion depth
    /// mismatch", raised inside schemathesis while it compiled a pattern, seen once in 2,340 cases): no failure of a
    /// check, and every runtime error one of those.
    static func onlyInterpreterErrors(in output: String) -> Bool {
        guard !output.contains("=== FAILURES ===") else { return false }
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let errors = lines.indices.filter { lines[$0] == "Runtime Error" }
        guard !errors.isEmpty else { return false }
        return errors.allSatisfy { $0 + 1 < lines.count && lines[$0 + 1].hasPrefix("SystemError:") }
    }

    @Test func anInterpreterErrorIsToldApartFromAFinding() {
        let interpreter = """
            === ERRORS ====================================
            ______________________________ POST /v1/api-keys _______________________________
            Runtime Error

                SystemError: AST constructor recursion depth mismatch (before=204, after=219)
            Test cases:
              2340 generated, 2340 passed, 1 errored, 50 skipped
            """
        #expect(Self.onlyInterpreterErrors(in: interpreter))
        #expect(!Self.onlyInterpreterErrors(in: interpreter + "\n=== FAILURES ===\n_ GET /v1/jobs _\n- Server error"))
        #expect(!Self.onlyInterpreterErrors(in: interpreter.replacingOccurrences(of: "SystemError: AST", with: "ConnectionError: refused")))
        #expect(!Self.onlyInterpreterErrors(in: "=== FAILURES ===\n- Server error\n"))
    }

    /// What a failed run reported, its Python tracebacks folded to their exceptions and long lines cut: the failures
    /// and errors come first, so an output shortened by CI still shows what failed and how to reproduce it.
    static func findings(in output: String) -> String {
        var kept: [Substring] = []
        var folded = 0
        var codeLineFollows = false
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            let content = line.drop { $0 == " " || $0 == "|" }
            let isCaretLine = !content.isEmpty && content.allSatisfy { $0 == "^" || $0 == "~" || $0 == " " }
            if content.hasPrefix("File \"") || codeLineFollows || isCaretLine {
                codeLineFollows = content.hasPrefix("File \"")
                folded += 1
                continue
            }
            if folded > 0 { kept.append("    … \(folded) traceback lines folded"); folded = 0 }
            // An exception's message may quote a whole source file on one line.
            kept.append(line.count > 600 ? Substring(line.prefix(600) + " … (\(line.count - 600) more characters)") : line)
        }
        let summary = kept.joined(separator: "\n")
        let sections = ["=== ERRORS ===", "=== FAILURES ==="].compactMap { summary.range(of: $0)?.lowerBound }
        guard let start = sections.min() else { return summary }
        return String(summary[start...]) + "\n\n(the run's start)\n" + String(summary[..<start])
    }
}
