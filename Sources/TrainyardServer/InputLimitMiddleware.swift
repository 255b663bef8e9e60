import Hummingbird
import NIOCore
import Synchronization
import TrainyardCore

/// Bad input fails here, before any handler, decoder or query sees it: a path or query with a NUL or an invalid
/// percent-escape is a 400; a body larger than its route allows is a 413 (at once when `Content-Length` says so, else
/// as soon as the streamed body passes the limit, so a chunked upload is never buffered past it); a JSON body nested
/// deeper than ``RequestLimits/maximumJSONDepth`` is a 400 as it streams in. Applies to every route, agents' included.
/// A code archive upload (`PUT /v1/jobs/{name}/source`) is never read whole: it streams on to the object store,
/// bounded by ``RequestLimits/sourceArchiveBytes``.
struct InputLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    var sourceArchiveBytes = RequestLimits().sourceArchiveBytes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let problem = Self.oddInput(path: request.uri.path, query: request.uri.query) {
            throw APIError.badRequest(detail: problem.detail, field: problem.field)
        }
        let streamed = RequestLimits.isSourceUpload(method: request.method.rawValue, path: request.uri.path)
        let limit = streamed ? Int(clamping: sourceArchiveBytes) : RequestLimits.maximumBodyBytes(method: request.method.rawValue, path: request.uri.path)
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit {
            throw APIError.payloadTooLarge(detail: Self.tooLarge(limit: limit, request: request))
        }
        var request = request
        if declared != nil, !streamed {
            // Read whole, but only once the caller is known: a route that takes an API key has it read by
            // AuthMiddleware after the key checked out, so a request without a valid key costs no body read.
            if !AuthMiddleware<Context>.takesAPIKey(path: request.uri.path) { try await Self.readDeclaredBody(of: &request) }
            return try await next(request, context)
        }
        let isJSON = Self.isJSON(request.headers[.contentType])
        let verdict = Verdict()
        request.body = RequestBody(asyncSequence: LimitedBody(base: request.body, limit: limit, gauge: isJSON ? JSONDepthGauge() : nil, verdict: verdict))
        do {
            return try await next(request, context)
        } catch {
            // However the reader reported it (the generated layer wraps errors of the body it collects), the body's
            // own verdict decides the answer.
            switch verdict.value.withLock({ $0 }) {
            case .tooLarge: throw APIError.payloadTooLarge(detail: Self.tooLarge(limit: limit, request: request))
            case .tooDeep: throw Self.tooDeep
            case nil: throw error
            }
        }
    }

    /// Reads a body of declared length (already within its limit) whole and hands it on as one buffer, the cheapest
    /// body there is, gauging a JSON body's depth in one pass: wrapping its stream instead cost every submission an
    /// async sequence of its own (bench/submit: about a tenth more server CPU per job).
    static func readDeclaredBody(of request: inout Request) async throws {
        let limit = RequestLimits.maximumBodyBytes(method: request.method.rawValue, path: request.uri.path)
        let buffer = try await request.body.collect(upTo: limit)
        if isJSON(request.headers[.contentType]) {
            var gauge = JSONDepthGauge()
            guard buffer.withUnsafeReadableBytes({ gauge.feed($0) }) else { throw tooDeep }
        }
        request.body = RequestBody(buffer: buffer)
    }

    static var tooDeep: APIError { APIError.badRequest(
        detail: "the JSON body nests arrays or objects deeper than \(RequestLimits.maximumJSONDepth) levels; no request needs that", field: "(body)") }

    static func tooLarge(limit: Int, request: Request) -> String {
        "the body of \(request.method) \(request.uri.path) may be at most \(describe(limit)); this one is larger"
    }

    static func describe(_ bytes: Int) -> String {
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        return bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
    }

    /// What is wrong with the path or the query, when something is: a NUL, or a percent-escape that is not UTF-8.
    static func oddInput(path: String, query: String?) -> (field: String, detail: String)? {
        // Nearly every request has neither a percent-escape nor a NUL: one pass over the bytes settles it.
        guard Self.mayHoldEscapes(path) || query.map(Self.mayHoldEscapes) == true else { return nil }
        for segment in path.split(separator: "/") where segment.contains("%") || segment.contains("\0") {
            guard let decoded = String(segment).removingPercentEncoding else {
                return ("(path)", "the path has a percent-escape that is not UTF-8: \(segment.prefix(64))")
            }
            if decoded.contains("\0") { return ("(path)", "the path holds a NUL character (%00), which no name can contain") }
        }
        guard let query else { return nil }
        for item in query.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let rawName = String(parts[0]).replacingOccurrences(of: "+", with: " ")
            guard let name = rawName.removingPercentEncoding else {
                return ("(query)", "the query has a parameter name with a percent-escape that is not UTF-8")
            }
            let field = name.contains("\0") ? "(query)" : String(name.prefix(64))
            if name.contains("\0") { return (field, "a query parameter name holds a NUL character (%00)") }
            guard parts.count == 2 else { continue }
            guard let value = String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                return (field, "query parameter \(field) has a percent-escape that is not UTF-8")
            }
            if value.contains("\0") { return (field, "query parameter \(field) holds a NUL character (%00), which no value can contain") }
        }
        return nil
    }

    /// Whether `text` has a byte that decoding could turn into something else or refuse: `%`, `+` or a NUL.
    static func mayHoldEscapes(_ text: String) -> Bool {
        text.utf8.contains { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") || $0 == 0 }
    }

    /// Whether a `Content-Type` is JSON (`application/json`, or any `+json` type), in any case.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let lowered = contentType.lowercased()
        return lowered.hasPrefix("application/json") || lowered.utf8.firstRange(of: "+json".utf8) != nil
    }

    /// Why the body was cut, once it was.
    enum Failure: Sendable { case tooLarge, tooDeep }

    final class Verdict: Sendable {
        let value = Mutex<Failure?>(nil)
    }

    /// The request body, failing once it passes `limit` bytes or (for JSON) nests too deep.
    struct LimitedBody: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let base: RequestBody
        let limit: Int
        let gauge: JSONDepthGauge?
        let verdict: Verdict

        struct Refused: Error {}

        struct AsyncIterator: AsyncIteratorProtocol {
            var base: RequestBody.AsyncIterator
            let limit: Int
            var gauge: JSONDepthGauge?
            let verdict: Verdict
            var seen = 0

            mutating func next() async throws -> ByteBuffer? {
                guard let buffer = try await base.next() else { return nil }
                seen += buffer.readableBytes
                if seen > limit {
                    verdict.value.withLock { $0 = .tooLarge }
                    throw Refused()
                }
                if var depth = gauge {
                    let shallow = buffer.withUnsafeReadableBytes { depth.feed($0) }
                    gauge = depth
                    if !shallow {
                        verdict.value.withLock { $0 = .tooDeep }
                        throw Refused()
                    }
                }
                return buffer
            }
        }

        func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: base.makeAsyncIterator(), limit: limit, gauge: gauge, verdict: verdict)
        }
    }
}
