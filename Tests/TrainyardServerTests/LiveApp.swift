import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOHTTP1
import Synchronization
import TrainyardObjectStore
import TrainyardServer
import PostgresNIO
import ServiceLifecycle
import TrainyardTestSupport
import TrainyardCore
import TrainyardProvisioning

/// The real application listening on a real port, with real agent processes as workers, on a fresh database.
struct LiveApp: Sendable {
    let baseURL: String
    let dataDirectory: String
    let token = TestApp.adminToken

    /// Fast worker timing for tests: heartbeats every 0.3 s, a host lost after 6 s of silence, a 2 s stop grace, system
    /// metrics every 0.3 s. With 3 s, the whole suite on two cores lost a healthy host now and then (WorkerTests,
    /// WebhookTests, JobNetworkIsolationTests, each in one of three runs): its log showed every test of the process
    /// silent for 4 to 8 s right before, so the heartbeats were late, not missing.
    static let fastWorkers = WorkerSettings(heartbeatInterval: 0.3, hostLease: 6, stopGrace: 2, launchTimeout: 20, systemMetricsInterval: 0.3)

    /// Webhook retries every 0.2 s (ten tries), a 2 s timeout; disabled after a minute of failures.
    /// The receivers of the tests listen on loopback, which webhooks may reach only when allowed.
    static let loopback = [IPNetwork("127.0.0.0/8"), IPNetwork("::1")].compactMap { $0 }
    /// Retries at once; a 10 s deadline, as a try cut off by a whole-process stall of a loaded machine (4-8 s seen)
    /// is sent again, and a test counting deliveries sees that one twice.
    static let fastWebhooks = WebhookSettings(
        schedule: WebhookRetrySchedule(delays: Array(repeating: 0.2, count: 9)), timeout: 10, disableAfter: 60, allowedNetworks: loopback)

    /// A free TCP port on 127.0.0.1 (for restarts that must keep their port, so agents find the server again).
    static func freePort() throws -> Int { try TestPorts.block(count: 1) }

    /// A data directory for one test (workers, objects), removed by the caller.
    static func dataDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-live-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return path
    }

    /// Runs the application until `body` returns.
    static func run(
        database: PostgresClientConfigurationBox? = nil, dataDirectory: String? = nil, port: Int = 0, capacity: String? = nil,
        workers: WorkerSettings = fastWorkers, webhooks: WebhookSettings = fastWebhooks, objectStore: ObjectStoreSettings = .filesystem(root: nil),
        provisioner: ProvisionerSettings? = nil, apiKeyCacheSeconds: Double = 10, agentExecutable: String? = nil, limits: RequestLimits = RequestLimits(),
        metricsPublic: Bool = false, _ body: @escaping @Sendable (LiveApp) async throws -> Void
    ) async throws {
        let databaseConfiguration: PostgresClient.Configuration
        if let database { databaseConfiguration = database.value } else { databaseConfiguration = try await TestPostgres.shared.freshDatabase() }
        let directory = try dataDirectory ?? Self.dataDirectory()
        var capacityFile: String?
        if let capacity {
            capacityFile = directory + "/capacity.json"
            try capacity.write(toFile: capacityFile!, atomically: true, encoding: .utf8)
        }
        var configuration = ServerConfiguration(
            dataDirectory: directory, port: port, adminKey: TestApp.adminToken, capacityFile: capacityFile, workers: workers, webhooks: webhooks)
        configuration.objectStore = objectStore
        configuration.apiKeyCacheSeconds = apiKeyCacheSeconds
        configuration.limits = limits
        configuration.metricsPublic = metricsPublic
        if let agentExecutable { configuration.agentExecutable = agentExecutable }
        if let provisioner { configuration.provisioner = provisioner }
        var logger = Logger(label: "trainyard.tests.live")
        logger.logLevel = ProcessInfo.processInfo.environment["TRAINYARD_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let bound = Mutex<Int?>(nil)
        let app = try await buildApplication(
            configuration: configuration, database: .client(databaseConfiguration), logger: logger, onServerRunning: { port in bound.withLock { $0 = port } })
        // Run it as `trainyard serve` does (HummingbirdTesting's live mode picks its own port, and a restart must keep
        // the port its agents know).
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serviceGroup.run() }
            let deadline = ContinuousClock.now + .seconds(60)
            while bound.withLock({ $0 }) == nil {
                guard ContinuousClock.now < deadline else { throw TestFailure("the server did not start listening") }
                try await Task.sleep(for: .milliseconds(20))
            }
            let port = bound.withLock { $0 } ?? 0
            let result: Result<Void, any Error>
            do {
                try await body(LiveApp(baseURL: "http://127.0.0.1:\(port)", dataDirectory: directory))
                result = .success(())
            } catch {
                result = .failure(error)
            }
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            try result.get()
        }
        if dataDirectory == nil {
            killWorkers(under: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// A database, data directory and port that survive a restart of the application: `body` runs the application
    /// on them as many times as it likes; the workers are killed and the directory removed afterwards.
    static func restartable(_ body: (PostgresClientConfigurationBox, String, Int) async throws -> Void) async throws {
        let database = PostgresClientConfigurationBox(value: try await TestPostgres.shared.freshDatabase())
        let directory = try dataDirectory()
        defer {
            killWorkers(under: directory)
            if ProcessInfo.processInfo.environment["TRAINYARD_TEST_KEEP"] == nil { try? FileManager.default.removeItem(atPath: directory) }
        }
        try await body(database, directory, try freePort())
    }

    /// Agents outlive their server by design (they wait for it to come back): once a test is over, kill the agents
    /// and commands it started, and only those.
    static func killWorkers(under directory: String) {
        let workers = directory + "/workers"
        // By the recorded group and the agents' own environment, never by a bare number: pids wrap at 32,768 here,
        // and a finished test's stale group id may already be another test's running command.
        for worker in (try? FileManager.default.contentsOfDirectory(atPath: workers)) ?? [] {
            RecordedProcesses.signalCommandGroup(workerDirectory: "\(workers)/\(worker)", SIGKILL)
        }
        for pid in agentPIDs(under: directory) { kill(pid, SIGKILL) }
        // As root the hosts' directories are volumes mounted in this process's namespace: none outlives its test.
        LocalProcessProvisioner.releaseWorkerDirectories(under: workers)
    }

    /// The live agents started for jobs under the data directory `directory` (their environment names a worker
    /// directory there; a zombie keeps no environment).
    static func agentPIDs(under directory: String) -> [pid_t] {
        let workers = directory + "/workers/"
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = pid_t(entry), let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { return nil }
            return String(decoding: environ, as: UTF8.self).contains("TRAINYARD_AGENT_DIR=\(workers)") ? pid : nil
        }
    }

    func request(_ method: HTTPMethod, _ path: String, json: String? = nil) async throws -> (Int, [String: Any]) {
        let (status, body) = try await LiveHTTP.request(method, baseURL + path, token: token, json: json)
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        return (status, object)
    }

    /// Submits a job; fails the test unless it was created.
    @discardableResult
    func submit(_ json: String) async throws -> [String: Any] {
        let (status, job) = try await request(.POST, "/v1/jobs", json: json)
        guard status == 201 else { throw TestFailure("submit answered \(status): \(job)") }
        return job
    }

    func describe(_ name: String) async throws -> [String: Any] {
        try await request(.GET, "/v1/jobs/\(name)").1
    }

    /// Polls the description until `condition` holds, or fails after `timeout`.
    @discardableResult
    func waitFor(_ name: String, timeout: Duration = .seconds(60), _ what: String, _ condition: ([String: Any]) -> Bool) async throws
        -> [String: Any]
    {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            last = try await describe(name)
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("job \(name) never reached \(what) within \(timeout); last: \(last["status"] ?? "-")/\(last["secondary_status"] ?? "-") \(last["failure_reason"] ?? "")")
    }

    func waitForStatus(_ name: String, _ status: String, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        try await waitFor(name, timeout: timeout, status) { ($0["status"] as? String) == status }
    }

    func waitForSecondary(_ name: String, _ secondary: String, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        try await waitFor(name, timeout: timeout, secondary) { ($0["secondary_status"] as? String) == secondary }
    }

    /// The file behind an `s3://bucket/key` URI in the filesystem store.
    func objectPath(_ uri: String) -> String {
        dataDirectory + "/objects/" + uri.dropFirst("s3://".count)
    }

    /// Unpacks a `.tar.gz` object and answers its files' contents by relative path.
    func unpack(_ uri: String) throws -> [String: String] {
        let target = dataDirectory + "/unpacked-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xzf", objectPath(uri), "-C", target]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw TestFailure("cannot unpack \(uri)") }
        var files: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: target)
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(target)/\(relative)", isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative] = (try? String(contentsOfFile: "\(target)/\(relative)", encoding: .utf8)) ?? ""
            }
        }
        return files
    }

    /// The process id of a host's agent, from its provisioner reference.
    func agentPID(job: String, attempt: Int, host: String) throws -> pid_t {
        // Host ids are `<job>-<attempt>-<host>-j<job id>` (HostID), and so are worker directories.
        let prefix = "\(job)-\(attempt)-\(host)-j"
        let workers = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/workers")) ?? []
        guard let id = workers.first(where: { $0.hasPrefix(prefix) && Int($0.dropFirst(prefix.count)) != nil }) else {
            throw TestFailure("no worker directory for \(prefix)…")
        }
        let ps = Process()
        ps.executableURL = URL(fileURLWithPath: "/bin/sh")
        ps.arguments = ["-c", "grep -l 'TRAINYARD_AGENT_TOKEN=\(id)\\.' /proc/[0-9]*/environ 2>/dev/null | head -1 | cut -d/ -f3"]
        let pipe = Pipe()
        ps.standardOutput = pipe
        try ps.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ps.waitUntilExit()
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw TestFailure("agent of \(id) not running") }
        return pid
    }
}

/// A database configuration shared by two application runs (a restart).
struct PostgresClientConfigurationBox: Sendable {
    let value: PostgresClient.Configuration
}
