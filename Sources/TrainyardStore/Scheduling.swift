import Foundation
import TrainyardCore

/// One host the scheduler allocated: its id, `algo-N` name and the token its agent authenticates with (shown once).
public struct HostLaunch: Sendable, Equatable {
    public var id: String
    public var name: String
    public var token: String
}

/// A gang the scheduler allocated and the provisioner must now start.
public struct LaunchPlan: Sendable, Equatable {
    public var jobID: Int64
    public var jobName: String
    /// The job's project (a provisioner that runs projects as their own users needs it).
    public var projectName: String
    public var attemptID: Int64
    public var attemptNumber: Int
    public var instanceType: String
    public var spot: Bool
    public var hosts: [HostLaunch]
    /// The job's `volume_size` (GiB per host), when it asked for one.
    public var volumeSize: Int? = nil
}
