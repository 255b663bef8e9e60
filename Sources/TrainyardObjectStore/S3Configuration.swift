import Foundation
public import TrainyardCore

/// How an `S3ObjectStore` reaches its server and moves bytes.
public struct S3Configuration: Sendable, Equatable {
    /// Path-style (`http://host/bucket/key`, what MinIO, SeaweedFS and Ceph default to) or virtual-hosted
    /// (`http://bucket.host/key`, AWS's default).
    public enum Addressing: String, Sendable, Equatable {
        case path
        case virtualHosted = "virtual"
    }

    /// Whether request bodies are hashed into the signature (`signed`) or sent as `UNSIGNED-PAYLOAD`.
    public enum PayloadSigning: String, Sendable, Equatable {
        case unsigned
        case signed
    }

    /// `http(s)://host[:port]` of the S3 API (`TRAINYARD_S3_ENDPOINT`); for AWS, `https://s3.<region>.amazonaws.com`.
    public var endpoint: String
    public var region: String
    /// The keys requests are signed with; nil when an ``S3RequestAuthorizer`` signs instead (an agent's store, whose
    /// requests its server signs).
    public var credentials: SigV4Credentials?
    public var addressing: Addressing
    public var payloadSigning: PayloadSigning
    /// Objects larger than this go up by multipart upload, and come down by parallel ranged GETs.
    public var multipartThreshold: Int64
    /// Size of one part (S3's minimum is 5 MiB; raised when an object would need more than 10,000 parts).
    public var partSize: Int64
    /// Parts in flight at once, per transfer. Memory of a transfer is about `partSize × concurrency`.
    public var concurrency: Int
    /// Tries of one request (5xx, `SlowDown`, connection errors are retried, with exponential backoff and jitter).
    public var maxAttempts: Int
    /// The first retry waits up to this many seconds, doubling each time up to `maxBackoff`.
    public var baseBackoff: Double
    public var maxBackoff: Double
    /// Seconds one request may take.
    public var requestTimeout: Double

    public init(
        endpoint: String, region: String = "us-east-1", credentials: SigV4Credentials?, addressing: Addressing = .path,
        payloadSigning: PayloadSigning = .unsigned, multipartThreshold: Int64 = 16 << 20, partSize: Int64 = 8 << 20, concurrency: Int = 8,
        maxAttempts: Int = 5, baseBackoff: Double = 0.1, maxBackoff: Double = 5, requestTimeout: Double = 300
    ) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.addressing = addressing
        self.payloadSigning = payloadSigning
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
        self.concurrency = concurrency
        self.maxAttempts = maxAttempts
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
        self.requestTimeout = requestTimeout
    }

    /// Checks `endpoint`; answers its parts.
    public func validatedEndpoint() throws -> (scheme: String, host: String, port: Int?) { try endpointParts() }

    /// The host header value and the path of an object (or, with an empty key, its bucket) at the endpoint's `host` and
    /// `port`, after the addressing style.
    static func location(bucket: String, key: String, host: String, port: Int?, addressing: Addressing) -> (host: String, path: String) {
        let port = port.map { ":\($0)" } ?? ""
        switch addressing {
        case .path: return ("\(host)\(port)", key.isEmpty ? "/\(bucket)" : "/\(bucket)/\(key)")
        case .virtualHosted: return ("\(bucket).\(host)\(port)", "/\(key)")
        }
    }

    /// The parts of `endpoint`: scheme, host and port (nil for the scheme's default).
    func endpointParts() throws -> (scheme: String, host: String, port: Int?) {
        guard let components = URLComponents(string: endpoint), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            throw S3ConfigurationError.invalidEndpoint(endpoint)
        }
        let port = components.port.flatMap { ($0 == 80 && scheme == "http") || ($0 == 443 && scheme == "https") ? nil : $0 }
        return (scheme, host, port)
    }
}

/// An S3 setting that cannot be used.
public enum S3ConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalidEndpoint(String)
    /// A store that signs its own requests needs keys.
    case missingCredentials

    public var description: String {
        switch self {
        case .invalidEndpoint(let endpoint): "the S3 endpoint \(endpoint) is not an http(s)://host[:port] URL"
        case .missingCredentials: "the S3 store has no credentials to sign with (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and no authorizer"
        }
    }
}
