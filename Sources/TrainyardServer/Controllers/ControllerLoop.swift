import TrainyardCore
import Logging
import ServiceLifecycle
import TrainyardStore

/// Runs a controller's `runOnce` whenever its doorbell rings or its interval passes, until graceful shutdown.
///
/// With a `minimumGap`, passes start at least that far apart: a lone ring is served at once, while a burst of rings
/// (a thousand submissions a second, each a notification) is served by one pass per gap that sees them all, instead of
/// a pass per ring.
struct ControllerLoop: Service {
    let name: String
    let interval: Duration
    var minimumGap: Duration = .zero
    let doorbell: Doorbell
    /// Passes wait until start-up (migrations) is done.
    let readiness: Readiness
    let logger: Logger
    let body: @Sendable () async throws -> Void

    init(
        name: String, interval: Duration, minimumGap: Duration = .zero, doorbell: Doorbell, readiness: Readiness, logger: Logger,
        body: @escaping @Sendable () async throws -> Void
    ) {
        self.name = name
        self.interval = interval
        self.minimumGap = minimumGap
        self.doorbell = doorbell
        self.readiness = readiness
        self.logger = logger
        self.body = body
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            var lastStart: ContinuousClock.Instant?
            while !Task.isCancelled {
                if let lastStart, ContinuousClock.now < lastStart + minimumGap {
                    try? await Task.sleep(until: lastStart + minimumGap, clock: .continuous)
                }
                lastStart = ContinuousClock.now
                do {
                    if readiness.isReady { try await body() }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("controller pass failed", metadata: ["controller": "\(name)", "error": "\(LoggedError.describe(error))"])
                }
                await doorbell.wait(upTo: interval)
            }
        }
    }
}
