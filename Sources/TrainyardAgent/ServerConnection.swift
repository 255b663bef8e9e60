import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import TrainyardCore

/// The agent's calls to the server, retried with backoff and jitter while the server is unreachable or failing
/// (a restart): the agent keeps its command running meanwhile. A 401/403/404 is final. Package-visible: bench/scale's
/// simulated hosts speak the protocol through it.
///
/// The outage is one for all calls: it starts at the first failed try of any call and ends at the next answer. Once
/// it is older than the limit every call fails at once with ``AgentError/serverUnreachable(seconds:lastError:)``, so
/// heartbeats, log shipping and the final report together never wait longer than the limit.
package struct ServerConnection: Sendable {
    let configuration: AgentConfiguration
    let logger: Logger
    let outage: ServerOutage
    let http: HTTPClient

    /// `http`: the agent's one host uses the shared client; bench/scale's thousand simulated hosts need more
    /// connections than its pool keeps per server.
    package init(configuration: AgentConfiguration, logger: Logger, http: HTTPClient = .shared) {
        self.configuration = configuration
        self.logger = logger
        self.http = http
        outage = ServerOutage(limitSeconds: configuration.serverOutageLimitSeconds)
    }

    package func assignment() async throws -> AgentAssignment {
        try await call(.GET, "/v1/agent/assignment", body: Optional<AgentReport>.none)
    }

    package func heartbeat(_ report: AgentReport) async throws -> AgentDirective {
        try await call(.POST, "/v1/agent/heartbeat", body: report)
    }

    /// Ships whole spool records (``LogRecord``'s wire form); the server stores each sequence number once, so a batch
    /// retried after a lost answer is not stored twice.
    package func shipLogs(_ records: [UInt8]) async throws -> LogBatchReceipt {
        try await call(.POST, "/v1/agent/logs", body: ByteBuffer(bytes: records), contentType: "text/plain; charset=utf-8")
    }

    /// The headers that authorize one S3 call of this host, signed by the server (a 403 names why it will not).
    func signS3(_ request: S3SignatureRequest) async throws -> S3SignatureAnswer {
        try await call(.POST, "/v1/agent/s3-signatures", body: request)
    }

    private func call<Body: Encodable & Sendable, Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: Body?) async throws -> Answer {
        try await call(method, path, body: try body.map { ByteBuffer(bytes: Array(try JSONEncoder().encode($0))) }, contentType: "application/json")
    }

    private func call<Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: ByteBuffer?, contentType: String) async throws -> Answer {
        var delay = 0.2
        var lastError = ""
        while true {
            do {
                var request = HTTPClientRequest(url: configuration.serverURL + path)
                request.method = method
                request.headers.add(name: "Authorization", value: "Bearer \(configuration.token)")
                if let body {
                    request.headers.add(name: "Content-Type", value: contentType)
                    request.body = .bytes(body)
                }
                let response = try await http.execute(request, timeout: outage.tryTimeout)
                let bytes = try await response.body.collect(upTo: 16 << 20)
                let status = Int(response.status.code)
                if (200..<300).contains(status) {
                    // Only an answer ends an outage: a server whose database is gone answers 500 for ever.
                    outage.ended()
                    return try JSONDecoder().decode(Answer.self, from: Data(bytes.readableBytesView))
                }
                if [401, 403, 404].contains(status) {
                    throw AgentError.rejected(status: status, body: String(buffer: bytes))
                }
                lastError = "HTTP \(status): \(String(buffer: bytes).prefix(200))"
            } catch let error as AgentError {
                throw error
            } catch {
                lastError = "\(error)"
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
