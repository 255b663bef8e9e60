/// What only the provisioner knows about a launched host: whether its backend holds it queued, runs it, took it
/// back, lost its node, or no longer has it. The agent's own heartbeats say the rest.
public enum ProvisionedHostState: Sendable, Equatable {
    /// The backend holds the host queued; `reason` is the job's `Pending` message, with the backend's own reason
    /// (`Slurm holds the job pending: Resources (Slurm job 12)`).
    case pending(reason: String)
    /// The host runs; `node` is where, when the backend says.
    case running(node: String?)
    /// The backend took the host back (a Slurm preemption or requeue): a spot interruption.
    case interrupted(reason: String)
    /// The backend announced that it takes the host back after the spot notice (a provider's interruption notice; the
    /// local provisioner's simulated spot market): the gang syncs its checkpoints and stops within the notice.
    case reclaiming(reason: String)
    /// The host's node failed (Slurm `NODE_FAIL`, a node set down): an infrastructure failure; the reason names the node.
    case nodeFailed(reason: String)
    /// The backend no longer runs the host although its agent never reported an end (an infrastructure failure).
    case gone(reason: String)
}

extension ProvisionedHostState {
    /// Whether this word of the backend may move the host's job (held queued, or placed).
    public var movesTheJob: Bool {
        switch self {
        case .pending, .running: true
        case .interrupted, .reclaiming, .nodeFailed, .gone: false
        }
    }

    /// What the backend's word on an attempt's hosts (in ordinal order) does to its job, now in `jobStatus`: a host
    /// held queued makes a launching job `Pending` with the backend's reason (the last such host's); hosts all placed
    /// bring a `Pending` job back to launching. Nil when it changes nothing.
    public static func lifecycleInput(for states: [ProvisionedHostState], jobStatus: SecondaryStatus) -> LifecycleInput? {
        var pendingReason: String?
        var placed = false
        for state in states {
            switch state {
            case .pending(let reason): pendingReason = reason
            case .running: placed = true
            case .interrupted, .reclaiming, .nodeFailed, .gone: continue
            }
        }
        if let pendingReason { return jobStatus == .launchingMLInstances ? .capacityDenied(message: pendingReason) : nil }
        return placed && jobStatus == .pending ? .backendPlaced : nil
    }
}
