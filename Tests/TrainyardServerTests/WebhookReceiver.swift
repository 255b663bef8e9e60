import Crypto
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real HTTP receiver of webhooks on a port of its own: records every request and verifies its Standard Webhooks
/// signature with its own HMAC (not the server's code); answers with the statuses it is told, then 200.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var id: String
        var timestamp: String
        var signature: String
        var body: String
        var signatureValid: Bool
        var answered: Int

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var type: String { json["type"] as? String ?? "" }
        var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    }

    private let state = Mutex<(received: [Received], answers: [Int], secrets: [String])>(([], [], []))

    /// Statuses for the next requests, in order; 200 once they are used up.
    func answer(with statuses: [Int]) { state.withLock { $0.answers = statuses } }

    private let answerBody = Mutex<[UInt8]?>(nil)

    /// The bytes every answer's body holds from now on (by default `answered <status>`).
    func answer(body bytes: [UInt8]) { answerBody.withLock { $0 = bytes } }

    /// How the receiver answers besides its status and body.
    enum Manner: Sendable {
        case plain
        /// With the status given and a `Location` header.
        case redirect(status: Int, location: String)
        /// The head at once, then the body one byte every `interval`, for two minutes.
        case drip(interval: Duration)
    }

    private let manner = Mutex<Manner>(.plain)

    /// How every answer is given from now on.
    func answer(_ manner: Manner) { self.manner.withLock { $0 = manner } }

    /// Secrets (`whsec_…`) signatures are checked against; a request signed by any of them is valid.
    func trust(_ secret: String) { state.withLock { $0.secrets.append(secret) } }

    var received: [Received] { state.withLock { $0.received } }

    /// The Standard Webhooks check, written out: base64 HMAC-SHA256 of "id.timestamp.body" with the secret's key,
    /// compared with every `v1,` signature of the header.
    static func verify(id: String, timestamp: String, body: String, header: String, secret: String) -> Bool {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst(6))) else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: key))
        let expected = Data(mac).base64EncodedString()
        return header.split(separator: " ").contains { $0 == "v1,\(expected)" }
    }

    private func record(id: String, timestamp: String, signature: String, body: String) -> Int {
        state.withLock { state in
            let status = state.answers.isEmpty ? 200 : state.answers.removeFirst()
            let valid = state.secrets.contains { Self.verify(id: id, timestamp: timestamp, body: body, header: signature, secret: $0) }
            state.received.append(Received(id: id, timestamp: timestamp, signature: signature, body: body, signatureValid: valid, answered: status))
            return status
        }
    }

    /// Runs the receiver on 127.0.0.1 (`port` 0: any free one) until `body` returns; `body` gets its URL.
    static func run(port: Int = 0, _ body: @escaping @Sendable (WebhookReceiver, String) async throws -> Void) async throws {
        let receiver = WebhookReceiver()
        let router = Router()
        // Every request is recorded, a GET too (a redirect followed as browsers do turns a POST into one).
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            func header(_ name: String) -> String { request.headers.first { $0.name.canonicalName == name }?.value ?? "" }
            let status = receiver.record(
                id: header("webhook-id"), timestamp: header("webhook-timestamp"), signature: header("webhook-signature"), body: String(buffer: bytes))
            let answer = receiver.answerBody.withLock { $0 } ?? Array("answered \(status)".utf8)
            switch receiver.manner.withLock({ $0 }) {
            case .plain:
                return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(bytes: answer)))
            case .redirect(let redirectStatus, let location):
                return Response(status: .init(code: redirectStatus), headers: [.location: location], body: .init(byteBuffer: ByteBuffer(bytes: answer)))
            case .drip(let interval):
                return Response(
                    status: .init(code: status),
                    body: ResponseBody { writer in
                        // Ends when the sender hangs up (the write fails) or after two minutes.
                        let end = ContinuousClock.now + .seconds(120)
                        while ContinuousClock.now < end {
                            try await writer.write(ByteBuffer(string: "x"))
                            try await Task.sleep(for: interval)
                        }
                        try await writer.finish(nil)
                    })
            }
        }
        router.post("hook", use: handler)
        router.get("hook", use: handler)
        let bound = Mutex<Int?>(nil)
        var logger = Logger(label: "trainyard.tests.receiver")
        logger.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in bound.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while bound.withLock({ $0 }) == nil {
                guard ContinuousClock.now < deadline else { throw TestFailure("the receiver did not start") }
                try await Task.sleep(for: .milliseconds(10))
            }
            let result: Result<Void, any Error>
            do {
                try await body(receiver, "http://127.0.0.1:\(bound.withLock { $0 } ?? 0)/hook")
                result = .success(())
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            try result.get()
        }
    }
}

/// Waits for a condition with a deadline.
func eventually(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("\(what) did not happen within \(timeout)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}
