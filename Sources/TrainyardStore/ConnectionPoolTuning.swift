public import PostgresNIO

extension PostgresClient.Configuration {
    /// The pool settings the server runs with. PostgresNIO's pool arms timers each time a connection goes back to the
    /// pool: a keep-alive ping (30 s by default) and, for a connection beyond the pool's minimum, an idle timeout (60 s)
    /// after which it closes it. A timer re-armed before it fires is cancelled, but the `Task.sleep` under it keeps its
    /// task and its dispatch timer until the deadline it was given, so the heap held every release of the last minute:
    /// at 1,000 hosts (over a thousand releases a second) about 60 MB of the server's heap and a third of its CPU per
    /// heartbeat (bench/scale, heaptrack). So:
    /// - half the pool is kept open (no idle timer): the agents' admission gate lets at most half the pool's
    ///   connections serve agents, so under their load nearly every release is of a kept connection;
    /// - a connection beyond that closes after 5 s idle (reopening one costs milliseconds, once, when load returns);
    /// - the embedded cluster's connections, on a unix socket whose postmaster's death closes them at once, are not
    ///   pinged; a remote database's are, where a firewall may drop an idle connection silently.
    /// Keeping the whole pool open stalled it for half a minute after a killed postmaster came back (ServeOutageTests).
    public func tunedForTheServer(remote: Bool) -> PostgresClient.Configuration {
        var tuned = self
        tuned.options.minimumConnections = tuned.options.maximumConnections / 2
        tuned.options.connectionIdleTimeout = .seconds(5)
        if !remote { tuned.options.keepAliveBehavior = nil }
        return tuned
    }
}
