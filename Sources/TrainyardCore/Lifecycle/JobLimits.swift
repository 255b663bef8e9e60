import Foundation

/// The limits a job's life is held to, `max_run` and `max_wait`, and the deadline they set from its stored times:
/// decided here, stored as `deadline_at` (found by an index) and re-checked here when it comes.
public struct JobLimits: Sendable, Hashable {
    /// `max_run` (SageMaker `MaxRuntimeInSeconds`): training seconds allowed, summed over attempts.
    public var maxRunSeconds: Double
    /// `max_wait` (`MaxWaitTimeInSeconds`): seconds of waiting plus running from creation; spot jobs only.
    public var maxWaitSeconds: Double?
    /// When the job was created: `max_wait` counts from here.
    public var createdAt: Date

    public init(maxRunSeconds: Double, maxWaitSeconds: Double?, createdAt: Date) {
        self.maxRunSeconds = maxRunSeconds
        self.maxWaitSeconds = maxWaitSeconds
        self.createdAt = createdAt
    }

    /// The limits of a job asking for `maxRunSeconds` and `maxWaitSeconds`: `max_wait` binds spot jobs only, as in
    /// SageMaker.
    public init(maxRunSeconds: Double, maxWaitSeconds: Double?, spot: Bool, createdAt: Date) {
        self.init(maxRunSeconds: maxRunSeconds, maxWaitSeconds: spot ? maxWaitSeconds : nil, createdAt: createdAt)
    }

    /// The limits of a job with `spec` created at `createdAt`.
    public init(spec: JobSpec, createdAt: Date) {
        self.init(
            maxRunSeconds: Double(spec.maxRun), maxWaitSeconds: spec.maxWait.map(Double.init), spot: spec.useSpotInstances, createdAt: createdAt)
    }

    /// Which limit a deadline enforces.
    public enum Kind: Sendable, Hashable {
        case maxRun
        case maxWait

        /// The stop it causes.
        public var stopReason: StopReason {
            switch self {
            case .maxRun: .maxRuntime
            case .maxWait: .maxWait
            }
        }
    }

    /// The first moment a limit may have been passed, for a job that trained `trainedSeconds` in its ended attempts
    /// and trains since `trainingSince` in its live one (nil when it does not train now); nil when none can pass.
    public func deadline(trainedSeconds: Double, trainingSince: Date?) -> Date? {
        var candidates: [Date] = []
        if let trainingSince {
            candidates.append(trainingSince.addingTimeInterval(maxRunSeconds - trainedSeconds))
        } else if trainedSeconds > maxRunSeconds {
            candidates.append(createdAt)
        }
        if let maxWaitSeconds { candidates.append(createdAt.addingTimeInterval(maxWaitSeconds)) }
        return candidates.min()
    }

    /// The limit passed at `now`, if any: `max_run` once the training time exceeds it, `max_wait` once the time since
    /// creation reaches it; `max_run` first when both have.
    public func passed(at now: Date, trainedSeconds: Double, trainingSince: Date?) -> Kind? {
        let trained = trainedSeconds + (trainingSince.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        if trained > maxRunSeconds { return .maxRun }
        if let maxWaitSeconds, now >= createdAt.addingTimeInterval(maxWaitSeconds) { return .maxWait }
        return nil
    }
}
