import Crypto
import Foundation
import TrainyardCore
import Logging

/// Merges the per-host archives of an attempt into one, as DESIGN.md says: every host's tree together, and on a name
/// clash the lowest-numbered host's file wins (the clash is logged). Works through a scratch directory, file by file.
public struct ArchiveMerger: Sendable {
    public let location: ObjectLocation
    public let scratchDirectory: String
    public let logger: Logger

    public init(location: ObjectLocation, scratchDirectory: String, logger: Logger) {
        self.location = location
        self.scratchDirectory = scratchDirectory
        self.logger = logger
    }

    /// Merges `archives` (host name and archive URI, in host order) into the archive at `destination`; answers what was
    /// uploaded (its size and SHA-256) and the paths that clashed. Unpacking, moving files and packing (`tar`, gzip:
    /// tens of seconds for a large model) run on threads of their own, not the server's concurrency pool.
    @discardableResult
    public func merge(_ archives: [(host: String, uri: String)], into destination: String) async throws -> MergedArchive {
        let work = "\(scratchDirectory)/merge-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let merged = "\(work)/merged"
        // Private: what a tenant's archive holds is nobody else's to read while it is merged.
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createDirectory(atPath: merged, withIntermediateDirectories: true)
        var clashes: [String] = []
        for (index, archive) in archives.enumerated() {
            let file = "\(work)/\(index).tar.gz"
            let tree = "\(work)/\(index)"
            try await location.download(archive.uri, to: file)
            let logger = logger
            clashes += try await BlockingWork.run {
                try TarArchive.extract(file, into: tree)
                try? FileManager.default.removeItem(atPath: file)
                return try Self.move(tree, into: merged, host: archive.host, logger: logger)
            }
        }
        let result = "\(work)/result.tar.gz"
        // The digest is of the local file that is then uploaded as is: one more sequential read of a file the page
        // cache still holds, in 1 MiB pieces, never the whole archive in memory.
        let (size, sha256) = try await BlockingWork.run {
            try TarArchive.create(result, from: merged)
            return try Self.sizeAndSHA256(of: result)
        }
        try await location.upload(file: result, to: destination)
        return MergedArchive(uri: destination, sizeBytes: size, sha256: sha256, clashes: clashes)
    }

    /// Moves every file of `tree` into `merged` where none is yet (an earlier host's wins); answers the paths that
    /// clashed.
    private static func move(_ tree: String, into merged: String, host: String, logger: Logger) throws -> [String] {
        var clashes: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: tree)
        while let relative = enumerator?.nextObject() as? String {
            let source = "\(tree)/\(relative)"
            let target = "\(merged)/\(relative)"
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                continue
            }
            if FileManager.default.fileExists(atPath: target) {
                clashes.append(relative)
                logger.warning("model file written by several hosts; the lowest-numbered host's copy is kept",
                               metadata: ["path": "\(relative)", "host": "\(host)"])
                continue
            }
            try FileManager.default.moveItem(atPath: source, toPath: target)
        }
        return clashes
    }

    /// The file's size and SHA-256 (lowercase hex), read in 1 MiB pieces.
    public static func sizeAndSHA256(of path: String) throws -> (Int64, String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ObjectStoreError.noSuchKey(bucket: "file", key: path) }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (size, Hex.lowercase(hasher.finalize()))
    }
}

/// One merged archive as uploaded.
public struct MergedArchive: Sendable, Equatable {
    /// Where it was uploaded.
    public var uri: String
    /// Its size in bytes.
    public var sizeBytes: Int64
    /// The SHA-256 of its bytes, lowercase hex.
    public var sha256: String
    /// The relative paths several hosts wrote; the lowest-numbered host's copy was kept.
    public var clashes: [String]
}
