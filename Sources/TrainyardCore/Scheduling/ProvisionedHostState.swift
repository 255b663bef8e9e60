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
