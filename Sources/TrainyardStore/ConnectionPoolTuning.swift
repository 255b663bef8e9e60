public import PostgresNIO

extension PostgresClient.Configuration {
    /// The pool settings the server runs with. PostgresNIO's pool arms timers each time a connection goes back to the
    /// pool: a keep-alive ping (30 s by default) and an idle timeout (60 s) after which it closes a connection nobody
    /// leased again. A timer re-armed before it fires is cancelled, but the `Task.sleep` under it keeps its task and
    /// its dispatch timer until the deadline it was given, so the heap holds every release of the last minute: at
    /// 1,000 hosts (over a thousand releases a second) that was about 60 MB of the server's heap and a tenth of its
    /// CPU (bench/scale, heaptrack). So an idle connection is closed after 5 s (reopening one on a local socket costs
    /// a few milliseconds, once, when load comes back), and the embedded cluster's connections, on a unix socket whose
    /// postmaster's death closes them at once, are not pinged; a remote database's are, where a firewall may drop an
    /// idle connection silently. (Keeping every connection open instead, none idle-timed, stalled the pool for half a
    /// minute after a killed postmaster came back: ServeOutageTests.)
    public func tunedForTheServer(remote: Bool) -> PostgresClient.Configuration {
        var tuned = self
        tuned.options.connectionIdleTimeout = .seconds(5)
        if !remote { tuned.options.keepAliveBehavior = nil }
        return tuned
    }
}
