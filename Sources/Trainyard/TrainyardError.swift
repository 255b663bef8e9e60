public import Foundation

/// One wrong field of a refused request, as the problem document names it: the field with the spec's own name
/// (`max_wait`, `inputs.train.s3_uri`), the rule it broke and a message for people.
public struct FieldError: Sendable, Codable, Equatable, CustomStringConvertible {
    public var field: String
    public var rule: String
    public var message: String

    public init(field: String, rule: String, message: String) {
        self.field = field
        self.rule = rule
        self.message = message
    }

    public var description: String { "\(field) [\(rule)]: \(message)" }
}

/// An error answer of the service (`application/problem+json`, RFC 9457).
public struct Problem: Sendable, Codable, Equatable, CustomStringConvertible {
    public var type: String?
    public var title: String
    public var status: Int
    public var detail: String?
    public var errors: [FieldError]?

    public init(type: String? = nil, title: String, status: Int, detail: String? = nil, errors: [FieldError]? = nil) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors
    }

    /// `Title (status)`, the detail and every field error, one per line.
    public var description: String {
        var lines = ["\(title) (\(status))"]
        if let detail { lines.append("  \(detail)") }
        for error in errors ?? [] { lines.append("  - \(error)") }
        return lines.joined(separator: "\n")
    }
}

/// What a Trainyard call failed with, typed by what the caller can do about it.
public enum TrainyardError: Error, Sendable, CustomStringConvertible {
    /// The request was refused as invalid (400 or 422): `fields` names every wrong field and its rule.
    case validation(_ fields: [FieldError], problem: Problem)
    /// The key is missing, unknown or revoked (401).
    case unauthorized(Problem)
    /// The key's role may not do this (403).
    case forbidden(Problem)
    /// No such job, project, key or subscription in the caller's project (404).
    case notFound(Problem)
    /// The request conflicts with the current state (409): a name in use, a job that already ended.
    case conflict(Problem)
    /// The body is larger than the route takes (413).
    case payloadTooLarge(Problem)
    /// A limit of the project or key is reached (429); try again after `retryAfter`.
    case rateLimited(retryAfter: Duration?, problem: Problem)
    /// The service cannot answer now (503: starting, or its database is away).
    case unavailable(Problem)
    /// Another error answer of the service.
    case server(Problem)
    /// An answer that is not what the API describes (a proxy's error page, say).
    case unexpectedResponse(status: Int, body: String)
    /// No answer at all: nothing listens at `url`, or the connection broke.
    case unreachable(url: URL, reason: String)
    /// The job ended `Failed`, with its failure reason.
    case jobFailed(name: String, reason: String)
    /// The job ended `Stopped` (by a user, or past `max_run` or `max_wait`).
    case jobStopped(name: String, secondaryStatus: String)
    /// Downloaded bytes whose SHA-256 is not the one the service recorded; the file was not kept.
    case checksumMismatch(what: String, expected: String, actual: String)
    /// Local input that cannot be used (a source directory that is not one, a file that cannot be written).
    case invalidInput(String)

    /// The service's problem document, for the errors that carry one.
    public var problem: Problem? {
        switch self {
        case .validation(_, let problem), .unauthorized(let problem), .forbidden(let problem), .notFound(let problem), .conflict(let problem),
            .payloadTooLarge(let problem), .rateLimited(_, let problem), .unavailable(let problem), .server(let problem):
            problem
        default: nil
        }
    }

    /// Whether trying again later may succeed: no answer at all, or the service or a proxy before it briefly away
    /// (503, 502, 504).
    public var isTransient: Bool {
        switch self {
        case .unreachable, .unavailable: true
        case .server(let problem): problem.status == 502 || problem.status == 504
        case .unexpectedResponse(let status, _): [502, 503, 504].contains(status)
        default: false
        }
    }

    /// The error for an answer with status `status` and problem `problem`.
    public static func from(status: Int, problem: Problem, retryAfter: Duration? = nil) -> TrainyardError {
        switch status {
        case 400, 422: .validation(problem.errors ?? [], problem: problem)
        case 401: .unauthorized(problem)
        case 403: .forbidden(problem)
        case 404: .notFound(problem)
        case 409: .conflict(problem)
        case 413: .payloadTooLarge(problem)
        case 429: .rateLimited(retryAfter: retryAfter, problem: problem)
        case 503: .unavailable(problem)
        default: .server(problem)
        }
    }

    public var description: String {
        if let problem { return problem.description }
        switch self {
        case .unexpectedResponse(let status, let body):
            return "the service answered with an unexpected status \(status)" + (body.isEmpty ? "" : ": \(body.prefix(200))")
        case .unreachable(let url, let reason):
            return "cannot reach the Trainyard server at \(url.absoluteString): \(reason)\n"
                + "  start one with `trainyard serve`, or point TRAINYARD_URL (or --profile) at one that runs"
        case .jobFailed(let name, let reason): return "\(name) Failed: \(reason)"
        case .jobStopped(let name, let secondary): return "\(name) Stopped (\(secondary))"
        case .checksumMismatch(let what, let expected, let actual):
            return "\(what): the bytes received have SHA-256 \(actual), not the \(expected) the service recorded; nothing was kept"
        case .invalidInput(let message): return message
        default: return "\(problem?.description ?? "error")"
        }
    }
}
