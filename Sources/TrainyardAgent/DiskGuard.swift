import Foundation
import Logging
import TrainyardCore

#if canImport(Glibc)
import Glibc
#endif

/// Keeps a host within its disk: the job's volume (`volume_size`, or the service's default) and the space kept free for
/// the service's database on the disk of its data directory.
///
/// Where the provisioner gave the worker directory a volume of its own (a loop-mounted file system, as root), the
/// kernel bounds the job: it gets ENOSPC inside its volume, and the guard only tells that apart from other failures.
/// Elsewhere (no root, no loop devices) the guard is the bound: it adds up the directory now and then and stops the
/// command once the directory passes the volume size. Either way it watches the free space of the disk the worker
/// directories live on (their parent's), which the volumes, being sparse files, share with PostgreSQL.
struct DiskGuard: Sendable {
    /// The worker directory (the volume, when it is one).
    let directory: String
    /// The directory whose disk keeps the reserve: the workers directory.
    let reservePath: String
    let volumeGiB: Int?
    let reserveBytes: Int64
    /// Whether the worker directory is a file system of its own (a volume the kernel keeps to its size).
    let hasOwnVolume: Bool

    init(directory: String, volumeGiB: Int?, reserveBytes: Int64) {
        self.directory = directory
        self.reservePath = (directory as NSString).deletingLastPathComponent
        self.volumeGiB = volumeGiB
        self.reserveBytes = reserveBytes
        self.hasOwnVolume = Self.isMountPoint(directory)
    }

    var volumeBytes: Int64? { volumeGiB.map { Int64($0) << 30 } }

    /// Whether `path` is the root of a file system other than its parent's.
    static func isMountPoint(_ path: String) -> Bool {
        var own = stat()
        var parent = stat()
        guard stat(path, &own) == 0, stat((path as NSString).deletingLastPathComponent, &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }

    /// Bytes an unprivileged user may still write on the file system of `path`.
    static func available(_ path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Bytes the files under `path` take on disk (blocks allocated, so sparse and punched files count what they use);
    /// links are not followed.
    static func usage(_ path: String) -> Int64 {
        var total: Int64 = 0
        var info = stat()
        if lstat(path, &info) == 0 { total += Int64(info.st_blocks) * 512 }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return total }
        while let relative = enumerator.nextObject() as? String {
            if lstat(path + "/" + relative, &info) == 0 { total += Int64(info.st_blocks) * 512 }
        }
        return total
    }

    /// Room under which a volume counts as full: a write that failed for want of space leaves a little behind.
    var fullMargin: Int64 { max(16 << 20, (volumeBytes ?? 0) / 100) }

    /// Whether the volume is (nearly) full now.
    func volumeIsFull() -> Bool {
        guard let volumeBytes else { return false }
        if hasOwnVolume { return (Self.available(directory) ?? .max) < min(fullMargin, volumeBytes / 4) }
        return Self.usage(directory) >= volumeBytes - fullMargin
    }

    /// Whether a failure's words say the disk was full.
    static func mentionsNoSpace(_ text: String) -> Bool {
        ["No space left on device", "ENOSPC", "Errno 28", "out of space", "Disk quota exceeded"].contains { text.localizedCaseInsensitiveContains($0) }
    }

    /// What is wrong now, if anything: the reserve first (the service's database is at stake), then, where no volume
    /// of its own bounds the directory, its size.
    func check() -> WorkerDiskFailure? {
        if reserveBytes > 0, let free = Self.available(reservePath), free < reserveBytes {
            return .reserveReached(freeBytes: free, reserveBytes: reserveBytes)
        }
        return exceededVolume()
    }

    /// Where no volume of its own bounds the directory: the directory past the volume size, if it is.
    func exceededVolume() -> WorkerDiskFailure? {
        guard !hasOwnVolume, let volumeGiB, let volumeBytes else { return nil }
        let used = Self.usage(directory)
        return used > volumeBytes ? .volumeExceeded(volumeGiB: volumeGiB, usedBytes: used) : nil
    }

    /// Checks every second (longer when adding up the directory takes long) until cancelled or until something is
    /// wrong, which it hands to `tripped` once.
    func run(logger: Logger, tripped: @Sendable (WorkerDiskFailure) -> Void) async {
        while !Task.isCancelled {
            let started = ContinuousClock.now
            if let failure = check() {
                logger.error("the host's disk is full; stopping the command", metadata: ["reason": "\(failure)"])
                tripped(failure)
                return
            }
            let took = ContinuousClock.now - started
            try? await Task.sleep(for: max(.seconds(1), took * 20))
        }
    }
}
