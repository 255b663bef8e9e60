import Foundation
import TrainyardCore

/// The default store: `s3://bucket/key` is the file `<root>/bucket/key`. Puts write a temporary file beside the
/// target and rename it, so a reader never sees half an object.
public struct FileSystemObjectStore: ObjectStore {
    /// The directory holding one directory per bucket.
    public let root: String

    public init(root: String) {
        self.root = root
    }

    func path(bucket: String, key: String) throws -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !bucket.isEmpty, !bucket.contains("/"), bucket != ".", bucket != "..",
            !parts.contains(where: { $0 == ".." || $0 == "." })
        else {
            throw ObjectStoreError.invalidKey(bucket: bucket, key: key, reason: "a bucket or key may not contain . or .. segments")
        }
        return "\(root)/\(bucket)/\(key)"
    }

    /// Where a put of `bucket/key` writes: every key segment is a file name, so none may be longer than 255 bytes.
    func writablePath(bucket: String, key: String) throws -> String {
        let target = try path(bucket: bucket, key: key)
        if let long = ObjectURI.overlongSegment(of: key) {
            throw ObjectStoreError.invalidKey(
                bucket: bucket, key: key,
                reason: "the filesystem object store keeps each key segment as a file name, at most 255 bytes; "
                    + "the segment '\(long.prefix(40))…' has \(long.utf8.count)")
        }
        return target
    }

    public func put(bucket: String, key: String, fromFile source: String) async throws -> ObjectInfo {
        let target = try writablePath(bucket: bucket, key: key)
        do {
            try FileCopy.replace(target, withCopyOf: source)
        } catch {
            throw ObjectStoreError.io(bucket: bucket, key: key, reason: "\(error)")
        }
        return ObjectInfo(key: key, size: Self.size(of: target))
    }

    public func get(bucket: String, key: String, toFile destination: String) async throws {
        let source = try path(bucket: bucket, key: key)
        guard FileManager.default.fileExists(atPath: source) else { throw ObjectStoreError.noSuchKey(bucket: bucket, key: key) }
        do {
            try FileCopy.replace(destination, withCopyOf: source)
        } catch {
            throw ObjectStoreError.io(bucket: bucket, key: key, reason: "\(error)")
        }
    }

    public func list(bucket: String, prefix: String) async throws -> [ObjectInfo] {
        // The prefix obeys the key rule: `../../etc/` would walk outside the root.
        _ = try path(bucket: bucket, key: prefix)
        let bucketRoot = "\(root)/\(bucket)"
        // Only walk below the deepest directory the prefix names.
        let directoryPart = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ""
        let start = directoryPart.isEmpty ? bucketRoot : "\(bucketRoot)/\(directoryPart)"
        guard let enumerator = FileManager.default.enumerator(atPath: start) else { return [] }
        var objects: [ObjectInfo] = []
        while let relative = enumerator.nextObject() as? String {
            let full = "\(start)/\(relative)"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            if (relative as NSString).lastPathComponent.hasPrefix(".tmp-") { continue }
            let key = directoryPart.isEmpty ? relative : "\(directoryPart)/\(relative)"
            if key.hasPrefix(prefix) { objects.append(ObjectInfo(key: key, size: Self.size(of: full))) }
        }
        return objects.sorted { $0.key < $1.key }
    }

    public func head(bucket: String, key: String) async throws -> ObjectInfo? {
        let target = try path(bucket: bucket, key: key)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        return ObjectInfo(key: key, size: Self.size(of: target))
    }

    public func delete(bucket: String, key: String) async throws {
        let target = try path(bucket: bucket, key: key)
        try? FileManager.default.removeItem(atPath: target)
    }

    static func size(of path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
