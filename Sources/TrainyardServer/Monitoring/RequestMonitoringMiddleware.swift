import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The id of the request being handled, for every log line written while it is (``RequestID/metadataProvider``).
enum RequestID {
    @TaskLocal static var current: String?

    /// Adds `request` to every log line of a task that handles a request: the access line, and the handlers' and
    /// stores' lines, which do not see the request's logger.
    static let metadataProvider = Logger.MetadataProvider {
        guard let id = current else { return [:] }
        return ["request": .string(id)]
    }

    /// The caller's `X-Request-Id` when it is a sane token (a proxy's or a client's id, so that both sides' logs
    /// meet), else a new one.
    static func accept(_ given: String?) -> String {
        if let given, (1...128).contains(given.utf8.count),
            given.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
        {
            return given
        }
        return UUID().uuidString.lowercased()
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}

/// The outermost middleware: gives each request an id (answered in `X-Request-Id` and carried by every log line of
/// the request), writes one access line per request, and counts it in ``ServiceMetrics`` by route template (never by
/// raw path: a scraper's series stay bounded whatever paths clients send).
struct RequestMonitoringMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServiceMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = RequestID.accept(request.headers[.requestID])
        let started = ContinuousClock.now
        return try await RequestID.$current.withValue(id) {
            var context = context
            context.logger[metadataKey: "request"] = .string(id)
            var response: Response
            do {
                response = try await next(request, context)
            } catch {
                // ProblemMiddleware, inside this one, answers every error; what still escapes is Hummingbird's own.
                let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
                record(request, context: context, status: status.code, since: started, id: id)
                throw error
            }
            response.headers[.requestID] = id
            record(request, context: context, status: response.status.code, since: started, id: id)
            // A streamed body (a log follow, an archive) is written after this returns, outside the scope above: its
            // lines, and the stores' it calls, carry the id because the writing runs in a scope of its own.
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                let writer = writer
                try await RequestID.$current.withValue(id) { try await body.write(writer) }
            }
            return response
        }
    }

    private func record(_ request: Request, context: Context, status: Int, since started: ContinuousClock.Instant, id: String) {
        let elapsed = ContinuousClock.now - started
        let route = context.endpointPath ?? "unmatched"
        metrics.requestAnswered(route: route, method: request.method.rawValue, status: status, after: elapsed)
        // Agents call in every few seconds and probes every few: their lines are for debugging.
        let routine = route.hasPrefix("/v1/agent") || route == "/healthz" || route == "/readyz" || route == "/metrics"
        logger.log(
            level: routine ? .debug : .info, "request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(request.uri.path), "route": .string(route), "status": .stringConvertible(status),
                "ms": .stringConvertible((elapsed / .milliseconds(1)).rounded()), "request": .string(id),
            ])
    }
}
