public import TrainyardCore

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
    /// The attempt's database id: unique across projects, so a backend can tag its jobs with it (the reconciler's key).
    public var attemptID: Int64
    public var jobName: String
    /// The job's project: a provisioner that runs each project as its own user (Slurm with `TRAINYARD_SLURM_USERS`)
    /// picks the user by it.
    public var projectName: String
    public var attemptNumber: Int
    public var instanceType: String
    public var spot: Bool
    public var hosts: [HostLaunchRequest]
    /// Where agents reach the server, e.g. `http://127.0.0.1:8080`.
    public var serverURL: String
    /// GiB of disk per host the job asked for (`volume_size`); nil: the provisioner's default.
    public var volumeSizeGiB: Int?

    public init(
        jobName: String, attemptNumber: Int, instanceType: String, spot: Bool, hosts: [HostLaunchRequest], serverURL: String, attemptID: Int64 = 0,
        volumeSizeGiB: Int? = nil, projectName: String = ""
    ) {
        self.volumeSizeGiB = volumeSizeGiB
        self.attemptID = attemptID
        self.jobName = jobName
        self.projectName = projectName
        self.attemptNumber = attemptNumber
        self.instanceType = instanceType
        self.spot = spot
        self.hosts = hosts
        self.serverURL = serverURL
    }
}

/// Starts and tears down the worker hosts of an attempt: one `trainyard-agent` per host, which then talks to the
/// server itself (assignment, heartbeats, reports). Stop and max_run reach agents through heartbeat answers (a backend
/// SIGTERM as well killed agents before they uploaded), so a provisioner only starts gangs, delivers spot notices and
/// kills what is left of them.
///
/// Local processes implement it, and Slurm: `launch` is one `sbatch --nodes=N` whose batch script starts the agent on
/// each node with `srun`, and `terminate` is `scancel`. What only the backend knows (queued with a reason, preempted,
/// node failed, gone) comes from `observe`; the capacity it has now from `currentCapacity`.
public protocol WorkerPoolProvisioner: Sendable {
    /// A short name recorded with each attempt (`local`, `slurm`).
    var name: String { get }
    /// What it implements beyond running processes on hosts (containers, volume sizes, warm pools); job validation
    /// refuses a field that needs a feature it lacks. The default: its name and no features.
    var capabilities: ProvisionerCapabilities { get }
    /// Starts one agent per host; answers a reference per host id (a process id, a Slurm job id) for later teardown.
    func launch(_ request: PoolLaunchRequest) async throws -> [String: String]
    /// Kills whatever is left of these hosts (an agent judged dead, a gang torn down). `references` are the values
    /// `launch` returned, keyed by host id.
    func terminate(hosts references: [String: String]) async
    /// What the backend says about these hosts (references as `launch` returned them, keyed by host id): an entry
    /// for each host it has something to say about. The local provisioner has nothing to add to heartbeats.
    func observe(hosts references: [String: String]) async throws -> [String: ProvisionedHostState]
    /// Compares the backend's jobs with the store after a restart (and now and then): lists the attempt ids its
    /// jobs belong to, asks `live` which of them are still live (asked after listing, so an attempt launched
    /// meanwhile is never taken for an orphan), cancels the jobs of the others, and answers the host references of
    /// the live ones, for the store to record where it has none; see ``ReconcileReport``.
    func reconcile(live: @Sendable (Set<Int64>) async throws -> Set<Int64>) async throws -> ReconcileReport
    /// The hosts per instance type the backend can run at once now; nil: the catalog's configured capacity.
    func currentCapacity(catalog: InstanceCatalog) async throws -> [String: Capacity]?
    /// The attempt has ended (its end is recorded): what the backend keeps for it that holds a secret goes now (the
    /// Slurm provisioner's per-attempt token files). A reconciliation removes what an attempt that ended while the
    /// server was down left.
    func attemptEnded(attemptID: Int64) async
    /// Delivers a reclaim notice to these hosts now (a spot interruption): their agents get SIGTERM, as a provider's
    /// notice reaches a real host, and start their final checkpoint sync at once. The server has already told the
    /// gang to stop within the notice period, which agents also learn from their next heartbeat.
    func reclaim(hosts references: [String: String]) async
}

extension WorkerPoolProvisioner {
    /// No containers, no volume sizes, no warm pools: the local and Slurm provisioners run plain processes.
    public var capabilities: ProvisionerCapabilities { ProvisionerCapabilities(name: name) }
}

/// What a reconciliation against the backend found and did.
public struct ReconcileReport: Sendable, Equatable {
    /// Backend jobs no live attempt owns, cancelled (by backend job id).
    public var cancelled: [String]
    /// Host references of live attempts, by host id, as the backend has them (to record where the store has none).
    public var adopted: [String: String]

    public init(cancelled: [String] = [], adopted: [String: String] = [:]) {
        self.cancelled = cancelled
        self.adopted = adopted
    }
}

extension WorkerPoolProvisioner {
    public func observe(hosts references: [String: String]) async throws -> [String: ProvisionedHostState] { [:] }
    public func reconcile(live: @Sendable (Set<Int64>) async throws -> Set<Int64>) async throws -> ReconcileReport { ReconcileReport() }
    public func currentCapacity(catalog: InstanceCatalog) async throws -> [String: Capacity]? { nil }
    /// Nothing kept per attempt holds a secret (the local provisioner hands tokens over in the agents' environment).
    public func attemptEnded(attemptID: Int64) async {}
    /// Without a way to signal its hosts, a provisioner leaves the notice to the agents' heartbeats.
    public func reclaim(hosts references: [String: String]) async {}
}
