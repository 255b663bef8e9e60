import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TrainyardCore

/// The agent's calls to the server, retried with backoff and jitter while the server is unreachable or failing
/// (a restart): the agent keeps its command running meanwhile. A 401/403/404 is final.
struct ServerConnection: Sendable {
    let configuration: AgentConfiguration
    let logger: Logger

    func assignment() async throws -> AgentAssignment {
        try await call(.GET, "/v1/agent/assignment", body: Optional<AgentReport>.none)
    }

    func heartbeat(_ report: AgentReport) async throws -> AgentDirective {
        try await call(.POST, "/v1/agent/heartbeat", body: report)
    }

    /// Ships whole spool records (``LogRecord``'s wire form); the server stores each sequence number once, so a batch
    /// retried after a lost answer is not stored twice.
    func shipLogs(_ records: [UInt8]) async throws -> LogBatchReceipt {
        try await call(.POST, "/v1/agent/logs", body: ByteBuffer(bytes: records), contentType: "text/plain; charset=utf-8")
    }

    private func call<Body: Encodable & Sendable, Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: Body?) async throws -> Answer {
        try await call(method, path, body: try body.map { ByteBuffer(bytes: Array(try JSONEncoder().encode($0))) }, contentType: "application/json")
    }

    private func call<Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: ByteBuffer?, contentType: String) async throws -> Answer {
        let started = ContinuousClock.now
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
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                let bytes = try await response.body.collect(upTo: 16 << 20)
                let status = Int(response.status.code)
                if (200..<300).contains(status) {
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
            let waited = ContinuousClock.now - started
            if waited > .seconds(configuration.serverOutageLimitSeconds) {
                throw AgentError.serverUnreachable(seconds: configuration.serverOutageLimitSeconds, lastError: lastError)
            }
            logger.warning("server call failed; retrying", metadata: ["path": "\(path)", "error": "\(lastError)"])
            // Capped at a second, well inside any host lease: once the server is back, the next try comes soon
            // enough that no host is judged dead for the outage.
            try await Task.sleep(for: .seconds(delay * Double.random(in: 0.5...1.0)))
            delay = min(delay * 2, 1)
        }
    }
}
