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
        commandUIDs: ClosedRange<UInt32> = 3_000_000...3_999_999, logger: Logger
    ) {
        self.workersDirectory = workersDirectory
        self.commandUIDs = commandUIDs
        self.agentExecutable = agentExecutable
        self.agentEnvironment = agentEnvironment
        self.logger = logger
        self.isolation = Self.isolationHere
        self.networks = isolation == .mountNamespace && HostNetworks.isAvailable ? HostNetworks(logger: logger) : nil
        // The service's alone: each agent reaches its own directory by path, its command sees only its /opt/ml.
        try? FileManager.default.createDirectory(atPath: workersDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(workersDirectory, 0o700)
        if let problem = Self.agentProblem(agentExecutable) {
            logger.error("no job can run on local workers until this is fixed", metadata: ["problem": "\(problem)"])
        }
        logger.info(
            "local provisioner ready",
            metadata: ["isolation": "\(isolation)", "agent": "\(agentExecutable)", "job_networks": "\(networks == nil ? "off: the machine's network" : "on")"])
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

    /// Whether commands run as their attempt's own uid (the service runs as root with mount namespaces).
    public var runsCommandsAsOwnUsers: Bool { isolation == .mountNamespace }

    /// A command of its own user keeps its checkpoints in `/opt/ml` (its private `/tmp` is its alone, unseen by the agent
    /// that syncs them).
    public var capabilities: ProvisionerCapabilities {
        ProvisionerCapabilities(name: name, commandWritableRoots: runsCommandsAsOwnUsers ? [WorkerLayout.sageMakerRoot] : nil)
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

    /// The agent beside the running executable, or `TRAINYARD_AGENT_BIN`.
    public static func defaultAgentExecutable(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment["TRAINYARD_AGENT_BIN"], !explicit.isEmpty { return explicit }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
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
        let network = JobNetwork(instance: instanceTag, attemptID: request.attemptID, hostNames: request.hosts.map(\.name))
        if let networks { try await networks.onQueue { try networks.create(network) } }
        do {
            return try startAgents(request, network: networks == nil ? nil : network)
        } catch {
            if let networks { HostNetworks.queue.async { networks.remove(network) } }
            throw error
        }
    }

    /// One agent per host; with `network`, each host's command joins its namespace and `algo-N` resolve to the job's
    /// own addresses, else every name resolves to this machine.
    private func startAgents(_ request: PoolLaunchRequest, network: JobNetwork?) throws -> [String: String] {
        var references: [String: String] = [:]
        if network != nil { runningAgents.started(attemptID: request.attemptID, count: request.hosts.count) }
        for (index, host) in request.hosts.enumerated() {
            let directory = "\(workersDirectory)/\(host.id)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
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
            let (networks, agents) = (self.networks, self.runningAgents)
            process.terminationHandler = { process in
                // The last agent of an attempt to exit takes its network with it; after a restart, reconcile does.
                if let network, let networks, agents.exited(attemptID: network.attemptID) { HostNetworks.queue.async { networks.remove(network) } }
                exits.record(
                    hostID: hostID,
                    reason: AgentExits.reason(
                        hostID: hostID, hostName: hostName, agent: agent, status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                        logFile: "\(directory)/agent.log"))
            }
            try process.run()
            try? log.close()
            references[host.id] = "pid:\(process.processIdentifier) dir:\(directory)"
            logger.info("started agent", metadata: ["job": "\(request.jobName)", "attempt": "\(request.attemptNumber)", "host": "\(host.name)",
                                                     "pid": "\(process.processIdentifier)"])
        }
        return references
    }

    /// Removes the networks of attempts that are no longer live (ended, or left behind by a crash).
    public func reconcile(live: @Sendable (Set<Int64>) async throws -> Set<Int64>) async throws -> ReconcileReport {
        guard let networks else { return ReconcileReport() }
        let tag = instanceTag
        let namespaces = try await networks.onQueue { networks.existingNamespaces() }
        let attempts = Set(namespaces.compactMap { JobNetwork.attemptID(ofNamespace: $0, instance: tag) })
        guard !attempts.isEmpty else { return ReconcileReport() }
        let ended = attempts.subtracting(try await live(attempts))
        try await networks.onQueue {
            for attemptID in ended { networks.remove(JobNetwork(instance: tag, attemptID: attemptID, hostNames: []), among: namespaces) }
        }
        if !ended.isEmpty { logger.debug("removed the networks of ended attempts", metadata: ["attempts": "\(ended.sorted())"]) }
        return ReconcileReport()
    }

    /// A host whose agent this server started and that has exited although the host is still live (it never reported
    /// its end) is gone, with the agent's exit status and last log lines as the reason.
    public func observe(hosts references: [String: String]) async throws -> [String: ProvisionedHostState] {
        exits.take(Set(references.keys)).mapValues { ProvisionedHostState.gone(reason: $0) }
    }

    /// SIGTERM to each host's agent (not to the user's command: the agent forwards the notice to it).
    public func reclaim(hosts references: [String: String]) async {
        for (hostID, reference) in references {
            let fields = Self.fields(of: reference)
            if let pid = fields["pid"].flatMap({ pid_t($0) }), pid > 1 {
                RecordedProcesses.signalAgent(pid: pid, workerDirectory: fields["dir"], SIGTERM)
                logger.info("sent a reclaim notice", metadata: ["host": "\(hostID)", "pid": "\(pid)"])
            }
        }
    }

    /// The `key:value` fields of a reference (`pid:123 dir:/path`).
    static func fields(of reference: String) -> [String: String] {
        Dictionary(
            reference.split(separator: " ").compactMap { field -> (String, String)? in
                guard let colon = field.firstIndex(of: ":") else { return nil }
                return (String(field[..<colon]), String(field[field.index(after: colon)...]))
            }, uniquingKeysWith: { first, _ in first })
    }

    public func terminate(hosts references: [String: String]) async {
        for (hostID, reference) in references {
            let fields = Self.fields(of: reference)
            // The user's command runs in a process group of its own, recorded by its agent.
            if let directory = fields["dir"] { RecordedProcesses.signalCommandGroup(workerDirectory: directory, SIGKILL) }
            if let pid = fields["pid"].flatMap({ pid_t($0) }) {
                RecordedProcesses.signalAgent(pid: pid, workerDirectory: fields["dir"], SIGKILL, group: true)
            }
            logger.info("terminated host", metadata: ["host": "\(hostID)"])
        }
    }
}

/// Why the local provisioner cannot start an agent.
public enum LocalProvisionerError: Error, CustomStringConvertible, Equatable {
    case agentMissing(path: String)
    case agentNotExecutable(path: String)

    public var description: String {
        switch self {
        case .agentMissing(let path):
            "InternalServerError: the worker agent \(path) does not exist; build it (`swift build --product trainyard-agent`, which "
                + "scripts/serve does) or point TRAINYARD_AGENT_BIN at it"
        case .agentNotExecutable(let path):
            "InternalServerError: the worker agent \(path) is not executable; `chmod +x` it or point TRAINYARD_AGENT_BIN at another"
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
