public import PostgresNIO
import Foundation

extension PostgresClient.Configuration {
    /// The pool settings the server runs with. PostgresNIO's pool arms timers each time a connection goes back to the
    /// pool: a keep-alive ping (30 s by default) and, for a connection beyond the pool's minimum, an idle timeout (60 s)
    /// after which it closes it. A timer re-armed before it fires is cancelled, but the `Task.sleep` under it keeps its
    /// task and its dispatch timer until the deadline it was given, so the heap held every release of the last minute:
    /// at 1,000 hosts (over a thousand releases a second) about 60 MB of the server's heap (bench/scale, heaptrack).
    /// So an idle connection closes after 5 s (reopening one costs milliseconds, once, when load returns), and the
    /// embedded cluster's connections, on a unix socket whose postmaster's death closes them at once, are not pinged; a
    /// remote database's are, where a firewall may drop an idle connection silently.
    ///
    /// A pool minimum (connections kept open, without idle timers) saves more (71 MB instead of 96, a quarter of the
    /// CPU per heartbeat), but with one the pool stalled for half a minute after a killed postmaster came back
    /// (ServeOutageTests: with the whole pool kept, twice in six runs; with half of it, once in two full suites), so
    /// the pool opens connections on demand, as PostgresNIO's default.
    public func tunedForTheServer(remote: Bool) -> PostgresClient.Configuration {
        var tuned = self
        tuned.options.connectionIdleTimeout = .seconds(5)
        if !remote { tuned.options.keepAliveBehavior = nil }
        return tuned
    }

    /// The server's connections named after this process (`application_name`, as `pg_stat_activity` shows it):
    /// several servers (replicas) on one database each count their own connections, `/metrics`' pool use among them.
    public func named(_ name: String = Self.serverApplicationName) -> PostgresClient.Configuration {
        var named = self
        named.options.additionalStartupParameters.removeAll { $0.0 == "application_name" }
        named.options.additionalStartupParameters.append(("application_name", name))
        return named
    }

    /// `trainyard-server <host> <pid>`, within PostgreSQL's 63 bytes.
    public static let serverApplicationName: String = {
        let name = "trainyard-server \(ProcessInfo.processInfo.hostName.prefix(32)) \(ProcessInfo.processInfo.processIdentifier)"
        return String(decoding: name.utf8.prefix(63), as: UTF8.self)
    }()
}
