import Foundation
import TrainyardCore

/// A worker host as stored.
public struct HostRecord: Sendable, Equatable {
    public var id: String
    public var attemptID: Int64
    public var jobID: Int64
    public var name: String
    public var ordinal: Int
    public var instanceType: String
    public var spot: Bool
    public var phase: HostPhase
    public var exitCode: Int32?
    public var signal: Int32?
    public var failureReason: String?
    public var stopped: Bool
    public var modelArchive: String?
    public var outputArchive: String?
    public var providerRef: String?
    public var startedAt: Date
    public var endedAt: Date?
    /// Whether this host was reclaimed (a spot interruption).
    public var interrupted: Bool = false
    /// When its last checkpoint sync completed.
    public var checkpointSyncedAt: Date?

    public init(
        id: String, attemptID: Int64, jobID: Int64, name: String, ordinal: Int, instanceType: String, spot: Bool = false, phase: HostPhase,
        exitCode: Int32? = nil, signal: Int32? = nil, failureReason: String? = nil, stopped: Bool = false, modelArchive: String? = nil,
        outputArchive: String? = nil, providerRef: String? = nil, startedAt: Date, endedAt: Date? = nil, interrupted: Bool = false,
        checkpointSyncedAt: Date? = nil
    ) {
        self.id = id
        self.attemptID = attemptID
        self.jobID = jobID
        self.name = name
        self.ordinal = ordinal
        self.instanceType = instanceType
        self.spot = spot
        self.phase = phase
        self.exitCode = exitCode
        self.signal = signal
        self.failureReason = failureReason
        self.stopped = stopped
        self.modelArchive = modelArchive
        self.outputArchive = outputArchive
        self.providerRef = providerRef
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.interrupted = interrupted
        self.checkpointSyncedAt = checkpointSyncedAt
    }

    /// The result the attempt outcome is decided from.
    public var result: HostResult {
        HostResult(
            name: name, ordinal: ordinal, phase: phase, exitCode: exitCode, signal: signal, failureReason: failureReason, stopped: stopped,
            interrupted: interrupted)
    }

    /// The host's state as a description shows it: its phase, or `interrupted` for a reclaimed host.
    public var displayState: String { interrupted ? "interrupted" : phase.rawValue }
}

/// An attempt with its hosts.
public struct AttemptRecord: Sendable, Equatable {
    public var id: Int64
    public var jobID: Int64
    public var number: Int
    public var state: AttemptState
    public var startedAt: Date
    public var trainingStartedAt: Date?
    public var endedAt: Date?
    public var endReason: String?
    public var stopReason: StopReason?
    public var hosts: [HostRecord]
    /// When its gang was first asked to stop (a stop, a reclaim's notice, a gang failure, a deadline).
    public var stopRequestedAt: Date? = nil

    /// The attempt as goodput reads it: its times, the fault that ended it, its hosts' last checkpoint sync.
    public var goodput: Goodput.Attempt {
        Goodput.Attempt(
            startedAt: startedAt, trainingStartedAt: trainingStartedAt, endedAt: state == .ended ? endedAt ?? startedAt : nil, stopReason: stopReason,
            stopRequestedAt: stopRequestedAt, hosts: hosts.map { ($0.result, $0.endedAt, $0.checkpointSyncedAt) })
    }

    /// Seconds the gang spent training in this attempt, up to `now` while it runs.
    public func trainingSeconds(now: Date) -> Double {
        guard let start = trainingStartedAt else { return 0 }
        return max(0, (endedAt ?? now).timeIntervalSince(start))
    }
}

/// What a host's agent needs to start: the assignment's inputs as the store knows them.
public struct HostAssignment: Sendable {
    public var host: HostRecord
    public var job: JobRecord
    public var attemptNumber: Int
    public var hostNames: [String]
}
