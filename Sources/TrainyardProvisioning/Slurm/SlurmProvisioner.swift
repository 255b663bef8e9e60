import Foundation
import Logging
import Synchronization
public import TrainyardCore

/// Worker pools as Slurm jobs: an attempt is one `sbatch --nodes=N --exclusive` whose batch script starts one
/// `trainyard-agent` per node with `srun`; host `algo-K` is task `K-1` (`SLURM_PROCID`), on the K-th allocated node.
/// Each task reads its own token and directory from a per-attempt file (mode 0600) under `stateDirectory`, which
/// must be on a file system the nodes share (as Slurm's own working directories are); the files go when the attempt
/// ends (``attemptEnded(attemptID:)``), or at the next reconciliation for an attempt that ended while the server was
/// down.
///
/// A host's reference is `slurm:<job id> ordinal:<K>`, with ` node:<name>` once Slurm placed it. Jobs are tagged
/// `--comment=<prefix>:attempt:<attempt id>` so that a reconciliation finds them after a restart.
public struct SlurmProvisioner: WorkerPoolProvisioner {
    public let name = "slurm"

    /// How to reach Slurm and where to put an attempt's files.
    public struct Configuration: Sendable {
        /// `SLURM_CONF`; nil: Slurm's default.
        public var slurmConf: String?
        /// `TRAINYARD_SLURM_BIN`: where `sbatch`, `squeue`, `sinfo`, `scancel` are; nil: `PATH`.
        public var binDirectory: String?
        /// `TRAINYARD_SLURM_JOB_PREFIX`: names and tags this service's Slurm jobs (one prefix per Trainyard installation
        /// sharing a cluster). Default `trainyard`.
        public var jobPrefix: String
        /// Per-attempt batch scripts and task files: `<data dir>/slurm`.
        public var stateDirectory: String
        /// Worker directories: `<data dir>/workers/<host id>`.
        public var workersDirectory: String
        /// The `trainyard-agent` executable, as the nodes see it.
        public var agentExecutable: String
        /// Extra environment for every agent.
        public var agentEnvironment: [String: String]
        /// `TRAINYARD_SLURM_SERVER_URL`: the server's URL as the nodes reach it; nil: the URL the server listens on.
        public var serverURL: String?
        /// Seconds an agent gives its command between SIGTERM and SIGKILL when Slurm signals it.
        public var stopGraceSeconds: Double
        /// `TRAINYARD_SLURM_USERS`: each project's jobs are submitted as, and run as, its Slurm user; the attempt's
        /// files are that user's alone. Nil: jobs run as the service's user.
        public var users: ProjectUserMap?

        public init(
            slurmConf: String? = nil, binDirectory: String? = nil, jobPrefix: String = "trainyard", stateDirectory: String, workersDirectory: String,
            agentExecutable: String, agentEnvironment: [String: String] = [:], serverURL: String? = nil, stopGraceSeconds: Double = 120,
            users: ProjectUserMap? = nil
        ) {
            self.users = users
            self.slurmConf = slurmConf
            self.binDirectory = binDirectory
            self.jobPrefix = jobPrefix
            self.stateDirectory = stateDirectory
            self.workersDirectory = workersDirectory
            self.agentExecutable = agentExecutable
            self.agentEnvironment = agentEnvironment
            self.serverURL = serverURL
            self.stopGraceSeconds = stopGraceSeconds
        }
    }

    let configuration: Configuration
    let mapping: SlurmMapping
    let commands: SlurmCommandLine
    let logger: Logger
    /// The last `sinfo` answer, reused for a second: the scheduler asks for capacity on every pass.
    private let nodeCache = NodeCache()

    public init(configuration: Configuration, mapping: SlurmMapping, logger: Logger) {
        self.configuration = configuration
        self.mapping = mapping
        self.logger = logger
        self.commands = SlurmCommandLine(configurationFile: configuration.slurmConf, binDirectory: configuration.binDirectory, timeoutSeconds: 30)
    }

    /// The resources of `instanceType`: its own mapping, `default.slurm`, or the default partition, on-demand only.
    func resources(for instanceType: String) -> SlurmResources {
        mapping.resources(for: instanceType) ?? SlurmResources()
    }

    /// Checks that Slurm answers, so that a wrong `SLURM_CONF` fails at start-up with a message, not on the first job.
    public func checkReachable() async throws {
        _ = try await commands.run("sinfo", ["--json"])
    }

    public var capabilities: ProvisionerCapabilities { ProvisionerCapabilities(name: name, projectUsers: configuration.users) }

    func attemptDirectory(_ attemptID: Int64) -> String { "\(configuration.stateDirectory)/attempt-\(attemptID)" }

    public func launch(_ request: PoolLaunchRequest) async throws -> [String: String] {
        let resources = resources(for: request.instanceType)
        guard let partition = resources.partition(spot: request.spot) else {
            throw SlurmError.unmapped(instanceType: request.instanceType, spot: request.spot)
        }
        let account = try configuration.users.map { try SlurmAccount.resolve(project: request.projectName, users: $0) }
        let directory = attemptDirectory(request.attemptID)
        let files = FileManager.default
        try? files.removeItem(atPath: directory)
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if account != nil {
            // Users reach their own attempt's directories through these, and list neither.
            for shared in [configuration.stateDirectory, configuration.workersDirectory] {
                try files.createDirectory(atPath: shared, withIntermediateDirectories: true)
                chmod(shared, 0o711)
            }
        }
        var ownedPaths = [directory]
        for (index, host) in request.hosts.enumerated() {
            let workerDirectory = "\(configuration.workersDirectory)/\(host.id)"
            try? files.removeItem(atPath: workerDirectory)
            try files.createDirectory(atPath: workerDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            ownedPaths.append(workerDirectory)
            let task = """
                TRAINYARD_AGENT_TOKEN=\(Self.quoted(host.token))
                TRAINYARD_AGENT_DIR=\(Self.quoted(workerDirectory))
                TRAINYARD_AGENT_LAYOUT_ROOT=\(Self.quoted(workerDirectory))

                """
            files.createFile(atPath: "\(directory)/task-\(index).env", contents: Data(task.utf8), attributes: [.posixPermissions: 0o600])
        }
        try request.hosts.map(\.id).joined(separator: "\n").write(toFile: "\(directory)/hosts", atomically: true, encoding: .utf8)
        let taskScript = """
            #!/bin/sh
            # One Trainyard host: task $SLURM_PROCID of the attempt's step is host algo-$((SLURM_PROCID + 1)).
            set -a
            . \(Self.quoted(directory))/task-"$SLURM_PROCID".env
            set +a
            cd "$TRAINYARD_AGENT_DIR" || exit 1
            exec \(Self.quoted(configuration.agentExecutable)) >> "$TRAINYARD_AGENT_DIR/agent.log" 2>&1

            """
        try taskScript.write(toFile: "\(directory)/task.sh", atomically: true, encoding: .utf8)
        // The batch script outlives a SIGTERM (scancel --signal=TERM --full reaches it too) so that the agents can
        // stop their commands, upload and report; Slurm ends the job once the step has ended.
        let batchScript = """
            #!/bin/sh
            # Trainyard job \(request.jobName), attempt \(request.attemptNumber): \(request.hosts.count) host(s).
            trap ':' TERM
            srun --ntasks-per-node=1 --kill-on-bad-exit=0 /bin/sh \(Self.quoted(directory))/task.sh &
            step=$!
            wait "$step"; status=$?
            while kill -0 "$step" 2>/dev/null; do wait "$step"; status=$?; done
            exit "$status"

            """
        try batchScript.write(toFile: "\(directory)/batch.sh", atomically: true, encoding: .utf8)
        if let account { for path in ownedPaths { try account.own(path) } }

        var arguments = [
            "--parsable", "--job-name=\(configuration.jobPrefix)-\(request.jobName)-\(request.attemptNumber)",
            "--comment=\(configuration.jobPrefix):attempt:\(request.attemptID)", "--nodes=\(request.hosts.count)", "--ntasks-per-node=1",
            "--exclusive", "--output=\(directory)/slurm-%j.out", "--chdir=\(directory)",
            // A spot host may be requeued (a preemption); an on-demand job is never rerun behind Trainyard's back.
            request.spot ? "--requeue" : "--no-requeue",
        ]
        if let partition { arguments.append("--partition=\(partition)") }
        if let gres = resources.gres { arguments.append("--gres=\(gres)") }
        if let constraint = resources.constraint { arguments.append("--constraint=\(constraint)") }
        if let cpus = resources.cpus { arguments.append("--cpus-per-task=\(cpus)") }
        if let memory = resources.memory { arguments.append("--mem=\(memory)") }
        arguments.append("\(directory)/batch.sh")
        var environment = configuration.agentEnvironment
        environment["TRAINYARD_AGENT_SERVER"] = configuration.serverURL ?? request.serverURL
        let output = try await commands.run("sbatch", arguments, environment: environment, as: account)
        guard let jobID = Int(output.split(separator: ";").first?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else {
            throw SlurmError.unexpectedOutput(tool: "sbatch --parsable", reason: "no job id in \(output)")
        }
        logger.info(
            "submitted slurm job",
            metadata: [
                "job": "\(request.jobName)", "attempt": "\(request.attemptNumber)", "slurm.job": "\(jobID)", "hosts": "\(request.hosts.count)",
                "slurm.user": "\(account?.name ?? "(the service's)")",
            ])
        var references: [String: String] = [:]
        for (index, host) in request.hosts.enumerated() { references[host.id] = "slurm:\(jobID) ordinal:\(index + 1)" }
        return references
    }

    public func terminate(hosts references: [String: String]) async {
        let jobs = Set(references.values.compactMap { SlurmReference($0)?.jobID })
        guard !jobs.isEmpty else { return }
        do {
            _ = try await commands.run("scancel", jobs.sorted().map(String.init))
            logger.info("cancelled slurm jobs", metadata: ["slurm.jobs": "\(jobs.sorted())"])
        } catch {
            logger.error("scancel failed", metadata: ["slurm.jobs": "\(jobs.sorted())", "error": "\(error)"])
        }
    }

    /// SIGTERM to the hosts' Slurm steps.
    private func signalSteps(hosts references: [String: String]) async {
        let jobs = Set(references.values.compactMap { SlurmReference($0)?.jobID })
        guard !jobs.isEmpty else { return }
        do {
            // The steps only (the agents and, through Slurm's process tracking, their commands), not --full: a
            // SIGTERM to the batch step made srun end the step at once, killing the agents before they uploaded.
            _ = try await commands.run("scancel", ["--signal=TERM"] + jobs.sorted().map(String.init))
            logger.info("signalled slurm jobs to stop", metadata: ["slurm.jobs": "\(jobs.sorted())"])
        } catch {
            logger.warning("scancel --signal=TERM failed", metadata: ["slurm.jobs": "\(jobs.sorted())", "error": "\(error)"])
        }
    }

    /// A reclaim notice is Slurm's own: SIGTERM to the job's steps, which reaches each agent (and its command), and
    /// the agent treats it as a spot provider's notice (final checkpoint sync, report).
    public func reclaim(hosts references: [String: String]) async {
        await signalSteps(hosts: references)
    }

    public func observe(hosts references: [String: String]) async throws -> [String: ProvisionedHostState] {
        let parsed = references.compactMapValues(SlurmReference.init)
        guard !parsed.isEmpty else { return [:] }
        let jobs = Dictionary(try SlurmJSON.jobs(try await commands.run("squeue", ["--json"])).map { ($0.jobID, $0) }, uniquingKeysWith: { a, _ in a })
        var nodes: [SlurmNode] = []
        if parsed.values.contains(where: { jobs[$0.jobID]?.failedNode == true }) {
            nodes = try await currentNodes(maximumAge: 0)
        }
        var states: [String: ProvisionedHostState] = [:]
        for (hostID, reference) in parsed {
            var state = SlurmObservation.state(jobID: reference.jobID, ordinal: reference.ordinal, job: jobs[reference.jobID], nodes: nodes)
            // A job that ended before its host reported: what its agent (or the step, when the agent never started)
            // printed last says why, e.g. `exec: …/trainyard-agent: not found`.
            if case .gone(let reason) = state {
                let tail = AgentLogTail.lastLines(of: "\(configuration.workersDirectory)/\(hostID)/agent.log")
                if !tail.isEmpty { state = .gone(reason: String("\(reason): \(tail)".prefix(1024))) }
            }
            states[hostID] = state
        }
        return states
    }

    /// The attempt's task files go: each holds a host's token, on a file system the nodes share.
    public func attemptEnded(attemptID: Int64) async {
        let removed = removeTaskFiles(of: attemptID)
        if removed > 0 { logger.debug("removed an ended attempt's task files", metadata: ["attempt": "\(attemptID)", "files": "\(removed)"]) }
    }

    /// Removes the attempt's `task-K.env` files; answers how many went.
    @discardableResult
    func removeTaskFiles(of attemptID: Int64) -> Int {
        let directory = attemptDirectory(attemptID)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter(Self.isTaskFile).filter { (try? FileManager.default.removeItem(atPath: "\(directory)/\($0)")) != nil }.count
    }

    static func isTaskFile(_ name: String) -> Bool { name.hasPrefix("task-") && name.hasSuffix(".env") }

    /// The attempts whose directory under the state directory still holds a task file.
    func attemptsWithTaskFiles() -> Set<Int64> {
        let root = configuration.stateDirectory
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return Set(entries.compactMap { entry -> Int64? in
            guard entry.hasPrefix("attempt-"), let id = Int64(entry.dropFirst("attempt-".count)) else { return nil }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(entry)")) ?? []
            return names.contains(where: Self.isTaskFile) ? id : nil
        })
    }

    /// Removes the task files of attempts that are no longer live: those that ended while the server was down, or
    /// whose end found the file system unreachable. Listed before `live` is asked, so that an attempt launched
    /// meanwhile keeps its files.
    func sweepTaskFiles(live: @Sendable (Set<Int64>) async throws -> Set<Int64>) async throws {
        let holding = attemptsWithTaskFiles()
        guard !holding.isEmpty else { return }
        let alive = try await live(holding)
        let ended = holding.subtracting(alive).sorted()
        for attemptID in ended { removeTaskFiles(of: attemptID) }
        if !ended.isEmpty { logger.info("removed the task files of ended attempts", metadata: ["attempts": "\(ended)"]) }
    }

    public func reconcile(live: @Sendable (Set<Int64>) async throws -> Set<Int64>) async throws -> ReconcileReport {
        // First, and whatever Slurm answers: the files are the server's own.
        try await sweepTaskFiles(live: live)
        let tag = "\(configuration.jobPrefix):attempt:"
        var owned: [(job: SlurmJob, attemptID: Int64)] = []
        for job in try SlurmJSON.jobs(try await commands.run("squeue", ["--json"])) where job.isActive && job.comment.hasPrefix(tag) {
            if let attemptID = Int64(job.comment.dropFirst(tag.count)) { owned.append((job, attemptID)) }
        }
        guard !owned.isEmpty else { return ReconcileReport() }
        let alive = try await live(Set(owned.map(\.attemptID)))
        var report = ReconcileReport()
        var orphans: [Int] = []
        for (job, attemptID) in owned {
            if alive.contains(attemptID) {
                let hosts = (try? String(contentsOfFile: "\(attemptDirectory(attemptID))/hosts", encoding: .utf8)) ?? ""
                for (index, hostID) in hosts.split(separator: "\n").enumerated() {
                    report.adopted[String(hostID)] = "slurm:\(job.jobID) ordinal:\(index + 1)"
                }
            } else {
                orphans.append(job.jobID)
            }
        }
        if !orphans.isEmpty {
            _ = try await commands.run("scancel", orphans.map(String.init))
            report.cancelled = orphans.map(String.init)
            logger.warning("cancelled slurm jobs no live attempt owns", metadata: ["slurm.jobs": "\(orphans)"])
        }
        return report
    }

    public func currentCapacity(catalog: InstanceCatalog) async throws -> [String: Capacity]? {
        let nodes = try await currentNodes(maximumAge: 1)
        func count(_ partition: String??, constraint: String?) -> Int {
            guard let partition else { return 0 }
            return nodes.filter { node in
                node.isUsable && node.satisfies(constraint) && (partition.map { node.partitions.contains($0) } ?? true)
            }.count
        }
        var capacities: [String: Capacity] = [:]
        for shape in catalog.all {
            let resources = resources(for: shape.name)
            var capacity = catalog.capacity(of: shape.name)
            capacity.onDemand = count(resources.partition(spot: false), constraint: resources.constraint)
            capacity.spot = count(resources.partition(spot: true), constraint: resources.constraint)
            capacities[shape.name] = capacity
        }
        return capacities
    }

    /// Slurm's nodes, at most `maximumAge` seconds old; an older reading (up to 30 s) is answered at once while a
    /// fresh one is taken in the background, so that a scheduling pass never waits for `sinfo`.
    func currentNodes(maximumAge: Double) async throws -> [SlurmNode] {
        if let cached = nodeCache.value(maximumAge: maximumAge) { return cached }
        if let stale = nodeCache.value(maximumAge: 30) {
            if nodeCache.beginRefresh() {
                Task { [commands, nodeCache, logger] in
                    defer { nodeCache.endRefresh() }
                    do {
                        nodeCache.store(try SlurmJSON.nodes(try await commands.run("sinfo", ["--json"])))
                    } catch {
                        logger.warning("sinfo failed; the last reading of the nodes stays in use", metadata: ["error": "\(error)"])
                    }
                }
            }
            return stale
        }
        let nodes = try SlurmJSON.nodes(try await commands.run("sinfo", ["--json"]))
        nodeCache.store(nodes)
        return nodes
    }

    /// Single-quoted for /bin/sh.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}

/// A host's provisioner reference: `slurm:<job id> ordinal:<K>[ node:<name>]`.
public struct SlurmReference: Sendable, Equatable {
    public var jobID: Int
    public var ordinal: Int
    public var node: String?

    public init?(_ text: String) {
        var fields: [Substring: Substring] = [:]
        for field in text.split(separator: " ") {
            guard let colon = field.firstIndex(of: ":") else { continue }
            fields[field[..<colon]] = field[field.index(after: colon)...]
        }
        guard let job = fields["slurm"].flatMap({ Int($0) }) else { return nil }
        jobID = job
        ordinal = fields["ordinal"].flatMap { Int($0) } ?? 1
        node = fields["node"].map(String.init)
    }

    /// The reference with the node Slurm placed the host on.
    public static func placed(_ text: String, node: String) -> String {
        guard var reference = SlurmReference(text), reference.node != node else { return text }
        reference.node = node
        return "slurm:\(reference.jobID) ordinal:\(reference.ordinal) node:\(node)"
    }
}

/// The last `sinfo` answer and when it came.
final class NodeCache: Sendable {
    private let state = Mutex<(nodes: [SlurmNode], at: ContinuousClock.Instant)?>(nil)

    func value(maximumAge: Double) -> [SlurmNode]? {
        state.withLock { cached in
            guard let cached, ContinuousClock.now - cached.at <= .milliseconds(Int(maximumAge * 1000)) else { return nil }
            return cached.nodes
        }
    }

    func store(_ nodes: [SlurmNode]) { state.withLock { $0 = (nodes, ContinuousClock.now) } }

    private let refreshing = Mutex(false)

    /// Claims the one background refresh; false while another runs.
    func beginRefresh() -> Bool {
        refreshing.withLock { running in
            defer { running = true }
            return !running
        }
    }

    func endRefresh() { refreshing.withLock { $0 = false } }
}
