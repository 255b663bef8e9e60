import Foundation
import TrainyardCore

#if canImport(Glibc)
import Glibc
#endif

/// Who the user's command runs as, and what it starts with. With `TRAINYARD_AGENT_RUN_AS` (the local provisioner sets it
/// when the service runs as root) the command runs as that unprivileged uid and gid, without supplementary groups or a
/// way to gain privileges (`setpriv --no-new-privs`): it cannot read the service's processes, data directory, keys or
/// database socket, nor another attempt's files or processes, and its `/tmp` and `/dev/shm` are its own. The
/// directories it writes to (`/opt/ml`'s model, output, code, input and checkpoint directories, and its private `/tmp`)
/// are handed to it; the agent's own files stay the agent's. Without it the command runs as the agent does.
///
/// Either way its environment is built afresh: a minimal `PATH`, `LANG` and `HOME`, what the resource manager set for
/// the host's allocation (`SLURM_*`, `CUDA_VISIBLE_DEVICES`), then the SageMaker contract's variables and the job's
/// `environment`; nothing of the agent's or the service's own environment (object store credentials, database URLs,
/// tokens) reaches it.
struct CommandIdentity: Sendable {
    /// The uid (and gid) the command runs as; nil for the agent's own.
    let uid: uid_t?
    /// The command's private `/tmp` as the agent sees it (`<worker dir>/tmp`), when it runs as its own user.
    let temporaryDirectory: String?
    /// The command's `HOME`, as the command sees it.
    let home: String
    /// The network namespace the command joins (`TRAINYARD_AGENT_NETNS`, its job's network); nil: the agent's.
    let networkNamespace: String?

    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    /// Variables of the agent's environment that describe the host's allocation, kept for the command (besides every
    /// `SLURM_*`).
    static let allocationVariables: Set<String> = [
        "SLURMD_NODENAME", "CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL", "NVIDIA_VISIBLE_DEVICES",
    ]
    static let setpriv = "/usr/bin/setpriv"
    static let unshare = "/usr/bin/unshare"
    static let nsenter = "/usr/bin/nsenter"

    /// From `TRAINYARD_AGENT_RUN_AS`; the command's private `/tmp` lives in `workerDirectory`.
    init(environment: [String: String], workerDirectory: String) throws {
        networkNamespace = environment["TRAINYARD_AGENT_NETNS"].flatMap { $0.isEmpty ? nil : $0 }
        if let value = environment["TRAINYARD_AGENT_RUN_AS"], !value.isEmpty {
            guard let uid = uid_t(value), uid > 0 else { throw AgentError.missingSetting("TRAINYARD_AGENT_RUN_AS (a uid above 0, not \(value))") }
            for tool in [Self.setpriv, Self.unshare] where !FileManager.default.isExecutableFile(atPath: tool) {
                throw AgentError.checkpoint("cannot run the command as uid \(uid): \(tool) (util-linux) is missing")
            }
            self.uid = uid
            temporaryDirectory = workerDirectory + "/tmp"
            home = "/tmp/home"
        } else {
            uid = nil
            temporaryDirectory = nil
            home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        }
    }

    /// The command's environment: minimal basics, then the contract's variables and the job's environment over them.
    func environment(contract: [String: String], agentEnvironment: [String: String]) -> [String: String] {
        var environment = ["PATH": Self.path, "HOME": home, "LANG": agentEnvironment["LANG"].flatMap { $0.isEmpty ? nil : $0 } ?? "C.UTF-8"]
        if let zone = agentEnvironment["TZ"] { environment["TZ"] = zone }
        // What the resource manager set for this host's allocation (Slurm's job and step, the GPUs it bound).
        for (key, value) in agentEnvironment where Self.allocationVariables.contains(key) || key.hasPrefix("SLURM_") {
            environment[key] = value
        }
        for (key, value) in contract { environment[key] = value }
        return environment
    }

    /// `argv` as the command's user runs it: in its job's network namespace, in a mount namespace of its own where
    /// `/tmp` is its private directory and
    /// `/dev/shm` a fresh tmpfs, then as its uid with no way back to privileges. Every step execs the next, so the
    /// command keeps the process id (and group) the agent started.
    func argv(_ argv: [String]) -> [String] {
        guard let uid, let temporaryDirectory else { return argv }
        let network = networkNamespace.map { [Self.nsenter, "--net=\($0)", "--"] } ?? []
        return network + [
            Self.unshare, "--mount", "--propagation", "private", "/bin/sh", "-c",
            #"mount --bind "$0" /tmp && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm && exec "$@""#, temporaryDirectory,
            Self.setpriv, "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--no-new-privs", "--",
        ] + argv
    }

    /// Hands `directories` (and everything in them) and the command's private `/tmp` with its home to the command's
    /// user. Entries are changed with `lchown`, so a link is never followed out of the tree.
    func handOver(_ directories: [String]) throws {
        guard let uid, let temporaryDirectory else { return }
        try FileManager.default.createDirectory(atPath: temporaryDirectory + "/home", withIntermediateDirectories: true)
        chmod(temporaryDirectory, 0o700)
        for directory in directories + [temporaryDirectory] {
            guard lchown(directory, uid, uid) == 0 else { throw AgentError.checkpoint("cannot hand \(directory) to uid \(uid): errno \(errno)") }
            guard let enumerator = FileManager.default.enumerator(atPath: directory) else { continue }
            while let relative = enumerator.nextObject() as? String { _ = lchown(directory + "/" + relative, uid, uid) }
        }
    }

    /// Reads at most `limit` bytes of a regular file the command may have written, never following a link or blocking
    /// on a FIFO: the agent reads with more rights than the command, which must not get it to read (and report) a file
    /// it could not read itself.
    static func readRegularFile(_ path: String, limit: Int = 64 * 1024) -> Data? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while data.count < limit {
            let count = read(descriptor, &buffer, min(buffer.count, limit - data.count))
            guard count > 0 else { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return data
    }
}
