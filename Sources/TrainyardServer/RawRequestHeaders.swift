import HTTPTypes
import Hummingbird

/// The request's header fields as they arrived, for the generated handlers. swift-openapi-runtime reads a header
/// value as a URI component and percent-decodes it: an `Idempotency-Key` of `50%off` (no valid escape) reached the
/// handler as an empty string and was refused, and `a%20b` reached it as `a b`, another request's key. A value the
/// spec takes verbatim is read here instead. ``AuthMiddleware`` sets it for every authenticated request.
enum RawRequestHeaders {
    @TaskLocal static var current: HTTPFields?

    /// The field as sent; `decoded`, the generated layer's reading, only where no middleware set the fields.
    static func value(_ name: HTTPField.Name, decoded: String?) -> String? {
        guard let current else { return decoded }
        return current[name]
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let contentDigest = HTTPField.Name("Content-Digest")!
}

/// Response header fields the spec states verbatim, sent as stated. swift-openapi-runtime writes a header value as a
/// URI component: `Repr-Digest: sha-256=:q1+w…=:` left as `sha-256%3D%3Aq1%2Bw…`, which no RFC 9530 reader accepts.
struct VerbatimResponseHeaders<Context: RequestContext>: RouterMiddleware {
    static var verbatim: [HTTPField.Name] { [.reprDigest, .eTag, .contentRange] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for name in Self.verbatim {
            guard let value = response.headers[name], value.contains("%"), let decoded = value.removingPercentEncoding else { continue }
            response.headers[name] = decoded
        }
        return response
    }
}

extension HTTPField.Name {
    static let reprDigest = HTTPField.Name("Repr-Digest")!
}
