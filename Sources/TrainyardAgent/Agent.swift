import Dispatch
import Foundation
import Logging
import Synchronization
import TrainyardCore
import TrainyardObjectStore

/// One worker host's agent: fetches its assignment, lays out the SageMaker tree, stages inputs and code, runs the
/// command with the contract's environment, heartbeats throughout (the answer may tell it to stop), uploads
/// `model/` and `output/data/` as archives, and reports how the command ended.
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
        let state = HeartbeatState(phase: .preparing)
        let heartbeats = Task {
            await heartbeatLoop(state: state, interval: worker.heartbeatIntervalSeconds, outageGrace: worker.stopGraceSeconds, logger: logger)
        }
        defer { heartbeats.cancel() }
        // The job's volume and the reserve of the service's disk, watched from staging to the command's end.
        let disk = DiskGuard(directory: configuration.directory, volumeGiB: assignment.volumeSizeGiB, reserveBytes: assignment.diskReserveBytes ?? 0)
        let diskWatch = Task {
            await disk.run(logger: logger) { failure in state.failDisk(failure, grace: min(worker.stopGraceSeconds, 10), logger: logger) }
        }
        defer { diskWatch.cancel() }
        // SIGTERM from the host's provider is a reclaim notice (a spot interruption, a Slurm preemption): the command
        // gets SIGTERM and most of the notice period, the checkpoints are synced, and the host reports the
        // interruption so that the job resumes elsewhere.
        // Only a spot host is reclaimed this way; an on-demand host that gets SIGTERM is being torn down by its
        // backend for another reason (Slurm on a failed node), which the provisioner reports, so it ends as before.
        let reclaimNotice = !worker.spec.useSpotInstances ? nil : Self.onSIGTERM {
            state.interrupt(grace: Self.commandGrace(notice: worker.spotNoticeSeconds), logger: logger)
            Task { _ = try? await connection.heartbeat(AgentReport(phase: state.phase, interrupted: true)) }
        }
        defer { reclaimNotice?.cancel() }
        let checkpoints = worker.spec.checkpointS3URI.map {
            CheckpointSync(
                location: location, directory: layout.checkpoints(worker.spec), scratchDirectory: configuration.directory, uri: $0, host: worker.hostName, attempt: worker.attempt, logger: logger)
        }

        var report: AgentReport
        do {
            _ = try await connection.heartbeat(AgentReport(phase: .preparing))
            for directory in layout.directories(for: worker.spec) {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            for file in try SageMakerContract.configFiles(worker, layout: layout) {
                try FileManager.default.createDirectory(atPath: (file.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try file.contents.write(to: URL(fileURLWithPath: file.path))
            }
            state.set(phase: .downloading)
            _ = try await connection.heartbeat(AgentReport(phase: .downloading))
            let staging = Staging(location: location, layout: layout, disk: disk, diskFailure: { state.diskFailure }, logger: logger)
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
            report = try await train(
                worker, layout: layout, state: state, checkpoints: checkpoints, metricsInterval: assignment.systemMetricsIntervalSeconds ?? 0,
                disk: disk, spoolCapBytes: assignment.logSpoolLimitBytes ?? LogSpool.defaultCapBytes, logger: logger)
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
        // The server has been gone past the outage limit (the heartbeats stopped the command): nobody would record an
        // upload or a report, so the outputs stay on disk.
        if connection.outage.isOver {
            let error = AgentError.serverUnreachable(seconds: connection.outage.limitSeconds, lastError: "no call has succeeded since")
            throw abandon(error, logger: logger)
        }
        diskWatch.cancel()
        state.set(phase: .uploading)
        // The final checkpoint sync, whatever ended the command: a resumed attempt starts from here.
        if let checkpoints {
            do {
                try await checkpoints.sync()
            } catch {
                logger.error("the final checkpoint sync failed", metadata: ["error": "\(error)"])
            }
            report.checkpointSyncedAt = await checkpoints.lastCompletedAt
        }
        report = try await upload(worker, layout: layout, location: location, report: report, disk: disk, logger: logger)
        report.phase = .exited
        if state.isInterrupted { report.interrupted = true }
        state.set(phase: .exited)
        heartbeats.cancel()
        // The samples no heartbeat carried yet go with the final report.
        let samples = state.pendingSamples
        report.samples = samples.isEmpty ? nil : samples
        report.logDrops = state.logDrops
        do {
            _ = try await connection.heartbeat(report)
        } catch let error as AgentError where error.isServerUnreachable {
            throw abandon(error, logger: logger)
        }
        logger.info("agent finished", metadata: ["exit_code": "\(report.exitCode.map(String.init) ?? "-")", "stopped": "\(report.stopped)"])
    }

    private func train(
        _ worker: WorkerAssignment, layout: WorkerLayout, state: HeartbeatState, checkpoints: CheckpointSync?, metricsInterval: Double,
        disk: DiskGuard, spoolCapBytes: Int64, logger: Logger
    ) async throws -> AgentReport {
        let argv = identity.argv(try SageMakerContract.command(worker, layout: layout))
        let environment = identity.environment(
            contract: SageMakerContract.environment(worker, layout: layout), agentEnvironment: ProcessInfo.processInfo.environment)
        let workingDirectory = FileManager.default.fileExists(atPath: layout.code) ? layout.code : layout.root
        state.set(phase: .training)
        _ = try await connection.heartbeat(AgentReport(phase: .training))
        if let failure = state.diskFailure { return AgentReport(phase: .uploading, exitCode: 1, failureReason: failure.description) }
        if state.stopGrace != nil { return AgentReport(phase: .uploading, exitCode: nil, stopped: true) }
        let spool = try LogSpool(path: configuration.directory + "/logs/output.log", streams: 2, capBytes: spoolCapBytes, logger: logger)
        state.setSpool(spool)
        let shipper = Task { try await LogShipper(spool: spool, connection: connection).run() }
        let runner: CommandRunner
        do {
            runner = try CommandRunner(
                argv: argv, environment: environment, workingDirectory: workingDirectory, spool: spool, pgidFile: configuration.directory + "/command.pgid")
        } catch {
            shipper.cancel()
            throw error
        }
        logger.info("command started", metadata: ["pid": "\(runner.process.pid)", "argv": "\(argv.joined(separator: " "))"])
        state.setRunner(runner)
        let monitor = Task {
            guard metricsInterval > 0 else { return }
            await SystemMonitor(processGroup: runner.process.pid, interval: metricsInterval, logger: logger).run { state.add(samples: $0) }
        }
        let periodicSync = Task {
            guard let checkpoints else { return }
            let interval = max(worker.checkpointSyncIntervalSeconds, 0.1)
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
        let exit = await runner.wait()
        periodicSync.cancel()
        _ = await periodicSync.value
        monitor.cancel()
        // Every line the command printed is acknowledged before the host reports its end: once the job has ended,
        // its log is complete.
        do {
            try await shipper.value
        } catch {
            logger.error("shipping the log failed", metadata: ["error": "\(error)"])
        }
        // The disk guard stopped it (or, where it watches, the command wrote past its volume before it could): a
        // failure, whatever the command made of its SIGTERM.
        if let failure = state.diskFailure ?? disk.exceededVolume() {
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

    /// The directories the command writes to, handed to its user: the input channels, code, model, output and
    /// checkpoint directories. A checkpoint directory of another user's command must lie in `/opt/ml`: anywhere else it
    /// would be a directory of the worker host taken over (and the agent does not see the command's private `/tmp`).
    static func commandDirectories(_ worker: WorkerAssignment, layout: WorkerLayout, identity: CommandIdentity) throws -> [String] {
        let checkpoints = layout.checkpoints(worker.spec)
        if identity.uid != nil, !RelativePath.isInside(checkpoints, root: layout.root) {
            throw AgentError.staging(
                channel: "checkpoints",
                reason: "checkpoint_local_path \(checkpoints) is outside \(layout.root); on isolated workers the checkpoint "
                    + "directory must be under it")
        }
        let directories = [layout.inputData] + worker.spec.inputs.keys.sorted().map(layout.channel)
            + [layout.code, layout.model, layout.output, layout.outputData, layout.outputIntermediate, checkpoints]
        return directories.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// Archives `model/` and `output/data/` and uploads them under the attempt's output prefix.
    private func upload(
        _ worker: WorkerAssignment, layout: WorkerLayout, location: ObjectLocation, report: AgentReport, disk: DiskGuard, logger: Logger
    ) async throws -> AgentReport {
        var report = report
        _ = try? await connection.heartbeat(AgentReport(phase: .uploading))
        let prefix = worker.outputPrefix.hasSuffix("/") ? String(worker.outputPrefix.dropLast()) : worker.outputPrefix
        var archiving = "model/"
        do {
            let modelArchive = configuration.directory + "/model.tar.gz"
            try TarArchive.create(modelArchive, from: layout.model)
            archiving = "output/data/"
            try await location.upload(file: modelArchive, to: "\(prefix)/\(worker.hostName)/model.tar.gz")
            report.modelArchive = "\(prefix)/\(worker.hostName)/model.tar.gz"
            let outputArchive = configuration.directory + "/output.tar.gz"
            try TarArchive.create(outputArchive, from: layout.outputData)
            try await location.upload(file: outputArchive, to: "\(prefix)/\(worker.hostName)/output.tar.gz")
            report.outputArchive = "\(prefix)/\(worker.hostName)/output.tar.gz"
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
    private func heartbeatLoop(state: HeartbeatState, interval: Double, outageGrace: Double, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int(max(interval, 0.1) * 1000)))
            if Task.isCancelled { return }
            do {
                let samples = state.pendingSamples
                let directive = try await connection.heartbeat(
                    AgentReport(
                        phase: state.phase, samples: samples.isEmpty ? nil : samples, interrupted: state.isInterrupted ? true : nil,
                        checkpointSyncedAt: state.checkpointSyncedAt, logDrops: state.logDrops))
                state.acknowledge(samples: samples.count)
                if directive.action == .stop { state.requestStop(grace: directive.graceSeconds, logger: logger) }
            } catch {
                logger.error("heartbeat failed", metadata: ["error": "\(error)"])
                if case AgentError.rejected = error { state.requestStop(grace: 0, logger: logger) }
                if case AgentError.serverUnreachable = error {
                    state.requestStop(
                        grace: outageGrace, reason: "the server stayed unreachable past the outage limit; stopping the command", logger: logger)
                }
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
        case "file": return FileSystemObjectStore(root: descriptor.root ?? "/")
        case "s3":
            guard let endpoint = descriptor.endpoint else { throw AgentError.missingSetting("the S3 object store descriptor lacks its endpoint") }
            guard descriptor.signedBy == .server else {
                throw AgentError.missingSetting("the S3 store's descriptor has no signed_by: the server is older than this agent")
            }
            let configuration = S3Configuration(
                endpoint: endpoint, region: descriptor.region ?? "us-east-1", credentials: nil,
                addressing: descriptor.addressing.flatMap(S3Configuration.Addressing.init(rawValue:)) ?? .path)
            return try S3ObjectStore(configuration: configuration, authorizer: ServerS3Authorizer(connection: connection), logger: logger)
        default: throw AgentError.missingSetting("object store kind \(descriptor.kind) is not supported by this agent")
        }
    }
}

/// The agent's phase and running command, shared between the main flow and the heartbeat loop.
final class HeartbeatState: Sendable {
    private let state: Mutex<(phase: HostPhase, runner: CommandRunner?, stopGrace: Double?)>
    private let reclaim = Mutex<(interrupted: Bool, checkpointSyncedAt: Date?)>((false, nil))
    /// What the disk guard found, once it found something, and the command's log spool once there is one.
    private let disk = Mutex<(failure: WorkerDiskFailure?, spool: LogSpool?)>((nil, nil))
    /// System-metric samples not yet acknowledged by a heartbeat; bounded, the oldest dropped first.
    private let samples = Mutex<[SystemSample]>([])
    static let maximumPendingSamples = 1000

    init(phase: HostPhase) {
        state = Mutex((phase, nil, nil))
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

    var phase: HostPhase { state.withLock { $0.phase } }

    /// Why the host's disk ended the job, once it did.
    var diskFailure: WorkerDiskFailure? { disk.withLock { $0.failure } }

    /// The log lines the spool dropped, as reports carry them.
    var logDrops: LogSpoolDrops? { disk.withLock { $0.spool }?.reportedDrops }

    func setSpool(_ spool: LogSpool) { disk.withLock { $0.spool = spool } }

    /// The disk guard found the volume or the reserve exhausted: the job fails with `failure`, its command is stopped.
    func failDisk(_ failure: WorkerDiskFailure, grace: Double, logger: Logger) {
        let first = disk.withLock { state in
            defer { if state.failure == nil { state.failure = failure } }
            return state.failure == nil
        }
        guard first else { return }
        requestStop(grace: grace, reason: "the host's disk is full; stopping the command", logger: logger)
    }
    var stopGrace: Double? { state.withLock { $0.stopGrace } }

    func set(phase: HostPhase) { state.withLock { $0.phase = phase } }

    /// Whether the host got a reclaim notice.
    var isInterrupted: Bool { reclaim.withLock { $0.interrupted } }
    var checkpointSyncedAt: Date? { reclaim.withLock { $0.checkpointSyncedAt } }
    func set(checkpointSyncedAt: Date?) { reclaim.withLock { $0.checkpointSyncedAt = checkpointSyncedAt } }

    /// A reclaim notice: remembered for every later report, and the command is stopped within `grace`.
    func interrupt(grace: Double, logger: Logger) {
        let first = reclaim.withLock { state in
            defer { state.interrupted = true }
            return !state.interrupted
        }
        guard first else { return }
        logger.warning("reclaim notice: this host is being taken away", metadata: ["grace_seconds": "\(grace)"])
        requestStop(grace: grace, logger: logger)
    }

    func setRunner(_ runner: CommandRunner) {
        let grace: Double? = state.withLock {
            $0.runner = runner
            return $0.stopGrace
        }
        if let grace { runner.stop(grace: grace) }
    }

    func requestStop(grace: Double, reason: String = "stop requested by the server", logger: Logger) {
        let runner: CommandRunner? = state.withLock {
            if $0.stopGrace == nil { $0.stopGrace = grace }
            return $0.runner
        }
        logger.info("\(reason)", metadata: ["grace_seconds": "\(grace)"])
        runner?.stop(grace: grace)
    }
}
