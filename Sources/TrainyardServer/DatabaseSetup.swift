import PostgresNIO
import TrainyardStore

/// Which Postgres the service uses.
public enum DatabaseSetup: Sendable {
    /// The private cluster under the data directory (the default).
    case embedded
    /// An external database (`TRAINYARD_DATABASE_URL`).
    case url(String)
    /// A client configuration made by the caller (tests hand in a database cloned from a migrated template).
    case client(PostgresClient.Configuration)
}

extension DatabaseSetup {
    /// Whether other replicas may use the same database: an external one named by `TRAINYARD_DATABASE_URL`.
    var isShared: Bool {
        if case .url = self { return true }
        return false
    }
}
