import Hummingbird
import Logging
import TrainyardCore
import TrainyardStore

/// The principal of the request being handled; set by ``AuthMiddleware`` for the generated handlers, which do not
/// see Hummingbird's request context.
enum RequestPrincipal {
    @TaskLocal static var current: Principal?

    /// The authenticated principal; a handler reached without one is a wiring bug, answered as 401.
    static func required() throws -> Principal {
        guard let current else { throw APIError.unauthorized(detail: "an API key is required: Authorization: Bearer <id>.<secret>") }
        return current
    }
}

/// Checks `Authorization: Bearer <id>.<secret>` on every `/v1` request.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let projects: any ProjectRepository
    /// `TRAINYARD_METRICS_PUBLIC`: `/metrics` is read without a key.
    var metricsPublic = false

    /// Whether a request to `path` authenticates with an API key: `/v1` routes but the agents', which authenticate with
    /// their attempt-scoped tokens (``AgentAuthMiddleware``), and `/metrics`. Judged on the path's segments, as the
    /// router matches it (it collapses repeated slashes: `//v1//jobs` is `/v1/jobs`).
    static func takesAPIKey(path: String) -> Bool {
        let segments = path.split(separator: "/")
        return (segments.first == "v1" && segments.count > 1 && segments[1] != "agent") || isMetrics(segments)
    }

    static func isMetrics(_ segments: [Substring]) -> Bool { segments == ["metrics"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.takesAPIKey(path: request.uri.path), !(metricsPublic && Self.isMetrics(request.uri.path.split(separator: "/"))) else {
            return try await next(request, context)
        }
        let token: APIKeyToken
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer", let parsed = APIKeyToken.parse(String(parts[1])) else {
                throw APIError.unauthorized(detail: "the Authorization header is not Bearer <id>.<secret>")
            }
            token = parsed
        } else if let session = DashboardSession.key(in: request.headers) {
            // The dashboard's pages read the API with their session's cookie; a change needs the key itself (a cookie
            // is sent by whatever page the browser shows, and the dashboard's own actions are forms with their token).
            guard request.method == .get || request.method == .head else {
                throw APIError.unauthorized(detail: "a dashboard session reads only; send Authorization: Bearer <id>.<secret> to change anything")
            }
            guard let parsed = APIKeyToken.parse(session) else {
                throw APIError.unauthorized(detail: "the dashboard session's key is not <id>.<secret>; sign in again")
            }
            token = parsed
        } else {
            throw APIError.unauthorized(detail: "missing Authorization header; send Authorization: Bearer <id>.<secret>")
        }
        guard let principal = try await projects.authenticate(token) else {
            throw APIError.unauthorized(detail: "the API key is unknown, revoked, or its secret does not match")
        }
        var request = request
        // A body of declared length, left unread by InputLimitMiddleware until the key was checked.
        if request.headers[.contentLength].flatMap({ Int($0) }) != nil, !RequestLimits.isSourceUpload(method: request.method.rawValue, path: request.uri.path) {
            try await InputLimitMiddleware<Context>.readDeclaredBody(of: &request)
        }
        var context = context
        context.logger[metadataKey: "project"] = "\(principal.projectName)"
        // The header fields as sent, for the values the generated layer would percent-decode (``RawRequestHeaders``):
        // set here rather than by a middleware of its own, one layer less on every request.
        return try await RawRequestHeaders.$current.withValue(request.headers) {
            try await RequestPrincipal.$current.withValue(principal) {
                try await next(request, context)
            }
        }
    }
}
