/// What one host's agent may have signed in S3: reads inside its job's readable locations (input channels, code,
/// checkpoints, and its attempt's own output prefix) and writes inside its checkpoint prefix and its attempt's output
/// prefix only. Pure: the server builds it from the job and decides each call with ``authorize(_:)``.
public struct AgentS3Scope: Sendable, Equatable {
    /// Prefixes (or objects) the agent may read: GET, HEAD, and list below them.
    public var readable: [ObjectURI]
    /// Prefixes the agent may write and delete in; also readable.
    public var writable: [ObjectURI]

    public init(readable: [ObjectURI], writable: [ObjectURI]) {
        self.readable = readable
        self.writable = writable
    }

    /// The scope of a job's host in attempt `attemptOutputPrefix` (`<output_path>/<job>/attempts/<n>`): its channels
    /// and code (read), its `checkpoint_s3_uri` (read and write) and the attempt's output prefix (read and write).
    /// `output_path` itself is not in it: other jobs of the project write there too. `file://` locations are the
    /// worker's own file system, never signed.
    public init(spec: JobSpec, attemptOutputPrefix: String) {
        var readable: [ObjectURI] = []
        var writable: [ObjectURI] = []
        for location in ProjectLocations.locations(of: spec) where location.field != "output_path" {
            guard let uri = ObjectURI(location.value), case .s3 = uri else { continue }
            if location.access == .readWrite { writable.append(uri) } else { readable.append(uri) }
        }
        if let output = ObjectURI(attemptOutputPrefix), case .s3 = output { writable.append(output) }
        self.init(readable: readable, writable: writable)
    }

    /// Headers an agent may have signed. The signer sets `host`, `x-amz-date`, `x-amz-content-sha256` and
    /// `x-amz-security-token` itself, whatever the agent sent for them; every other `x-amz-*` header (a copy's source,
    /// an ACL, a server-side encryption key, metadata) is refused.
    public static let signableHeaders: Set<String> = [
        "host", "range", "content-type", "content-length", "content-md5", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
    ]

    /// The operation `request` is, when this scope allows it; otherwise why not.
    public func authorize(_ request: S3SignatureRequest) throws(S3SigningRefusal) -> S3Operation {
        guard let operation = S3Operation.identify(method: request.method, key: request.key, query: request.query) else {
            throw .unknownOperation(method: request.method, target: request.target, queryNames: request.query.map(\.name))
        }
        let target = request.target
        guard ObjectURI("s3://\(request.bucket)/\(request.key)") != nil else {
            throw .invalidTarget(
                operation: operation, target: target, reason: "the bucket name or the key is not valid (a key must not have '.' or '..' segments)")
        }
        for header in request.headers {
            let name = header.name.lowercased()
            guard Self.signableHeaders.contains(name) else {
                throw .headerNotSigned(
                    operation: operation, target: target, header: name,
                    reason: "is not signed for agents (only \(Self.signableHeaders.sorted().joined(separator: ", ")))")
            }
            guard !header.value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw .headerNotSigned(operation: operation, target: target, header: name, reason: "holds a line break or a NUL")
            }
        }
        guard Self.isPayloadHash(request.payloadHash) else { throw .invalidPayloadHash(operation: operation, target: target) }
        let places = operation.writes ? writable : readable + writable
        guard operation == .listObjectsV2 else {
            guard places.contains(where: { Self.holds($0, bucket: request.bucket, key: request.key) }) else {
                throw .outsideJob(operation: operation, target: target, writes: operation.writes, allowed: places)
            }
            return operation
        }
        let prefix = request.queryValue("prefix") ?? ""
        let listed = "s3://\(request.bucket)/\(prefix)"
        guard ObjectURI(listed) != nil else { throw .invalidTarget(operation: operation, target: listed, reason: "the prefix has '.' or '..' segments") }
        guard places.contains(where: { Self.holds($0, bucket: request.bucket, listing: prefix) }) else {
            throw .outsideJob(operation: operation, target: listed, writes: false, allowed: places)
        }
        return operation
    }

    /// Whether the object `key` of `bucket` is the location itself or lies below it on a `/` boundary (`proj/a` holds
    /// `proj/a` and `proj/a/x`, never `proj/ab`); a location without a key holds its whole bucket. Compared as the
    /// strings S3 compares, so that `proj//a/x` is not taken for `proj/a/x`.
    public static func holds(_ location: ObjectURI, bucket: String, key: String) -> Bool {
        guard case .s3(let locationBucket, let locationKey) = location, locationBucket == bucket else { return false }
        let base = trimmed(locationKey)
        return base.isEmpty || key == base || key.hasPrefix(base + "/")
    }

    /// Whether a listing of `bucket` with `prefix` stays inside the location: the prefix starts with the location's
    /// key followed by `/` (a listing of `proj/a` would also show `proj/ab…`).
    public static func holds(_ location: ObjectURI, bucket: String, listing prefix: String) -> Bool {
        guard case .s3(let locationBucket, let locationKey) = location, locationBucket == bucket else { return false }
        let base = trimmed(locationKey)
        return base.isEmpty || prefix.hasPrefix(base + "/")
    }

    private static func trimmed(_ key: String) -> String {
        var key = key
        while key.hasSuffix("/") { key.removeLast() }
        return key
    }

    /// 64 lower-case hex digits, or `UNSIGNED-PAYLOAD`.
    static func isPayloadHash(_ text: String) -> Bool {
        if text == SigV4Signer.unsignedPayload { return true }
        return text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
