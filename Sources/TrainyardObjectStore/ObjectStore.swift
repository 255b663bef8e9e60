import Foundation

/// An object in a store.
public struct ObjectInfo: Sendable, Equatable {
    /// The key inside its bucket.
    public var key: String
    /// Size in bytes.
    public var size: Int64

    public init(key: String, size: Int64) {
        self.key = key
        self.size = size
    }
}

/// Buckets of objects addressed by `s3://bucket/key`: the filesystem store now, S3 behind the same protocol.
///
/// Transfers go file to object and object to file, streaming: an object is never held whole in memory, and a put is
/// never visible half-written.
public protocol ObjectStore: Sendable {
    /// Uploads the file at `path` as `bucket/key`, replacing any object there.
    func put(bucket: String, key: String, fromFile path: String) async throws -> ObjectInfo
    /// Downloads `bucket/key` into the file at `path` (created or replaced).
    func get(bucket: String, key: String, toFile path: String) async throws
    /// Every object whose key starts with `prefix`, sorted by key.
    func list(bucket: String, prefix: String) async throws -> [ObjectInfo]
    /// The object's metadata, or nil when it does not exist.
    func head(bucket: String, key: String) async throws -> ObjectInfo?
    /// Deletes the object; deleting a missing object is not an error.
    func delete(bucket: String, key: String) async throws
}

/// Errors of object stores, naming the bucket and key.
public enum ObjectStoreError: Error, Equatable, CustomStringConvertible {
    case noSuchKey(bucket: String, key: String)
    case invalidKey(bucket: String, key: String, reason: String)
    case io(bucket: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .noSuchKey(let bucket, let key): "NoSuchKey: s3://\(bucket)/\(key) does not exist"
        case .invalidKey(let bucket, let key, let reason): "InvalidKey: s3://\(bucket)/\(key): \(reason)"
        case .io(let bucket, let key, let reason): "s3://\(bucket)/\(key): \(reason)"
        }
    }
}
