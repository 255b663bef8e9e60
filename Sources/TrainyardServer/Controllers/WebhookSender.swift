import AsyncHTTPClient
import Foundation
import ServiceLifecycle
import Logging
import NIOCore
import NIOPosix
import TrainyardCore
import TrainyardStore

/// Sends the outbox's due webhook deliveries: claims a batch with a lease (several replicas, and several claimers
/// here, claim disjoint ones), POSTs each with the Standard Webhooks headers, with no database transaction or
/// connection held, and records every try; a failed one is tried again on the retry schedule. Runs until nothing is
/// due, then waits for its doorbell (a job change anywhere, through `trainyard_jobs`) or its interval.
///
/// Before every batch each target host is resolved again and every address it resolves to is judged by the
/// ``WebhookURLPolicy`` (a host that passed when its subscription was made may point inside since: DNS rebinding); the
/// batch's HTTP client then connects to the address that was judged, never resolving again (AsyncHTTPClient's
/// `dnsOverride`, which keeps the host name for the `Host` header, TLS SNI and the certificate check). Redirects are
/// not followed. Each try has one deadline for resolution, connection, the answer's head and the part of its body that
/// is kept.
struct WebhookSender: Sendable {
    let outbox: any WebhookRepository
    let settings: WebhookSettings
    let logger: Logger
    /// Where each try is counted by outcome, with its latency.
    var metrics: ServiceMetrics?
    /// Deliveries per claim. Large batches amortise the claim and the record (a handful of statements and one commit
    /// per batch): 64 gave 1,400 deliveries/s here, 500 about 2,500 (bench/webhooks). The price: a batch is recorded
    /// when its slowest try ended, so a receiver that times out delays the record of the batch it is in.
    static let batch = 500
    static let excerptBytes = WebhookTryResult.maximumExcerptBytes

    /// Claimers working at once: each claims a batch (the lease keeps them disjoint), sends it and records it, so
    /// one batch's round trips to the database overlap another's sends.
    static let claimers = 2

    /// How long a claim lasts: a batch's resolution and its tries (each bounded by the try timeout, all at once), and
    /// time to record it. A claimer that dies leaves its deliveries to be claimed again after this.
    var lease: Double { 2 * settings.timeout + 30 }

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
    /// On graceful shutdown the batch under way is sent and recorded, and no other is claimed.
    private func drain() async throws {
        while !Task.isShuttingDownGracefully {
            let outcome = try await outbox.sendWebhookDeliveries(
                limit: Self.batch, lease: lease, schedule: settings.schedule, disableAfterSeconds: settings.disableAfter
            ) { claimed in
                await send(claimed)
            }
            for (subscription, reason) in outcome.disabled {
                logger.warning("webhook subscription disabled", metadata: ["subscription": "\(subscription)", "reason": "\(reason)"])
            }
            if outcome.claimed == 0 || outcome.delivered == 0 { return }
        }
    }

    /// Sends a claimed batch: resolves and judges each target host once, then posts to the allowed ones through a
    /// client pinned to the judged addresses. A refused or unresolvable host's deliveries fail without a connection.
    func send(_ claimed: [WebhookSend]) async -> [(send: WebhookSend, result: WebhookTryResult)] {
        let started = ContinuousClock.now
        let deadline = started + .seconds(settings.timeout)
        let hosts = Set(claimed.compactMap { URL(string: $0.url)?.host })
        let policy = settings.policy
        let verdicts = await withTaskGroup(of: (String, Result<IPAddress, WebhookTargetRefusal>).self) { group in
            for host in hosts {
                group.addTask {
                    let addresses = await HostResolver.addresses(of: host, timeout: deadline - ContinuousClock.now)
                    return (host, policy.check(host: host, addresses: addresses))
                }
            }
            var verdicts: [String: Result<IPAddress, WebhookTargetRefusal>] = [:]
            for await (host, verdict) in group { verdicts[host] = verdict }
            return verdicts
        }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(Int64(settings.timeout * 1000)), read: .milliseconds(Int64(settings.timeout * 1000))),
            decompression: .disabled)
        // A refused connection is the try's answer: retried until the deadline, it was reported as a timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        for (host, verdict) in verdicts {
            guard case .success(let address) = verdict else {
                if case .failure(let refusal) = verdict {
                    let count = claimed.count { URL(string: $0.url)?.host == host }
                    logger.info("webhook target refused", metadata: ["webhook.host": "\(host)", "webhook.deliveries": "\(count)", "reason": "\(refusal)"])
                }
                continue
            }
            // AsyncHTTPClient looks its override up by the URL's host as Foundation parses it (an IPv6 literal in
            // brackets); a literal needs none, but pinning it too costs nothing.
            configuration.dnsOverride[host] = address.description
            configuration.dnsOverride["[\(host)]"] = address.description
        }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let results = await withTaskGroup(of: (WebhookSend, WebhookTryResult).self) { group in
            for send in claimed {
                group.addTask {
                    let host = URL(string: send.url)?.host
                    switch host.flatMap({ verdicts[$0] }) {
                    case .success(let address):
                        return (send, await post(send, client: client, address: address, started: started))
                    case .failure(let refusal):
                        return (send, Self.failure(refusal.description, since: started))
                    case nil:
                        return (send, Self.failure("the subscription's URL has no host", since: started))
                    }
                }
            }
            var results: [(send: WebhookSend, result: WebhookTryResult)] = []
            for await result in group { results.append(result) }
            return results
        }
        for (_, result) in results {
            metrics?.webhookDelivery(outcome: result.delivered ? "delivered" : "failed", after: .milliseconds(result.latencyMilliseconds))
        }
        do {
            try await client.shutdown()
        } catch {
            logger.warning("shutting a webhook batch's HTTP client down failed", metadata: ["error": "\(error)"])
        }
        return results
    }

    /// One try: the body as stored, signed for this try's timestamp, to `address`; at most the excerpt's bytes of
    /// the answer are read, and all of it must arrive by the try's deadline (from `started`).
    func post(_ send: WebhookSend, client: HTTPClient, address: IPAddress, started: ContinuousClock.Instant) async -> WebhookTryResult {
        guard let secret = WebhookSecret(send.secret) else {
            return Self.failure("the subscription's secret is unusable", since: started)
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
        let timeout = settings.timeout
        let deadline = started + .seconds(timeout)
        let prepared = request
        do {
            let (status, location, excerpt) = try await withThrowingTaskGroup(of: (Int, String?, [UInt8])?.self) { group in
                group.addTask {
                    let response = try await client.execute(prepared, deadline: .now() + .nanoseconds(Int64((deadline - ContinuousClock.now) / .nanoseconds(1))))
                    var kept: [UInt8] = []
                    for try await chunk in response.body {
                        kept += chunk.readableBytesView.prefix(Self.excerptBytes - kept.count)
                        // The rest is not read: leaving the loop closes the connection.
                        if kept.count >= Self.excerptBytes { break }
                    }
                    return (Int(response.status.code), response.headers.first(name: "location"), kept)
                }
                group.addTask {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let first else { throw TryDeadline() }
                return first
            }
            let text = StorableText.printable(excerpt, maximumBytes: Self.excerptBytes)
            var error: String?
            if (300..<400).contains(status) {
                let target = location.map { " to \(StorableText.printable(Array($0.utf8), maximumBytes: 200))" } ?? ""
                error = "the receiver answered HTTP \(status), a redirect\(target), which is not followed: subscribe the final URL"
            }
            return WebhookTryResult(statusCode: status, latencyMilliseconds: Self.milliseconds(since: started), responseExcerpt: text, error: error)
        } catch is TryDeadline {
            return Self.failure(
                "no complete answer from \(address) within \(Self.seconds(timeout)) s (TRAINYARD_WEBHOOK_TIMEOUT): connecting, the status or the body took too long",
                since: started)
        } catch where Self.isConnectionRefused(error) {
            let port = URL(string: send.url).flatMap { url in url.port ?? (url.scheme == "https" ? 443 : 80) }.map { ":\($0)" } ?? ""
            return Self.failure("the receiver refused the connection: nothing listens at \(address)\(port)", since: started)
        } catch {
            return Self.failure("sending to \(address) failed: \(error)", since: started)
        }
    }

    /// Whether connecting was refused (ECONNREFUSED), wherever the client keeps the system's error.
    static func isConnectionRefused(_ error: any Error) -> Bool {
        if let io = error as? IOError { return io.errnoCode == ECONNREFUSED }
        if let failure = error as? NIOConnectionError { return failure.connectionErrors.contains { isConnectionRefused($0.error) } }
        return false
    }

    /// A try that got no answer.
    static func failure(_ reason: String, since started: ContinuousClock.Instant) -> WebhookTryResult {
        WebhookTryResult(
            statusCode: nil, latencyMilliseconds: milliseconds(since: started), responseExcerpt: nil,
            error: StorableText.printable(Array(reason.utf8), maximumBytes: WebhookTryResult.maximumTextBytes))
    }

    static func milliseconds(since started: ContinuousClock.Instant) -> Int {
        Int((ContinuousClock.now - started) / .milliseconds(1))
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// The try's deadline passed first.
    struct TryDeadline: Error {}
}
