/// What one host's agent does and decides, without I/O: the agent (`TrainyardAgent.Agent`) is the executor around it.
///
/// The agent stages the host (`staging`: the `/opt/ml` tree, inputs, code, checkpoints), runs the command
/// (`running`), stops it when told to (`stopping`), syncs the checkpoints one last time once it ended (`syncing`),
/// uploads the outputs (`uploading`) and reports (`done`). While it works, three things may end the command early:
/// the server's stop directive (a user's stop, max_run, a gang member's failure), a reclaim notice (SIGTERM to a spot
/// host), the host's disk filling up; and the server may stay unreachable past the outage limit or refuse the host.
/// The first of them sets the stop's grace; each is acted on once. A stop that comes before the command starts keeps
/// it from starting.
public struct AgentStateMachine: Sendable, Equatable {
    public enum Stage: String, Sendable, CaseIterable {
        case staging, running, stopping, syncing, uploading, done
    }

    /// Why the command was stopped.
    public enum StopCause: String, Sendable, Equatable {
        /// The server's heartbeat answer said stop.
        case directive
        /// The host is being reclaimed (a spot interruption).
        case reclaimed
        /// The host's disk is full.
        case diskFull = "disk_full"
        /// The server stayed unreachable past the outage limit.
        case serverGone = "server_gone"
        /// The server refused this host's calls (its attempt is gone).
        case rejected
    }

    public struct Stop: Sendable, Equatable {
        public var grace: Double
        public var cause: StopCause

        public init(grace: Double, cause: StopCause) {
            self.grace = grace
            self.cause = cause
        }
    }

    public enum Input: Sendable, Equatable {
        /// The tree is laid out; inputs and code are being staged.
        case stagingInputs
        /// Everything is staged; the command is about to start (the host reports `training` from here).
        case startingCommand
        /// The command was started.
        case commandStarted
        /// The command ended, however.
        case commandEnded
        /// The final checkpoint sync is done (or there is none); the outputs go up now.
        case uploading
        /// The final report was acknowledged.
        case reported
        case stopDirective(graceSeconds: Double)
        case reclaimNotice(graceSeconds: Double)
        case diskExhausted(WorkerDiskFailure, graceSeconds: Double)
        case serverGone(graceSeconds: Double)
        case rejected
    }

    public enum Effect: Sendable, Equatable {
        /// SIGTERM to the command's group now, SIGKILL once `graceSeconds` have passed.
        case stopCommand(graceSeconds: Double)
        /// Tell the server now, rather than at the next heartbeat, that the host is being reclaimed.
        case reportInterruption
        /// Worth an operator's line: why the command is being stopped.
        case log(String)
        /// An input this stage has no use for (a directive after the command ended, a second notice).
        case ignored(String)
        /// An input that cannot happen in this stage (a wiring error in the executor).
        case refused(String)
    }

    public private(set) var stage: Stage = .staging
    /// How far staging got: past the tree to the inputs, and to the command's start.
    public private(set) var stagingInputs = false
    public private(set) var startingCommand = false
    /// The first stop, which set the grace.
    public private(set) var stop: Stop?
    /// Whether the host got a reclaim notice: every later report says so.
    public private(set) var interrupted = false
    /// What filled the disk, once something did: the job fails with it.
    public private(set) var diskFailure: WorkerDiskFailure?

    public init() {}

    /// The phase the host reports in this stage.
    public var phase: HostPhase {
        switch stage {
        case .staging: startingCommand ? .training : stagingInputs ? .downloading : .preparing
        case .running, .stopping: .training
        case .syncing, .uploading: .uploading
        case .done: .exited
        }
    }

    /// Whether the command may start: not once a stop came.
    public var mayStartCommand: Bool { stage == .staging && stop == nil }


    public mutating func handle(_ input: Input) -> [Effect] {
        switch input {
        case .stagingInputs:
            guard stage == .staging else { return [.refused("staging inputs in stage \(stage.rawValue)")] }
            stagingInputs = true
            return []
        case .startingCommand:
            guard stage == .staging else { return [.refused("starting a command in stage \(stage.rawValue)")] }
            startingCommand = true
            return []
        case .commandStarted:
            guard stage == .staging else { return [.refused("a command started in stage \(stage.rawValue)")] }
            // A stop that came while the command was being started reaches it now.
            if let stop {
                stage = .stopping
                return [.stopCommand(graceSeconds: stop.grace)]
            }
            stage = .running
            return []
        case .commandEnded:
            // Staging that failed or was stopped ends here too, without a command.
            guard stage == .running || stage == .stopping || stage == .staging else {
                return [.refused("a command ended in stage \(stage.rawValue)")]
            }
            stage = .syncing
            return []
        case .uploading:
            guard stage == .syncing else { return [.refused("uploading in stage \(stage.rawValue)")] }
            stage = .uploading
            return []
        case .reported:
            guard stage == .uploading else { return [.refused("a final report in stage \(stage.rawValue)")] }
            stage = .done
            return []
        case .stopDirective(let grace):
            return requestStop(Stop(grace: grace, cause: .directive), reason: "stop requested by the server")
        case .reclaimNotice(let grace):
            guard !interrupted else { return [.ignored("a second reclaim notice")] }
            guard stage != .done else { return [.ignored("a reclaim notice after the final report")] }
            interrupted = true
            return [.log("reclaim notice: this host is being taken away"), .reportInterruption]
                + requestStop(Stop(grace: grace, cause: .reclaimed), reason: "stopping the command within the notice")
        case .diskExhausted(let failure, let grace):
            guard diskFailure == nil else { return [.ignored("the disk was already found full")] }
            guard stage == .staging || stage == .running || stage == .stopping else {
                return [.ignored("a full disk after the command ended (the upload reports its own failure)")]
            }
            diskFailure = failure
            return requestStop(Stop(grace: grace, cause: .diskFull), reason: "the host's disk is full; stopping the command")
        case .serverGone(let grace):
            return requestStop(Stop(grace: grace, cause: .serverGone), reason: "the server stayed unreachable past the outage limit; stopping the command")
        case .rejected:
            return requestStop(Stop(grace: 0, cause: .rejected), reason: "the server refused this host; stopping the command")
        }
    }

    /// The first stop sets the grace; a command that runs gets it once. Before the command starts the stop is kept,
    /// and the command never starts; after it ended there is nothing left to stop.
    private mutating func requestStop(_ request: Stop, reason: String) -> [Effect] {
        switch stage {
        case .syncing, .uploading, .done:
            return [.ignored("\(request.cause.rawValue) after the command ended")]
        case .stopping:
            return [.ignored("\(request.cause.rawValue) while the command is already stopping")]
        case .staging:
            if stop == nil { stop = request }
            return [.log(reason)]
        case .running:
            stop = stop ?? request
            stage = .stopping
            return [.log(reason), .stopCommand(graceSeconds: stop?.grace ?? request.grace)]
        }
    }
}
