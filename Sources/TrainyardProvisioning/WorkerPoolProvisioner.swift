/// One host to start: its id, `algo-N` name and the attempt-scoped token its agent authenticates with.
public struct HostLaunchRequest: Sendable, Equatable {
    public var id: String
    public var name: String
    public var token: String

    public init(id: String, name: String, token: String) {
        self.id = id
        self.name = name
        self.token = token
    }
}

/// A gang of hosts to start for one attempt.
public struct PoolLaunchRequest: Sendable, Equatable {
    public var jobName: String
    public var attemptNumber: Int
    public var instanceType: String
    public var spot: Bool
    public var hosts: [HostLaunchRequest]
    /// Where agents reach the server, e.g. `http://127.0.0.1:8080`.
    public var serverURL: String

    public init(jobName: String, attemptNumber: Int, instanceType: String, spot: Bool, hosts: [HostLaunchRequest], serverURL: String) {
        self.jobName = jobName
        self.attemptNumber = attemptNumber
        self.instanceType = instanceType
        self.spot = spot
        self.hosts = hosts
        self.serverURL = serverURL
    }
}

/// Starts and tears down the worker hosts of an attempt: one `trainyard-agent` per host, which then talks to the
/// server itself (assignment, heartbeats, reports). Stop and max_run reach agents through heartbeat answers, so a
/// provisioner only starts gangs and kills what is left of them.
///
/// Local processes implement it now; Slurm fits the same shape: `launch` is one `sbatch --nodes=N` whose batch script
/// starts the agent on each node with `srun`, and `terminate` is `scancel`.
public protocol WorkerPoolProvisioner: Sendable {
    /// A short name recorded with each attempt (`local`, `slurm`).
    var name: String { get }
    /// Starts one agent per host; answers a reference per host id (a process id, a Slurm job id) for later teardown.
    func launch(_ request: PoolLaunchRequest) async throws -> [String: String]
    /// Kills whatever is left of these hosts (an agent judged dead, a gang torn down). `references` are the values
    /// `launch` returned, keyed by host id.
    func terminate(hosts references: [String: String]) async
    /// Delivers a reclaim notice to these hosts now (a spot interruption): their agents get SIGTERM, as a provider's
    /// notice reaches a real host, and start their final checkpoint sync at once. The server has already told the
    /// gang to stop within the notice period, which agents also learn from their next heartbeat.
    func reclaim(hosts references: [String: String]) async
}

extension WorkerPoolProvisioner {
    /// Without a way to signal its hosts, a provisioner leaves the notice to the agents' heartbeats.
    public func reclaim(hosts references: [String: String]) async {}
}
