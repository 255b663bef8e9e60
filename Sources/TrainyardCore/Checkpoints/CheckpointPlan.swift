/// What one checkpoint sync does, decided from the directory as it is now and what earlier syncs (or the restore) put
/// in the store; no I/O. As SageMaker does: new and changed files go up, and a file the script deleted is deleted in
/// the store, but only files this host put there or restored, never another host's.
public struct CheckpointSyncPlan: Sendable, Equatable {
    /// Relative paths to upload, sorted.
    public var uploads: [String]
    /// Relative paths to delete in the store, sorted.
    public var deletes: [String]

    public init(uploads: [String], deletes: [String]) {
        self.uploads = uploads
        self.deletes = deletes
    }

    /// The plan for `local` (every file of the checkpoint directory now) against `synced` (what the store holds from
    /// this host). Files under the reserved `.trainyard/` prefix are the store's own and never synced.
    public static func plan(local: [String: CheckpointFileStamp], synced: [String: CheckpointFileStamp]) -> CheckpointSyncPlan {
        let ours = local.filter { !$0.key.hasPrefix(CheckpointManifest.reservedPrefix) }
        let uploads = ours.filter { path, stamp in synced[path].map { !$0.sameLocalFile(as: stamp) } ?? true }.keys.sorted()
        let deletes = synced.keys.filter { ours[$0] == nil }.sorted()
        return CheckpointSyncPlan(uploads: uploads, deletes: deletes)
    }

    /// Nothing to do.
    public var isEmpty: Bool { uploads.isEmpty && deletes.isEmpty }
}

/// What a restore copies into the checkpoint directory before the user's command starts.
public enum CheckpointRestorePlan {
    /// The relative paths to download, sorted, with the host whose manifest names each.
    ///
    /// With no manifest under the prefix (a first attempt, or checkpoints put there by hand or by SageMaker), every
    /// object is copied, as SageMaker does. Once syncs have written manifests, only what a complete manifest names is
    /// copied: files of a sync that was cut off before its manifest are left out. On a path named by several hosts'
    /// manifests, the newest manifest wins.
    public static func files(objects: [String], manifests: [CheckpointManifest]) -> [String] {
        let userObjects = objects.filter { !$0.hasPrefix(CheckpointManifest.reservedPrefix) }
        guard !manifests.isEmpty else { return userObjects.sorted() }
        let present = Set(userObjects)
        var named: Set<String> = []
        for manifest in manifests { named.formUnion(manifest.files.keys) }
        return named.filter { present.contains($0) }.sorted()
    }

    /// The stamp the newest manifest gives `path`.
    public static func stamp(of path: String, in manifests: [CheckpointManifest]) -> CheckpointFileStamp? {
        manifests.sorted { $0.completedAt > $1.completedAt }.lazy.compactMap { $0.files[path] }.first
    }
}
