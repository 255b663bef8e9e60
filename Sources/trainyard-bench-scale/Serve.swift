import ArgumentParser
import Foundation
import Synchronization
import TrainyardProvisioning
import TrainyardServer

/// `serve`: Trainyard's server as `trainyard serve` builds it (the same configuration, the embedded PostgreSQL), with
/// one difference: its provisioner starts no process. It appends each host it is asked to launch to the handoff file,
/// one line `<server URL> <host id> <token>`, for the driver's simulated agents.
struct Serve: AsyncParsableCommand {
    @Option(help: "The handoff file (TRAINYARD_BENCH_HANDOFF).") var handoff: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let path = handoff ?? environment["TRAINYARD_BENCH_HANDOFF"] else { throw ValidationError("no handoff file: --handoff or TRAINYARD_BENCH_HANDOFF") }
        let configuration = try ServerConfiguration(environment: environment)
        let logger = ServerProcess.bootstrapLogging(configuration)
        let app = try await buildApplication(configuration: configuration, provisioner: try HandoffProvisioner(path: path), logger: logger)
        try await ServerProcess.run(app, logger: logger)
    }
}

/// Hands each launched host to the driver through a file instead of starting an agent.
struct HandoffProvisioner: WorkerPoolProvisioner {
    let name = "bench-handoff"
    private let file: HandoffFile

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot create the handoff file \(path)")
        }
        file = HandoffFile(handle: handle)
    }

    func launch(_ request: PoolLaunchRequest) async throws -> [String: String] {
        let lines = request.hosts.map { "\(request.serverURL) \($0.id) \($0.token)\n" }.joined()
        try file.handle.withLock { try $0.write(contentsOf: Data(lines.utf8)) }
        return Dictionary(uniqueKeysWithValues: request.hosts.map { ($0.id, "handoff:\($0.id)") })
    }

    func terminate(hosts references: [String: String]) async {}
}

/// The handoff file, written one launch at a time.
final class HandoffFile: Sendable {
    let handle: Mutex<FileHandle>
    init(handle: FileHandle) { self.handle = Mutex(handle) }
}
