import Foundation
import TrainyardCore

/// Reads and writes objects named by URIs: `s3://bucket/key` through the configured store, `file:///path` straight on
/// the local file system (the local provisioner's workers see it).
public struct ObjectLocation: Sendable {
    public let store: any ObjectStore

    public init(store: any ObjectStore) {
        self.store = store
    }

    /// Uploads a local file to `uri`.
    public func upload(file: String, to uri: String) async throws {
        switch try ObjectURI(parsing: uri) {
        case .s3(let bucket, let key):
            _ = try await store.put(bucket: bucket, key: key, fromFile: file)
        case .file(let path):
            try FileCopy.replace(path, withCopyOf: file)
        }
    }

    /// Downloads the object at `uri` into a local file.
    public func download(_ uri: String, to file: String) async throws {
        switch try ObjectURI(parsing: uri) {
        case .s3(let bucket, let key):
            try await store.get(bucket: bucket, key: key, toFile: file)
        case .file(let path):
            guard FileManager.default.fileExists(atPath: path) else { throw ObjectStoreError.noSuchKey(bucket: "file", key: path) }
            try FileCopy.replace(file, withCopyOf: path)
        }
    }

    /// Deletes the object at `uri`; a missing object is not an error.
    public func delete(_ uri: String) async throws {
        switch try ObjectURI(parsing: uri) {
        case .s3(let bucket, let key):
            try await store.delete(bucket: bucket, key: key)
        case .file(let path):
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// Every object under `uri` taken as a prefix, as (URI of the object, path relative to the prefix) pairs, sorted.
    /// A URI naming one object yields that object with its file name.
    public func listTree(_ uri: String) async throws -> [(uri: String, relativePath: String)] {
        switch try ObjectURI(parsing: uri) {
        case .s3(let bucket, let key):
            let directoryPrefix = key.isEmpty || key.hasSuffix("/") ? key : key + "/"
            var objects = try await store.list(bucket: bucket, prefix: directoryPrefix)
            if objects.isEmpty, !key.isEmpty, let single = try await store.head(bucket: bucket, key: key) {
                objects = [single]
                return [("s3://\(bucket)/\(single.key)", (single.key as NSString).lastPathComponent)]
            }
            return objects.map { ("s3://\(bucket)/\($0.key)", String($0.key.dropFirst(directoryPrefix.count))) }
        case .file(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
            if !isDirectory.boolValue { return [("file://\(path)", (path as NSString).lastPathComponent)] }
            var result: [(String, String)] = []
            let enumerator = FileManager.default.enumerator(atPath: path)
            let root = Self.resolved(path) ?? path
            while let relative = enumerator?.nextObject() as? String {
                // A symbolic link is followed only while it stays under the root: the location was granted, not
                // whatever its links point at.
                guard let target = Self.resolved("\(path)/\(relative)"), RelativePath.isInside(target, root: root) else { continue }
                var childIsDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: target, isDirectory: &childIsDirectory), !childIsDirectory.boolValue {
                    result.append(("file://\(path)/\(relative)", relative))
                }
            }
            return result.sorted { $0.1 < $1.1 }
        }
    }

    /// `path` with every symbolic link resolved, or nil when it does not exist.
    public static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
