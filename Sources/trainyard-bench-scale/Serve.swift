import ArgumentParser
import CoreMetrics
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
        // Before the application: its controllers take the metrics system as they are built.
        if let passes = environment["TRAINYARD_BENCH_PASSES"] { MetricsSystem.bootstrap(try PassTimingsFile(path: passes)) }
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

/// The server's metrics for the driver: the duration of each of the scheduler's passes, appended to a file
/// (TRAINYARD_BENCH_PASSES) as `<unix time, s> <duration, ns>` lines; every other metric is dropped.
final class PassTimingsFile: MetricsFactory, TimerHandler {
    private let handle: Mutex<FileHandle>

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot create the pass timings file \(path)")
        }
        self.handle = Mutex(handle)
    }

    func recordNanoseconds(_ duration: Int64) {
        let line = String(format: "%.6f %lld\n", Date().timeIntervalSince1970, duration)
        handle.withLock { try? $0.write(contentsOf: Data(line.utf8)) }
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        label == ServerMetrics.schedulerPassDuration ? self : NOOPMetricsHandler.instance
    }
    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { NOOPMetricsHandler.instance }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
