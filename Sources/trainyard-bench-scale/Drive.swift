import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import TrainyardCore
import TrainyardStore

/// `drive`: fills a server started by `serve` with `hosts` running jobs (one host each, played by ``Fleet``) and
/// `queued` jobs waiting behind them, then measures: the API's latency per route for `clients` concurrent users, on the
/// idle server first (the baseline) and then under the load; the scheduler's pass over the queue; the server's and
/// PostgreSQL's CPU per heartbeat; the server's peak RSS. Prints a report and writes it as JSON to `out`.
struct Drive: AsyncParsableCommand {
    @Option var url: String
    @Option var key: String
    @Option var handoff: String
    @Option(help: "The embedded cluster's socket file.") var pgSocket: String
    @Option var serverPid: Int32
    @Option var postmasterPid: Int32
    @Option var hosts: Int = 1000
    @Option var queued: Int = 10000
    @Option var clients: Int = 8
    @Option(help: "Seconds each user waits between its calls.") var userInterval: Double = 0.1
    @Option(help: "Seconds of each measured phase.") var phaseSeconds: Double = 30
    @Option var heartbeatSeconds: Double = 2
    @Option var linesPerBatch: Int = 5
    @Option var instanceType: String = "ml.m5.large"
    @Option var out: String
    @Option(help: "The file where the server appends each scheduling pass's duration (TRAINYARD_BENCH_PASSES).") var passes: String?

    func run() async throws {
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
        let api = API(http: http, url: url, key: key, instanceType: instanceType)
        let postgres = PostgresClient(
            configuration: .init(unixSocketPath: pgSocket, username: "trainyard", password: nil, database: "trainyard"),
            backgroundLogger: Logger(label: "bench-postgres") { _ in SwiftLogNoOpLogHandler() })
        let store = PostgresStore(client: postgres, logger: Logger(label: "bench-store") { _ in SwiftLogNoOpLogHandler() })
        let counters = FleetCounters()
        let hostsHTTP = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: hosts)))
        let fleet = Fleet(handoff: handoff, http: hostsHTTP, interval: heartbeatSeconds, linesPerBatch: linesPerBatch, counters: counters)
        var report: [String: Any] = [
            "hosts": hosts, "queued": queued, "clients": clients, "user_interval_seconds": userInterval, "phase_seconds": phaseSeconds, "heartbeat_seconds": heartbeatSeconds,
            "lines_per_batch": linesPerBatch,
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await postgres.run() }
            group.addTask { try await fleet.run() }

            // Baseline: the same users on the idle server (one job to describe, nothing queued, no hosts).
            try await api.submit("probe-0")
            log("baseline: \(clients) users for \(Int(phaseSeconds)) s on the idle server")
            let idle = try await api.users(clients, every: userInterval, for: phaseSeconds, describe: ["probe-0"])

            // The load: `hosts` running jobs, then `queued` behind them.
            let fillStart = ContinuousClock.now
            try await api.submitMany(prefix: "run", count: hosts, concurrency: 32)
            try await api.submitMany(prefix: "queued", count: queued, concurrency: 32)
            let submitted = ContinuousClock.now - fillStart
            log("submitted \(hosts + queued) jobs in \(Int(submitted.milliseconds)) ms; waiting for \(hosts) hosts to train")
            let deadline = ContinuousClock.now + .seconds(600)
            while counters.training.load(ordering: .relaxed) < hosts {
                guard ContinuousClock.now < deadline else {
                    throw ValidationError(
                        "only \(counters.training.load(ordering: .relaxed)) of \(hosts) hosts train after 600 s; last failure: \(counters.lastFailure.withLock { $0 } ?? "none")")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            let allTraining = ContinuousClock.now - fillStart
            log("\(hosts) hosts train, \(Int(allTraining.milliseconds)) ms after the first submission")

            // Heartbeat cost: heartbeats only (no log batches), then heartbeats with their log batches.
            counters.shipLogs.store(false, ordering: .relaxed)
            try await Task.sleep(for: .seconds(heartbeatSeconds))
            let bare = try await cost(counters: counters, seconds: phaseSeconds)
            counters.shipLogs.store(true, ordering: .relaxed)
            try await Task.sleep(for: .seconds(heartbeatSeconds))
            let withLogs = try await cost(counters: counters, seconds: phaseSeconds)
            log(String(format: "heartbeats: %.0f/s; server %.0f µs, PostgreSQL %.0f µs of CPU each (with a log batch: %.0f and %.0f µs)",
                       bare.perSecond, bare.serverMicros, bare.postgresMicros, withLogs.serverMicros, withLogs.postgresMicros))

            // The same users under the load, while the scheduler's pass is timed beside them.
            log("loaded: \(clients) users for \(Int(phaseSeconds)) s beside \(hosts) hosts and \(queued) queued jobs")
            counters.heartbeatLatencies.withLock { $0.removeAll() }
            let passTimer = Task { try await timePasses(store: store, limit: 100, every: .milliseconds(500)) }
            let loadedSince = Date()
            let loaded = try await api.users(clients, every: userInterval, for: phaseSeconds, describe: (1...hosts).map { "run-\($0)" })
            let serverPasses = Self.serverPasses(file: passes, from: loadedSince, to: Date())
            passTimer.cancel()
            let passes = (try? await passTimer.value) ?? []
            // The whole queue in one pass: the first marks every job that has not waited yet Pending (an event and a
            // savepoint each); the next ones find them waiting already.
            let wholeQueue = try await timePasses(store: store, limit: queued + hosts + 100_000, count: 3)
            let heartbeatLatency = counters.heartbeatLatencies.withLock { $0 }

            let rss = Self.memoryKB(pid: serverPid)
            report["fill"] = ["submit_ms": submitted.milliseconds, "all_training_ms": allTraining.milliseconds]
            report["routes"] = Dictionary(uniqueKeysWithValues: Route.allCases.map { route in
                (route.rawValue, [
                    "idle_p50_ms": percentile(idle.latencies[route] ?? [], 50), "idle_p99_ms": percentile(idle.latencies[route] ?? [], 99),
                    "loaded_p50_ms": percentile(loaded.latencies[route] ?? [], 50), "loaded_p99_ms": percentile(loaded.latencies[route] ?? [], 99),
                    "loaded_requests": loaded.latencies[route]?.count ?? 0, "loaded_errors": loaded.errors[route] ?? 0,
                ] as [String: Any])
            })
            report["scheduler_pass_ms"] = [
                "server_own_p50": percentile(serverPasses, 50), "server_own_p99": percentile(serverPasses, 99), "server_own_passes": serverPasses.count,
                "server_batch_p50": percentile(passes, 50), "server_batch_p99": percentile(passes, 99), "server_batch_passes": passes.count,
                "whole_queue_first": wholeQueue.first ?? .nan, "whole_queue_then": wholeQueue.dropFirst().min() ?? .nan,
            ]
            report["heartbeats"] = [
                "per_second": bare.perSecond, "server_cpu_us": bare.serverMicros, "postgres_cpu_us": bare.postgresMicros,
                "with_logs_server_cpu_us": withLogs.serverMicros, "with_logs_postgres_cpu_us": withLogs.postgresMicros,
                "loaded_p50_ms": percentile(heartbeatLatency, 50), "loaded_p99_ms": percentile(heartbeatLatency, 99),
                "host_failures": counters.failures.load(ordering: .relaxed),
            ]
            report["server_rss_mb"] = ["peak": Double(rss.peak) / 1024, "now": Double(rss.now) / 1024]
            print(Self.table(report: report, idle: idle, loaded: loaded, serverPasses: serverPasses, passes: passes, wholeQueue: wholeQueue, heartbeat: heartbeatLatency, bare: bare,
                             withLogs: withLogs, rss: rss))
            let json = try JSONSerialization.data(withJSONObject: Self.finite(report), options: [.prettyPrinted, .sortedKeys])
            try json.write(to: URL(fileURLWithPath: out))
            group.cancelAll()
        }
        try await http.shutdown()
        try await hostsHTTP.shutdown()
    }

    /// CPU of the server and of PostgreSQL per heartbeat over `seconds`.
    func cost(counters: FleetCounters, seconds: Double) async throws -> (perSecond: Double, serverMicros: Double, postgresMicros: Double) {
        let beats = counters.heartbeats.load(ordering: .relaxed)
        let server = Self.cpuTicks(pid: serverPid)
        let postgres = Self.postgresTicks(postmaster: postmasterPid)
        try await Task.sleep(for: .seconds(seconds))
        let handled = Double(counters.heartbeats.load(ordering: .relaxed) - beats)
        let tick = 1_000_000 / Double(sysconf(Int32(_SC_CLK_TCK)))
        let serverMicros = Double(Self.cpuTicks(pid: serverPid) - server) * tick / max(handled, 1)
        let postgresMicros = Double(Self.postgresTicks(postmaster: postmasterPid) - postgres) * tick / max(handled, 1)
        return (handled / seconds, serverMicros, postgresMicros)
    }

    /// The durations (ms) of the server's own scheduling passes that ended between `start` and `end`, from the file the
    /// server appends them to; none without the file.
    static func serverPasses(file: String?, from start: Date, to end: Date) -> [Double] {
        guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let time = Double(fields[0]), let nanoseconds = Double(fields[1]),
                (start.timeIntervalSince1970...end.timeIntervalSince1970).contains(time)
            else { return nil }
            return nanoseconds / 1_000_000
        }
    }

    /// Times scheduling passes as the server runs them (`limit` jobs of the queue), every `every` until cancelled, or
    /// `count` in a row. With every host in use they allocate nothing: a job they make wait is one the server's own
    /// scheduler would make wait.
    func timePasses(store: PostgresStore, limit: Int, every: Duration = .zero, count: Int = .max) async throws -> [Double] {
        var times: [Double] = []
        do {
            while times.count < count, !Task.isCancelled {
                let started = ContinuousClock.now
                _ = try await store.schedule(
                    capacity: PoolCapacity(catalog: InstanceCatalog(shapes: InstanceCatalog.standard.all, capacity: [:], defaultCapacity: Capacity(onDemand: 0, spot: 0))),
                    provisioner: "bench-handoff", launchLeaseSeconds: 60, now: Date(), limit: limit, readOverrides: { _ in })
                times.append((ContinuousClock.now - started).milliseconds)
                if every > .zero { try await Task.sleep(for: every) }
            }
        } catch where Task.isCancelled {
            // The phase it was timed beside has ended.
        }
        return times
    }

    /// `value` with NaN and infinities as JSON nulls.
    static func finite(_ value: Any) -> Any {
        switch value {
        case let number as Double: number.isFinite ? number : NSNull()
        case let object as [String: Any]: object.mapValues(finite)
        case let array as [Any]: array.map(finite)
        default: value
        }
    }

    static func cpuTicks(pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
        guard fields.count > 14 else { return 0 }
        return [11, 12, 13, 14].reduce(0) { $0 + (Int(fields[$1]) ?? 0) }
    }

    /// The postmaster's CPU with its reaped children's, and its live children's.
    static func postgresTicks(postmaster: Int32) -> Int {
        var total = cpuTicks(pid: postmaster)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 12, Int32(fields[1]) == postmaster {
                total += (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
            }
        }
        return total
    }

    static func memoryKB(pid: Int32) -> (peak: Int, now: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        }
        return (field("VmHWM"), field("VmRSS"))
    }

    static func table(
        report: [String: Any], idle: UserRun, loaded: UserRun, serverPasses: [Double], passes: [Double], wholeQueue: [Double], heartbeat: [Double],
        bare: (perSecond: Double, serverMicros: Double, postgresMicros: Double), withLogs: (perSecond: Double, serverMicros: Double, postgresMicros: Double),
        rss: (peak: Int, now: Int)
    ) -> String {
        var lines = ["", "route      idle p50/p99 ms    loaded p50/p99 ms   p99 loaded/idle   requests  errors   target p99 <= 100 ms"]
        for route in Route.allCases {
            let i = idle.latencies[route] ?? [], l = loaded.latencies[route] ?? []
            let ratio = percentile(l, 99) / max(percentile(i, 99), 0.001)
            lines.append(route.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0) + String(format: " %7.1f / %-7.1f    %7.1f / %-7.1f    %8.2f        %7d  %6d   %@",
                                percentile(i, 50), percentile(i, 99), percentile(l, 50), percentile(l, 99), ratio, l.count, loaded.errors[route] ?? 0,
                                (percentile(l, 99) <= 100 ? "met" : "MISSED") as NSString))
        }
        lines.append(String(format: "scheduler pass, the server's own: p50 %.1f ms, p99 %.1f ms over %d passes (target <= 50 ms: %@)",
                            percentile(serverPasses, 50), percentile(serverPasses, 99), serverPasses.count,
                            (percentile(serverPasses, 99) <= 50 ? "met" : "MISSED") as NSString))
        lines.append(String(format: "scheduler pass, the same timed from the driver (which plays the hosts, and waits for the server's pass's lock): p50 %.1f ms, p99 %.1f ms over %d passes",
                            percentile(passes, 50), percentile(passes, 99), passes.count))
        lines.append(String(format: "scheduler pass reading the whole queue: %.1f ms the first time (it makes the jobs that never waited Pending), then %.1f ms",
                            wholeQueue.first ?? .nan, wholeQueue.dropFirst().min() ?? .nan))
        lines.append(String(format: "heartbeats: %.0f/s; CPU per heartbeat: server %.0f µs, PostgreSQL %.0f µs; with a %@-line log batch each: %.0f and %.0f µs",
                            bare.perSecond, bare.serverMicros, bare.postgresMicros, "\(report["lines_per_batch"] ?? 0)" as NSString, withLogs.serverMicros,
                            withLogs.postgresMicros))
        lines.append(String(format: "heartbeat latency under the loaded phase: p50 %.1f ms, p99 %.1f ms", percentile(heartbeat, 50), percentile(heartbeat, 99)))
        lines.append(String(format: "server RSS: peak %.0f MB (target <= 150 MB: %@), now %.0f MB", Double(rss.peak) / 1024,
                            (rss.peak <= 150 * 1024 ? "met" : "MISSED") as NSString, Double(rss.now) / 1024))
        return lines.joined(separator: "\n")
    }
}

func log(_ message: String) {
    FileHandle.standardError.write(Data("[scale \(Date().formatted(.iso8601.time(includingFractionalSeconds: false)))] \(message)\n".utf8))
}

/// The `p`th percentile (nearest rank) of `values`; NaN when there are none.
func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}
