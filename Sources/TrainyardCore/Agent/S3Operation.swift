/// The S3 operations an agent's calls may be: what it stages, syncs and uploads, and nothing else. Anything S3 offers
/// beyond them (bucket settings and policies, ACLs, tagging, copies, batch deletes, listings of uploads or versions) has
/// no case, so it cannot be signed for an agent.
public enum S3Operation: String, Sendable, Equatable, CaseIterable {
    case getObject = "GetObject"
    case headObject = "HeadObject"
    case listObjectsV2 = "ListObjectsV2"
    case putObject = "PutObject"
    case createMultipartUpload = "CreateMultipartUpload"
    case uploadPart = "UploadPart"
    case completeMultipartUpload = "CompleteMultipartUpload"
    case abortMultipartUpload = "AbortMultipartUpload"
    case deleteObject = "DeleteObject"

    /// Whether the operation changes what the store holds.
    public var writes: Bool {
        switch self {
        case .getObject, .headObject, .listObjectsV2: false
        case .putObject, .createMultipartUpload, .uploadPart, .completeMultipartUpload, .abortMultipartUpload, .deleteObject: true
        }
    }

    /// The query parameters a listing may carry.
    public static let listingParameters: Set<String> = ["list-type", "prefix", "continuation-token", "max-keys"]

    /// The operation a call is, from its method, whether it names an object, and its query parameters (names and the
    /// values that select an operation); nil when it is none of these. S3 picks the operation by the query's names,
    /// so an unknown name (`?acl`, `?policy`, `?tagging`, `?delete`) is another operation, never a harmless extra.
    public static func identify(method: String, key: String, query: [S3SignatureRequest.Field]) -> S3Operation? {
        let names = query.map(\.name)
        // A parameter given twice is read differently by different servers.
        guard Set(names).count == names.count else { return nil }
        let given = Set(names)
        if key.isEmpty {
            guard method == "GET", given.contains("list-type"), given.isSubset(of: listingParameters),
                query.first(where: { $0.name == "list-type" })?.value == "2"
            else { return nil }
            return .listObjectsV2
        }
        switch (method, given) {
        case ("GET", []): return .getObject
        case ("HEAD", []): return .headObject
        case ("PUT", []): return .putObject
        case ("PUT", ["partNumber", "uploadId"]): return .uploadPart
        case ("POST", ["uploads"]): return query[0].value.isEmpty ? .createMultipartUpload : nil
        case ("POST", ["uploadId"]): return .completeMultipartUpload
        case ("DELETE", []): return .deleteObject
        case ("DELETE", ["uploadId"]): return .abortMultipartUpload
        default: return nil
        }
    }
}
