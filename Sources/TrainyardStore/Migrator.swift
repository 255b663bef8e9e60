import Foundation
import TrainyardCore
import Logging
import PostgresNIO

/// One schema migration: `NNNN_name.sql`, applied once.
public struct Migration: Sendable, Equatable {
    /// The number that orders migrations (`0001` → 1).
    public var version: Int
    /// The file name without the number and extension.
    public var name: String
    /// The SQL, run inside the migration transaction.
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The migrations shipped with this binary, in order.
    public static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError.missingBundle
        }
        return try load(from: directory)
    }

    /// Reads every `NNNN_name.sql` in `directory`, ordered by number; refuses duplicate numbers.
    public static func load(from directory: URL) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }
        var migrations: [Migration] = []
        for file in files {
            let stem = String(file.dropLast(4))
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw MigrationError.badFileName(file)
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw MigrationError.duplicateVersion(next.version)
        }
        return migrations
    }
}

/// Applies migrations in order, each once, under a transaction-scoped advisory lock so that replicas starting together
/// do not race; refuses a database that has a migration this binary does not know.
public struct Migrator: Sendable {
    /// The advisory lock key every Trainyard replica takes while migrating.
    static let lockKey = Int64(bitPattern: StableHash.value("trainyard.migrations"))

    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Applies what is missing; returns the versions applied by this call.
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied: [Int: String] = [:]
            for try await (version, name) in try await connection.query("SELECT version, name FROM schema_migrations", logger: logger)
                .decode((Int, String).self)
            {
                applied[version] = name
            }
            let known = Set(migrations.map(\.version))
            if let unknown = applied.keys.sorted().first(where: { !known.contains($0) }) {
                throw MigrationError.unknownApplied(version: unknown, name: applied[unknown] ?? "")
            }
            var done: [Int] = []
            for migration in migrations where applied[migration.version] == nil {
                logger.info("applying migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
                // PostgresNIO speaks only the extended protocol, which takes one statement at a time.
                for statement in SQLScript.statements(in: migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                done.append(migration.version)
            }
            return done
        }
    }
}

/// Why migrating stopped.
public enum MigrationError: Error, CustomStringConvertible {
    case missingBundle
    case badFileName(String)
    case duplicateVersion(Int)
    case unknownApplied(version: Int, name: String)

    public var description: String {
        switch self {
        case .missingBundle: "the migrations resource is missing from this build"
        case .badFileName(let file): "migration file \(file) is not named NNNN_name.sql"
        case .duplicateVersion(let version): "two migrations share the number \(version)"
        case .unknownApplied(let version, let name):
            "the database has migration \(version) (\(name)) that this binary does not know; it was migrated by a newer Trainyard. Run that version, or restore a backup"
        }
    }
}
