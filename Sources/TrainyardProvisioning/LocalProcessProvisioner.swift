import Foundation
import Logging
import Synchronization
public import TrainyardCore

#if canImport(Glibc)
import Glibc
#endif

/// Workers as local processes: one `trainyard-agent` per host, each in its own directory under
/// `<data dir>/workers/<host id>`, in a process group of its own (so a Ctrl-C of the server does not reach it and a
/// server restart leaves it running). Where the OS allows (root, or unprivileged user namespaces and an existing `/opt/ml`),
/// each agent runs in its own mount namespace in which `/opt/ml` is its directory and `/etc/hosts` resolves
/// `algo-1 … algo-N` to this machine; elsewhere the tree lives in the worker directory and the `SM_*` variables say so.
///
/// Disks are bounded: as root, each host's directory is a volume of the job's `volume_size` of its own
/// (``WorkerVolumes``); elsewhere its agent watches the directory's size. No host starts while the data disk is down to
/// the reserve kept for PostgreSQL, and a directory is removed once its agent has uploaded the outputs and ended
/// (``WorkerDirectories``).
public struct LocalProcessProvisioner: WorkerPoolProvisioner {
    public let name = "local"
    /// `<data dir>/workers`.
    public let workersDirectory: String
    /// The `trainyard-agent` executable.
    public let agentExecutable: String
    /// Extra environment for every agent (the object store's settings, for one).
    public let agentEnvironment: [String: String]
    /// The uids commands run as when agents run in a mount namespace as root: an attempt's hosts share
    /// `lowerBound + attempt id mod count`.
    public let commandUIDs: ClosedRange<UInt32>
    let isolation: Isolation
    /// Each job's hosts on a network of their own (as root, where network namespaces work); nil: the machine's.
    let networks: HostNetworks?
    let logger: Logger
    /// Agents this server started that have exited, by host id, with what they left in their log: a host whose agent
    /// ends before the host has reported its end is lost at once, with that reason, instead of a lease later.
    let exits = AgentExits()
    /// Agents this server started and that still run, by attempt, for the attempts with networks of their own.
    let runningAgents = RunningAgents()
    /// Reclaims spot hosts at random, as a provider would (off unless `TRAINYARD_SPOT_INTERRUPTION_RATE` is set).
    let spotMarket: SimulatedSpotMarket
    /// Each host's directory a volume of its own (as root, where loop devices work); nil: the agents watch their size.
    let volumes: WorkerVolumes?
    /// The hosts' directories: marked at launch, removed at the end.
    let directories: WorkerDirectories
    /// GiB a host gets when its job has no `volume_size`.
    let defaultVolumeGiB: Int
    /// Bytes kept free on the workers directory's disk (where PostgreSQL's lives too): no host starts below it.
    let diskReserveBytes: Int64

    /// How workers get their `/opt/ml`.
    enum Isolation: Sendable {
        /// `unshare --mount` as root.
        case mountNamespace
        /// `unshare --user --map-root-user --mount` as an ordinary user.
        case userNamespace
        /// No namespace: the tree is the worker directory.
        case none
    }

    public init(
        workersDirectory: String, agentExecutable: String, agentEnvironment: [String: String] = [:],
        commandUIDs: ClosedRange<UInt32> = 3_000_000...3_999_999, disks: DiskSettings = DiskSettings(),
        spotMarket: SpotMarket = SpotMarket(interruptionsPerHostHour: 0, seed: 1), logger: Logger
    ) {
        self.spotMarket = SimulatedSpotMarket(spotMarket)
        self.workersDirectory = workersDirectory
        self.commandUIDs = commandUIDs
        self.agentExecutable = agentExecutable
        self.agentEnvironment = agentEnvironment
        self.logger = logger
        self.isolation = Self.isolationHere
        self.networks = isolation == .mountNamespace && HostNetworks.isAvailable ? HostNetworks(logger: logger) : nil
        self.volumes = disks.volumes == .auto && isolation == .mountNamespace && WorkerVolumes.isAvailable
            ? WorkerVolumes(logger: logger, agentHeadroomBytes: disks.agentHeadroomBytes) : nil
        self.directories = WorkerDirectories(root: workersDirectory, keepHours: disks.keepDirectoriesHours, logger: logger)
        self.defaultVolumeGiB = disks.defaultVolumeGiB
        self.diskReserveBytes = disks.reserveBytes
        // The service's alone: each agent reaches its own directory by path, its command sees only its /opt/ml.
        try? FileManager.default.createDirectory(atPath: workersDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(workersDirectory, 0o700)
        if let problem = Self.agentProblem(agentExecutable) {
            logger.error("no job can run on local workers until this is fixed", metadata: ["problem": "\(problem)"])
        }
        logger.info(
            "local provisioner ready",
            metadata: [
                "isolation": "\(isolation)", "agent": "\(agentExecutable)",
                "job_networks": "\(networks == nil ? "off: the machine's network" : "on")",
                "worker_volumes": "\(volumes == nil ? "off: agents watch their directories" : "on: a loop-mounted ext4 volume per host")",
            ])
    }

    /// What bounds the local workers' disks.
    public struct DiskSettings: Sendable {
        /// `auto`: a volume per host where possible; `watch`: the agents watch their directories.
        public var volumes: WorkerVolumeMode
        /// GiB a host gets when its job has no `volume_size`.
        public var defaultVolumeGiB: Int
        /// Bytes kept free on the data disk.
        public var reserveBytes: Int64
        /// Hours a directory is kept after its agent ended.
        public var keepDirectoriesHours: Double
        /// Bytes of each volume kept for the agent (its log spool, the output archives).
        public var agentHeadroomBytes: Int64

        public init(
            volumes: WorkerVolumeMode = .auto, defaultVolumeGiB: Int = 30, reserveBytes: Int64 = 0, keepDirectoriesHours: Double = 0,
            agentHeadroomBytes: Int64 = 320 << 20
        ) {
            self.volumes = volumes
            self.defaultVolumeGiB = defaultVolumeGiB
            self.reserveBytes = reserveBytes
            self.keepDirectoriesHours = keepDirectoriesHours
            self.agentHeadroomBytes = agentHeadroomBytes
        }
    }

    /// Unmounts every host's volume under `workersDirectory` and removes the hosts' directories, for a data directory no
    /// service uses any more (a test's, once its agents were killed).
    public static func releaseWorkerDirectories(under workersDirectory: String) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: workersDirectory)) ?? [] {
            WorkerVolumes.release("\(workersDirectory)/\(entry)", logger: nil)
        }
    }

    /// The variables of the server's environment an agent keeps; everything else it gets is set here.
    static let inheritedVariables: Set<String> = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "USER", "LOGNAME"]

    /// This service's tag in the names of its jobs' networks.
    var instanceTag: String { JobNetwork.instanceTag(for: workersDirectory) }

    /// The uid an attempt's commands run as: its own within the range, as attempt ids are unique (offset by this
    /// service's tag, so that two services on one machine do not hand their first attempts the same uid).
    func commandUID(attemptID: Int64) -> UInt32 {
        let count = UInt64(commandUIDs.upperBound - commandUIDs.lowerBound) + 1
        let offset = UInt64(instanceTag, radix: 36) ?? 0
        return commandUIDs.lowerBound + UInt32((UInt64(bitPattern: attemptID) &+ offset) % count)
    }

    /// Whether each host's directory is a volume of its own (else its agent watches its size).
    public var hasWorkerVolumes: Bool { volumes != nil }

    /// Whether commands run as their attempt's own uid (the service runs as root with mount namespaces).
    public var runsCommandsAsOwnUsers: Bool { isolation == .mountNamespace }

    /// A command of its own user keeps its checkpoints in `/opt/ml` (its private `/tmp` is its alone, unseen by the agent
    /// that syncs them).
    public var capabilities: ProvisionerCapabilities {
        ProvisionerCapabilities(
            name: name, features: [.volumeSizes, .warmPools], commandWritableRoots: runsCommandsAsOwnUsers ? [WorkerLayout.sageMakerRoot] : nil)
    }

    /// What keeps `path` from being started as the agent, if anything.
    static func agentProblem(_ path: String) -> LocalProvisionerError? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return .agentMissing(path: path)
        }
        guard FileManager.default.isExecutableFile(atPath: path) else { return .agentNotExecutable(path: path) }
        return nil
    }

    /// The agent beside the running executable, or `TRAINYARD_AGENT_BIN`. The executable is the kernel's
    /// `/proc/self/exe`, not `argv[0]`: run from `PATH` (`trainyard serve` after `scripts/install`), `argv[0]` is a bare
    /// name, which resolved against the working directory named an agent that does not exist.
    public static func defaultAgentExecutable(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment["TRAINYARD_AGENT_BIN"], !explicit.isEmpty { return explicit }
        let running = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let executable = URL(fileURLWithPath: running).resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().appendingPathComponent("trainyard-agent").path
    }

    /// What this machine allows, tried once per process.
    static let isolationHere: Isolation = probeIsolation()

    static func probeIsolation() -> Isolation {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return .none }
        if geteuid() == 0 {
            try? FileManager.default.createDirectory(atPath: "/opt/ml", withIntermediateDirectories: true)
            return run("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/true"]) ? .mountNamespace : .none
        }
        guard FileManager.default.fileExists(atPath: "/opt/ml") else { return .none }
        return run("/usr/bin/unshare", ["--user", "--map-root-user", "--mount", "/bin/true"]) ? .userNamespace : .none
    }

    static func run(_ executable: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    public func launch(_ request: PoolLaunchRequest) async throws -> [String: String] {
        if let problem = Self.agentProblem(agentExecutable) { throw problem }
        if diskReserveBytes > 0, let free = WorkerVolumes.available(workersDirectory), free < diskReserveBytes {
            throw LocalProvisionerError.diskReserve(directory: workersDirectory, freeBytes: free, reserveBytes: diskReserveBytes)
        }
        try await prepareDirectories(request)
        let network = JobNetwork(instance: instanceTag, attemptID: request.attemptID, hostNames: request.hosts.map(\.name))
        if let networks { try await networks.onQueue { try networks.create(network) } }
        do {
            return try startAgents(request, network: networks == nil ? nil : network)
        } catch {
            if let networks { HostNetworks.queue.async { networks.remove(network) } }
            throw error
        }
    }

    /// Makes each host's directory, marked with its attempt, and as root its volume (off the concurrency pool). A volume
    /// that cannot be made leaves the host to its agent's watch, said in the log.
    private func prepareDirectories(_ request: PoolLaunchRequest) async throws {
        let (volumes, directories, logger) = (self.volumes, self.directories, self.logger)
        let bytes = Int64(request.volumeSizeGiB ?? defaultVolumeGiB) << 30
        let started = ContinuousClock.now
        defer {
            logger.debug(
                "prepared the hosts' directories",
                metadata: ["job": "\(request.jobName)", "attempt": "\(request.attemptNumber)", "volumes": "\(volumes != nil)",
                           "duration_ms": "\((ContinuousClock.now - started) / .milliseconds(1))"])
        }
        try await WorkerVolumes.onQueue {
            for host in request.hosts { try FileManager.default.createDirectory(atPath: directories.path(of: host.id), withIntermediateDirectories: true) }
            if let volumes {
                // A gang's volumes at once: each is mostly waiting on mkfs and mount.
                DispatchQueue.concurrentPerform(iterations: request.hosts.count) { index in
                    let host = request.hosts[index]
                    do {
                        try volumes.create(directories.path(of: host.id), bytes: bytes)
                    } catch {
                        logger.warning(
                            "could not give a host a volume of its own; its agent watches its directory's size instead",
                            metadata: ["job": "\(request.jobName)", "host": "\(host.name)", "error": "\(error)"])
                    }
                }
            }
            // After the volumes, whose file systems would hide a mark made before.
            for host in request.hosts { try directories.mark(directories.path(of: host.id), attemptID: request.attemptID) }
        }
    }

    /// One agent per host; with `network`, each host's command joins its namespace and `algo-N` resolve to the job's
    /// own addresses, else every name resolves to this machine.
    private func startAgents(_ request: PoolLaunchRequest, network: JobNetwork?) throws -> [String: String] {
        var references: [String: String] = [:]
        if network != nil { runningAgents.started(attemptID: request.attemptID, count: request.hosts.count) }
        for (index, host) in request.hosts.enumerated() {
            let directory = directories.path(of: host.id)
            let hostsFile = "\(directory)/.etc-hosts"
            let hosts = network?.hostsFile(ordinal: index + 1)
                ?? "127.0.0.1\tlocalhost \(host.name)\n::1\tlocalhost\n" + request.hosts.map { "127.0.0.1\t\($0.name)\n" }.joined()
            try hosts.write(toFile: hostsFile, atomically: true, encoding: .utf8)

            // Foundation starts every child as the leader of a new process group: a Ctrl-C of the server does not
            // reach the agent, and its process id is its group's.
            let process = Process()
            // An agent starts from a few basics of the server's environment, never the whole of it (the operator's
            // credentials, database URLs, the admin key).
            var environment = ProcessInfo.processInfo.environment.filter { Self.inheritedVariables.contains($0.key) }
            for (key, value) in agentEnvironment { environment[key] = value }
            environment["TRAINYARD_AGENT_SERVER"] = request.serverURL
            environment["TRAINYARD_AGENT_TOKEN"] = host.token
            environment["TRAINYARD_AGENT_DIR"] = directory
            switch isolation {
            case .mountNamespace:
                // As root: the command runs as the attempt's own uid (the agent gives it a private /tmp and /dev/shm),
                // under a /proc that shows it only its own processes.
                environment["TRAINYARD_AGENT_LAYOUT_ROOT"] = "/opt/ml"
                environment["TRAINYARD_AGENT_RUN_AS"] = "\(commandUID(attemptID: request.attemptID))"
                if let network { environment["TRAINYARD_AGENT_NETNS"] = HostNetworks.path(ofNamespace: network.namespace(ordinal: index + 1)) }
                process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
                process.arguments = [
                    "--mount", "--propagation", "private", "/bin/sh", "-c",
                    #"mount --bind "$0" /opt/ml && mount --bind "$1" /etc/hosts && mount -t proc -o hidepid=invisible proc /proc && exec "$2""#,
                    directory, hostsFile, agentExecutable,
                ]
            case .userNamespace:
                environment["TRAINYARD_AGENT_LAYOUT_ROOT"] = "/opt/ml"
                process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
                process.arguments = [
                    "--user", "--map-root-user", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    #"mount --bind "$0" /opt/ml && mount --bind "$1" /etc/hosts && exec "$2""#, directory, hostsFile, agentExecutable,
                ]
            case .none:
                environment["TRAINYARD_AGENT_LAYOUT_ROOT"] = directory
                process.executableURL = URL(fileURLWithPath: agentExecutable)
            }
            process.environment = environment
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            FileManager.default.createFile(atPath: "\(directory)/agent.log", contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/agent.log"))
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            let exits = self.exits
            let (hostID, hostName, agent) = (host.id, host.name, agentExecutable)
            let (networks, agents, directories) = (self.networks, self.runningAgents, self.directories)
            process.terminationHandler = { process in
                // The last agent of an attempt to exit takes its network with it; after a restart, reconcile does.
                if let network, let networks, agents.exited(attemptID: network.attemptID) { HostNetworks.queue.async { networks.remove(network) } }
                let signalled = process.terminationReason == .uncaughtSignal
                exits.record(
                    hostID: hostID,
                    reason: AgentExits.reason(
                        hostID: hostID, hostName: hostName, agent: agent, status: process.terminationStatus, signalled: signalled,
                        logFile: "\(directory)/agent.log"))
                // An agent that exits 0 has uploaded the outputs and its report was taken: its directory has served.
                // Any other end leaves the directory to reconcile, once the attempt has ended.
                if !signalled, process.terminationStatus == 0 { directories.agentEnded(directory) }
            }
            try process.run()
            try? log.close()
            references[host.id] = LocalHostReference(pid: process.processIdentifier, directory: directory, spot: request.spot).text
            logger.info("started agent", metadata: ["job": "\(request.jobName)", "attempt": "\(request.attemptNumber)", "host": "\(host.name)",
                                                     "pid": "\(process.processIdentifier)"])
        }
        return references
    }

    /// Removes the networks and worker directories of attempts that are no longer live (ended, or left behind by a
    /// crash); directories after ``WorkerDirectories/keepHours``.
    public func reconcile(live: @Sendable (Set<Int64>) async throws -> Set<Int64>) async throws -> ReconcileReport {
        let directories = self.directories
        let hosts = try await WorkerVolumes.onQueue { directories.marked() }
        let tag = instanceTag
        let namespaces: [String] = try await networks?.onQueue { [networks] in networks?.existingNamespaces() ?? [] } ?? []
        let networked = Set(namespaces.compactMap { JobNetwork.attemptID(ofNamespace: $0, instance: tag) })
        let attempts = networked.union(hosts.map(\.attemptID))
        guard !attempts.isEmpty else { return ReconcileReport() }
        let liveAttempts = try await live(attempts)
        let leftovers = hosts.filter { !liveAttempts.contains($0.attemptID) }.map(\.path)
        if !leftovers.isEmpty {
            let now = Date()
            let removed = try await WorkerVolumes.onQueue {
                leftovers.filter { directories.isDue($0, now: now) }.map { path in
                    directories.remove(path)
                    return path
                }
            }
            if !removed.isEmpty { logger.info("removed the worker directories of ended attempts", metadata: ["dirs": "\(removed)"]) }
        }
        let ended = networked.subtracting(liveAttempts)
        guard let networks, !ended.isEmpty else { return ReconcileReport() }
        try await networks.onQueue {
            for attemptID in ended { networks.remove(JobNetwork(instance: tag, attemptID: attemptID, hostNames: []), among: namespaces) }
        }
        logger.debug("removed the networks of ended attempts", metadata: ["attempts": "\(ended.sorted())"])
        return ReconcileReport()
    }

    /// A host whose agent this server started and that has exited although the host is still live (it never reported
    /// its end) is gone, with the agent's exit status and last log lines as the reason; a spot host whose time the
    /// simulated market says has come is being reclaimed.
    public func observe(hosts references: [String: String]) async throws -> [String: ProvisionedHostState] {
        let gone = exits.take(Set(references.keys)).mapValues { ProvisionedHostState.gone(reason: $0) }
        return spotMarket.observe(references, now: Date()).merging(gone) { _, gone in gone }
    }

    /// SIGTERM to each host's agent (not to the user's command: the agent forwards the notice to it).
    public func reclaim(hosts references: [String: String]) async {
        for (hostID, text) in references {
            guard let reference = LocalHostReference(text), reference.pid > 1 else { continue }
            RecordedProcesses.signalAgent(pid: reference.pid, workerDirectory: reference.directory, SIGTERM)
            logger.info("sent a reclaim notice", metadata: ["host": "\(hostID)", "pid": "\(reference.pid)"])
        }
    }

    public func terminate(hosts references: [String: String]) async {
        for (hostID, text) in references {
            guard let reference = LocalHostReference(text) else { continue }
            // The user's command runs in a process group of its own, recorded by its agent.
            if let directory = reference.directory { RecordedProcesses.signalCommandGroup(workerDirectory: directory, SIGKILL) }
            RecordedProcesses.signalAgent(pid: reference.pid, workerDirectory: reference.directory, SIGKILL, group: true)
            logger.info("terminated host", metadata: ["host": "\(hostID)"])
        }
    }
}

/// Why the local provisioner cannot start an agent.
public enum LocalProvisionerError: Error, CustomStringConvertible, Equatable {
    case agentMissing(path: String)
    case agentNotExecutable(path: String)
    /// The data disk is down to the space kept for PostgreSQL.
    case diskReserve(directory: String, freeBytes: Int64, reserveBytes: Int64)

    public var description: String {
        switch self {
        case .agentMissing(let path):
            "InternalServerError: the worker agent \(path) does not exist; build it (`swift build --product trainyard-agent`, which "
                + "scripts/serve does) or point TRAINYARD_AGENT_BIN at it"
        case .agentNotExecutable(let path):
            "InternalServerError: the worker agent \(path) is not executable; `chmod +x` it or point TRAINYARD_AGENT_BIN at another"
        case .diskReserve(let directory, let free, let reserve):
            "InternalServerError: no host starts while the disk of \(directory) has \(ByteCount.text(free)) free, down to the "
                + "\(ByteCount.text(reserve)) kept for the service's database (TRAINYARD_DISK_RESERVE_GIB); the operator must free space there"
        }
    }
}

/// The agents that exited, by host id, until the provisioner's watch takes them.
final class AgentExits: Sendable {
    private let exited = Mutex<[String: (reason: String, at: ContinuousClock.Instant)]>([:])
    /// How long an exit of a host nobody asked about is kept: its reference may not be recorded yet.
    static let unclaimedLifetime: Duration = .seconds(120)

    func record(hostID: String, reason: String) {
        exited.withLock { $0[hostID] = (reason, .now) }
    }

    /// The exits of these hosts, forgotten once taken; an exit nobody asks about for a while (its host ended as it
    /// should) is forgotten too.
    func take(_ hostIDs: Set<String>) -> [String: String] {
        exited.withLock { exited in
            let taken = exited.filter { hostIDs.contains($0.key) }.mapValues(\.reason)
            let now = ContinuousClock.now
            exited = exited.filter { !hostIDs.contains($0.key) && now - $0.value.at < Self.unclaimedLifetime }
            return taken
        }
    }

    /// `InternalServerError: host algo-1 (<id>): its worker agent (/path/trainyard-agent) exited with status 127 before
    /// the host ended: <its last log lines>`; an agent killed by a signal has no last words worth showing.
    static func reason(hostID: String, hostName: String, agent: String, status: Int32, signalled: Bool, logFile: String) -> String {
        let prefix = "InternalServerError: host \(hostName) (\(hostID)): its worker agent (\(agent))"
        if signalled { return "\(prefix) was killed by signal \(status) before the host ended" }
        let lines = AgentLogTail.lastLines(of: logFile)
        return String("\(prefix) exited with status \(status) before the host ended\(lines.isEmpty ? "" : ": " + lines)".prefix(1024))
    }
}

/// How many of each attempt's agents still run, so that the last one to exit can take the attempt's network with it.
final class RunningAgents: Sendable {
    private let counts = Mutex<[Int64: Int]>([:])

    func started(attemptID: Int64, count: Int) {
        counts.withLock { $0[attemptID, default: 0] += count }
    }

    /// Records one agent's exit; answers whether it was the attempt's last.
    func exited(attemptID: Int64) -> Bool {
        counts.withLock { counts in
            guard let count = counts[attemptID] else { return false }
            if count <= 1 {
                counts[attemptID] = nil
                return true
            }
            counts[attemptID] = count - 1
            return false
        }
    }
}
