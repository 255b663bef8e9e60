import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import TrainyardAgent
import TrainyardCore

/// What the simulated hosts have done so far.
final class FleetCounters: Sendable {
    let training = Atomic<Int>(0)
    let heartbeats = Atomic<Int>(0)
    let logBatches = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    /// Whether hosts ship a log batch with each heartbeat.
    let shipLogs = Atomic<Bool>(true)
    let heartbeatLatencies = Mutex<[Double]>([])
    let lastFailure = Mutex<String?>(nil)
}

/// Plays the agents of the hosts the server hands over: each fetches its assignment, walks preparing → downloading →
/// training in three heartbeats, then heartbeats every `interval` (jittered, as real agents start at different times)
/// with a batch of log lines, through the agent's own `ServerConnection`.
struct Fleet: Sendable {
    let handoff: String
    /// The hosts' client: a connection per host, as real agents each have their own.
    let http: HTTPClient
    let interval: Double
    let linesPerBatch: Int
    let counters: FleetCounters

    /// Runs until cancelled: reads the handoff file as it grows and starts a host per line.
    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var offset: UInt64 = 0
            var pending = ""
            while !Task.isCancelled {
                if let handle = FileHandle(forReadingAtPath: handoff) {
                    try handle.seek(toOffset: offset)
                    let data = try handle.readToEnd() ?? Data()
                    try handle.close()
                    offset += UInt64(data.count)
                    pending += String(decoding: data, as: UTF8.self)
                    while let newline = pending.firstIndex(of: "\n") {
                        let fields = pending[..<newline].split(separator: " ").map(String.init)
                        pending = String(pending[pending.index(after: newline)...])
                        guard fields.count == 3 else { continue }
                        group.addTask { await host(url: fields[0], token: fields[2]) }
                    }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            group.cancelAll()
        }
    }

    private func host(url: String, token: String) async {
        let logger = Logger(label: "bench-host") { _ in SwiftLogNoOpLogHandler() }
        do {
            let configuration = try AgentConfiguration(environment: [
                "TRAINYARD_AGENT_SERVER": url, "TRAINYARD_AGENT_TOKEN": token, "TRAINYARD_AGENT_DIR": "/nonexistent",
            ])
            let connection = ServerConnection(configuration: configuration, logger: logger, http: http)
            _ = try await connection.assignment()
            for phase: HostPhase in [.preparing, .downloading, .training] {
                _ = try await connection.heartbeat(AgentReport(phase: phase))
            }
            counters.training.add(1, ordering: .relaxed)
            var seq: Int64 = 0
            try await Task.sleep(for: .seconds(Double.random(in: 0..<interval)))
            while !Task.isCancelled {
                let started = ContinuousClock.now
                let directive = try await connection.heartbeat(AgentReport(phase: .training))
                let elapsed = ContinuousClock.now - started
                counters.heartbeats.add(1, ordering: .relaxed)
                counters.heartbeatLatencies.withLock { $0.append(elapsed.milliseconds) }
                if directive.action == .stop { break }
                if counters.shipLogs.load(ordering: .relaxed) {
                    var bytes: [UInt8] = []
                    let micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
                    for line in 0..<linesPerBatch {
                        seq += 1
                        LogRecord(seq: seq, timeMicros: micros + Int64(line), message: "step \(seq) loss=\(Double(seq) * 0.001)")
                            .encode(into: &bytes)
                    }
                    _ = try await connection.shipLogs(bytes)
                    counters.logBatches.add(1, ordering: .relaxed)
                }
                try await Task.sleep(until: started + .seconds(interval), clock: .continuous)
            }
        } catch is CancellationError {
        } catch {
            counters.failures.add(1, ordering: .relaxed)
            counters.lastFailure.withLock { $0 = "\(error)" }
        }
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
