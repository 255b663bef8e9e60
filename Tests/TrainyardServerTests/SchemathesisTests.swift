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
    static let maxExamples = 30

    @Test func schemathesisFindsNothingOverTheWholeSpec() async throws {
        // Given: the pinned schemathesis and the real server.
        let schemathesis = try await TestSchemathesis.executable()
        let directory = Self.root.appendingPathComponent("Tests/Schemathesis").path
        try await LiveApp.run { app in
            // When: every phase runs over every operation, with every check.
            let started = ContinuousClock.now
            let (status, output) = try await TestSchemathesis.run(
                "/usr/bin/timeout",
                [
                    // A watchdog: a run that hangs fails here instead of holding the suite.
                    "600", schemathesis, "--config-file", directory + "/schemathesis.toml", "--no-color", "run",
                    Self.root.appendingPathComponent("openapi/trainyard.yaml").path, "--url", app.baseURL,
                    "-H", "Authorization: Bearer \(app.token)", "--phases", "examples,coverage,fuzzing,stateful",
                    "--max-examples", "\(Self.maxExamples)", "--checks", "all", "--workers", "2", "--seed", "1",
                    // Left out until the change that answers 405 with `Allow` to a method a path does not have (issue 16,
                    // the input-limits branch) is merged: until then such a request is a 404. Remove these two then.
                    "--exclude-checks", "unsupported_method",
                    // Hypothesis health checks judge the generator, not the server: drawing 100 locations with URI patterns is large
                    // and slow to draw, and a health check failing the first draw made the run report a flaky internal error.
                    "--suppress-health-check", "all",
                ],
                environment: ["SCHEMATHESIS_HOOKS": directory + "/hooks.py", "PYTHONDONTWRITEBYTECODE": "1"])
            // Then: it found nothing.
            let elapsed = ContinuousClock.now - started
            #expect(status == 0, "schemathesis (exit \(status), \(elapsed)) reported findings:\n\(output)")
            if status == 0 { print("schemathesis passed in \(elapsed):\n\(output.suffix(1500))") }
        }
    }
}
