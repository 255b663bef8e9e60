import PostgresNIO
import TrainyardTestSupport

/// A fresh cloned database from the test process's cluster.
enum TrainyardTestSupportAccess {
    static func freshDatabase() async throws -> PostgresClient.Configuration {
        try await TestPostgres.shared.freshDatabase()
    }
}
