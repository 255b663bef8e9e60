public import AsyncHTTPClient
import Foundation
public import Logging
public import NIOCore
import NIOHTTP1
import TrainyardCore

/// Objects in an S3-compatible server (AWS S3, MinIO, Ceph, SeaweedFS), over AsyncHTTPClient with AWS Signature V4
/// header authorization: signed here with the configured keys, or by an ``S3RequestAuthorizer`` (an agent's server).
///
/// Large objects go up by multipart upload with `concurrency` parts in flight (an upload that fails is aborted, so no
/// part lingers and no object appears) and come down by parallel ranged GETs into a temporary file renamed at the
/// end. Memory is bounded by `partSize × concurrency` whatever the object's size. 5xx answers, `SlowDown` and
/// connection errors are retried with exponential backoff and full jitter; every error names the bucket, the key and
/// the store's own code.
public struct S3ObjectStore: ObjectStore {
    public let configuration: S3Configuration
    let httpClient: HTTPClient
    let logger: Logger
    /// Signs every try of every call.
    let authorizer: any S3RequestAuthorizer
    let scheme: String
    let endpointHost: String
    let endpointPort: Int?

    /// A store that signs with `configuration`'s credentials.
    public init(configuration: S3Configuration, httpClient: HTTPClient = .shared, logger: Logger) throws {
        guard let credentials = configuration.credentials else { throw S3ConfigurationError.missingCredentials }
        try self.init(
            configuration: configuration, authorizer: try SigV4RequestAuthorizer(configuration: configuration, credentials: credentials),
            httpClient: httpClient, logger: logger)
    }

    /// A store whose calls `authorizer` signs (an agent's: its server signs them); `configuration.credentials` is unused.
    public init(configuration: S3Configuration, authorizer: any S3RequestAuthorizer, httpClient: HTTPClient = .shared, logger: Logger) throws {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
        self.authorizer = authorizer
        _ = LargeBufferAllocation.fixed
        (scheme, endpointHost, endpointPort) = try configuration.endpointParts()
    }

    // MARK: requests

    /// One S3 call, before signing.
    struct Call: Sendable {
        var method: HTTPMethod
        var bucket: String
        var key: String
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var body: ByteBuffer?
    }

    /// The host header value and the path for a bucket and key, after the addressing style.
    func location(bucket: String, key: String) -> (host: String, path: String) {
        S3Configuration.location(bucket: bucket, key: key, host: endpointHost, port: endpointPort, addressing: configuration.addressing)
    }

    /// The request for `call`, signed by the authorizer.
    func request(_ call: Call) async throws -> HTTPClientRequest {
        let (host, path) = location(bucket: call.bucket, key: call.key)
        let payloadHash: String
        if let body = call.body, configuration.payloadSigning == .signed || call.method == .POST {
            payloadHash = body.withUnsafeReadableBytes { SigV4Signer.payloadHash(bytes: $0) }
        } else if call.body == nil {
            payloadHash = SigV4Signer.emptyPayloadHash
        } else {
            payloadHash = SigV4Signer.unsignedPayload
        }
        let headers = [S3SignatureRequest.Field(name: "host", value: host)]
            + call.headers.map { S3SignatureRequest.Field(name: $0.name, value: $0.value) }
        let authorization = try await authorizer.authorize(
            S3SignatureRequest(
                method: call.method.rawValue, bucket: call.bucket, key: call.key, query: call.query.map { .init(name: $0.name, value: $0.value) },
                headers: headers, payloadHash: payloadHash))
        let query = SigV4Signer.canonicalQuery(call.query)
        var request = HTTPClientRequest(url: "\(scheme)://\(host)\(SigV4Signer.canonicalURI(path))\(query.isEmpty ? "" : "?" + query)")
        request.method = call.method
        for header in headers + authorization { request.headers.add(name: header.name, value: header.value) }
        if let body = call.body {
            request.body = .bytes(body)
        } else if call.method == .PUT || call.method == .POST {
            request.headers.add(name: "Content-Length", value: "0")
        }
        return request
    }

    /// Sends `call`, retrying 5xx answers (`SlowDown`, `InternalError`, …) and connection errors with exponential
    /// backoff and full jitter; answers the first other response, body unread.
    func send(_ call: Call, attempts: Int? = nil, timeout: Double? = nil) async throws -> HTTPClientResponse {
        var lastProblem = ""
        let maxAttempts = max(1, attempts ?? configuration.maxAttempts)
        // AsyncHTTPClient keeps trying to connect until a request's deadline: against a server that is gone, each
        // try lasts the whole timeout.
        let deadline = TimeAmount.milliseconds(Int64((timeout ?? configuration.requestTimeout) * 1000))
        for attempt in 1...maxAttempts {
            try Task.checkCancellation()
            do {
                let response = try await httpClient.execute(try await request(call), timeout: deadline, logger: logger)
                guard response.status.code >= 500 else { return response }
                let error = await Self.error(from: response, bucket: call.bucket, key: call.key)
                lastProblem = "\(error)"
                if attempt == maxAttempts { throw error }
            } catch let error as ObjectStoreError {
                throw error
            } catch let error as CancellationError {
                throw error
            } catch {
                lastProblem = "\(error)"
                if attempt == maxAttempts {
                    throw ObjectStoreError.unavailable(bucket: call.bucket, key: call.key, attempts: attempt, reason: lastProblem)
                }
            }
            let ceiling = min(configuration.maxBackoff, configuration.baseBackoff * pow(2, Double(attempt - 1)))
            let delay = Double.random(in: 0...ceiling)
            logger.debug(
                "retrying an object store request",
                metadata: [
                    "bucket": "\(call.bucket)", "key": "\(call.key)", "attempt": "\(attempt)", "delay_seconds": "\(delay)", "problem": "\(lastProblem)",
                ])
            try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
        }
        throw ObjectStoreError.unavailable(bucket: call.bucket, key: call.key, attempts: maxAttempts, reason: lastProblem)
    }

    /// The store's error in `response` (its XML `Code` and `Message`, or the status when there is no body).
    static func error(from response: HTTPClientResponse, bucket: String, key: String) async -> ObjectStoreError {
        let body = (try? await response.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
        let code = S3XML.value("Code", in: body[...]) ?? Self.code(for: response.status)
        let message = S3XML.value("Message", in: body[...]) ?? response.status.reasonPhrase
        if code == "NoSuchKey" { return .noSuchKey(bucket: bucket, key: key) }
        return .store(code: code, bucket: bucket, key: key, status: Int(response.status.code), message: message)
    }

    static func code(for status: HTTPResponseStatus) -> String {
        switch status.code {
        case 403: "AccessDenied"
        case 404: "NotFound"
        case 416: "InvalidRange"
        case 503: "SlowDown"
        default: "HTTP\(status.code)"
        }
    }

    /// Fails with the store's error unless the status is 2xx; drains a successful body it is not asked for.
    func expectSuccess(_ response: HTTPClientResponse, _ call: Call) async throws {
        guard (200..<300).contains(response.status.code) else { throw await Self.error(from: response, bucket: call.bucket, key: call.key) }
    }

    // MARK: the protocol

    public func head(bucket: String, key: String) async throws -> ObjectInfo? {
        let call = Call(method: .HEAD, bucket: bucket, key: key)
        let response = try await send(call)
        if response.status == .notFound { return nil }
        try await expectSuccess(response, call)
        return ObjectInfo(key: key, size: response.headers.first(name: "Content-Length").flatMap { Int64($0) } ?? 0)
    }

    public func delete(bucket: String, key: String) async throws {
        let call = Call(method: .DELETE, bucket: bucket, key: key)
        let response = try await send(call)
        if response.status == .notFound { return }
        try await expectSuccess(response, call)
        _ = try await response.body.collect(upTo: 1 << 20)
    }

    public func listPage(bucket: String, prefix: String, continuationToken: String?, maxKeys: Int) async throws -> ObjectListPage {
        var call = Call(method: .GET, bucket: bucket, key: "")
        call.query = [("list-type", "2"), ("prefix", prefix), ("max-keys", "\(max(1, min(maxKeys, 1000)))")]
        if let continuationToken { call.query.append(("continuation-token", continuationToken)) }
        let response = try await send(call)
        try await expectSuccess(response, call)
        let xml = String(buffer: try await response.body.collect(upTo: 64 << 20))
        let objects = S3XML.elements("Contents", in: xml[...]).compactMap { contents -> ObjectInfo? in
            guard let key = S3XML.value("Key", in: contents) else { return nil }
            return ObjectInfo(key: key, size: S3XML.value("Size", in: contents).flatMap { Int64($0) } ?? 0)
        }
        let truncated = S3XML.value("IsTruncated", in: xml[...]) == "true"
        return ObjectListPage(objects: objects, nextContinuationToken: truncated ? S3XML.value("NextContinuationToken", in: xml[...]) : nil)
    }

    @discardableResult
    public func get(bucket: String, key: String, range: ObjectByteRange?, consumer: (ByteBuffer) async throws -> Void) async throws -> ObjectInfo {
        var call = Call(method: .GET, bucket: bucket, key: key)
        if let range { call.headers.append(("range", range.description)) }
        let response = try await send(call)
        try await expectSuccess(response, call)
        var size = response.headers.first(name: "Content-Length").flatMap { Int64($0) } ?? 0
        if let contentRange = response.headers.first(name: "Content-Range"), let total = contentRange.split(separator: "/").last.flatMap({ Int64($0) }) {
            size = total
        }
        do {
            for try await chunk in response.body { try await consumer(chunk) }
        } catch let error as ObjectStoreError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw ObjectStoreError.unavailable(bucket: bucket, key: key, attempts: 1, reason: "the download broke off: \(error)")
        }
        return ObjectInfo(key: key, size: size)
    }

    /// Creates `bucket`; one that exists already and is ours is fine.
    public func createBucket(_ bucket: String) async throws {
        let call = Call(method: .PUT, bucket: bucket, key: "")
        let response = try await send(call)
        if response.status.code == 409 {
            let error = await Self.error(from: response, bucket: bucket, key: "")
            if error.code == "BucketAlreadyOwnedByYou" || error.code == "BucketAlreadyExists" { return }
            throw error
        }
        try await expectSuccess(response, call)
        _ = try await response.body.collect(upTo: 1 << 20)
    }
}
