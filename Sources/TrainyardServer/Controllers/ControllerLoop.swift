import Logging
import ServiceLifecycle
import Synchronization
import TrainyardCore
import TrainyardStore

/// Runs a controller's `runOnce` whenever its doorbell rings or its interval passes, until graceful shutdown.
///
/// With a `minimumGap`, passes start at least that far apart: a lone ring is served at once, while a burst of rings
/// (a thousand submissions a second, each a notification) is served by one pass per gap that sees them all, instead of
/// a pass per ring.
///
/// Graceful shutdown stops the loop from starting another pass but lets the pass under way finish (a finalizer's
/// merge, a webhook batch's record), as swift-jobs' workers do: cancelling it half-way left its claim held for the
/// claim's whole lease. Only the service group's shutdown deadline cancels a pass.
struct ControllerLoop: Service {
    let name: String
    let interval: Duration
    var minimumGap: Duration = .zero
    /// What wakes the loop before its interval: a LISTEN/NOTIFY wake-up, a local event. Without one the loop runs on
    /// its interval alone.
    let doorbell: Doorbell?
    /// Passes wait until start-up (migrations) is done.
    let readiness: Readiness
    let logger: Logger
    /// A pass still running after this is logged as a warning, and again each time as long again passes: a pass stuck
    /// on a call that never answers holds its controller's work (a finalizer's attempts, a sender's deliveries).
    let slowPassWarning: Duration
    /// Where a failed pass is counted (`trainyard_controller_pass_failures_total`).
    let failures: ServiceMetrics?
    let body: @Sendable () async throws -> Void

    init(
        name: String, interval: Duration, minimumGap: Duration = .zero, doorbell: Doorbell? = nil, readiness: Readiness, logger: Logger,
        failures: ServiceMetrics? = nil, slowPassWarning: Duration = .seconds(60), body: @escaping @Sendable () async throws -> Void
    ) {
        self.failures = failures
        self.slowPassWarning = slowPassWarning
        self.name = name
        self.interval = interval
        self.minimumGap = minimumGap
        self.doorbell = doorbell
        self.readiness = readiness
        self.logger = logger
        self.body = body
    }

    func run() async throws {
        // Rung by the loop's own doorbell or, at shutdown, by the shutdown handler: a loop waiting out its interval
        // ends at once.
        let wake = doorbell ?? Doorbell()
        let stopping = Atomic<Bool>(false)
        try await withGracefulShutdownHandler {
            var lastStart: ContinuousClock.Instant?
            while !Task.isCancelled && !stopping.load(ordering: .acquiring) {
                if let lastStart, ContinuousClock.now < lastStart + minimumGap {
                    try? await Task.sleep(until: lastStart + minimumGap, clock: .continuous)
                }
                if stopping.load(ordering: .acquiring) { return }
                lastStart = ContinuousClock.now
                do {
                    if readiness.isReady { try await watched(body) }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("controller pass failed", metadata: ["controller": "\(name)", "error": "\(LoggedError.describe(error))"])
                    failures?.controllerPassFailed(name)
                }
                if stopping.load(ordering: .acquiring) { return }
                await wake.wait(upTo: interval)
            }
        } onGracefulShutdown: {
            stopping.store(true, ordering: .releasing)
            wake.ring()
        }
    }

    /// Runs one pass beside a watcher that warns while it runs past ``slowPassWarning``; the watcher ends with it.
    private func watched(_ pass: @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let started = ContinuousClock.now
            group.addTask { [name, logger, slowPassWarning] in
                while true {
                    try await Task.sleep(for: slowPassWarning)
                    logger.warning(
                        "controller pass still running", metadata: ["controller": "\(name)", "seconds": "\((ContinuousClock.now - started).components.seconds)"])
                }
            }
            defer { group.cancelAll() }
            try await pass()
        }
    }
}
