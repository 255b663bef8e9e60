import Foundation
public import NIOCore

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

/// Bytes `first` through `last` (inclusive, as HTTP's `Range: bytes=first-last`); without `last`, to the end.
public struct ObjectByteRange: Sendable, Equatable, CustomStringConvertible {
    public var first: Int64
    public var last: Int64?

    public init(first: Int64, last: Int64? = nil) {
        self.first = first
        self.last = last
    }

    public init(_ range: ClosedRange<Int64>) {
        self.init(first: range.lowerBound, last: range.upperBound)
    }

    /// The `Range` header value.
    public var description: String { "bytes=\(first)-\(last.map(String.init) ?? "")" }
}

/// One page of a listing: up to `maxKeys` objects in key order, and the token of the next page when there is one.
public struct ObjectListPage: Sendable, Equatable {
    public var objects: [ObjectInfo]
    public var nextContinuationToken: String?

    public init(objects: [ObjectInfo], nextContinuationToken: String?) {
        self.objects = objects
        self.nextContinuationToken = nextContinuationToken
    }
}

/// Buckets of objects addressed by `s3://bucket/key`: the filesystem store and the S3 store behind one protocol.
///
/// Transfers stream: an object is never held whole in memory, and a put is never visible half-written (a failed put
/// leaves no object, or the one that was there before).
public protocol ObjectStore: Sendable {
    /// Uploads the file at `path` as `bucket/key`, replacing any object there.
    func put(bucket: String, key: String, fromFile path: String) async throws -> ObjectInfo
    /// Uploads what `body` yields as `bucket/key`; the size need not be known in advance (large bodies go up in parts).
    func put<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body) async throws -> ObjectInfo where Body.Element == ByteBuffer
    /// Downloads `bucket/key` into the file at `path` (created or replaced; never seen half-written).
    func get(bucket: String, key: String, toFile path: String) async throws
    /// Streams `bucket/key`, or the bytes of `range`, to `consumer` chunk by chunk (the next chunk is read once the
    /// consumer returns); answers the object's metadata (its whole size, whatever the range).
    @discardableResult
    func get(bucket: String, key: String, range: ObjectByteRange?, consumer: (ByteBuffer) async throws -> Void) async throws -> ObjectInfo
    /// Every object whose key starts with `prefix`, sorted by key (all pages).
    func list(bucket: String, prefix: String) async throws -> [ObjectInfo]
    /// One page of the objects whose key starts with `prefix`, sorted by key; `maxKeys` at most 1,000.
    func listPage(bucket: String, prefix: String, continuationToken: String?, maxKeys: Int) async throws -> ObjectListPage
    /// The object's metadata, or nil when it does not exist.
    func head(bucket: String, key: String) async throws -> ObjectInfo?
    /// Deletes the object; deleting a missing object is not an error.
    func delete(bucket: String, key: String) async throws
}

extension ObjectStore {
    /// Every page of `listPage`, concatenated.
    public func list(bucket: String, prefix: String) async throws -> [ObjectInfo] {
        var objects: [ObjectInfo] = []
        var token: String?
        repeat {
            let page = try await listPage(bucket: bucket, prefix: prefix, continuationToken: token, maxKeys: 1000)
            objects += page.objects
            token = page.nextContinuationToken
        } while token != nil
        return objects
    }
}

/// Errors of object stores, naming the bucket, the key and, for a store's refusal, the store's own code.
public enum ObjectStoreError: Error, Equatable, CustomStringConvertible {
    case noSuchKey(bucket: String, key: String)
    case invalidKey(bucket: String, key: String, reason: String)
    case io(bucket: String, key: String, reason: String)
    /// No object can be created at `uri` (`s3://…` in the filesystem store, or `file://…`): the file system refused
    /// the name or a directory on the way (`reason`, in the system's words).
    case unwritable(uri: String, reason: String)
    /// The store refused: its code (`AccessDenied`, `SignatureDoesNotMatch`, `NoSuchBucket`, `InvalidRange`, …), the
    /// HTTP status (0 for the filesystem store) and its message.
    case store(code: String, bucket: String, key: String, status: Int, message: String)
    /// The store could not be reached (or kept failing) after `attempts` tries.
    case unavailable(bucket: String, key: String, attempts: Int, reason: String)

    public var description: String {
        switch self {
        case .noSuchKey(let bucket, let key): "NoSuchKey: s3://\(bucket)/\(key) does not exist"
        case .invalidKey(let bucket, let key, let reason): "InvalidKey: s3://\(bucket)/\(key): \(reason)"
        case .io(let bucket, let key, let reason): "s3://\(bucket)/\(key): \(reason)"
        case .unwritable(let uri, let reason): "\(uri) cannot be written: \(reason)"
        case .store(let code, let bucket, let key, let status, let message):
            "\(code): s3://\(bucket)/\(key): \(message)\(status > 0 ? " (HTTP \(status))" : "")"
        case .unavailable(let bucket, let key, let attempts, let reason):
            "ServiceUnavailable: s3://\(bucket)/\(key): the object store could not be reached after \(attempts) tries: \(reason)"
        }
    }

    /// Whether the store refused the location itself (a key it cannot hold, a place no object can be created), as
    /// opposed to failing on the way.
    public var isRefusalOfTheLocation: Bool {
        switch self {
        case .invalidKey, .unwritable: true
        default: false
        }
    }

    /// The store's code for this error (`NoSuchKey`, `AccessDenied`, …).
    public var code: String {
        switch self {
        case .noSuchKey: "NoSuchKey"
        case .invalidKey: "InvalidKey"
        case .io: "IOError"
        case .unwritable: "Unwritable"
        case .store(let code, _, _, _, _): code
        case .unavailable: "ServiceUnavailable"
        }
    }
}
