public import Foundation
import Hummingbird
import Logging
public import OpenAPIRuntime
import PostgresNIO
import TrainyardCore
import TrainyardStore

/// Turns every error a request can end in into one `application/problem+json` response (STYLE.md habit 4):
/// ``APIError`` as it says, decoding failures of the generated layer as 400 naming the path (an unknown field as 422),
/// Hummingbird's own errors with their status, and anything else as a logged 500 that leaks nothing.
/// A path the router knows with other methods is a 405 naming them in `Allow`, not a 404.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    var routes = KnownRoutes()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var error = error
            if let httpError = error as? HTTPError, httpError.status == .notFound, httpError.body == nil {
                let allowed = routes.methods(for: request.uri.path)
                if !allowed.isEmpty {
                    error = APIError.methodNotAllowed(
                        detail: "\(request.uri.path) does not answer \(request.method); it answers \(allowed.joined(separator: ", "))", allowed: allowed)
                }
            }
            let problem = Self.problem(for: error, request: request, logger: context.logger)
            var response = Self.response(problem)
            let apiError = (error as? APIError) ?? ((error as? ServerError)?.underlyingError as? APIError)
            apiError?.addHeaders(to: &response.headers)
            return response
        }
    }

    static func problem(for error: any Error, request: Request, logger: Logger) -> Problem {
        var error = error
        if let serverError = error as? ServerError {
            error = serverError.underlyingError
        }
        switch error {
        case let apiError as APIError:
            return apiError.problem
        case let decodingError as DecodingError:
            return decodingProblem(decodingError)
        case let httpError as HTTPError:
            let status = Int(httpError.status.code)
            if status >= 500 { break }
            return Problem(
                type: status == 404 ? "not-found" : "http-\(status)", title: httpError.status.reasonPhrase, status: status,
                detail: httpError.body ?? "\(request.method) \(request.uri.path): \(httpError.status.reasonPhrase)")
        default:
            if let serverError = error as? any HTTPResponseConvertible, serverError.httpStatus.code < 500 {
                let status = Int(serverError.httpStatus.code)
                return Problem(type: "bad-request", title: "The request could not be read", status: status, detail: "\(error)")
            }
            if Self.isUnstorableText(error) {
                return Problem(
                    type: "bad-request", title: "The request could not be read", status: 400,
                    detail: "the request holds a NUL character (%00), which no name, id or value can contain")
            }
            if "\(type(of: error))" == "RuntimeError" {
                // The generated layer's own request errors (missing body, wrong content type, bad query value).
                return Problem(type: "bad-request", title: "The request could not be read", status: 400, detail: "\(error)")
            }
        }
        // The detail (a database's own message and SQLSTATE) is for the server's log only; the client gets a generic 500.
        logger.error("request failed", metadata: ["error": "\(LoggedError.describe(error))", "path": "\(request.uri.path)"])
        return Problem(type: "internal", title: "Internal server error", status: 500, detail: "The server failed to handle the request; it was logged.")
    }

    /// Text the database cannot hold (a NUL: SQLSTATE 22021) that reached it from a path, query or field no rule
    /// refused first: the request's fault, not the server's.
    static func isUnstorableText(_ error: any Error) -> Bool {
        switch error {
        case let error as PSQLError: error.serverInfo?[.sqlState] == "22021"
        case let error as PostgresTransactionError: [error.beginError, error.closureError, error.commitError].contains { $0.map(isUnstorableText) ?? false }
        default: false
        }
    }

    /// A body that does not decode: where, and what was expected. Unknown fields are rules of the spec (422).
    static func decodingProblem(_ error: DecodingError) -> Problem {
        func path(_ codingPath: [any CodingKey]) -> String {
            var result = ""
            for key in codingPath {
                if let index = key.intValue {
                    result += "[\(index)]"
                } else {
                    result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return result.isEmpty ? "(body)" : result
        }
        let field: String
        let message: String
        switch error {
        case .typeMismatch(let type, let context):
            field = path(context.codingPath)
            message = "expected \(describe(type)): \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            field = path(context.codingPath)
            message = "expected \(describe(type)), found null"
        case .keyNotFound(let key, let context):
            field = path(context.codingPath + [key])
            message = "is required"
            return Problem(
                type: "validation", title: "The request is invalid", status: 422, detail: "\(field) is required",
                errors: [FieldViolation(field: field, rule: "required", message: "\(field) is required")])
        case .dataCorrupted(let context):
            field = path(context.codingPath)
            if context.debugDescription.hasPrefix("Additional properties are disabled") {
                let message = "\(field) is not a field of this object"
                return Problem(
                    type: "validation", title: "The request is invalid", status: 422, detail: message,
                    errors: [FieldViolation(field: field, rule: "unknown_field", message: message)])
            }
            message = context.underlyingError.map { "\($0)" } ?? context.debugDescription
        @unknown default:
            field = "(body)"
            message = "\(error)"
        }
        return Problem(
            type: "bad-request", title: "The request could not be read", status: 400, detail: "\(field): \(message)",
            errors: [FieldViolation(field: field, rule: "malformed", message: message)])
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int32.Type, is Int64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "\(type)"
        }
    }

    static func response(_ problem: Problem) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(problem)) ?? Data()
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        return Response(
            status: HTTPResponse.Status(code: problem.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
