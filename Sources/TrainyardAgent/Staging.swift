import Foundation
import Logging
import TrainyardCore
import TrainyardObjectStore

/// Copies input channels and code from the object store into the `/opt/ml` tree, several objects at a time. A channel
/// that does not fit on the job's volume fails the job saying so (``WorkerDiskFailure/stagingFilledVolume(volumeGiB:channel:)``),
/// and staging stops at once when the disk guard found the disk full.
struct Staging: Sendable {
    let location: ObjectLocation
    let layout: WorkerLayout
    let disk: DiskGuard
    /// What the disk guard found, if anything.
    let diskFailure: @Sendable () -> WorkerDiskFailure?
    let logger: Logger
    static let concurrency = 8

    /// Every channel into `input/data/<channel>/`; `ShardedByS3Key` gives this host its share of the objects.
    func stageInputs(_ assignment: WorkerAssignment) async throws {
        let hostIndex = assignment.hosts.firstIndex(of: assignment.hostName) ?? 0
        for (name, channel) in assignment.spec.inputs.sorted(by: { $0.key < $1.key }) {
            do {
                var objects = try await location.listTree(channel.s3URI)
                if channel.distribution == "ShardedByS3Key" {
                    let mine = Set(SageMakerContract.shard(objects.map(\.uri), hostIndex: hostIndex, hostCount: assignment.hosts.count))
                    objects = objects.filter { mine.contains($0.uri) }
                }
                try await download(objects, into: layout.channel(name))
                try checkRoom(channel: name)
                logger.info("staged input channel", metadata: ["channel": "\(name)", "objects": "\(objects.count)"])
            } catch AgentError.disk(let failure) {
                throw AgentError.disk(failure)
            } catch {
                throw stagingError(channel: name, error)
            }
        }
    }

    /// The code: a `.tar.gz` archive is unpacked into `code/`, a prefix or directory is copied there.
    func stageCode(_ assignment: WorkerAssignment) async throws {
        guard let uri = SageMakerContract.sourceArchiveURI(assignment) else { return }
        do {
            if uri.hasSuffix(".tar.gz") || uri.hasSuffix(".tgz") {
                let archive = layout.code + "/.sourcedir.tar.gz"
                try await location.download(uri, to: archive)
                try TarArchive.extract(archive, into: layout.code)
                try? FileManager.default.removeItem(atPath: archive)
            } else {
                try await download(try await location.listTree(uri), into: layout.code)
            }
            try checkRoom(channel: "code")
        } catch AgentError.disk(let failure) {
            throw AgentError.disk(failure)
        } catch {
            throw stagingError(channel: "code", error)
        }
        // The toolkit runs a non-Python entry point directly: it must be executable, whatever the archive kept.
        if let entryPoint = assignment.spec.entryPoint, !entryPoint.hasSuffix(".py") {
            chmod(layout.code + "/" + entryPoint, 0o755)
        }
    }

    private func download(_ objects: [(uri: String, relativePath: String)], into directory: String) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for object in objects {
                if running >= Self.concurrency {
                    try await group.next()
                    running -= 1
                }
                if let failure = diskFailure() { throw AgentError.disk(failure) }
                guard let target = RelativePath.join(directory, object.relativePath) else {
                    throw AgentError.staging(
                        channel: (directory as NSString).lastPathComponent,
                        reason: "the object \(object.uri) would be written outside \(directory) ('\(object.relativePath)' has an empty, '.' or "
                            + "'..' segment); rename or remove the object")
                }
                group.addTask { try await location.download(object.uri, to: target) }
                running += 1
            }
            try await group.waitForAll()
        }
    }

    /// A channel's failure: the volume's being full, when it is (ENOSPC inside a volume of its own, or a directory past
    /// the volume size where the guard watches), else what went wrong.
    private func stagingError(channel: String, _ error: any Error) -> AgentError {
        if let volumeGiB = disk.volumeGiB, DiskGuard.mentionsNoSpace("\(error)") || disk.volumeIsFull() {
            return .disk(.stagingFilledVolume(volumeGiB: volumeGiB, channel: channel))
        }
        return .staging(channel: channel, reason: "\(error)")
    }

    /// Fails a channel that fit on the disk but not in the volume size (where no volume of its own bounds the worker),
    /// or when the disk guard found the disk full meanwhile.
    private func checkRoom(channel: String) throws {
        if let failure = diskFailure() { throw AgentError.disk(failure) }
        if let volumeGiB = disk.volumeGiB, disk.volumeIsFull() {
            throw AgentError.disk(.stagingFilledVolume(volumeGiB: volumeGiB, channel: channel))
        }
    }
}
