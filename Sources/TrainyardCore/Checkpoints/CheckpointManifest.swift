import Foundation

/// What one host's checkpoint sync left in the store, written as the sync's last object: a restore copies only what a
/// complete manifest names, so it never picks up the files of a sync that was cut off half way.
///
/// Stored at `<checkpoint_s3_uri>/.trainyard/manifests/<host>.json`; the `.trainyard/` prefix is never copied into the
/// checkpoint directory.
public struct CheckpointManifest: Codable, Sendable, Equatable {
    /// The host that wrote it (`algo-1`).
    public var host: String
    /// The attempt that wrote it.
    public var attempt: Int
    /// When the sync completed.
    public var completedAt: Date
    /// Every file of the host's checkpoint directory at that sync, by path relative to the directory.
    public var files: [String: CheckpointFileStamp]

    /// Creates a manifest.
    public init(host: String, attempt: Int, completedAt: Date, files: [String: CheckpointFileStamp]) {
        self.host = host
        self.attempt = attempt
        self.completedAt = completedAt
        self.files = files
    }

    /// The folder of the store's own bookkeeping under a checkpoint prefix.
    public static let reservedPrefix = ".trainyard/"

    /// The manifest's key relative to the checkpoint prefix.
    public static func relativeKey(host: String) -> String { "\(reservedPrefix)manifests/\(host).json" }

    enum CodingKeys: String, CodingKey {
        case host, attempt, files
        case completedAt = "completed_at"
    }

    /// The manifest as stored (sorted keys, ISO dates).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// Reads a stored manifest.
    public static func decode(_ data: Data) throws -> CheckpointManifest {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(CheckpointManifest.self, from: data)
    }
}

/// A checkpoint file as a sync saw it: its size and modification time (what tells a changed file), and the SHA-256 of
/// what was uploaded.
public struct CheckpointFileStamp: Codable, Sendable, Equatable {
    public var size: Int64
    /// Modification time in nanoseconds since 1970.
    public var modifiedNanos: Int64
    /// Hex SHA-256 of the uploaded content; nil for a file seen but not (yet) hashed.
    public var sha256: String?

    public init(size: Int64, modifiedNanos: Int64, sha256: String? = nil) {
        self.size = size
        self.modifiedNanos = modifiedNanos
        self.sha256 = sha256
    }

    enum CodingKeys: String, CodingKey {
        case size, sha256
        case modifiedNanos = "modified_nanos"
    }

    /// Whether `other` describes the same local content (size and modification time).
    public func sameLocalFile(as other: CheckpointFileStamp) -> Bool {
        size == other.size && modifiedNanos == other.modifiedNanos
    }
}
