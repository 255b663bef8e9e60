import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime
import Synchronization
import TrainyardAPI
import TrainyardCore

/// The agent's calls to the server, through the client generated from `openapi/trainyard.yaml` (tag `agent`), retried
/// with backoff and jitter while the server is unreachable or failing (a restart): the agent keeps its command running
/// meanwhile. A 401/403/404 is final. Package-visible: bench/scale's simulated hosts speak the protocol through it.
///
/// The outage is one for all calls: it starts at the first failed try of any call and ends at the next answer. Once
/// it is older than the limit every call fails at once with ``AgentError/serverUnreachable(seconds:lastError:)``, so
/// heartbeats, log shipping and the final report together never wait longer than the limit.
package struct ServerConnection: Sendable {
    let configuration: AgentConfiguration
    let logger: Logger
    let outage: ServerOutage
    let client: Client

    /// `http`: the agent's one host uses the shared client; bench/scale's thousand simulated hosts need more
    /// connections than its pool keeps per server.
    package init(configuration: AgentConfiguration, logger: Logger, http: HTTPClient = .shared) {
        self.configuration = configuration
        self.logger = logger
        let outage = ServerOutage(limitSeconds: configuration.serverOutageLimitSeconds)
        self.outage = outage
        // AgentConfiguration checked the URL; an unreadable one would fail every call as an unreachable server does.
        let serverURL = URL(string: configuration.serverURL) ?? URL(string: "http://invalid.invalid")!
        client = Client(
            serverURL: serverURL, configuration: .init(dateTranscoder: FlexibleDateTranscoder()),
            transport: OutageBoundTransport(http: http, outage: outage),
            middlewares: [AgentTokenMiddleware(token: configuration.token), NonSuccessMiddleware()])
    }

    package func assignment() async throws -> AgentAssignment {
        try await call("/v1/agent/assignment") { AgentAssignment(try await client.getAgentAssignment().ok.body.json) }
    }

    package func heartbeat(_ report: AgentReport) async throws -> AgentDirective {
        try await call("/v1/agent/heartbeat") { AgentDirective(try await client.postAgentHeartbeat(body: .json(.init(report))).ok.body.json) }
    }

    /// Ships whole spool records (``LogRecord``'s wire form); the server stores each sequence number once, so a batch
    /// retried after a lost answer is not stored twice.
    package func shipLogs(_ records: [UInt8]) async throws -> LogBatchReceipt {
        try await call("/v1/agent/logs") { LogBatchReceipt(try await client.postAgentLogs(body: .plainText(HTTPBody(records))).ok.body.json) }
    }

    /// The headers that authorize one S3 call of this host, signed by the server (a 403 names why it will not).
    func signS3(_ request: S3SignatureRequest) async throws -> S3SignatureAnswer {
        try await call("/v1/agent/s3-signatures") { S3SignatureAnswer(try await client.postAgentS3Signature(body: .json(.init(request))).ok.body.json) }
    }

    /// Tries `send` until it answers, a refusal ends it, or the outage passes its limit.
    private func call<Answer>(_ path: String, _ send: () async throws -> Answer) async throws -> Answer {
        var delay = 0.2
        var lastError = ""
        while true {
            do {
                let answer = try await send()
                // Only an answer ends an outage: a server whose database is gone answers 500 for ever.
                outage.ended()
                return answer
            } catch {
                // The generated client wraps what its transport and middlewares threw.
                let cause = (error as? ClientError)?.underlyingError ?? error
                let answered = cause as? NonSuccessMiddleware.Answered
                if let answered, [401, 403, 404].contains(answered.status) {
                    throw AgentError.rejected(status: answered.status, body: answered.body)
                }
                if cause is CancellationError { throw CancellationError() }
                lastError = answered.map { "HTTP \($0.status): \($0.body.prefix(200))" } ?? "\(cause)"
            }
            if let limit = outage.failed() {
                throw AgentError.serverUnreachable(seconds: limit, lastError: lastError)
            }
            logger.warning("server call failed; retrying", metadata: ["path": "\(path)", "error": "\(lastError)"])
            // Capped at a second, well inside any host lease: once the server is back, the next try comes soon
            // enough that no host is judged dead for the outage.
            try await Task.sleep(for: .seconds(delay * Double.random(in: 0.5...1.0)))
            delay = min(delay * 2, 1)
        }
    }
}

/// Sends each call with AsyncHTTPClient under the timeout the outage leaves (``ServerOutage/tryTimeout``).
struct OutageBoundTransport: ClientTransport {
    let http: HTTPClient
    let outage: ServerOutage

    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        try await AsyncHTTPClientTransport(configuration: .init(client: http, timeout: outage.tryTimeout))
            .send(request, body: body, baseURL: baseURL, operationID: operationID)
    }
}

/// Adds the host's attempt-scoped token to every call.
struct AgentTokenMiddleware: ClientMiddleware {
    let token: String

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(token)"
        return try await next(request, body, baseURL)
    }
}

/// Turns every answer but a 2xx into ``Answered`` with the body's text (a problem+json's, or whatever a proxy sent),
/// so that the retry loop judges all calls alike by their status.
struct NonSuccessMiddleware: ClientMiddleware {
    struct Answered: Error {
        var status: Int
        var body: String
    }

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let (response, answer) = try await next(request, body, baseURL)
        guard !(200..<300).contains(response.status.code) else { return (response, answer) }
        var text = ""
        if let answer { text = try await String(collecting: answer, upTo: 64 << 10) }
        throw Answered(status: response.status.code, body: text)
    }
}

/// Since when the server has been unreachable or refusing (anything but a 2xx, 401, 403 or 404), shared by all calls, and how long that may last.
final class ServerOutage: Sendable {
    private let state: Mutex<(since: ContinuousClock.Instant?, limitSeconds: Double)>

    init(limitSeconds: Double) {
        state = Mutex((nil, limitSeconds))
    }

    /// The server's setting, from the assignment, replaces the agent's own.
    func setLimit(seconds: Double) { state.withLock { $0.limitSeconds = seconds } }

    var limitSeconds: Double { state.withLock { $0.limitSeconds } }

    /// How long one try may take: 30 s, or the limit when shorter, and once an outage runs no more than what is left
    /// of it, so that the first try that fails (a request waits in the client's pool while it backs off from refused
    /// connections, until its timeout) adds at most that much to the limit.
    var tryTimeout: TimeAmount {
        state.withLock { state in
            let remaining = state.since.map { .seconds(state.limitSeconds) - (ContinuousClock.now - $0) } ?? .seconds(state.limitSeconds)
            let clamped = min(max(remaining, .seconds(1)), .seconds(30))
            let (seconds, attoseconds) = clamped.components
            return .milliseconds(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        }
    }

    /// Whether the limit has passed.
    var isOver: Bool {
        state.withLock { state in state.since.map { ContinuousClock.now - $0 > .seconds(state.limitSeconds) } ?? false }
    }

    /// The server answered.
    func ended() { state.withLock { $0.since = nil } }

    /// A try failed: starts the outage if none runs; the limit once it has passed, else nil.
    @discardableResult
    func failed() -> Double? {
        state.withLock { state in
            let since = state.since ?? ContinuousClock.now
            state.since = since
            return ContinuousClock.now - since > .seconds(state.limitSeconds) ? state.limitSeconds : nil
        }
    }
}
