import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import TrainyardCore
import TrainyardStore

/// Sends the outbox's due webhook deliveries: claims a batch (several replicas, and several claimers here, claim
/// disjoint ones), POSTs each with the Standard Webhooks headers, and records every try; a failed one is tried again
/// on the retry schedule. Runs until
/// nothing is due, then waits for its doorbell (a job change anywhere, through `trainyard_jobs`) or its interval.
struct WebhookSender: Sendable {
    let store: PostgresStore
    let settings: WebhookSettings
    let logger: Logger
    /// Deliveries per claim. Large batches amortise the claim and the record (a handful of statements and one commit
    /// per batch): 64 gave 1,400 deliveries/s here, 500 about 2,500 (bench/webhooks). The price: a batch is recorded
    /// when its slowest try ended, so a receiver that times out delays the record of the batch it is in.
    static let batch = 500
    static let excerptBytes = 1024

    /// Claimers working at once: each claims a batch (SKIP LOCKED keeps them disjoint), sends it and records it, so
    /// one batch's round trips to the database overlap another's sends.
    static let claimers = 2

    func runOnce() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.claimers {
                group.addTask { try await drain() }
            }
            try await group.waitForAll()
        }
    }

    /// Sends batches until nothing is due. A delivered try may make the next delivery of the same job and
    /// subscription due (they go one at a time, in order), so the loop only stops on an empty claim, or a batch of
    /// which nothing was delivered (what is left is due later, on its schedule).
    private func drain() async throws {
        while true {
            let outcome = try await store.sendWebhookDeliveries(
                limit: Self.batch, schedule: settings.schedule, disableAfterSeconds: settings.disableAfter
            ) { claimed in
                await withTaskGroup(of: (WebhookSend, WebhookTryResult).self) { group in
                    for send in claimed {
                        group.addTask { (send, await post(send)) }
                    }
                    var results: [(send: WebhookSend, result: WebhookTryResult)] = []
                    for await result in group { results.append(result) }
                    return results
                }
            }
            for (subscription, reason) in outcome.disabled {
                logger.warning("webhook subscription disabled", metadata: ["subscription": "\(subscription)", "reason": "\(reason)"])
            }
            if outcome.claimed == 0 || outcome.delivered == 0 { return }
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
            let answer = try await response.body.collect(upTo: 1 << 20)
            // The receiver's bytes, made storable (a NUL, invalid UTF-8), at most the excerpt's size.
            let text = answer.withUnsafeReadableBytes { bytes in
                StorableText.decode(UnsafeRawBufferPointer(rebasing: bytes.prefix(Self.excerptBytes)), maximumBytes: Self.excerptBytes)
            }
            return WebhookTryResult(statusCode: Int(response.status.code), latencyMilliseconds: elapsed(), responseExcerpt: text, error: nil)
        } catch {
            return WebhookTryResult(
                statusCode: nil, latencyMilliseconds: elapsed(), responseExcerpt: nil, error: StorableText.sanitize("\(error)", maximumBytes: 500))
        }
    }
}
