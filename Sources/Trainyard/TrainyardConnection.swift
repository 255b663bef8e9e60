import AsyncHTTPClient
public import Foundation
public import HTTPTypes
import OpenAPIAsyncHTTPClient
public import OpenAPIRuntime
package import TrainyardAPI

/// Where a Trainyard service is and which key to use: the settings every client shares.
public struct TrainyardConnection: Sendable {
    /// The service's base URL (`TRAINYARD_URL`, default `http://127.0.0.1:8080`).
    public var url: URL
    /// The API key token `<id>.<secret>` (`TRAINYARD_API_KEY`).
    public var apiKey: String?
    /// How long one call may take, in seconds.
    public var timeoutSeconds: Int64

    public init(url: URL, apiKey: String?, timeoutSeconds: Int64 = 60) {
        self.url = url
        self.apiKey = apiKey
        self.timeoutSeconds = timeoutSeconds
    }

    /// From `TRAINYARD_URL` and `TRAINYARD_API_KEY`; without a key, the admin key a local `trainyard serve` wrote to
    /// `<TRAINYARD_DATA_DIR or ./.trainyard>/admin-key`, when that file is readable.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TrainyardConnection {
        let urlString = environment["TRAINYARD_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        guard let url = URL(string: urlString), url.scheme == "http" || url.scheme == "https" else {
            throw ClientConfigurationError.invalidURL(urlString)
        }
        var key = environment["TRAINYARD_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if key == nil {
            let dataDir = environment["TRAINYARD_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./.trainyard"
            key = (try? String(contentsOfFile: (dataDir as NSString).appendingPathComponent("admin-key"), encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return TrainyardConnection(url: url, apiKey: key)
    }

    /// A generated client for this connection.
    package func makeClient() -> Client {
        Client(
            serverURL: url,
            configuration: .init(dateTranscoder: FlexibleDateTranscoder()),
            transport: AsyncHTTPClientTransport(configuration: .init(timeout: .seconds(timeoutSeconds))),
            middlewares: [BearerAuthMiddleware(token: apiKey)]
        )
    }
}

/// Client settings that cannot be used.
public enum ClientConfigurationError: Error, CustomStringConvertible {
    case invalidURL(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "TRAINYARD_URL \(url) is not an http:// or https:// URL"
        }
    }
}

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
