import TrainyardCore
import Logging
import ServiceLifecycle

/// Runs a controller's `runOnce` whenever its doorbell rings or its interval passes, until graceful shutdown.
struct ControllerLoop: Service {
    let name: String
    let interval: Duration
    let doorbell: Doorbell
    /// Passes wait until start-up (migrations) is done.
    let readiness: Readiness
    let logger: Logger
    let body: @Sendable () async throws -> Void

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if readiness.isReady { try await body() }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("controller pass failed", metadata: ["controller": "\(name)", "error": "\(error)"])
                }
                await doorbell.wait(upTo: interval)
            }
        }
    }
}
