public import Foundation
import Logging
public import TrainyardCore
public import TrainyardObjectStore

/// Everything `trainyard serve` can be told, from the environment (`TRAINYARD_*`) or the same-named flags.
///
/// This list is the README's configuration table.
public struct ServerConfiguration: Sendable {
    /// `TRAINYARD_DATA_DIR`: embedded Postgres cluster, filesystem store, worker directories. Default `./.trainyard`.
    public var dataDirectory: String
    /// `TRAINYARD_HOST`: listen address. Default `127.0.0.1`.
    public var host: String
    /// `TRAINYARD_PORT`: listen port. Default `8080`; `0` picks a free port.
    public var port: Int
    /// `TRAINYARD_DATABASE_URL`: `postgres://user:pass@host:port/db` of an external Postgres; nil runs the embedded cluster.
    public var databaseURL: String?
    /// `TRAINYARD_ADMIN_KEY`: bootstrap admin key `<id>.<secret>`; nil generates one into `<data dir>/admin-key`.
    public var adminKey: String?
    /// `TRAINYARD_MASTER_KEY`: the secret API key secrets are derived from (for SigV4); nil generates one into
    /// `<data dir>/master-key`.
    public var masterKey: String?
    /// `TRAINYARD_API_KEY_CACHE_SECONDS`: how long a replica trusts an API key it read without reading it again.
    /// Default 10; 0 reads the key on every request. A deleted key stops working on every replica at once (they are
    /// told); this bounds it for a replica that was not listening when the key was deleted.
    public var apiKeyCacheSeconds: Double = 10
    /// `TRAINYARD_CAPACITY`: a JSON file with instance type capacity and prices; nil uses the built-in catalog.
    public var capacityFile: String?
    /// `TRAINYARD_LOG_LEVEL`: `trace` … `critical`. Default `info`.
    public var logLevel: Logger.Level
    /// `TRAINYARD_REGION`: the region of `/v1` jobs' ARNs and their workers' `AWS_REGION` (a job created through the
    /// SageMaker endpoint has its request's). The account in an ARN is the job's project's.
    public var region: String
    /// Worker protocol timing: `TRAINYARD_HEARTBEAT_INTERVAL`, `TRAINYARD_HOST_LEASE`, `TRAINYARD_STOP_GRACE`,
    /// `TRAINYARD_AGENT_OUTAGE_LIMIT`, `TRAINYARD_LAUNCH_TIMEOUT`, `TRAINYARD_SYSTEM_METRICS_INTERVAL`; and the workers' disks:
    /// `TRAINYARD_KEEP_WORKER_DIRS_HOURS`, `TRAINYARD_LOG_SPOOL_MIB`, `TRAINYARD_DEFAULT_VOLUME_SIZE`, `TRAINYARD_DISK_RESERVE_GIB`,
    /// `TRAINYARD_WORKER_VOLUMES`.
    public var workers: WorkerSettings
    /// `TRAINYARD_LOG_RETENTION_DAYS`: days an ended job's log lines and metric points are kept. Default 30; 0 keeps
    /// them forever.
    public var logRetentionDays: Double
    /// `TRAINYARD_WEBHOOK_RETRY_SCHEDULE`, `TRAINYARD_WEBHOOK_TIMEOUT`, `TRAINYARD_WEBHOOK_DISABLE_AFTER`,
    /// `TRAINYARD_WEBHOOK_ALLOWED_NETWORKS`.
    public var webhooks: WebhookSettings
    /// `TRAINYARD_AGENT_BIN`: the `trainyard-agent` executable; default: beside the running executable.
    public var agentExecutable: String?
    /// `TRAINYARD_OBJECT_STORE` (`file:///path` or `s3://bucket`) and the S3 settings beside it.
    public var objectStore: ObjectStoreSettings = .filesystem(root: nil)
    /// `TRAINYARD_PROVISIONER`, `SLURM_CONF`, `TRAINYARD_SLURM_BIN`, `TRAINYARD_SLURM_JOB_PREFIX`, `TRAINYARD_SLURM_SERVER_URL`.
    public var provisioner = ProvisionerSettings()
    /// `TRAINYARD_PROJECT_LOCATIONS`: locations granted to projects by the operator's configuration, beside those
    /// granted through the API (project name → grants).
    public var projectLocationGrants: [String: [LocationGrant]] = [:]
    /// `TRAINYARD_MAX_QUEUED_JOBS` (default 10000), `TRAINYARD_MAX_WEBHOOKS` (100), `TRAINYARD_MAX_LOG_FOLLOWERS` (10):
    /// jobs a project may have waiting to run, webhook subscriptions a project may hold, and log streams one API key
    /// may hold open on one server.
    public var limits = RequestLimits()
    /// `TRAINYARD_METRICS_PUBLIC`: `GET /metrics` without a key.
    public var metricsPublic = false

    /// Every variable `serve` reads, in README order: ``ServerSettings/all``'s.
    public static var environmentKeys: [String] { ServerSettings.all.flatMap(\.variables) }

    public init(
        dataDirectory: String = "./.trainyard", host: String = "127.0.0.1", port: Int = 8080, databaseURL: String? = nil, adminKey: String? = nil,
        capacityFile: String? = nil, logLevel: Logger.Level = .info, region: String = "local",
        workers: WorkerSettings = WorkerSettings(), agentExecutable: String? = nil, logRetentionDays: Double = 30,
        webhooks: WebhookSettings = WebhookSettings()
    ) {
        self.webhooks = webhooks
        self.logRetentionDays = logRetentionDays
        self.workers = workers
        self.agentExecutable = agentExecutable
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.adminKey = adminKey
        self.capacityFile = capacityFile
        self.logLevel = logLevel
        self.region = region
    }

    /// Reads the `TRAINYARD_*` variables over the defaults; a variable that does not parse is an error naming it.
    public init(environment: [String: String]) throws {
        self.init()
        func value(_ key: String) -> String? {
            guard let value = environment[key], !value.isEmpty else { return nil }
            return value
        }
        if let dir = value("TRAINYARD_DATA_DIR") { dataDirectory = dir }
        if let host = value("TRAINYARD_HOST") { self.host = host }
        if let port = value("TRAINYARD_PORT") {
            guard let number = Int(port), (0...65535).contains(number) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_PORT", value: port, expected: "a port number 0…65535")
            }
            self.port = number
        }
        databaseURL = value("TRAINYARD_DATABASE_URL")
        adminKey = value("TRAINYARD_ADMIN_KEY")
        masterKey = value("TRAINYARD_MASTER_KEY")
        if let seconds = value("TRAINYARD_API_KEY_CACHE_SECONDS") {
            guard let number = Double(seconds), number >= 0, number <= 3600 else {
                throw ConfigurationError.invalid(key: "TRAINYARD_API_KEY_CACHE_SECONDS", value: seconds, expected: "seconds, 0 to 3600")
            }
            apiKeyCacheSeconds = number
        }
        capacityFile = value("TRAINYARD_CAPACITY")
        if let path = value("TRAINYARD_PROJECT_LOCATIONS") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError.unreadable(key: "TRAINYARD_PROJECT_LOCATIONS", path: path, reason: "no such readable file")
            }
            do {
                projectLocationGrants = try LocationGrant.parseSetting(data)
            } catch {
                throw ConfigurationError.unreadable(key: "TRAINYARD_PROJECT_LOCATIONS", path: path, reason: error.description)
            }
        }
        if let level = value("TRAINYARD_LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_LOG_LEVEL", value: level, expected: "trace, debug, info, notice, warning, error or critical")
            }
            logLevel = parsed
        }
        workers = try Self.workerSettings(environment: environment)
        webhooks = try WebhookSettings.from(environment: environment)
        agentExecutable = value("TRAINYARD_AGENT_BIN")
        objectStore = try ObjectStoreSettings.from(environment: environment)
        provisioner = try ProvisionerSettings.from(environment: environment)
        if let days = value("TRAINYARD_LOG_RETENTION_DAYS") {
            guard let number = Double(days), number >= 0 else {
                throw ConfigurationError.invalid(key: "TRAINYARD_LOG_RETENTION_DAYS", value: days, expected: "a number of days, 0 to keep logs forever")
            }
            logRetentionDays = number
        }
        func count(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = value(key) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                throw ConfigurationError.invalid(key: key, value: text, expected: "a whole number, \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        if let number = try count("TRAINYARD_MAX_QUEUED_JOBS", 1...10_000_000) { limits.queuedJobsPerProject = number }
        if let number = try count("TRAINYARD_MAX_WEBHOOKS", 1...100_000) { limits.webhooksPerProject = number }
        if let number = try count("TRAINYARD_MAX_LOG_FOLLOWERS", 1...10_000) { limits.logFollowersPerKey = number }
        if let number = try count("TRAINYARD_MAX_SOURCE_BYTES", 1...(1 << 50)) { limits.sourceArchiveBytes = Int64(number) }
        if let region = value("TRAINYARD_REGION") { self.region = region }
        if let open = value("TRAINYARD_METRICS_PUBLIC") {
            switch open.lowercased() {
            case "true", "1", "yes": metricsPublic = true
            case "false", "0", "no": metricsPublic = false
            default: throw ConfigurationError.invalid(key: "TRAINYARD_METRICS_PUBLIC", value: open, expected: "true or false")
            }
        }
        if let account = value("TRAINYARD_ACCOUNT") {
            throw ConfigurationError.invalid(
                key: "TRAINYARD_ACCOUNT", value: account,
                expected: "nothing (the setting was retired: a job's ARN now carries its project's own 12-digit account, as the SageMaker endpoint's ARNs do)")
        }
    }

    /// The filesystem object store's root, `<data dir>/objects`.
    public var objectsDirectory: String { absoluteDataDirectory + "/objects" }

    /// Per-attempt Slurm batch scripts and task files, `<data dir>/slurm`.
    public var slurmDirectory: String { absoluteDataDirectory + "/slurm" }

    /// Where local workers get their directories, `<data dir>/workers`.
    public var workersDirectory: String { absoluteDataDirectory + "/workers" }

    /// The data directory as an absolute path.
    public var absoluteDataDirectory: String {
        let url = URL(fileURLWithPath: dataDirectory, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return url.standardizedFileURL.path
    }
}
