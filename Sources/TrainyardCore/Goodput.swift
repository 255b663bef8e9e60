import Foundation

/// How much of a job's time went into training that counts, as HyperPod's training "goodput" figures put it (and
/// keep off by default): the time in `Training`, the part of it not lost to faults (the work since the last checkpoint
/// at each interruption is done again), the share of the run spent training, the faults by class, and how long the
/// job took to train again after each.
public struct Goodput: Sendable, Equatable {
    /// What ended an attempt early, or the job.
    public enum Fault: String, Sendable, CaseIterable, Comparable {
        /// A spot host was reclaimed (or an admin interrupted one).
        case spotReclaim = "spot_reclaim"
        /// A host stopped heartbeating or its agent died.
        case hostLost = "host_lost"
        /// The training command failed by itself (a non-zero exit, a signal it did not get from Trainyard).
        case userError = "user_error"
        /// A stop: the user's, or `max_run` / `max_wait` passing.
        case stop

        public static func < (lhs: Fault, rhs: Fault) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// One attempt as goodput reads it.
    public struct Attempt: Sendable, Equatable {
        public var startedAt: Date
        /// When its hosts were all training; nil if they never were.
        public var trainingStartedAt: Date?
        /// Nil while it runs.
        public var endedAt: Date?
        /// What ended it, when a fault did; nil for an attempt that completed or still runs.
        public var fault: Fault?
        /// When the fault struck: when the gang was asked to stop (a reclaim's notice, a gang failure), else the first
        /// faulted host's end, else the attempt's end.
        public var faultAt: Date?
        /// When its hosts last synced their checkpoints (the latest host's), if ever.
        public var lastCheckpointAt: Date?

        public init(startedAt: Date, trainingStartedAt: Date?, endedAt: Date?, fault: Fault?, faultAt: Date? = nil, lastCheckpointAt: Date?) {
            self.startedAt = startedAt
            self.trainingStartedAt = trainingStartedAt
            self.endedAt = endedAt
            self.fault = fault
            self.faultAt = faultAt
            self.lastCheckpointAt = lastCheckpointAt
        }

        /// An attempt of `hosts` (each with when it ended and last synced its checkpoints), as goodput reads it.
        public init(
            startedAt: Date, trainingStartedAt: Date?, endedAt: Date?, stopReason: StopReason?, stopRequestedAt: Date?,
            hosts: [(result: HostResult, endedAt: Date?, checkpointAt: Date?)]
        ) {
            let fault = Self.fault(hosts: hosts.map(\.result), stopReason: stopReason, ended: endedAt != nil)
            let faulted = hosts.filter { $0.result.interrupted || $0.result.phase == .lost || $0.result.failedByItself }
            self.init(
                startedAt: startedAt, trainingStartedAt: trainingStartedAt, endedAt: endedAt, fault: fault,
                faultAt: fault == nil ? nil : (stopRequestedAt ?? faulted.compactMap(\.endedAt).min() ?? endedAt),
                lastCheckpointAt: hosts.compactMap(\.checkpointAt).max())
        }

        /// The fault that ended an attempt of these hosts with this stop reason; nil when it completed or runs.
        public static func fault(hosts: [HostResult], stopReason: StopReason?, ended: Bool) -> Fault? {
            guard ended else { return nil }
            switch stopReason {
            case .user, .maxRuntime, .maxWait, .maxPending: return .stop
            case .interruption: return hosts.allSatisfy(\.completedItsWork) && !hosts.isEmpty ? nil : .spotReclaim
            case .gangFailure, nil: break
            }
            if hosts.contains(where: \.interrupted) { return .spotReclaim }
            if hosts.contains(where: { $0.phase == .lost }) { return .hostLost }
            if hosts.contains(where: \.failedByItself) { return .userError }
            return nil
        }
    }

    /// Seconds in `Training`, every attempt's.
    public var trainingSeconds: Double
    /// Training seconds less those lost: what a run without faults would have needed.
    public var productiveSeconds: Double
    /// Training seconds done again: at each fault, the time since the attempt's last checkpoint (all of its training
    /// when it never checkpointed). A stop loses nothing: the model is uploaded.
    public var lostSeconds: Double
    /// Training seconds over the time from the first training start to the job's end (or now), in percent; nil before
    /// the job first trained.
    public var uptimePercent: Double?
    /// Attempts ended by each class of fault.
    public var faults: [Fault: Int]
    /// Faults after which the job trained again on its own (a spot reclaim resumed, a lost host retried).
    public var autoRecoveries: Int
    /// Seconds from each of those faults to training again, summed.
    public var recoverySeconds: Double

    /// The mean time from a fault to training again; nil without a recovery.
    public var meanRecoverySeconds: Double? { autoRecoveries > 0 ? recoverySeconds / Double(autoRecoveries) : nil }

    public init(
        trainingSeconds: Double = 0, productiveSeconds: Double = 0, lostSeconds: Double = 0, uptimePercent: Double? = nil, faults: [Fault: Int] = [:],
        autoRecoveries: Int = 0, recoverySeconds: Double = 0
    ) {
        self.trainingSeconds = trainingSeconds
        self.productiveSeconds = productiveSeconds
        self.lostSeconds = lostSeconds
        self.uptimePercent = uptimePercent
        self.faults = faults
        self.autoRecoveries = autoRecoveries
        self.recoverySeconds = recoverySeconds
    }

    /// The figures of a job's attempts (in any order) at `now`; `jobEndedAt`, once the job has ended, closes its run
    /// (until then a job waiting to resume is down now).
    public static func of(_ attempts: [Attempt], jobEndedAt: Date?, now: Date) -> Goodput {
        let ordered = attempts.sorted { $0.startedAt < $1.startedAt }
        var goodput = Goodput()
        for (index, attempt) in ordered.enumerated() {
            let end = attempt.endedAt ?? now
            if let start = attempt.trainingStartedAt {
                let trained = max(0, end.timeIntervalSince(start))
                goodput.trainingSeconds += trained
                if let fault = attempt.fault, fault != .stop {
                    // The training since the last checkpoint sync is done again; a sync after the fault struck (the
                    // final one within a reclaim's notice) kept the work up to it.
                    let struck = attempt.faultAt ?? end
                    if attempt.lastCheckpointAt.map({ $0 < struck }) ?? true {
                        let kept = attempt.lastCheckpointAt.map { max($0, start) } ?? start
                        goodput.lostSeconds += max(0, end.timeIntervalSince(kept))
                    }
                }
            }
            guard let fault = attempt.fault else { continue }
            goodput.faults[fault, default: 0] += 1
            // Recovered: a later attempt trained again.
            if fault != .stop, let faultAt = attempt.faultAt ?? attempt.endedAt,
                let again = ordered[(index + 1)...].lazy.compactMap(\.trainingStartedAt).first(where: { $0 >= faultAt })
            {
                goodput.autoRecoveries += 1
                goodput.recoverySeconds += again.timeIntervalSince(faultAt)
            }
        }
        goodput.productiveSeconds = max(0, goodput.trainingSeconds - goodput.lostSeconds)
        if let first = ordered.compactMap(\.trainingStartedAt).min() {
            let span = (jobEndedAt ?? now).timeIntervalSince(first)
            goodput.uptimePercent = span > 0 ? min(100, (goodput.trainingSeconds / span * 1000).rounded() / 10) : 100
        }
        return goodput
    }

    /// Seconds from the first training start of `attempts` to the end of the last of them that ended: the time their
    /// run covered, training and the time down between attempts; 0 before any trained. A project's uptime is its
    /// training seconds over the sum of these (the same share as ``uptimePercent`` of one job), and adding an ended
    /// attempt adds the time since the attempt before it ended.
    public static func runSeconds(_ attempts: [Attempt]) -> Double {
        guard let first = attempts.compactMap(\.trainingStartedAt).min(), let last = attempts.compactMap(\.endedAt).max() else { return 0 }
        return max(0, last.timeIntervalSince(first))
    }
}

extension HostResult {
    /// The host exited 0 on its own: its work was done before any stop reached it.
    var completedItsWork: Bool { phase == .exited && !stopped && exitCode == 0 && signal == nil }
}
