/// Why the server does not sign an S3 call for an agent: each case names the operation (or the call, when it is none
/// the server knows), the bucket and key, and the rule.
public enum S3SigningRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call is no operation an agent needs (a bucket setting, an ACL, a policy, a copy, a batch delete, …).
    case unknownOperation(method: String, target: String, queryNames: [String])
    /// The bucket name or the key cannot be used (`.` or `..` segments, which S3 servers may resolve elsewhere).
    case invalidTarget(operation: S3Operation, target: String, reason: String)
    /// A header the server does not sign for agents.
    case headerNotSigned(operation: S3Operation, target: String, header: String, reason: String)
    /// The payload hash is neither a hex SHA-256 nor `UNSIGNED-PAYLOAD`.
    case invalidPayloadHash(operation: S3Operation, target: String)
    /// The object or listing lies outside the job's locations for what the operation does.
    case outsideJob(operation: S3Operation, target: String, writes: Bool, allowed: [ObjectURI])

    public var description: String {
        switch self {
        case .unknownOperation(let method, let target, let names):
            let query = names.isEmpty ? "" : "?" + names.joined(separator: "&")
            return "\(method) \(target)\(query) is not signed for an agent: it is not one of the operations a worker needs "
                + "(\(S3Operation.allCases.map(\.rawValue).joined(separator: ", ")); a listing only with "
                + "\(S3Operation.listingParameters.sorted().joined(separator: ", ")))"
        case .invalidTarget(let operation, let target, let reason):
            return "\(operation.rawValue) of \(target) is not signed for an agent: \(reason)"
        case .headerNotSigned(let operation, let target, let header, let reason):
            return "\(operation.rawValue) of \(target) is not signed for an agent: header \(header) \(reason)"
        case .invalidPayloadHash(let operation, let target):
            return "\(operation.rawValue) of \(target) is not signed for an agent: the payload hash must be a hex SHA-256 or UNSIGNED-PAYLOAD"
        case .outsideJob(let operation, let target, let writes, let allowed):
            let places = allowed.isEmpty ? "none" : allowed.map(\.description).joined(separator: ", ")
            return "\(operation.rawValue) of \(target) is not signed for an agent: it lies outside where this host's job may "
                + "\(writes ? "write" : "read") (\(places))"
        }
    }
}
