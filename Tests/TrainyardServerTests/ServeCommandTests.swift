import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `trainyard serve` runs `trainyard-server` (the CLI carries none of the server's code): found beside the CLI, with
/// every argument handed over, `--help` included, and a message that says what to do when it is not there.
@Suite struct ServeCommandTests {
    /// Runs `executable arguments…` with `PATH` set to `path` and no `TRAINYARD_*` setting; its exit status and its
    /// output and errors together.
    static func run(_ executable: String, _ arguments: [String], path: String) async throws -> (status: Int32, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("serve-command-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await runTrainyard(
            arguments, in: directory, environment: ["PATH": path], isolated: true, mergingErrors: true, timeout: .seconds(60),
            executable: executable)
    }

    @Test func serveHelpIsTheServersWithEverySetting() async throws {
        let (status, output) = try await Self.run(ServeProcess.binary, ["serve", "--help"], path: "/usr/bin:/bin")
        #expect(status == 0, "\(output)")
        #expect(output.contains("USAGE: trainyard serve"), "\(output)")
        #expect(output.contains("--max-queued-jobs"), "\(output)")
        #expect(output.contains("--data-dir"), "\(output)")
    }

    @Test func theClientsHelpListsServe() async throws {
        let (status, output) = try await Self.run(ServeProcess.binary, ["--help"], path: "/usr/bin:/bin")
        #expect(status == 0, "\(output)")
        #expect(output.contains("serve") && output.contains("trainyard-server"), "\(output)")
    }

    @Test func aWrongServeFlagIsTheServersUsageError() async throws {
        let (status, output) = try await Self.run(ServeProcess.binary, ["serve", "--no-such-setting", "1"], path: "/usr/bin:/bin")
        #expect(status == 2, "\(output)")
        #expect(output.contains("--no-such-setting"), "\(output)")
    }

    @Test func withoutTrainyardServerServeSaysWhereItLookedAndHowToGetIt() async throws {
        // The CLI alone in a directory of its own (a hard link when it can be one, else a copy), nothing on PATH.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("serve-alone-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let alone = directory + "/trainyard"
        if link(ServeProcess.binary, alone) != 0 { try FileManager.default.copyItem(atPath: ServeProcess.binary, toPath: alone) }
        let (status, output) = try await Self.run(alone, ["serve", "--port", "0"], path: "/usr/bin:/bin")
        #expect(status == 1)
        #expect(
            output
                == "error: trainyard serve runs trainyard-server, which is neither beside \(alone) nor on PATH: build it "
                + "(`swift build --product trainyard-server`; scripts/serve and scripts/install do) or put it on PATH\n")
        // On PATH, it is found there.
        let (found, foundOutput) = try await Self.run(alone, ["serve", "--help"], path: ServeProcess.directory + ":/usr/bin:/bin")
        #expect(found == 0, "\(foundOutput)")
        #expect(foundOutput.contains("--max-queued-jobs"), "\(foundOutput)")
    }
}
