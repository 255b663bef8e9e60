import Foundation

/// A location in an object store: `s3://bucket/key` in the configured object store, or
/// `file:///absolute/path` on the file system the workers see (local provisioner).
///
/// Parsing and ``description`` round-trip: `ObjectURI(parsing: uri.description) == uri`.
/// `s3://bucket` and `s3://bucket/` both parse to an empty key and print as `s3://bucket`.
public enum ObjectURI: Sendable, Hashable, Codable, CustomStringConvertible, LosslessStringConvertible {
    /// An object or prefix in a bucket; `key` may be empty (the whole bucket) and has no
    /// leading slash from the separator.
    case s3(bucket: String, key: String)
    /// An absolute path on the workers' file system.
    case file(path: String)

    /// The longest S3 key allowed, in characters.
    public static let maximumKeyLength = 1024
    /// The longest `file://` path allowed, in characters (as for an S3 key).
    public static let maximumPathLength = 1024
    /// The longest segment of a `file://` path, in bytes of UTF-8: a file name (Linux's `NAME_MAX`).
    public static let maximumPathSegmentBytes = 255

    /// Parses `string`, throwing an ``ObjectURIError`` that says what is wrong.
    public init(parsing string: String) throws(ObjectURIError) {
        if string.hasPrefix("s3://") {
            let rest = string.dropFirst("s3://".count)
            let bucket: Substring
            let key: Substring
            // The first U+002F, not the first `Character` "/": a combining mark after the slash makes it another one.
            let scalars = rest.unicodeScalars
            if let slash = scalars.firstIndex(of: "/") {
                bucket = Substring(scalars[..<slash])
                key = Substring(scalars[scalars.index(after: slash)...])
            } else {
                bucket = rest
                key = ""
            }
            guard Self.isValidBucket(bucket) else { throw .invalidBucket(String(bucket)) }
            guard key.unicodeScalars.count <= Self.maximumKeyLength else { throw .keyTooLong(key.unicodeScalars.count) }
            // S3 servers may resolve `.` and `..` themselves: a key with them names another place than it seems to.
            guard !Self.hasDotSegment(key) else { throw .dotSegment(String(key)) }
            self = .s3(bucket: String(bucket), key: String(key))
        } else if string.hasPrefix("file://") {
            let path = String(string.dropFirst("file://".count))
            guard Self.isValidPath(path) else { throw .invalidPath(path) }
            guard path.unicodeScalars.count <= Self.maximumPathLength else { throw .pathTooLong(path.unicodeScalars.count) }
            if let long = Self.overlongSegment(of: path) { throw .pathSegmentTooLong(String(long), bytes: long.utf8.count) }
            self = .file(path: path)
        } else {
            if let range = string.range(of: "://") {
                throw .unsupportedScheme(String(string[..<range.lowerBound]))
            }
            throw .unsupportedScheme(string)
        }
    }

    /// The first `/`-separated segment of `path` longer than a file name may be (``maximumPathSegmentBytes``): a
    /// `file://` path's, or a key the filesystem object store keeps as files.
    public static func overlongSegment(of path: some StringProtocol) -> Substring? {
        RelativePath.segments(of: path, omittingEmpty: true).first { $0.utf8.count > maximumPathSegmentBytes }
    }

    /// Parses `description`, or returns `nil` when it is not a supported URI.
    public init?(_ description: String) {
        guard let uri = try? ObjectURI(parsing: description) else { return nil }
        self = uri
    }

    /// The URI as a string: `s3://bucket/key` (`s3://bucket` for an empty key) or `file:///path`.
    public var description: String {
        switch self {
        case .s3(let bucket, let key):
            key.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(key)"
        case .file(let path):
            "file://\(path)"
        }
    }

    /// This URI with `component` appended after a single `/`
    /// (`s3://b/out` + `job/output` → `s3://b/out/job/output`).
    public func appending(_ component: String) -> ObjectURI {
        let trimmed = component.drop { $0 == "/" }
        switch self {
        case .s3(let bucket, let key):
            if key.isEmpty { return .s3(bucket: bucket, key: String(trimmed)) }
            return .s3(bucket: bucket, key: key.hasSuffix("/") ? key + trimmed : key + "/" + trimmed)
        case .file(let path):
            return .file(path: path.hasSuffix("/") ? path + trimmed : path + "/" + trimmed)
        }
    }

    /// Decodes a URI from its string form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            self = try ObjectURI(parsing: string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    /// Encodes the URI as its string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func isValidBucket(_ bucket: Substring) -> Bool {
        guard (3...63).contains(bucket.count) else { return false }
        let allowed = bucket.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "." || scalar == "-"
        }
        guard allowed, let first = bucket.first, let last = bucket.last else { return false }
        return first != "." && first != "-" && last != "." && last != "-" && !bucket.contains("..")
    }

    private static func isValidPath(_ path: String) -> Bool {
        guard path.unicodeScalars.first == "/", !path.unicodeScalars.contains("\u{0}") else { return false }
        return !hasDotSegment(Substring(path))
    }

    /// Whether a `/`-separated key or path has a `.` or `..` segment.
    static func hasDotSegment(_ path: Substring) -> Bool {
        RelativePath.segments(of: path, omittingEmpty: true).contains { $0 == "." || $0 == ".." }
    }

    /// The `/`-separated segments of the key or path, empty ones left out.
    public var segments: [Substring] {
        switch self {
        case .s3(_, let key): RelativePath.segments(of: key, omittingEmpty: true)
        case .file(let path): RelativePath.segments(of: path, omittingEmpty: true)
        }
    }

    /// Whether `other` lies inside this URI taken as a prefix, segment by segment: `s3://b/team` holds `s3://b/team`
    /// and `s3://b/team/x`, not `s3://b/team-b`; `s3://b` holds the whole bucket.
    public func contains(_ other: ObjectURI) -> Bool {
        switch (self, other) {
        case (.s3(let bucket, _), .s3(let otherBucket, _)) where bucket == otherBucket: break
        case (.file, .file): break
        default: return false
        }
        let mine = segments
        let theirs = other.segments
        return theirs.count >= mine.count && zip(mine, theirs).allSatisfy { $0 == $1 }
    }
}
