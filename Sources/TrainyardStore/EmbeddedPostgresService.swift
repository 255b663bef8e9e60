import ServiceLifecycle

/// Keeps the embedded cluster for the life of the service group and stops it on graceful shutdown. Put it first in
/// the group so that it stops last, after everything that talks to the database.
public struct EmbeddedPostgresService: Service {
    let postgres: EmbeddedPostgres

    public init(postgres: EmbeddedPostgres) {
        self.postgres = postgres
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await postgres.stop()
    }
}
