import Dispatch
import Foundation
import Logging
import Synchronization
import TrainyardCore
import TrainyardObjectStore

/// One worker host's agent: fetches its assignment, lays out the SageMaker tree, stages inputs and code, runs the
/// command with the contract's environment, heartbeats throughout (the answer may tell it to stop), uploads
/// `model/` and `output/data/` as archives, and reports how the command ended.
///
/// The executor around Core's ``AgentStateMachine``, which decides what each stop, notice and full disk does. Its
/// loops (heartbeats, the disk guard, and while the command runs the log shipper, system metrics and checkpoint syncs)
/// are child tasks of the flow they serve: none outlives it.
public struct Agent: Sendable {
    let configuration: AgentConfiguration
    /// Who the user's command runs as, and its environment.
    let identity: CommandIdentity
    let logger: Logger
    let connection: ServerConnection

    public init(configuration: AgentConfiguration, logger: Logger) throws {
        self.configuration = configuration
        let environment = ProcessInfo.processInfo.environment
        self.identity = try CommandIdentity(environment: environment, workerDirectory: configuration.directory)
        self.logger = logger
        self.connection = ServerConnection(configuration: configuration, logger: logger)
    }

    /// Runs the whole life of the host; returns when the final report was acknowledged.
    public func run() async throws {
        let assignment = try await connection.assignment()
        if let limit = assignment.serverOutageLimitSeconds { connection.outage.setLimit(seconds: limit) }
        let worker = assignment.worker
        var hostLogger = self.logger
        hostLogger[metadataKey: "job"] = "\(worker.jobName)"
        hostLogger[metadataKey: "attempt"] = "\(worker.attempt)"
        hostLogger[metadataKey: "host"] = "\(worker.hostName)"
        let logger = hostLogger
        let layout = WorkerLayout(root: configuration.layoutRoot)
        let location = ObjectLocation(store: try Self.objectStore(assignment.objectStore, connection: connection, logger: logger))
        let state = HeartbeatState(logger: logger)
        // SIGTERM from the host's provider is a reclaim notice (a spot interruption, a Slurm preemption): the command
        // gets SIGTERM and most of the notice period, the checkpoints are synced, and the host reports the
        // interruption (at once: the heartbeat loop beats early) so that the job resumes elsewhere.
        // Only a spot host is reclaimed this way; an on-demand host that gets SIGTERM is being torn down by its
        // backend for another reason (Slurm on a failed node), which the provisioner reports, so it ends as before.
        let reclaimNotice = !worker.spec.useSpotInstances ? nil : Self.onSIGTERM {
            state.handle(.reclaimNotice(graceSeconds: Self.commandGrace(notice: worker.spotNoticeSeconds)))
        }
        defer { reclaimNotice?.cancel() }
        // The job's volume and the reserve of the service's disk, watched from staging to the command's end.
        let disk = DiskGuard(directory: configuration.directory, volumeGiB: assignment.volumeSizeGiB, reserveBytes: assignment.diskReserveBytes ?? 0)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                await heartbeatLoop(state: state, interval: worker.heartbeatIntervalSeconds, outageGrace: worker.stopGraceSeconds, logger: logger)
            }
            try await work(assignment, layout: layout, location: location, state: state, disk: disk, logger: logger)
            group.cancelAll()
        }
    }

    /// Stages the host, runs the command (watching the disk meanwhile), syncs, uploads and reports, while the caller's
    /// child task heartbeats.
    private func work(
        _ assignment: AgentAssignment, layout: WorkerLayout, location: ObjectLocation, state: HeartbeatState, disk: DiskGuard, logger: Logger
    ) async throws {
        let worker = assignment.worker
        let checkpoints = worker.spec.checkpointS3URI.map {
            CheckpointSync(
                location: location, directory: layout.checkpoints(worker.spec), scratchDirectory: configuration.directory, uri: $0, host: worker.hostName, attempt: worker.attempt, logger: logger)
        }

        var report: AgentReport
        do {
            report = try await withThrowingDiscardingTaskGroup { group in
                // The job's volume and the reserve of the service's disk, watched from staging to the command's end.
                group.addTask {
                    await disk.run(logger: logger) { failure in state.handle(.diskExhausted(failure, graceSeconds: min(worker.stopGraceSeconds, 10))) }
                }
                let report = try await stageAndTrain(assignment, layout: layout, location: location, state: state, checkpoints: checkpoints, disk: disk, logger: logger)
                group.cancelAll()
                return report
            }
        } catch AgentError.rejected(let status, let body) {
            throw AgentError.rejected(status: status, body: body)
        } catch let error as AgentError where error.isServerUnreachable {
            throw abandon(error, logger: logger)
        } catch {
            // Bad input (a channel that cannot be staged, nothing to run) fails the job as a ClientError, reported.
            logger.error("worker setup failed", metadata: ["error": "\(error)"])
            let text = "\(error)"
            let reason = text.hasPrefix("ClientError") || text.hasPrefix("InternalServerError") ? text : "ClientError: \(text)"
            report = AgentReport(phase: .uploading, exitCode: 1, failureReason: StorableText.sanitize(reason.prefix(1024).description))
        }
        try await finish(assignment, report: report, layout: layout, location: location, state: state, checkpoints: checkpoints, disk: disk, logger: logger)
    }

    /// Lays out the tree, stages code, inputs and checkpoints, and runs the command; answers the report of its end.
    private func stageAndTrain(
        _ assignment: AgentAssignment, layout: WorkerLayout, location: ObjectLocation, state: HeartbeatState, checkpoints: CheckpointSync?,
        disk: DiskGuard, logger: Logger
    ) async throws -> AgentReport {
        let worker = assignment.worker
        do {
            _ = try await connection.heartbeat(AgentReport(phase: .preparing))
            for directory in layout.directories(for: worker.spec) {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            for file in try SageMakerContract.configFiles(worker, layout: layout) {
                try FileManager.default.createDirectory(atPath: (file.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try file.contents.write(to: URL(fileURLWithPath: file.path))
            }
            state.handle(.stagingInputs)
            _ = try await connection.heartbeat(AgentReport(phase: state.phase))
            let staging = Staging(location: location, layout: layout, disk: disk, diskFailure: { state.machine.diskFailure }, logger: logger)
            try await staging.stageCode(worker)
            try await staging.stageInputs(worker)
            if let checkpoints {
                do {
                    _ = try await checkpoints.restore()
                } catch {
                    throw AgentError.checkpoint("restoring \(worker.spec.checkpointS3URI ?? "") failed: \(error)")
                }
            }
            try identity.handOver(try Self.commandDirectories(worker, layout: layout, identity: identity))
        }
        return try await train(
            worker, layout: layout, state: state, checkpoints: checkpoints, metricsInterval: assignment.systemMetricsIntervalSeconds ?? 0,
            disk: disk, spoolCapBytes: assignment.logSpoolLimitBytes ?? LogSpool.defaultCapBytes, logger: logger)
    }

    /// After the command (or a failed staging): the final checkpoint sync, the uploads and the final report.
    private func finish(
        _ assignment: AgentAssignment, report: AgentReport, layout: WorkerLayout, location: ObjectLocation, state: HeartbeatState,
        checkpoints: CheckpointSync?, disk: DiskGuard, logger: Logger
    ) async throws {
        let worker = assignment.worker
        var report = report
        // The server has been gone past the outage limit (the heartbeats stopped the command): nobody would record an
        // upload or a report, so the outputs stay on disk.
        if connection.outage.isOver {
            let error = AgentError.serverUnreachable(seconds: connection.outage.limitSeconds, lastError: "no call has succeeded since")
            throw abandon(error, logger: logger)
        }
        state.handle(.commandEnded)
        // The final checkpoint sync, whatever ended the command: a resumed attempt starts from here.
        if let checkpoints {
            do {
                try await checkpoints.sync()
            } catch {
                logger.error("the final checkpoint sync failed", metadata: ["error": "\(error)"])
            }
            report.checkpointSyncedAt = await checkpoints.lastCompletedAt
        }
        state.handle(.uploading)
        report = try await upload(worker, layout: layout, location: location, report: report, disk: disk, logger: logger)
        report.phase = .exited
        if state.machine.interrupted { report.interrupted = true }
        // The samples no heartbeat carried yet go with the final report.
        let samples = state.pendingSamples
        report.samples = samples.isEmpty ? nil : samples
        report.logDrops = state.logDrops
        do {
            _ = try await connection.heartbeat(report)
        } catch let error as AgentError where error.isServerUnreachable {
            throw abandon(error, logger: logger)
        }
        state.handle(.reported)
        logger.info("agent finished", metadata: ["exit_code": "\(report.exitCode.map(String.init) ?? "-")", "stopped": "\(report.stopped)"])
    }

    private func train(
        _ worker: WorkerAssignment, layout: WorkerLayout, state: HeartbeatState, checkpoints: CheckpointSync?, metricsInterval: Double,
        disk: DiskGuard, spoolCapBytes: Int64, logger: Logger
    ) async throws -> AgentReport {
        let program = try SageMakerContract.command(worker, layout: layout)
        let environment = identity.environment(
            contract: SageMakerContract.environment(worker, layout: layout), agentEnvironment: ProcessInfo.processInfo.environment)
        // The program is looked up on the command's PATH as the spawn looks it up: a missing one (torchrun on a
        // worker without PyTorch) fails the job naming it, where the isolating wrappers would only exit 127 with
        // their own words ("setpriv: failed to execute …").
        if let name = program.first, !name.isEmpty, !name.contains("/") {
            _ = try CleanSpawn.resolve(name, path: environment["PATH"] ?? CommandIdentity.path)
        }
        let argv = identity.argv(program)
        let workingDirectory = FileManager.default.fileExists(atPath: layout.code) ? layout.code : layout.root
        // The server hears "training" before the command starts, so that no heartbeat says less once it runs.
        state.handle(.startingCommand)
        _ = try await connection.heartbeat(AgentReport(phase: state.phase))
        if let failure = state.machine.diskFailure { return AgentReport(phase: .uploading, exitCode: 1, failureReason: failure.description) }
        guard state.machine.mayStartCommand else { return AgentReport(phase: .uploading, exitCode: nil, stopped: true) }
        let spool = try LogSpool(path: configuration.directory + "/logs/output.log", streams: 2, capBytes: spoolCapBytes, logger: logger)
        state.setSpool(spool)
        // A command that cannot be started fails the job from here (the caller reports it); nothing was printed.
        let runner = try CommandRunner(
            argv: argv, environment: environment, workingDirectory: workingDirectory, spool: spool, pgidFile: configuration.directory + "/command.pgid")
        // Every line the command prints is acknowledged before the host reports its end: once the job has ended, its
        // log is complete. The shipper ends when the spool does (the command's streams closed).
        async let shipped: Void = LogShipper(spool: spool, connection: connection).run()
        logger.info("command started", metadata: ["pid": "\(runner.process.pid)", "argv": "\(argv.joined(separator: " "))"])
        state.commandStarted(runner)
        let exit = await withDiscardingTaskGroup { group in
            if metricsInterval > 0 {
                group.addTask {
                    await SystemMonitor(processGroup: runner.process.pid, interval: metricsInterval, logger: logger).run { state.add(samples: $0) }
                }
            }
            if let checkpoints {
                group.addTask { await Self.syncPeriodically(checkpoints, every: worker.checkpointSyncIntervalSeconds, state: state, logger: logger) }
            }
            let exit = await runner.wait()
            group.cancelAll()
            return exit
        }
        do {
            try await shipped
        } catch {
            logger.error("shipping the log failed", metadata: ["error": "\(error)"])
        }
        // The disk guard stopped it (or, where it watches, the command wrote past its volume before it could): a
        // failure, whatever the command made of its SIGTERM.
        if let failure = state.machine.diskFailure ?? disk.exceededVolume() {
            let code = exit.exitCode.map { $0 == 0 ? 1 : $0 } ?? (exit.signal == nil ? 1 : nil)
            return AgentReport(phase: .uploading, exitCode: code, signal: exit.signal, failureReason: failure.description)
        }
        let failed = exit.signal != nil || (exit.exitCode ?? 0) != 0
        var reason: String?
        if failed && !exit.stopped {
            // Whatever bytes the command wrote (NULs, invalid UTF-8): the reason is the user's, made storable.
            let failureFile = CommandIdentity.readRegularFile(layout.failureFile).map { StorableText.decode($0) }
            let stderrTail = runner.lastStderrLines
            reason = SageMakerContract.failureReason(failureFile: failureFile, exitCode: exit.exitCode, signal: exit.signal, stderrTail: stderrTail)
            // A command that failed on a full volume is told so first, its own words after.
            if let volumeGiB = disk.volumeGiB, let own = reason,
                disk.volumeIsFull() || DiskGuard.mentionsNoSpace((failureFile ?? "") + "\n" + stderrTail.joined(separator: "\n"))
            {
                reason = StorableText.sanitize(WorkerDiskFailure.commandFilledVolume(volumeGiB: volumeGiB, commandReason: own).description)
            }
        }
        logger.info("command ended", metadata: ["exit_code": "\(exit.exitCode.map(String.init) ?? "-")", "signal": "\(exit.signal.map(String.init) ?? "-")"])
        return AgentReport(phase: .uploading, exitCode: exit.exitCode, signal: exit.signal, failureReason: reason, stopped: exit.stopped)
    }

    /// Syncs the checkpoints every `interval` seconds while the command runs (until cancelled); a failed sync is
    /// tried again at the next.
    static func syncPeriodically(_ checkpoints: CheckpointSync, every interval: Double, state: HeartbeatState, logger: Logger) async {
        let interval = max(interval, 0.1)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            if Task.isCancelled { return }
            do {
                try await checkpoints.sync()
                state.set(checkpointSyncedAt: await checkpoints.lastCompletedAt)
            } catch {
                logger.warning("a checkpoint sync failed; the next one tries again", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The directories the command writes to, handed to its user: `/opt/ml/input` (its config files and channels: as
    /// in a SageMaker container, where training runs as root, the SDK's drivers write there, e.g. v3's
    /// `input/sm_training.env`), code, model, output and checkpoint directories. A checkpoint directory of another user's command must lie in `/opt/ml`: anywhere else it
    /// would be a directory of the worker host taken over (and the agent does not see the command's private `/tmp`).
    static func commandDirectories(_ worker: WorkerAssignment, layout: WorkerLayout, identity: CommandIdentity) throws -> [String] {
        let checkpoints = layout.checkpoints(worker.spec)
        if identity.uid != nil, !RelativePath.isInside(checkpoints, root: layout.root) {
            throw AgentError.staging(
                channel: "checkpoints",
                reason: "checkpoint_local_path \(checkpoints) is outside \(layout.root); on isolated workers the checkpoint "
                    + "directory must be under it")
        }
        let directories = [layout.input, layout.inputData] + worker.spec.inputs.keys.sorted().map(layout.channel)
            + [layout.code, layout.model, layout.output, layout.outputData, layout.outputIntermediate, checkpoints]
        return directories.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// Archives `model/` and `output/data/` and uploads them under the attempt's output prefix.
    private func upload(
        _ worker: WorkerAssignment, layout: WorkerLayout, location: ObjectLocation, report: AgentReport, disk: DiskGuard, logger: Logger
    ) async throws -> AgentReport {
        var report = report
        _ = try? await connection.heartbeat(AgentReport(phase: .uploading))
        let modelKey = JobPaths.hostArchive(attemptPrefix: worker.outputPrefix, host: worker.hostName, .model)
        let outputKey = JobPaths.hostArchive(attemptPrefix: worker.outputPrefix, host: worker.hostName, .output)
        var archiving = "model/"
        do {
            let modelArchive = configuration.directory + "/model.tar.gz"
            try TarArchive.create(modelArchive, from: layout.model)
            archiving = "output/data/"
            try await location.upload(file: modelArchive, to: modelKey)
            report.modelArchive = modelKey
            let outputArchive = configuration.directory + "/output.tar.gz"
            try TarArchive.create(outputArchive, from: layout.outputData)
            try await location.upload(file: outputArchive, to: outputKey)
            report.outputArchive = outputKey
            try? FileManager.default.removeItem(atPath: modelArchive)
            try? FileManager.default.removeItem(atPath: outputArchive)
        } catch {
            logger.error("uploading outputs failed", metadata: ["error": "\(error)"])
            if report.failureReason == nil, !report.stopped {
                report.exitCode = report.exitCode == 0 || report.exitCode == nil ? 1 : report.exitCode
                if let volumeGiB = disk.volumeGiB, disk.volumeIsFull() || DiskGuard.mentionsNoSpace("\(error)") {
                    report.failureReason = WorkerDiskFailure.archiveFilledVolume(volumeGiB: volumeGiB, directory: archiving).description
                } else {
                    report.failureReason = "InternalServerError: uploading the outputs of \(worker.hostName) failed: \(error)"
                }
            }
        }
        return report
    }

    /// The server stayed unreachable past the outage limit: says where the host's log and outputs are kept (nothing
    /// is deleted) and returns the error the agent exits with.
    private func abandon(_ error: AgentError, logger: Logger) -> AgentError {
        let kept = WorkerLayout(root: configuration.directory)
        logger.error(
            "the server stayed unreachable past TRAINYARD_AGENT_OUTAGE_LIMIT; the command was stopped and this host's log and outputs are kept on disk",
            metadata: [
                "outage_limit_seconds": "\(connection.outage.limitSeconds)", "log_spool": "\(configuration.directory)/logs/output.log",
                "model_dir": "\(kept.model)", "output_dir": "\(kept.outputData)", "worker_dir": "\(configuration.directory)", "error": "\(error)",
            ])
        return error
    }

    /// Beats every interval with the current phase; a stop answer stops the command once, and so does a server that
    /// stayed unreachable past the outage limit (with the grace of a stop, `outageGrace`).
    /// A reclaim notice makes it beat at once.
    private func heartbeatLoop(state: HeartbeatState, interval: Double, outageGrace: Double, logger: Logger) async {
        let period = Duration.milliseconds(Int(max(interval, 0.1) * 1000))
        var next = ContinuousClock.now + period
        while !Task.isCancelled {
            while ContinuousClock.now < next, !state.takeUrgentReport() {
                try? await Task.sleep(for: min(.milliseconds(100), next - ContinuousClock.now))
                if Task.isCancelled { return }
            }
            next = ContinuousClock.now + period
            do {
                let samples = state.pendingSamples
                let directive = try await connection.heartbeat(
                    AgentReport(
                        phase: state.phase, samples: samples.isEmpty ? nil : samples, interrupted: state.machine.interrupted ? true : nil,
                        checkpointSyncedAt: state.checkpointSyncedAt, logDrops: state.logDrops))
                state.acknowledge(samples: samples.count)
                if directive.action == .stop { state.handle(.stopDirective(graceSeconds: directive.graceSeconds)) }
            } catch {
                logger.error("heartbeat failed", metadata: ["error": "\(error)"])
                if case AgentError.rejected = error { state.handle(.rejected) }
                if case AgentError.serverUnreachable = error { state.handle(.serverGone(graceSeconds: outageGrace)) }
            }
        }
    }

    /// The part of a reclaim notice the command gets between SIGTERM and SIGKILL; the rest is for the final checkpoint
    /// sync and the report.
    static func commandGrace(notice: Double) -> Double {
        max(0, notice * 0.75)
    }

    /// Runs `handler` on every SIGTERM from now on (instead of dying); cancel the source to stop.
    static func onSIGTERM(_ handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
        return source
    }

    /// The store the descriptor names: the filesystem store at its root, or the S3 server, whose every request the
    /// server signs for this host (`connection`); the agent has no key of its own.
    static func objectStore(_ descriptor: ObjectStoreDescriptor, connection: ServerConnection, logger: Logger) throws -> any ObjectStore {
        switch descriptor.kind {
        case .file: return FileSystemObjectStore(root: descriptor.root ?? "/")
        case .s3:
            guard let endpoint = descriptor.endpoint else { throw AgentError.missingSetting("the S3 object store descriptor lacks its endpoint") }
            guard descriptor.signedBy == .server else {
                throw AgentError.missingSetting("the S3 store's descriptor has no signed_by: the server is older than this agent")
            }
            let configuration = S3Configuration(
                endpoint: endpoint, region: descriptor.region ?? "us-east-1", credentials: nil,
                addressing: descriptor.addressing.flatMap(S3Configuration.Addressing.init(rawValue:)) ?? .path)
            return try S3ObjectStore(configuration: configuration, authorizer: ServerS3Authorizer(connection: connection), logger: logger)
        case .unsupported(let kind): throw AgentError.missingSetting("object store kind \(kind) is not supported by this agent")
        }
    }
}

/// The agent's ``AgentStateMachine`` and what carries out its effects (the running command), shared by the main flow,
/// the heartbeat loop, the disk guard and the reclaim notice's signal handler.
final class HeartbeatState: Sendable {
    private let state = Mutex<(machine: AgentStateMachine, runner: CommandRunner?, urgentReport: Bool)>((AgentStateMachine(), nil, false))
    private let reclaim = Mutex<Date?>(nil)
    /// The command's log spool once there is one.
    private let spool = Mutex<LogSpool?>(nil)
    /// System-metric samples not yet acknowledged by a heartbeat; bounded, the oldest dropped first.
    private let samples = Mutex<[SystemSample]>([])
    static let maximumPendingSamples = 1000
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// The machine as it stands.
    var machine: AgentStateMachine { state.withLock { $0.machine } }
    var phase: HostPhase { machine.phase }

    /// Feeds `input` to the machine and carries out its effects.
    func handle(_ input: AgentStateMachine.Input) {
        let (effects, runner) = state.withLock { state in
            let effects = state.machine.handle(input)
            if effects.contains(.reportInterruption) { state.urgentReport = true }
            return (effects, state.runner)
        }
        perform(effects, runner: runner, input: input)
    }

    /// The command is running: a stop that came while it was started reaches it now.
    func commandStarted(_ runner: CommandRunner) {
        let effects = state.withLock { state in
            state.runner = runner
            return state.machine.handle(.commandStarted)
        }
        perform(effects, runner: runner, input: .commandStarted)
    }

    private func perform(_ effects: [AgentStateMachine.Effect], runner: CommandRunner?, input: AgentStateMachine.Input) {
        for effect in effects {
            switch effect {
            case .stopCommand(let grace):
                logger.info("stopping the command", metadata: ["grace_seconds": "\(grace)"])
                runner?.stop(grace: grace)
            case .log(let reason): logger.warning("\(reason)", metadata: ["input": "\(input)"])
            case .ignored(let why): logger.debug("\(why)")
            case .refused(let why): logger.error("the agent's state machine refused an input: \(why)", metadata: ["input": "\(input)"])
            case .reportInterruption: continue  // the heartbeat loop beats at once (``takeUrgentReport()``)
            }
        }
    }

    /// Whether a report must go out now rather than at the next beat; answers once.
    func takeUrgentReport() -> Bool {
        state.withLock { state in
            defer { state.urgentReport = false }
            return state.urgentReport
        }
    }

    var pendingSamples: [SystemSample] { samples.withLock { $0 } }

    func add(samples new: [SystemSample]) {
        samples.withLock { samples in
            samples += new
            if samples.count > Self.maximumPendingSamples { samples.removeFirst(samples.count - Self.maximumPendingSamples) }
        }
    }

    /// Drops the first `count` samples, which a heartbeat delivered.
    func acknowledge(samples count: Int) {
        samples.withLock { $0.removeFirst(min(count, $0.count)) }
    }

    /// The log lines the spool dropped, as reports carry them.
    var logDrops: LogSpoolDrops? { spool.withLock { $0 }?.reportedDrops }

    func setSpool(_ spool: LogSpool) { self.spool.withLock { $0 = spool } }

    var checkpointSyncedAt: Date? { reclaim.withLock { $0 } }
    func set(checkpointSyncedAt: Date?) { reclaim.withLock { $0 = checkpointSyncedAt } }
}
