import Logging
import ServiceLifecycle

/// Keeps the embedded cluster for the life of the service group, restarts it when it dies, and stops it on graceful
/// shutdown. Put it first in the group so that it stops last, after everything that talks to the database.
///
/// A server that exits without being asked to (the OOM killer's `kill -9` of the postmaster) is started again on the
/// same data directory: PostgreSQL's crash recovery replays its write-ahead log, so every committed transaction is
/// there. `onCrash` runs as soon as the exit is seen, `onRestarted` once the server accepts connections again (and is
/// tried again until it succeeds): the service uses them to answer `/readyz` with 503 and hold its controllers meanwhile.
public struct EmbeddedPostgresService: Service {
    let postgres: EmbeddedPostgres
    let checkInterval: Duration
    let onCrash: @Sendable () -> Void
    let onRestarted: @Sendable () async throws -> Void

    public init(
        postgres: EmbeddedPostgres, checkInterval: Duration = .milliseconds(100), onCrash: @escaping @Sendable () -> Void = {},
        onRestarted: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.postgres = postgres
        self.checkInterval = checkInterval
        self.onCrash = onCrash
        self.onRestarted = onRestarted
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await supervise() }
        } catch let error as EmbeddedPostgresError {
            // The cluster cannot come back (its directory is gone): the service ends rather than answer 503 for ever.
            postgres.logger.critical("the embedded postgres cluster cannot be restarted", metadata: ["error": "\(error)"])
            await postgres.stop()
            throw error
        } catch {}
        await postgres.stop()
    }

    /// Watches the server until cancelled, restarting it each time it exits.
    private func supervise() async throws {
        let logger = postgres.logger
        while true {
            try await Task.sleep(for: checkInterval)
            guard let status = postgres.unexpectedExitStatus else { continue }
            let crashed = ContinuousClock.now
            onCrash()
            logger.error(
                "embedded postgres exited unexpectedly; restarting it (the service answers 503 until it is back)",
                metadata: ["postgres.status": "\(status)", "postgres.log": "\(postgres.configuration.clusterDirectory)/postgres.log"])
            var delay = Duration.milliseconds(200)
            while true {
                do {
                    // Never a fresh cluster in place of one that disappeared: that would serve an empty database.
                    try await postgres.start(initialise: false)
                    break
                } catch is CancellationError {
                    throw CancellationError()
                } catch let error as EmbeddedPostgresError {
                    if case .clusterMissing = error { throw error }
                    logger.warning("restarting embedded postgres failed; trying again", metadata: ["error": "\(error)"])
                    try await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(5))
                } catch {
                    // Backends of the dead server may still hold its shared memory for a moment; the next try succeeds.
                    logger.warning("restarting embedded postgres failed; trying again", metadata: ["error": "\(error)"])
                    try await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(5))
                }
            }
            delay = .milliseconds(200)
            var resumed = false
            while !resumed {
                do {
                    try await onRestarted()
                    resumed = true
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    // Crashed again before the service could resume: the next check restarts it once more.
                    if postgres.unexpectedExitStatus != nil { break }
                    logger.warning("resuming after the postgres restart failed; trying again", metadata: ["error": "\(error)"])
                    try await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(5))
                }
            }
            guard resumed else { continue }
            logger.notice(
                "embedded postgres restarted after a crash; the service is ready again",
                metadata: ["downtime": "\(ContinuousClock.now - crashed)"])
        }
    }
}
