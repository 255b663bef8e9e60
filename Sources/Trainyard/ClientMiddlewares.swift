import AsyncHTTPClient
import Foundation
public import HTTPTypes
public import OpenAPIRuntime

/// Adds `Authorization: Bearer <token>` to every request.
struct BearerAuthMiddleware: ClientMiddleware {
    let token: String?

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        if let token { request.headerFields[.authorization] = "Bearer \(token)" }
        return try await next(request, body, baseURL)
    }
}

/// Turns every error answer (status 400 and up) into a ``TrainyardError`` carrying the service's problem document, so
/// that no caller walks the generated enums of status codes.
struct ProblemMiddleware: ClientMiddleware {
    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let (response, responseBody) = try await next(request, body, baseURL)
        guard response.status.code >= 400 else { return (response, responseBody) }
        var bytes = Data()
        if let responseBody { bytes = try await Data(collecting: responseBody, upTo: 1 << 20) }
        let retryAfter = response.headerFields[.retryAfter].flatMap { Int($0) }.map { Duration.seconds($0) }
        guard let problem = try? JSONDecoder().decode(Problem.self, from: bytes) else {
            throw TrainyardError.unexpectedResponse(status: response.status.code, body: String(decoding: bytes, as: UTF8.self))
        }
        throw TrainyardError.from(status: response.status.code, problem: problem, retryAfter: retryAfter)
    }
}

/// Tries a request again when trying again is safe and may help: a request that changes nothing or says so twice
/// (GET, HEAD, PUT, DELETE, and a POST with an `Idempotency-Key`), after no answer at all or a 502, 503 or 504, up to
/// `attempts` times with growing pauses. A body that can be sent only once is never retried.
struct RetryMiddleware: ClientMiddleware {
    var attempts = 3
    var firstPause: Duration = .milliseconds(250)

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let idempotent =
            [.get, .head, .put, .delete, .options].contains(request.method)
            || (request.method == .post && request.headerFields[HTTPField.Name("Idempotency-Key")!] != nil)
        guard idempotent, body?.iterationBehavior != .single else { return try await next(request, body, baseURL) }
        var pause = firstPause
        var attempt = 1
        while true {
            do {
                return try await next(request, body, baseURL)
            } catch {
                guard attempt < attempts, Self.worthRetrying(error) else { throw error }
                try await Task.sleep(for: pause)
                pause *= 2
                attempt += 1
            }
        }
    }

    /// No answer (the connection was refused or broke), or the service or a proxy before it is briefly away.
    static func worthRetrying(_ error: any Error) -> Bool {
        // What the inner middleware and the transport threw reaches here wrapped by the generated client.
        let error = (error as? ClientError)?.underlyingError ?? error
        if error is CancellationError { return false }
        guard let failure = error as? TrainyardError else { return true }
        return failure.isTransient
    }
}

/// Request header fields the spec states verbatim, sent as stated: swift-openapi-runtime writes a header value as a
/// URI component (`Content-Digest: sha-256=:q1+w…=:` would leave as `sha-256%3D%3Aq1%2Bw…`, which the server refuses;
/// `Range: bytes=10-` as `bytes%3D10-`, which no server serves).
struct VerbatimRequestHeaders: ClientMiddleware {
    static let verbatim: [HTTPField.Name] = [.contentDigest, .range, .ifRange]

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        for name in Self.verbatim {
            guard let value = request.headerFields[name], value.contains("%"), let decoded = value.removingPercentEncoding else { continue }
            request.headerFields[name] = decoded
        }
        return try await next(request, body, baseURL)
    }
}

extension HTTPField.Name {
    static let retryAfter = HTTPField.Name("Retry-After")!
    static let reprDigest = HTTPField.Name("Repr-Digest")!
    static let contentDigest = HTTPField.Name("Content-Digest")!
}
