import Foundation
import Testing
import TrainyardTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The README's quick start, run as a new user runs it: a `git clone` of this repository into a temporary directory,
/// `scripts/serve` from its first block (which builds the clone from nothing), then every later shell block of the
/// section pasted, in order, into one shell, with a home directory of its own. A README that names a script the
/// worker does not have, a CLI that only works inside the checkout, or a serve that builds too little fails here.
///
/// It builds a second copy of the project, so `scripts/test` runs it on its own after the rest of the suite
/// (`TRAINYARD_QUICKSTART_TEST=1`), where the build cannot slow the other tests down.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["TRAINYARD_QUICKSTART_TEST"] == "1"))
struct QuickStartTests {
    /// The repository this test file belongs to.
    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The shell blocks of README's "Quick start" section, in order.
    static func quickStartBlocks(_ readme: String) throws -> [String] {
        guard let start = readme.range(of: "\n## Quick start\n") else { throw TestFailure("README.md has no '## Quick start' section") }
        let rest = readme[start.upperBound...]
        let section = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
        var blocks: [String] = []
        var current: [Substring]?
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```sh" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    @Test func theQuickStartRunsAsWrittenFromAFreshClone() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-quickstart-\(UUID().uuidString)").path
        let home = root + "/home"
        let clone = root + "/trainyard"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await Self.shell("git clone --quiet \(Self.repository) \(clone)", in: root, home: home, log: root + "/clone.log", timeout: .seconds(120))

        let blocks = try Self.quickStartBlocks(try String(contentsOfFile: clone + "/README.md", encoding: .utf8))
        try #require(blocks.count >= 2, "the quick start needs its serve block and at least one block of client commands")
        let serveLine = try #require(
            blocks[0].split(separator: "\n").first { $0.hasPrefix("scripts/serve") }, "the quick start's first block starts the service")
        #expect(blocks[0].contains("scripts/test"), "the quick start's first block names the test command")

        // The service, from its first block, on a port of its own (the README's clients find it through the profile
        // serve writes, whatever the port).
        let port = try TestPorts.block(count: 1)
        let serveLog = root + "/serve.log"
        let serve = try Self.start(
            String(serveLine.split(separator: "#").first ?? serveLine), in: clone, home: home, log: serveLog, extra: ["TRAINYARD_PORT": "\(port)"])
        defer {
            // Its whole process group (Foundation makes the child a group leader): a build still running, or serve.
            kill(-serve.processIdentifier, SIGTERM)
            serve.waitUntilExit()
        }
        // A cold build of the clone comes first.
        let deadline = ContinuousClock.now + .seconds(1800)
        while !((try? String(contentsOfFile: serveLog, encoding: .utf8)) ?? "").contains("listening on") {
            guard serve.isRunning else { throw TestFailure("scripts/serve exited:\n\(Self.tail(serveLog))") }
            guard ContinuousClock.now < deadline else { throw TestFailure("scripts/serve did not listen in time:\n\(Self.tail(serveLog))") }
            try await Task.sleep(for: .seconds(1))
        }

        // Every later block, pasted in order into one shell that stops at the first failing command.
        let script = "set -euo pipefail\nset -x\n" + blocks.dropFirst().joined(separator: "\n") + "\n"
        try script.write(toFile: root + "/quickstart.sh", atomically: true, encoding: .utf8)
        let output = root + "/quickstart.log"
        try await Self.shell("bash \(root)/quickstart.sh", in: clone, home: home, log: output, timeout: .seconds(900))
        let printed = try String(contentsOfFile: output, encoding: .utf8)
        // The first job ran the example to its end on two hosts, and its lines are there.
        #expect(printed.contains("Completed"), "the first job did not complete:\n\(printed)")
        #expect(printed.contains("algo-2"), "the job's log shows both hosts:\n\(printed)")
        #expect(printed.contains("final loss="), "the example's last line is in the log:\n\(printed)")
    }

    /// The environment of a new user: their own home directory, and none of this test run's Trainyard settings.
    static func environment(home: String, extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TRAINYARD_") && !$0.key.hasPrefix("AWS_") }
        environment["HOME"] = home
        environment["XDG_CONFIG_HOME"] = nil
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    static func start(_ command: String, in directory: String, home: String, log: String, extra: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment(home: home, extra: extra)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs `command` to its end; throws with its output when it fails.
    static func shell(_ command: String, in directory: String, home: String, log: String, timeout: Duration) async throws {
        let process = try start(command, in: directory, home: home, log: log)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw TestFailure("\(command) did not finish within \(timeout):\n\(tail(log))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        guard process.terminationStatus == 0 else { throw TestFailure("\(command) exited \(process.terminationStatus):\n\(tail(log))") }
    }

    static func tail(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false).suffix(60)
            .joined(separator: "\n")
    }
}
