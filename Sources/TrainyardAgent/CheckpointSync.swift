import Crypto
import Foundation
import Logging
import TrainyardCore
import TrainyardObjectStore

/// Keeps a host's checkpoint directory and `checkpoint_s3_uri` in step, as SageMaker does: before the command starts
/// what the store holds is copied in; while it runs, new and changed files go up and files the script deleted are
/// deleted in the store; a final sync follows the command's end (a stop, an interruption, or its own end). Each sync
/// writes this host's manifest last, and a restore copies only what complete manifests name.
///
/// An actor: the periodic loop and the final sync never run at once.
actor CheckpointSync {
    let location: ObjectLocation
    let directory: String
    /// Where the manifest is written before its upload: the agent's own directory, never beside the checkpoint
    /// directory (which may be `/x`, whose parent is `/`).
    let scratchDirectory: String
    /// The checkpoint URI without a trailing slash.
    let prefix: String
    let host: String
    let attempt: Int
    let logger: Logger
    /// What the store holds from this host (uploaded or restored), by relative path.
    private var synced: [String: CheckpointFileStamp] = [:]
    /// What this host's last manifest in the store names. A sync whose files went up but whose manifest did not (it
    /// failed, or was cancelled with the command's end) leaves `synced` ahead of it: the next sync writes the manifest
    /// even with nothing new to upload, or a restore would leave those files out.
    private var manifested: [String: CheckpointFileStamp]?
    private(set) var lastCompletedAt: Date?
    /// Syncs only follow a complete restore: a sync after a failed one would write a manifest without the store's
    /// checkpoints, and the next restore would leave them out.
    private var restored = false

    init(location: ObjectLocation, directory: String, scratchDirectory: String, uri: String, host: String, attempt: Int, logger: Logger) {
        self.location = location
        self.directory = directory
        self.scratchDirectory = scratchDirectory
        var prefix = uri
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.prefix = prefix
        self.host = host
        self.attempt = attempt
        self.logger = logger
    }

    /// Copies the checkpoints into the directory; answers how many files.
    func restore() async throws -> Int {
        let objects = try await location.listTree(prefix + "/")
        var manifests: [CheckpointManifest] = []
        for object in objects where object.relativePath.hasPrefix(CheckpointManifest.reservedPrefix + "manifests/") {
            let scratch = directory + "/.trainyard-manifest-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            try await location.download(object.uri, to: scratch)
            do {
                manifests.append(try CheckpointManifest.decode(try Data(contentsOf: URL(fileURLWithPath: scratch))))
            } catch {
                logger.warning("ignoring an unreadable checkpoint manifest", metadata: ["uri": "\(object.uri)", "error": "\(error)"])
            }
        }
        let wanted = CheckpointRestorePlan.files(objects: objects.map(\.relativePath), manifests: manifests)
        for path in wanted {
            guard let target = RelativePath.join(directory, path) else {
                logger.warning("not restoring a checkpoint file whose name leaves the checkpoint directory", metadata: ["path": "\(path)"])
                continue
            }
            do {
                try await location.download(prefix + "/" + path, to: target)
            } catch ObjectStoreError.noSuchKey(_, _) {
                // Another host's sync deleted it after the listing (its script removed the file, and that host's
                // newer manifest no longer names it): the store no longer holds it, so neither does this restore.
                logger.info("not restoring a checkpoint file another host's sync deleted meanwhile", metadata: ["path": "\(path)"])
                continue
            }
            let stamp = try Self.stamp(target)
            if let expected = CheckpointRestorePlan.stamp(of: path, in: manifests)?.sha256, let actual = try? Self.sha256(of: target), expected != actual {
                // The object was replaced by a later sync that never finished; its content is whole (puts are atomic).
                logger.warning("checkpoint file changed after its last complete sync", metadata: ["path": "\(path)"])
            }
            synced[path] = stamp
        }
        restored = true
        logger.info("restored checkpoints", metadata: ["files": "\(synced.count)", "manifests": "\(manifests.count)", "uri": "\(prefix)"])
        return synced.count
    }

    /// One sync: uploads, deletes, then the manifest. A file replaced while it went up (a new file renamed over it)
    /// counts as the version read; one written in place meanwhile is left for the next sync; the final sync runs once
    /// the command has ended, when nothing changes any more.
    @discardableResult
    func sync() async throws -> CheckpointSyncPlan {
        guard restored else { return CheckpointSyncPlan(uploads: [], deletes: []) }
        let local = try Self.snapshot(directory)
        let plan = CheckpointSyncPlan.plan(local: local, synced: synced)
        if plan.isEmpty, manifested == synced { return plan }
        var skipped = 0
        for path in plan.uploads where local[path] != nil {
            // Hashed and uploaded through one open descriptor (its /proc/self/fd path reaches the same inode): a script
            // that saves by writing a new file and renaming it over the old one, as trainers do, does not change what
            // is being read, so the upload names exactly the version it read, however often the file is replaced. The
            // next sync finds the new version's stamp and uploads it in turn.
            let descriptor = open(directory + "/" + path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }  // gone since the snapshot: the next sync deletes it
            defer { close(descriptor) }
            let opened = "/proc/self/fd/\(descriptor)"
            let before = try Self.stamp(opened)
            let digest = try Self.sha256(of: opened)
            try await location.upload(file: opened, to: prefix + "/" + path)
            // Written in place meanwhile (not replaced): what went up may be torn; the next sync sends it again.
            guard let after = try? Self.stamp(opened), after.sameLocalFile(as: before) else {
                skipped += 1
                continue
            }
            synced[path] = CheckpointFileStamp(size: before.size, modifiedNanos: before.modifiedNanos, sha256: digest)
        }
        for path in plan.deletes {
            try await location.delete(prefix + "/" + path)
            synced[path] = nil
        }
        let now = Date()
        let manifest = CheckpointManifest(host: host, attempt: attempt, completedAt: now, files: synced)
        let scratch = scratchDirectory + "/.trainyard-manifest-\(host).json"
        try manifest.encoded().write(to: URL(fileURLWithPath: scratch))
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try await location.upload(file: scratch, to: prefix + "/" + CheckpointManifest.relativeKey(host: host))
        manifested = manifest.files
        lastCompletedAt = now
        logger.debug(
            "synced checkpoints", metadata: ["uploaded": "\(plan.uploads.count - skipped)", "deleted": "\(plan.deletes.count)", "busy": "\(skipped)"])
        return plan
    }

    /// Every regular file under `directory`, by relative path. A symbolic link is followed only while it stays inside
    /// the directory: the agent reads with more rights than the training code, which must not get it to upload (and so
    /// read back) a file it could not read itself.
    static func snapshot(_ directory: String) throws -> [String: CheckpointFileStamp] {
        var files: [String: CheckpointFileStamp] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return files }
        let root = ObjectLocation.resolved(directory) ?? directory
        while let relative = enumerator.nextObject() as? String {
            guard let target = ObjectLocation.resolved(directory + "/" + relative), RelativePath.isInside(target, root: root) else { continue }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            if let stamp = try? stamp(target) { files[relative] = stamp }
        }
        return files
    }

    static func stamp(_ path: String) throws -> CheckpointFileStamp {
        var info = stat()
        guard stat(path, &info) == 0 else { throw AgentError.checkpoint("cannot stat \(path): errno \(errno)") }
        return CheckpointFileStamp(size: Int64(info.st_size), modifiedNanos: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    /// The file's SHA-256 in hex, read in 1 MiB pieces.
    static func sha256(of path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw AgentError.checkpoint("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return Hex.lowercase(hasher.finalize())
    }
}
