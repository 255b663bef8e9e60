import TrainyardCore
import Logging
import PostgresNIO
import ServiceLifecycle
import TrainyardStore

/// Listens to Postgres notifications (`trainyard_jobs`, `trainyard_attempts`, `trainyard_logs`, `trainyard_keys`) on one connection and
/// rings the controllers' doorbells and the log followers', so that a job submitted to any replica is scheduled at
/// once, not on the next tick, a line stored by any replica reaches the followers of every replica, and a key deleted on
/// one replica stops working on all.
struct Wakeups: Service {
    let client: PostgresClient
    let jobs: Doorbell
    let attempts: Doorbell
    let followers: LogFollowers
    /// The webhook sender: every job change may have written deliveries.
    let webhooks: Doorbell
    /// API keys deleted or re-hashed on any replica are forgotten here.
    let keys: APIKeyCache
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        // A notification sequence does not end on cancellation; closing the connection ends it.
                        try await withTaskCancellationHandler {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                try await connection.listen(on: "trainyard_jobs") { notifications in
                                    for try await notification in notifications {
                                        jobs.ring()
                                        webhooks.ring()
                                        followers.jobChanged(name: notification.payload)
                                    }
                                }
                            }
                            group.addTask {
                                try await connection.listen(on: "trainyard_attempts") { notifications in
                                    for try await _ in notifications { attempts.ring() }
                                }
                            }
                            group.addTask {
                                try await connection.listen(on: "trainyard_logs") { notifications in
                                    // Listening again after a lost connection: what was announced meanwhile is unknown.
                                    followers.ringAll()
                                    for try await notification in notifications {
                                        if let jobID = Int64(notification.payload) { followers.linesStored(jobID: jobID) }
                                    }
                                }
                            }
                            group.addTask {
                                try await connection.listen(on: PostgresStore.keyChangedChannel) { notifications in
                                    // Listening again after a lost connection: a key may have changed meanwhile.
                                    keys.forgetAll()
                                    for try await notification in notifications { keys.forget(id: notification.payload) }
                                }
                            }
                            try await group.next()
                            group.cancelAll()
                        }
                        } onCancel: {
                            Task { try? await connection.close() }
                        }
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("listening for notifications failed; retrying", metadata: ["error": "\(LoggedError.describe(error))"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}
