import Foundation
import Logging
import TrainyardStore

/// Stops the jobs whose stored deadline came, once Core says a limit passed (`max_run` over the training time of all
/// attempts, `max_wait` of a spot job from its creation), with the configured stop grace.
struct DeadlineEnforcer: Sendable {
    /// Attempts and hosts (the store, or its twin in tests).
    let attempts: any AttemptRepository
    let settings: WorkerSettings
    let logger: Logger

    func runOnce(now: Date = Date()) async throws {
        for stop in try await attempts.enforceDeadlines(graceSeconds: settings.stopGrace, now: now) {
            let what = switch stop.limit {
            case .maxRun: "job ran past max_run; stopping it"
            case .maxWait: "job waited and ran past max_wait; stopping it"
            case .maxPending: "job waited for capacity past max_pending; stopped it"
            }
            logger.info("\(what)", metadata: ["job": "\(stop.job)", "project": "\(stop.project)"])
        }
    }
}
