import Foundation
import Logging
import PostgresNIO
import Testing
import TrainyardStore
import TrainyardTestSupport

/// `/metrics`' database pool use is each server's own: two servers (replicas) on one database each count the
/// connections of their own pool.
@Suite struct PostgresStoreConnectionTests {
    @Test func twoServersOnOneDatabaseEachCountTheirOwnConnections() async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        let logger = Logger(label: "trainyard.tests")
        let first = PostgresClient(configuration: database.named("trainyard-server test-a"), backgroundLogger: logger)
        let second = PostgresClient(configuration: database.named("trainyard-server test-b"), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await first.run() }
            group.addTask { await second.run() }
            defer { group.cancelAll() }
            let ours = PostgresStore(client: first, logger: logger)
            let theirs = PostgresStore(client: second, logger: logger)
            // the first server holds a lock on one connection; the second's three statements wait for it, each on a
            // connection of its own, until the test lets them go
            try await first.withConnection { holder in
                _ = try await holder.query("SELECT pg_advisory_lock(7)", logger: logger).collect()
                try await withThrowingTaskGroup(of: Void.self) { busy in
                    for _ in 0..<3 {
                        busy.addTask { _ = try await second.query("SELECT pg_advisory_xact_lock_shared(7)", logger: logger).collect() }
                    }
                    let deadline = ContinuousClock.now + .seconds(60)
                    while try await theirs.databaseConnections().active < 4 {
                        guard ContinuousClock.now < deadline else { throw ContractFailure("the second server's three statements never waited at once") }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    let own = try await ours.databaseConnections()
                    #expect((2...3).contains(own.open) && own.active == 1, "the first server counts its own (the holder, idle, and the asking one): \(own)")
                    let other = try await theirs.databaseConnections()
                    #expect(other.open >= 4 && other.active >= 4, "the second counts its four: \(other)")
                    _ = try await holder.query("SELECT pg_advisory_unlock(7)", logger: logger).collect()
                    try await busy.waitForAll()
                }
            }
        }
    }
}
