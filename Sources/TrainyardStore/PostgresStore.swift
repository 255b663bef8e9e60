import Foundation
import Logging
import PostgresNIO
import TrainyardCore

/// Trainyard's repositories on PostgreSQL over one `PostgresClient`: ``ProjectRepository``, ``LogRepository``,
/// ``WebhookRepository``, and jobs with their attempts, hosts and scheduling queue.
///
/// All SQL of the service lives in this target; the client stays inside it. Every state change runs in one
/// transaction that also appends the job event it causes.
public struct PostgresStore: Sendable {
    /// The raw client: only this target's statements use it.
    let client: PostgresClient
    let logger: Logger
    /// The keys read lately (shared by copies of this store).
    public let keyCache: APIKeyCache
    /// Concurrent ``createJob`` inserts, written a batch per statement (shared by copies of this store).
    let jobInserts: Batcher<NewJobRow, InsertedJob?>
    /// Makes the keys this store creates, with secrets the service can derive again for SigV4.
    public let keyMint: APIKeyMint

    public init(client: PostgresClient, logger: Logger, keyCache: APIKeyCache = APIKeyCache(), keyMint: APIKeyMint = .ephemeral()) {
        self.client = client
        self.logger = logger
        self.keyCache = keyCache
        self.keyMint = keyMint
        // One flush at a time: the next takes everything that queued meanwhile (two in flight made smaller batches for the same rate).
        jobInserts = Batcher(maxBatch: 500, maxConcurrentFlushes: 1) { rows in
            await Self.insertBatch(rows, client: client, logger: logger)
        }
    }

    /// Whether the database answers a trivial query.
    public func ping() async -> Bool {
        do {
            try await client.query("SELECT 1", logger: logger)
            return true
        } catch {
            return false
        }
    }

    static func isUniqueViolation(_ error: any Error, constraint: String? = nil) -> Bool {
        guard let error = error as? PSQLError, error.serverInfo?[.sqlState] == "23505" else { return false }
        guard let constraint else { return true }
        return error.serverInfo?[.constraintName] == constraint
    }
}

extension PostgresClient {
    /// `withTransaction` that rethrows what went wrong itself (the closure's error, or the commit's), rather than
    /// PostgresNIO's wrapper, so that callers can match on their own typed errors.
    func transaction<Result: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> sending Result) async throws -> Result {
        do {
            return try await withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error
        }
    }
}
