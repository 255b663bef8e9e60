import TrainyardCore

/// What a Slurm job's state means for one of its hosts (pure: no I/O, tested on its own).
enum SlurmObservation {
    /// The state of host number `ordinal` (1-based, `algo-N`) of Slurm job `jobID`, from `squeue` (`job`, nil when
    /// Slurm no longer knows it) and `sinfo` (`nodes`, to name a failed node).
    static func state(jobID: Int, ordinal: Int, job: SlurmJob?, nodes: [SlurmNode]) -> ProvisionedHostState {
        guard let job else { return .gone(reason: "InternalServerError: Slurm no longer knows job \(jobID)") }
        let node = ordinal - 1 < job.nodes.count && ordinal >= 1 ? job.nodes[ordinal - 1] : nil
        // A job Slurm is killing because a node went down is still COMPLETING (KillWait) before it is NODE_FAIL.
        let state = job.failedNode ? "NODE_FAIL" : job.state
        switch state {
        case "PENDING":
            if job.restarts > 0 {
                return .interrupted(reason: "Slurm requeued job \(jobID) (restart \(job.restarts), \(job.reason))")
            }
            return .pending(reason: "Slurm holds the job pending: \(job.reason.isEmpty || job.reason == "None" ? "queued" : job.reason) (Slurm job \(jobID))")
        case "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED":
            return .running(node: node)
        case "PREEMPTED", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD":
            return .interrupted(reason: "Slurm preempted job \(jobID) (\(job.state.lowercased()))")
        case "NODE_FAIL":
            let failed = job.nodes.compactMap { name in nodes.first { $0.name == name && (!$0.isUsable || !$0.reason.isEmpty) } }
            let named = failed.isEmpty
                ? "one of nodes \(job.nodes.joined(separator: ","))"
                : failed.map { "\($0.name) (\($0.state)\($0.reason.isEmpty ? "" : ": \($0.reason)"))" }.joined(separator: ", ")
            return .nodeFailed(reason: "InternalServerError: Slurm node \(named) failed; Slurm job \(jobID) ended NODE_FAIL")
        default:
            let why = job.reason.isEmpty || job.reason == "None" ? "" : ", \(job.reason)"
            return .gone(reason: "InternalServerError: Slurm job \(jobID) ended \(job.state)\(why) before host algo-\(ordinal)\(node.map { " on \($0)" } ?? "") reported")
        }
    }
}
