import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real Slurm cluster per test process, on this machine: `munged` (private key and socket), `slurmctld`, and
/// four `slurmd` acting as nodes `node1…node4` on their own ports, everything on 127.0.0.1 under a private
/// directory, from a configuration written at start (shared/reference/infra.md §3). Started on first use, stopped
/// by process id, all at once, when the test process exits.
public actor TestSlurm {
    /// The cluster of this test process.
    public static let shared = TestSlurm()

    /// Where the cluster lives and how clients reach it.
    public struct Cluster: Sendable {
        /// The generated `slurm.conf` (`SLURM_CONF` for clients).
        public var configurationFile: String
        /// The cluster's private directory.
        public var directory: String
        /// Node names, in order.
        public var nodes: [String]
    }

    /// Why the cluster cannot start: says what to install or look at.
    public struct StartFailure: Error, CustomStringConvertible {
        public var description: String
    }

    private static let pids = Mutex<[pid_t]>([])
    private var starting: Task<Cluster, any Error>?

    /// The running cluster.
    public func cluster() async throws -> Cluster {
        if let starting { return try await starting.value }
        let task = Task { try await Self.start() }
        starting = task
        return try await task.value
    }

    static let binaries = ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/bin/squeue", "/usr/bin/sinfo",
                           "/usr/bin/scancel", "/usr/bin/scontrol", "/usr/sbin/mungekey"]

    private static func start() async throws -> Cluster {
        let missing = binaries.filter { !FileManager.default.isExecutableFile(atPath: $0) }
        guard missing.isEmpty else {
            throw StartFailure(
                description: "Slurm is not installed (missing \(missing.joined(separator: ", "))): run scripts/bootstrap, which installs "
                    + "slurmctld slurmd slurm-client munge from Debian")
        }
        guard geteuid() == 0 else {
            throw StartFailure(description: "the Slurm tests start slurmd, which must run as root; run the tests as root (CI does)")
        }
        removeStaleClusters()
        let root = "/tmp/trainyard-slurm-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        for sub in ["state", "spool", "run", "log", "munge"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(sub)", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        try run("/bin/chown", ["munge:munge", "\(root)/munge"])
        try run("/usr/sbin/mungekey", ["--create", "--keyfile=\(root)/munge/key", "--force"])
        try run("/bin/chown", ["munge:munge", "\(root)/munge/key"])
        atexit { TestSlurm.stopAll() }
        try spawn(
            "/usr/bin/setpriv",
            ["--reuid=munge", "--regid=munge", "--init-groups", "--", "/usr/sbin/munged", "-F", "--socket=\(root)/munge/sock",
             "--key-file=\(root)/munge/key", "--pid-file=\(root)/munge/pid", "--seed-file=\(root)/munge/seed"], log: "\(root)/log/munged.out")
        try await waitUntil(seconds: 20, "munged to open its socket") { FileManager.default.fileExists(atPath: "\(root)/munge/sock") }

        let firstPort = try TestPorts.block(count: 5)
        let ports = Array(firstPort..<(firstPort + 5))
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: ".").first.map(String.init) ?? "localhost"
        let nodes = (1...4).map { "node\($0)" }
        var configuration = """
            ClusterName=trainyard-tests
            SlurmctldHost=\(host)(127.0.0.1)
            SlurmctldPort=\(ports[0])
            SlurmUser=root
            SlurmdUser=root
            AuthType=auth/munge
            CredType=cred/munge
            AuthInfo=socket=\(root)/munge/sock
            MailProg=/bin/true
            StateSaveLocation=\(root)/state
            SlurmdSpoolDir=\(root)/spool/%n
            SlurmctldPidFile=\(root)/run/slurmctld.pid
            SlurmdPidFile=\(root)/run/slurmd.%n.pid
            SlurmctldLogFile=\(root)/log/slurmctld.log
            SlurmdLogFile=\(root)/log/slurmd.%n.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            JobAcctGatherType=jobacct_gather/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            SchedulerType=sched/backfill
            SchedulerParameters=batch_sched_delay=0
            MpiDefault=none
            ReturnToService=1
            AccountingStorageType=accounting_storage/none
            JobCompType=jobcomp/none
            SlurmdTimeout=30
            KillWait=3
            MinJobAge=300
            # The scavenger partition plays spot capacity: a job of the default partition preempts its jobs, which get
            # SIGTERM and GraceTime seconds, then are requeued.
            PreemptType=preempt/partition_prio
            PreemptMode=REQUEUE

            """
        for (index, node) in nodes.enumerated() {
            configuration += "NodeName=\(node) NodeHostname=\(host) NodeAddr=127.0.0.1 Port=\(ports[index + 1]) CPUs=2 RealMemory=1000 State=UNKNOWN\n"
        }
        configuration += "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF\n"
        configuration += "PartitionName=scavenger Nodes=ALL MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=10\n"
        let file = "\(root)/slurm.conf"
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        try spawn("/usr/sbin/slurmctld", ["-D", "-f", file], log: "\(root)/log/slurmctld.out")
        for node in nodes { try spawn("/usr/sbin/slurmd", ["-D", "-N", node, "-f", file], log: "\(root)/log/slurmd.\(node).out") }
        let cluster = Cluster(configurationFile: file, directory: root, nodes: nodes)
        try await waitUntil(seconds: 60, "all four nodes to be idle (see \(root)/log)") {
            let text = (try? client(cluster, "/usr/bin/sinfo", ["-h", "-N", "-o", "%N %t"])) ?? ""
            return idleNodes(text).count == nodes.count
        }
        return cluster
    }

    /// Runs a Slurm client tool against the cluster; its standard output. Throws on a non-zero exit.
    @discardableResult
    public static func client(_ cluster: Cluster, _ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool.hasPrefix("/") ? tool : "/usr/bin/\(tool)")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SLURM_") }
        environment["SLURM_CONF"] = cluster.configurationFile
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw StartFailure(description: "\(tool) \(arguments.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }

    /// A system user named `name` (no home, no login), created when this machine has none: a project's Slurm user in
    /// tests of `TRAINYARD_SLURM_USERS`. The cluster's nodes are this machine, so it exists on them too.
    public static func ensureUser(_ name: String) throws {
        if getpwnam(name) != nil { return }
        do {
            try run("/usr/sbin/useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name])
        } catch {
            // Another test process may have made it meanwhile.
            if getpwnam(name) == nil { throw error }
        }
    }

    /// Cancels every job and returns every node to service: a clean cluster for the next test.
    public static func reset(_ cluster: Cluster) async throws {
        // Every job, whoever's (jobs of projects' own Slurm users too).
        let ids = ((try? client(cluster, "squeue", ["-h", "-o", "%i"])) ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
        if !ids.isEmpty { _ = try? client(cluster, "scancel", ids) }
        _ = try? client(cluster, "scontrol", ["update", "nodename=\(cluster.nodes.joined(separator: ","))", "state=resume"])
        try await waitUntil(seconds: 60, "the cluster to be idle after a test") {
            let jobs = (try? client(cluster, "squeue", ["-h", "-t", "PD,R,CG,S,CF", "-o", "%i"])) ?? "x"
            let nodes = (try? client(cluster, "sinfo", ["-h", "-N", "-o", "%N %t"])) ?? ""
            return jobs.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                && idleNodes(nodes).count == cluster.nodes.count
        }
    }

    /// The idle nodes of `sinfo -h -N -o "%N %t"`, which lists a node once per partition it is in.
    static func idleNodes(_ sinfo: String) -> Set<Substring> {
        Set(sinfo.split(separator: "\n").filter { $0.hasSuffix(" idle") }.compactMap { $0.split(separator: " ").first })
    }

    static func waitUntil(seconds: Double, _ what: String, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw StartFailure(description: "timed out after \(Int(seconds)) s waiting for \(what)")
    }

    /// Starts a daemon with posix_spawn, not Foundation's `Process`: Slurm's daemons close every inherited
    /// descriptor, which Foundation takes for the child's exit, and its monitor thread then blocks in `waitpid` on
    /// the live daemon, so that no other child is reaped any more.
    private static func spawn(_ executable: String, _ arguments: [String], log: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of the test process (a build lock held by flock, a Postgres socket) leaks into the daemon.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(entry), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard status == 0 else { throw StartFailure(description: "cannot start \(executable): \(String(cString: strerror(status)))") }
        pids.withLock { $0.append(pid) }
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw StartFailure(description: "\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }

    /// SIGTERM to every daemon at once (each takes seconds to stop; one after another would take a dozen), then
    /// SIGKILL to those still there after 5 s (a slurmd whose controller went first may wait for it).
    static func stopAll() {
        var running = pids.withLock { $0 }.filter { $0 > 1 }
        for pid in running { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        while !running.isEmpty, Date() < deadline {
            running = running.filter { waitpid($0, nil, WNOHANG) == 0 }
            if !running.isEmpty { usleep(50_000) }
        }
        for pid in running { kill(pid, SIGKILL) }
    }

    /// Clusters of test processes that died without stopping theirs: stop the daemons and remove the directories.
    static func removeStaleClusters() {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? [] where entry.hasPrefix("trainyard-slurm-") {
            guard let owner = Int32(entry.dropFirst("trainyard-slurm-".count)), kill(owner, 0) != 0 else { continue }
            let root = "/tmp/\(entry)"
            let pidFiles = ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/run")) ?? []).map { "\(root)/run/\($0)" } + ["\(root)/munge/pid"]
            for file in pidFiles {
                if let text = try? String(contentsOfFile: file, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 {
                    kill(pid, SIGKILL)
                }
            }
            try? FileManager.default.removeItem(atPath: root)
        }
    }
}
