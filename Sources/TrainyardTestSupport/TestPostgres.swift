import Foundation
import Logging
import PostgresNIO
import Synchronization
import TrainyardStore

#if canImport(Glibc)
import Glibc
#endif

/// One private PostgreSQL cluster per test process, with a migrated template database; every test gets its own
/// database cloned from the template (SwiftPackageIndex-Server's `DatabasePool` pattern), so tests run in parallel
/// against real Postgres without seeing each other's rows.
public actor TestPostgres {
    /// The cluster of this test process, started on first use and stopped when the process exits.
    public static let shared = TestPostgres()

    static let template = "trainyard_template"
    private static let clusterPID = Atomic<Int32>(0)

    private var starting: Task<EmbeddedPostgres, any Error>?
    private var counter = 0
    let logger = Logger(label: "trainyard.tests.postgres")

    /// The running cluster.
    public func embedded() async throws -> EmbeddedPostgres {
        // One start for every caller: the actor is re-entered while the first one awaits.
        if let starting { return try await starting.value }
        let task = Task { try await Self.start(logger: logger) }
        starting = task
        return try await task.value
    }

    private static func start(logger: Logger) async throws -> EmbeddedPostgres {
        removeStaleClusters()
        let root = "/tmp/trainyard-tests-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        // Every suite runs at once, each app with a pool of its own: 300 connections ran out (53300, "too many clients"),
        // then 600 (12-05). Running out is worse than an error: PostgresNIO 1.33.2's pool retries only one of the
        // connections a burst of refusals failed, so a request waiting for another is served only when a connection of
        // its pool is let go, and a test whose leased connections wait for that request waits for ever.
        let postgres = EmbeddedPostgres(
            configuration: .init(
                dataDirectory: root, database: template,
                settings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "1000"]),
            logger: logger)
        try await postgres.start()
        if let pid = postmasterPID(root: root) { clusterPID.store(pid, ordering: .relaxed) }
        atexit {
            let pid = TestPostgres.clusterPID.load(ordering: .relaxed)
            if pid > 0 { kill(pid, SIGQUIT) }
        }
        let client = PostgresClient(configuration: postgres.clientConfiguration(database: template), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await Migrator(migrations: Migration.bundled()).migrate(client, logger: logger)
            group.cancelAll()
        }
        return postgres
    }

    /// A new, migrated database of its own: the client configuration to reach it.
    public func freshDatabase() async throws -> PostgresClient.Configuration {
        let postgres = try await embedded()
        counter += 1
        let name = "test_\(counter)"
        try await postgres.ensureDatabase(name, template: Self.template)
        var configuration = postgres.clientConfiguration(database: name)
        configuration.options.maximumConnections = 10
        return configuration
    }

    /// Runs `body` with a store on a fresh database; its client runs only for the body.
    public static func withStore<T: Sendable>(_ body: @Sendable (PostgresStore) async throws -> T) async throws -> T {
        let configuration = try await shared.freshDatabase()
        let logger = Logger(label: "trainyard.tests")
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(PostgresStore(client: client, logger: logger))
        }
    }

    static func postmasterPID(root: String) -> Int32? {
        let file = "\(root)/postgres/data/postmaster.pid"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), let line = text.split(separator: "\n").first else { return nil }
        return Int32(line)
    }

    /// Clusters of test processes that died without cleaning up: stop them and remove their directories.
    static func removeStaleClusters() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for entry in entries where entry.hasPrefix("trainyard-tests-") {
            guard let owner = Int32(entry.dropFirst("trainyard-tests-".count)), kill(owner, 0) != 0 else { continue }
            let root = "/tmp/\(entry)"
            if let pid = postmasterPID(root: root), kill(pid, 0) == 0 { kill(pid, SIGQUIT) }
            try? FileManager.default.removeItem(atPath: root)
        }
    }
}
