import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import TrainyardCore
import TrainyardStore

/// Sends the outbox's due webhook deliveries: claims a batch (several replicas claim disjoint ones), POSTs each with
/// the Standard Webhooks headers, and records every try; a failed one is tried again on the retry schedule. Runs until
/// nothing is due, then waits for its doorbell (a job change anywhere, through `trainyard_jobs`) or its interval.
struct WebhookSender: Sendable {
    let store: PostgresStore
    let settings: WebhookSettings
    let logger: Logger
    static let batch = 64
    static let excerptBytes = 1024

    func runOnce() async throws {
        while true {
            // The lease outlasts a try (its timeout) a little: a replica that dies mid-try leaves its claims to others that soon.
            let claimed = try await store.claimWebhookDeliveries(limit: Self.batch, leaseSeconds: settings.timeout + 5)
            if claimed.isEmpty { return }
            await withTaskGroup(of: Void.self) { group in
                for send in claimed {
                    group.addTask { await deliver(send) }
                }
            }
            if claimed.count < Self.batch { return }
        }
    }

    private func deliver(_ send: WebhookSend) async {
        let result = await post(send)
        do {
            if let reason = try await store.recordWebhookTry(send, result: result, schedule: settings.schedule, disableAfterSeconds: settings.disableAfter) {
                logger.warning("webhook subscription disabled", metadata: ["subscription": "\(send.subscriptionID)", "reason": "\(reason)"])
            }
        } catch {
            // The claim's lease runs out and the delivery is tried again: at least once, never lost.
            logger.error("recording a webhook try failed", metadata: ["delivery": "\(send.deliveryID)", "error": "\(error)"])
        }
    }

    /// One try: the body as stored, signed for this try's timestamp.
    func post(_ send: WebhookSend) async -> WebhookTryResult {
        let started = ContinuousClock.now
        func elapsed() -> Int { Int((ContinuousClock.now - started) / .milliseconds(1)) }
        guard let secret = WebhookSecret(send.secret) else {
            return WebhookTryResult(statusCode: nil, latencyMilliseconds: 0, responseExcerpt: nil, error: "the subscription's secret is unusable")
        }
        let body = Array(send.payload.utf8)
        let timestamp = Int64(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: send.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Trainyard-Webhooks/1")
        request.headers.add(name: "webhook-id", value: send.deliveryID)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: secret.signature(id: send.deliveryID, timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(settings.timeout * 1000)))
            var excerpt = try await response.body.collect(upTo: 1 << 20)
            let text = excerpt.readString(length: min(excerpt.readableBytes, Self.excerptBytes)) ?? ""
            return WebhookTryResult(statusCode: Int(response.status.code), latencyMilliseconds: elapsed(), responseExcerpt: text, error: nil)
        } catch {
            return WebhookTryResult(statusCode: nil, latencyMilliseconds: elapsed(), responseExcerpt: nil, error: String("\(error)".prefix(500)))
        }
    }
}
