import Foundation

/// The limits a job's life is held to, `max_run`, `max_wait` and `max_pending`, and the deadline they set from its
/// stored times: decided here, stored as `deadline_at` (found by an index) and re-checked here when it comes.
public struct JobLimits: Sendable, Hashable {
    /// `max_run` (SageMaker `MaxRuntimeInSeconds`): training seconds allowed, summed over attempts.
    public var maxRunSeconds: Double
    /// `max_wait` (`MaxWaitTimeInSeconds`): seconds of waiting plus running from creation; spot jobs only.
    public var maxWaitSeconds: Double?
    /// `max_pending` (`MaxPendingTimeInSeconds`): seconds of waiting for capacity, summed over the job's waits.
    public var maxPendingSeconds: Double?
    /// When the job was created: `max_wait` counts from here.
    public var createdAt: Date

    public init(maxRunSeconds: Double, maxWaitSeconds: Double?, maxPendingSeconds: Double? = nil, createdAt: Date) {
        self.maxRunSeconds = maxRunSeconds
        self.maxWaitSeconds = maxWaitSeconds
        self.maxPendingSeconds = maxPendingSeconds
        self.createdAt = createdAt
    }

    /// The limits of a job asking for `maxRunSeconds`, `maxWaitSeconds` and `maxPendingSeconds`: `max_wait` binds spot
    /// jobs only, as in SageMaker.
    public init(maxRunSeconds: Double, maxWaitSeconds: Double?, maxPendingSeconds: Double? = nil, spot: Bool, createdAt: Date) {
        self.init(maxRunSeconds: maxRunSeconds, maxWaitSeconds: spot ? maxWaitSeconds : nil, maxPendingSeconds: maxPendingSeconds, createdAt: createdAt)
    }

    /// The limits of a job with `spec` created at `createdAt`.
    public init(spec: JobSpec, createdAt: Date) {
        self.init(
            maxRunSeconds: Double(spec.maxRun), maxWaitSeconds: spec.maxWait.map(Double.init), maxPendingSeconds: spec.maxPending.map(Double.init),
            spot: spec.useSpotInstances, createdAt: createdAt)
    }

    /// Which limit a deadline enforces.
    public enum Kind: Sendable, Hashable {
        case maxRun
        case maxWait
        case maxPending

        /// The stop it causes.
        public var stopReason: StopReason {
            switch self {
            case .maxRun: .maxRuntime
            case .maxWait: .maxWait
            case .maxPending: .maxPending
            }
        }
    }

    /// The first moment a limit may have been passed, for a job that trained `trainedSeconds` in its ended attempts
    /// and trains since `trainingSince` in its live one (nil when it does not train now), and has waited for capacity
    /// as `waits` says (nil where they were not loaded: `max_pending` is then not judged); nil when none can pass.
    public func deadline(trainedSeconds: Double, trainingSince: Date?, waits: CapacityWaits? = nil) -> Date? {
        var candidates: [Date] = []
        if let trainingSince {
            candidates.append(trainingSince.addingTimeInterval(maxRunSeconds - trainedSeconds))
        } else if trainedSeconds > maxRunSeconds {
            candidates.append(createdAt)
        }
        if let maxWaitSeconds { candidates.append(createdAt.addingTimeInterval(maxWaitSeconds)) }
        if let maxPendingSeconds, let waits, let since = waits.waitingSince {
            candidates.append(since.addingTimeInterval(maxPendingSeconds - waits.waitedSeconds))
        }
        return candidates.min()
    }

    /// The limit passed at `now`, if any: `max_run` once the training time exceeds it, `max_wait` once the time since
    /// creation reaches it, `max_pending` once a job waiting for capacity has waited that long in all; in that order
    /// when several have.
    public func passed(at now: Date, trainedSeconds: Double, trainingSince: Date?, waits: CapacityWaits? = nil) -> Kind? {
        let trained = trainedSeconds + (trainingSince.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        if trained > maxRunSeconds { return .maxRun }
        if let maxWaitSeconds, now >= createdAt.addingTimeInterval(maxWaitSeconds) { return .maxWait }
        if let maxPendingSeconds, let waits, let since = waits.waitingSince,
            waits.waitedSeconds + max(0, now.timeIntervalSince(since)) >= maxPendingSeconds
        {
            return .maxPending
        }
        return nil
    }
}

/// How long a job has waited for capacity: its waits that ended (from its creation, or from the end of an attempt,
/// to the start of the next attempt) and the one going on, if it has no attempt open.
public struct CapacityWaits: Sendable, Hashable {
    /// Seconds of the waits that ended.
    public var waitedSeconds: Double
    /// When the wait going on began; nil while an attempt is open.
    public var waitingSince: Date?

    public init(waitedSeconds: Double, waitingSince: Date?) {
        self.waitedSeconds = waitedSeconds
        self.waitingSince = waitingSince
    }

    /// A job just submitted at `createdAt`: waiting since then.
    public static func submitted(at createdAt: Date) -> CapacityWaits { CapacityWaits(waitedSeconds: 0, waitingSince: createdAt) }

    /// The waits of a job created at `createdAt` with `attempts` (each's start, and end once it ended), in any order.
    public static func of(createdAt: Date, attempts: [(startedAt: Date, endedAt: Date?)]) -> CapacityWaits {
        var waits = CapacityWaits(waitedSeconds: 0, waitingSince: nil)
        var free: Date? = createdAt
        for attempt in attempts.sorted(by: { $0.startedAt < $1.startedAt }) {
            if let since = free { waits.waitedSeconds += max(0, attempt.startedAt.timeIntervalSince(since)) }
            free = attempt.endedAt
        }
        waits.waitingSince = free
        return waits
    }

    /// The wait ends now: an attempt got capacity.
    mutating func granted(at now: Date) {
        guard let since = waitingSince else { return }
        waitedSeconds += max(0, now.timeIntervalSince(since))
        waitingSince = nil
    }
}
