/// A configuration value that cannot be used: the variable (or flag) to fix and why. Thrown by the server's settings
/// and by the object store settings a client on the server's machine reads.
public enum ConfigurationError: Error, CustomStringConvertible {
    case invalid(key: String, value: String, expected: String)
    case unreadable(key: String, path: String, reason: String)
    case missing(key: String, because: String)
    case rejected(key: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let key, let value, let expected): "\(key)=\(value) is not valid: expected \(expected)"
        case .unreadable(let key, let path, let reason): "\(key): cannot use \(path): \(reason)"
        case .missing(let key, let because): "\(key) must be set, since \(because)"
        case .rejected(let key, let reason): "check \(key): the object store refused the settings: \(reason)"
        }
    }
}
