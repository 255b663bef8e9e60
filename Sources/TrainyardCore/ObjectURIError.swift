/// Why a string is not a URI Trainyard can read from or write to.
public enum ObjectURIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The scheme is not `s3` or `file` (the string up to `://`, or the whole string).
    case unsupportedScheme(String)
    /// The bucket of an `s3://` URI breaks the bucket naming rules.
    case invalidBucket(String)
    /// The key of an `s3://` URI is longer than 1024 characters.
    case keyTooLong(Int)
    /// The path of a `file://` URI is not absolute, names a host, or has a `.` or `..` component.
    case invalidPath(String)
    /// The key of an `s3://` URI has a `.` or `..` segment.
    case dotSegment(String)
    /// The path of a `file://` URI is longer than 1024 characters.
    case pathTooLong(Int)
    /// A segment of a `file://` path is longer than a file name may be (255 bytes of UTF-8).
    case pathSegmentTooLong(String, bytes: Int)

    /// The rule a field violation names for this error: `file_name_length` for a path segment too long (bytes, which a
    /// JSON Schema pattern cannot count), `uri` for the rest.
    public var rule: String {
        switch self {
        case .pathSegmentTooLong: "file_name_length"
        default: "uri"
        }
    }

    /// A message that says what a valid URI looks like.
    public var description: String {
        switch self {
        case .unsupportedScheme(let scheme):
            "'\(scheme)' is not a supported URI; use s3://bucket/key or file:///absolute/path"
        case .invalidBucket(let bucket):
            "'\(bucket)' is not a valid bucket name; use 3 to 63 characters of a-z, 0-9, '.' and '-', "
                + "starting and ending with a letter or digit"
        case .keyTooLong(let length):
            "the object key has \(length) characters; at most 1024 are allowed"
        case .invalidPath(let path):
            "'\(path)' is not a valid file URI path; use file:///absolute/path without '.' or '..' components"
        case .dotSegment(let key):
            "the object key '\(key)' has a '.' or '..' segment, which S3 servers may resolve to another place; name the key without them"
        case .pathTooLong(let length):
            "the path has \(length) characters; at most 1024 are allowed"
        case .pathSegmentTooLong(let segment, let bytes):
            "the path segment '\(segment.prefix(40))…' has \(bytes) bytes; a file name has at most 255"
        }
    }
}
