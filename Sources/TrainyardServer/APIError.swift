import Hummingbird
import TrainyardCore

/// The errors API handlers throw; ``ProblemMiddleware`` turns each into one `application/problem+json` response.
enum APIError: Error, Equatable {
    /// 400: the request cannot be read (`field` names where, when known).
    case badRequest(detail: String, field: String? = nil)
    /// 401: no key, or a key that does not check out.
    case unauthorized(detail: String)
    /// 403: the key's role may not do this.
    case forbidden(detail: String)
    /// 404: no such resource in the caller's project.
    case notFound(detail: String)
    /// 409: the request conflicts with the resource's state (duplicate name, job already ended).
    case conflict(detail: String)
    /// 422: the request is well-formed but breaks rules; every violation is listed.
    case unprocessable(detail: String, errors: [FieldViolation])
    /// 405: the path exists but not with this method; `allowed` lists the methods it has.
    case methodNotAllowed(detail: String, allowed: [String])
    /// 413: the body is larger than the route allows.
    case payloadTooLarge(detail: String)
    /// 429: a limit of the project or key is reached; try again after `retryAfterSeconds`.
    case tooManyRequests(detail: String, retryAfterSeconds: Int)
    /// 503: not ready to serve.
    case unavailable(detail: String)
    /// A `Range` with no byte of a representation of `size` bytes.
    case rangeNotSatisfiable(detail: String, size: Int64)

    var status: Int {
        switch self {
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .conflict: 409
        case .methodNotAllowed: 405
        case .payloadTooLarge: 413
        case .unprocessable: 422
        case .tooManyRequests: 429
        case .unavailable: 503
        case .rangeNotSatisfiable: 416
        }
    }

    /// Adds the headers the answer carries besides the problem document (`Allow`, `Retry-After`).
    func addHeaders(to headers: inout HTTPFields) {
        switch self {
        case .methodNotAllowed(_, let allowed): headers[.allow] = allowed.joined(separator: ", ")
        case .tooManyRequests(_, let seconds): headers[.retryAfter] = "\(seconds)"
        case .rangeNotSatisfiable(_, let size): headers[.contentRange] = ByteRangeRequest.unsatisfiable.contentRange(size: size)
        default: break
        }
    }

    var problem: Problem {
        switch self {
        case .badRequest(let detail, let field):
            Problem(type: "bad-request", title: "The request could not be read", status: 400, detail: detail,
                    errors: field.map { [FieldViolation(field: $0, rule: "malformed", message: detail)] })
        case .unauthorized(let detail): Problem(type: "unauthorized", title: "Authentication required", status: 401, detail: detail)
        case .forbidden(let detail): Problem(type: "forbidden", title: "Not allowed for this key's role", status: 403, detail: detail)
        case .notFound(let detail): Problem(type: "not-found", title: "Not found", status: 404, detail: detail)
        case .conflict(let detail): Problem(type: "conflict", title: "Conflict", status: 409, detail: detail)
        case .unprocessable(let detail, let errors):
            Problem(type: "validation", title: "The request is invalid", status: 422, detail: detail, errors: errors)
        case .methodNotAllowed(let detail, _): Problem(type: "method-not-allowed", title: "Method not allowed", status: 405, detail: detail)
        case .payloadTooLarge(let detail): Problem(type: "payload-too-large", title: "Request body too large", status: 413, detail: detail)
        case .tooManyRequests(let detail, _): Problem(type: "too-many-requests", title: "Limit reached", status: 429, detail: detail)
        case .unavailable(let detail): Problem(type: "unavailable", title: "Service unavailable", status: 503, detail: detail)
        case .rangeNotSatisfiable(let detail, _):
            Problem(type: "range-not-satisfiable", title: "Range not satisfiable", status: 416, detail: detail)
        }
    }
}

/// An RFC 9457 problem document.
struct Problem: Codable, Sendable, Equatable {
    /// Problem types are relative URIs under this prefix.
    static let typePrefix = "https://trainyard.dev/problems/"

    var type: String
    var title: String
    var status: Int
    var detail: String?
    var errors: [FieldViolation]?

    init(type: String, title: String, status: Int, detail: String? = nil, errors: [FieldViolation]? = nil) {
        self.type = Self.typePrefix + type
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors
    }
}
