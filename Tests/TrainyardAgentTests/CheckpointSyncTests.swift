import Foundation
import Logging
import NIOCore
import Testing
import TrainyardCore
import TrainyardObjectStore

@testable import TrainyardAgent

/// Checkpoint sync between hosts of one gang, on a real filesystem store: what one host restores while another syncs.
@Suite struct CheckpointSyncTests {
    /// A store whose listing is followed at once by another host's sync deleting `key`: the window between a
    /// restore's listing and its downloads, made certain.
    struct DeletedAfterListing: ForwardingObjectStore {
        let base: FileSystemObjectStore
        let key: String

        func listPage(bucket: String, prefix: String, continuationToken: String?, maxKeys: Int) async throws -> ObjectListPage {
            let page = try await base.listPage(bucket: bucket, prefix: prefix, continuationToken: continuationToken, maxKeys: maxKeys)
            try await base.delete(bucket: bucket, key: key)
            return page
        }
    }

    /// A store that refuses the next upload of this host's manifest, once `failNextManifest` is set: a sync whose
    /// files went up and whose manifest did not (the periodic sync cancelled as the command ended).
    final class ManifestFailsOnce: ForwardingObjectStore, @unchecked Sendable {
        let base: FileSystemObjectStore
        var failNextManifest = false
        struct Refused: Error {}

        init(base: FileSystemObjectStore) { self.base = base }

        func put(bucket: String, key: String, fromFile path: String) async throws -> ObjectInfo {
            if failNextManifest, key.contains(CheckpointManifest.reservedPrefix + "manifests/") {
                failNextManifest = false
                throw Refused()
            }
            return try await base.put(bucket: bucket, key: key, fromFile: path)
        }
    }

    /// A store during whose upload of `key` the script saves again: a new file renamed over the one being uploaded.
    struct ReplacedDuringUpload: ForwardingObjectStore {
        let base: FileSystemObjectStore
        let key: String
        let local: String
        let newContent: String

        func put(bucket: String, key: String, fromFile path: String) async throws -> ObjectInfo {
            if key == self.key {
                try newContent.write(toFile: local + ".tmp", atomically: false, encoding: .utf8)
                guard rename(local + ".tmp", local) == 0 else { throw CocoaError(.fileWriteUnknown) }
            }
            return try await base.put(bucket: bucket, key: key, fromFile: path)
        }
    }

    /// A file the script replaces while it goes up is still named by the sync's manifest, as the version read: a
    /// checkpoint saved more often than it uploads was left out of every periodic manifest, and a host killed before
    /// its final sync resumed without it.
    @Test func aFileReplacedDuringItsUploadIsSyncedAsTheVersionRead() async throws {
        let root = NSTemporaryDirectory() + "checkpoint-sync-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let objects = FileSystemObjectStore(root: try Self.directory("objects", in: root))
        let host = try Self.directory("algo-1", in: root)
        let store = ReplacedDuringUpload(base: objects, key: "run/step-algo-1", local: host + "/step-algo-1", newContent: "8\n")
        let sync = CheckpointSync(
            location: ObjectLocation(store: store), directory: host, scratchDirectory: try Self.directory("scratch-1", in: root),
            uri: "s3://checkpoints/run", host: "algo-1", attempt: 1, logger: Logger(label: "test"))
        #expect(try await sync.restore() == 0)
        try "7\n".write(toFile: host + "/step-algo-1", atomically: true, encoding: .utf8)
        try await sync.sync()
        // The manifest names the version that went up; a restore now gets it.
        let next = try Self.directory("algo-1-next", in: root)
        let restore = CheckpointSync(
            location: ObjectLocation(store: objects), directory: next, scratchDirectory: try Self.directory("scratch-2", in: root),
            uri: "s3://checkpoints/run", host: "algo-1", attempt: 2, logger: Logger(label: "test"))
        #expect(try await restore.restore() == 1)
        #expect(try String(contentsOfFile: next + "/step-algo-1", encoding: .utf8) == "7\n")
        // The newer version goes up with the next sync.
        let plan = try await sync.sync()
        #expect(plan.uploads == ["step-algo-1"])
        try await objects.get(bucket: "checkpoints", key: "run/step-algo-1", toFile: root + "/uploaded")
        #expect(try String(contentsOfFile: root + "/uploaded", encoding: .utf8) == "8\n")
    }

    /// The resume that started at 0 although the step was in the store: the step went up with a sync whose manifest
    /// did not, and the final sync, finding nothing new to upload, wrote no manifest either; a restore copies only
    /// what a manifest names.
    @Test func aFileWhoseSyncLostItsManifestIsNamedByTheNextSyncAndRestored() async throws {
        let root = NSTemporaryDirectory() + "checkpoint-sync-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = ManifestFailsOnce(base: FileSystemObjectStore(root: try Self.directory("objects", in: root)))
        let uri = "s3://checkpoints/run"
        let host = try Self.directory("algo-1", in: root)
        let sync = CheckpointSync(
            location: ObjectLocation(store: store), directory: host, scratchDirectory: try Self.directory("scratch-1", in: root), uri: uri,
            host: "algo-1", attempt: 1, logger: Logger(label: "test"))
        #expect(try await sync.restore() == 0)
        // given: a complete sync of the attempt's start, then the step, whose sync lost its manifest
        try "0\n".write(toFile: host + "/starts-algo-1", atomically: true, encoding: .utf8)
        try await sync.sync()
        try "8\n".write(toFile: host + "/step-algo-1", atomically: true, encoding: .utf8)
        store.failNextManifest = true
        await #expect(throws: ManifestFailsOnce.Refused.self) { try await sync.sync() }
        #expect(try await store.head(bucket: "checkpoints", key: "run/step-algo-1") != nil)
        // when: the final sync finds nothing new to upload
        try await sync.sync()
        // then: the next attempt restores the step
        let next = try Self.directory("algo-1-next", in: root)
        let restore = CheckpointSync(
            location: ObjectLocation(store: store), directory: next, scratchDirectory: try Self.directory("scratch-2", in: root), uri: uri,
            host: "algo-1", attempt: 2, logger: Logger(label: "test"))
        #expect(try await restore.restore() == 2)
        #expect(try String(contentsOfFile: next + "/step-algo-1", encoding: .utf8) == "8\n")
    }

    static func directory(_ name: String, in root: String) throws -> String {
        let path = root + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aFileAnotherHostsSyncDeletesDuringARestoreIsLeftOutInsteadOfFailingTheAttempt() async throws {
        let root = NSTemporaryDirectory() + "checkpoint-sync-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let objects = FileSystemObjectStore(root: try Self.directory("objects", in: root))
        let uri = "s3://checkpoints/run"
        // given: algo-2's last complete sync holds its step and the temporary file its script was writing then
        let algo2 = try Self.directory("algo-2", in: root)
        try "7\n".write(toFile: algo2 + "/step-algo-2", atomically: true, encoding: .utf8)
        try "8\n".write(toFile: algo2 + "/step-algo-2.tmp", atomically: true, encoding: .utf8)
        let writer = CheckpointSync(
            location: ObjectLocation(store: objects), directory: algo2, scratchDirectory: try Self.directory("scratch-2", in: root), uri: uri,
            host: "algo-2", attempt: 1, logger: Logger(label: "test"))
        #expect(try await writer.restore() == 0)
        try await writer.sync()
        #expect(try await objects.head(bucket: "checkpoints", key: "run/step-algo-2.tmp") != nil)

        // when: algo-1 restores while algo-2 (already training again) renames the file and its sync deletes it
        let algo1 = try Self.directory("algo-1", in: root)
        let reader = CheckpointSync(
            location: ObjectLocation(store: DeletedAfterListing(base: objects, key: "run/step-algo-2.tmp")), directory: algo1,
            scratchDirectory: try Self.directory("scratch-1", in: root), uri: uri, host: "algo-1", attempt: 2, logger: Logger(label: "test"))
        let restored = try await reader.restore()

        // then: the restore succeeds with what the store still holds
        #expect(restored == 1)
        #expect(try String(contentsOfFile: algo1 + "/step-algo-2", encoding: .utf8) == "7\n")
        #expect(!FileManager.default.fileExists(atPath: algo1 + "/step-algo-2.tmp"))
    }
}

/// A filesystem store with one call changed: what a test's store does not change goes to `base`.
protocol ForwardingObjectStore: ObjectStore {
    var base: FileSystemObjectStore { get }
}

extension ForwardingObjectStore {
    func listPage(bucket: String, prefix: String, continuationToken: String?, maxKeys: Int) async throws -> ObjectListPage {
        try await base.listPage(bucket: bucket, prefix: prefix, continuationToken: continuationToken, maxKeys: maxKeys)
    }
    func put(bucket: String, key: String, fromFile path: String) async throws -> ObjectInfo {
        try await base.put(bucket: bucket, key: key, fromFile: path)
    }
    func put<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body) async throws -> ObjectInfo where Body.Element == ByteBuffer {
        try await base.put(bucket: bucket, key: key, body: body)
    }
    func get(bucket: String, key: String, toFile path: String) async throws {
        try await base.get(bucket: bucket, key: key, toFile: path)
    }
    func get(bucket: String, key: String, range: ObjectByteRange?, consumer: (ByteBuffer) async throws -> Void) async throws -> ObjectInfo {
        try await base.get(bucket: bucket, key: key, range: range, consumer: consumer)
    }
    func head(bucket: String, key: String) async throws -> ObjectInfo? { try await base.head(bucket: bucket, key: key) }
    func delete(bucket: String, key: String) async throws { try await base.delete(bucket: bucket, key: key) }
}
