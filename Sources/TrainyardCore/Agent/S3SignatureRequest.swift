/// One S3 call as its signature covers it, before the signer's own headers: what an agent asks its server to sign
/// (`POST /v1/agent/s3-signatures`), and what an ``S3ObjectStore`` hands its authorizer. The server signs with the
/// service's credentials only what ``AgentS3Scope`` allows the host's job; the agent never holds the keys.
public struct S3SignatureRequest: Sendable, Equatable {
    /// A query parameter or a header, in the order the caller sends it.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `GET`, `HEAD`, `PUT`, `POST` or `DELETE`.
    public var method: String
    public var bucket: String
    /// The object's key; empty for a call on the bucket (a listing).
    public var key: String
    /// The query parameters, not yet encoded.
    public var query: [Field]
    /// The headers to sign beside the signer's own (`host`, `range`, `content-type`, …).
    public var headers: [Field]
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    public var payloadHash: String

    public init(method: String, bucket: String, key: String, query: [Field] = [], headers: [Field] = [], payloadHash: String) {
        self.method = method
        self.bucket = bucket
        self.key = key
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }

    /// The first value of the query parameter `name`, or nil.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// `s3://bucket/key`, as errors name the target.
    public var target: String { key.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(key)" }
}

/// The server's answer to an ``S3SignatureRequest``: the headers that authorize the call (`authorization`,
/// `x-amz-date`, `x-amz-content-sha256`, and `x-amz-security-token` with temporary credentials). The agent sends them
/// with the call, straight to the S3 server.
public struct S3SignatureAnswer: Sendable, Equatable {
    public var headers: [S3SignatureRequest.Field]

    public init(headers: [S3SignatureRequest.Field]) {
        self.headers = headers
    }
}
