import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How local workers' disks are bounded (`TRAINYARD_WORKER_VOLUMES`).
public enum WorkerVolumeMode: String, Sendable {
    /// A volume of its own for each host where the service can make one (root, loop devices, ext4), else the watchdog.
    case auto
    /// Always the watchdog: each agent adds up its directory and stops its command past the volume size.
    case watch
}

/// Each local host's worker directory as a volume of its own: a sparse file of the job's `volume_size` (plus room that
/// only the agent may use, for its log spool and the output archives) formatted ext4 and loop-mounted on the
/// directory, `nosuid,nodev`. A job that fills it gets ENOSPC inside it; nothing it writes reaches the disk beyond its
/// size. The file is sparse, so a volume takes on the data disk only what the job wrote; the agents keep the space
/// PostgreSQL needs there (``DiskGuard`` in the agent, and the provisioner's check before a launch).
///
/// The image lies under its own mount point (`<host dir>/.volume.img`, hidden while mounted), so removing the
/// directory once it is unmounted removes everything. Mounts are made in the service's mount namespace, where the
/// agents' namespaces copy them from; ``release(_:)`` unmounts (lazily when something still holds it) and removes.
struct WorkerVolumes: Sendable {
    let logger: Logger
    /// Bytes of each volume only root (the agent) may write: the job's own writes end at its size.
    let agentHeadroomBytes: Int64

    static let mkfs = "/usr/sbin/mkfs.ext4"
    static let mount = "/usr/bin/mount"
    static let imageName = ".volume.img"

    /// Making, mounting and removing volumes runs here, never on the concurrency pool (mkfs and a large removal block).
    static let queue = DispatchQueue(label: "trainyard.worker-volumes")

    static func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Self.queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Whether volumes can be made here: root, the tools, and a trial volume that mounts. Tried once per process.
    static let isAvailable: Bool = available()

    static func available() -> Bool {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: mkfs), FileManager.default.isExecutableFile(atPath: mount) else {
            return false
        }
        let name = "trainyard-volume-probe-\(getpid())-\(UUID().uuidString.prefix(8))"
        let trial = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        defer { try? FileManager.default.removeItem(atPath: trial) }
        guard (try? FileManager.default.createDirectory(atPath: trial, withIntermediateDirectories: true)) != nil else { return false }
        do {
            try WorkerVolumes(logger: Logger(label: "trainyard.worker-volumes.probe"), agentHeadroomBytes: 0).create(trial, bytes: 16 << 20)
        } catch {
            return false
        }
        release(trial, logger: nil)
        return true
    }

    /// Makes `directory` (existing, empty but for what `launch` put there) a volume of `bytes` for the job, plus the
    /// agent's headroom; on failure leaves no mount behind and throws.
    func create(_ directory: String, bytes: Int64) throws {
        let image = directory + "/" + Self.imageName
        let total = bytes + agentHeadroomBytes
        guard FileManager.default.createFile(atPath: image, contents: nil, attributes: [.posixPermissions: 0o600]),
            truncate(image, off_t(total)) == 0
        else {
            try? FileManager.default.removeItem(atPath: image)
            throw WorkerVolumeError.failed(step: "create \(image)", message: String(cString: strerror(errno)))
        }
        // The headroom is ext4's reserve for root; no journal (the volume ends with its attempt); inode tables are not
        // zeroed, now or later (they would be written out in full, taking disk for nothing).
        let reserved = max(0, min(50, Double(agentHeadroomBytes) / Double(total) * 100))
        do {
            let options = ["-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1", "-m", String(format: "%.4f", reserved), "-L", "trainyard"]
            try Self.run(Self.mkfs, ["-q", "-F"] + options + [image])
            try Self.run(Self.mount, ["-o", "loop,nosuid,nodev,noinit_itable", image, directory])
        } catch {
            try? FileManager.default.removeItem(atPath: image)
            throw error
        }
        // The job's tree starts empty.
        try? FileManager.default.removeItem(atPath: directory + "/lost+found")
    }

    /// Unmounts `directory` where it is a volume (detached lazily when something still holds it: its loop device is
    /// freed when the last holder goes) and removes it with everything in it.
    static func release(_ directory: String, logger: Logger?) {
        if isMountPoint(directory), umount2(directory, 0) != 0 {
            let busy = errno == EBUSY
            if !busy || umount2(directory, 2 /* MNT_DETACH */) != 0 {
                logger?.warning("could not unmount a worker volume", metadata: ["dir": "\(directory)", "error": "\(String(cString: strerror(errno)))"])
                return
            }
        }
        do {
            try FileManager.default.removeItem(atPath: directory)
        } catch {
            logger?.warning("could not remove a worker directory", metadata: ["dir": "\(directory)", "error": "\(error)"])
        }
    }

    /// Whether `path` is the root of a file system other than its parent's.
    static func isMountPoint(_ path: String) -> Bool {
        var own = stat()
        var parent = stat()
        guard lstat(path, &own) == 0, stat((path as NSString).deletingLastPathComponent, &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }

    /// Bytes unprivileged writers may still use on the file system of `path`.
    static func available(_ path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let result = try ShortCommand.run(executable, arguments)
        guard result.status == 0 else {
            throw WorkerVolumeError.failed(
                step: ([executable] + arguments).joined(separator: " "), message: result.errors.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return result.output
    }
}

/// Why a host's volume could not be made.
enum WorkerVolumeError: Error, CustomStringConvertible {
    case failed(step: String, message: String)

    var description: String {
        switch self {
        case .failed(let step, let message): "could not make the worker's volume (\(step)): \(message)"
        }
    }
}
