import Crypto
public import Foundation

/// Checks a Trainyard webhook as a receiver gets it (Standard Webhooks): the `webhook-signature` must be the
/// HMAC-SHA256 of `"<webhook-id>.<webhook-timestamp>.<body>"` under the subscription's secret, and the timestamp within
/// `tolerance` of the receiver's clock, so that a captured delivery cannot be replayed later.
///
/// ```swift
/// let verifier = try WebhookVerifier(secret: "whsec_…")
/// router.post("/hooks") { request, _ in
///     let body = try await request.body.collect(upTo: 1 << 20)
///     try verifier.verify(body: Array(buffer: body), id: request.headers[.init("webhook-id")!],
///                         timestamp: request.headers[.init("webhook-timestamp")!], signature: request.headers[.init("webhook-signature")!])
///     …
/// }
/// ```
public struct WebhookVerifier: Sendable {
    /// Why a delivery was not accepted.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The secret is not `whsec_<base64 of 24 to 64 bytes>`.
        case invalidSecret
        /// A `webhook-id`, `webhook-timestamp` or `webhook-signature` header is missing.
        case missingHeader(String)
        /// The timestamp is not whole seconds since 1970.
        case invalidTimestamp(String)
        /// The delivery was signed too long before or after now.
        case timestampOutsideTolerance(seconds: Int64)
        /// No `v1` signature of the header matches.
        case signatureMismatch

        public var description: String {
            switch self {
            case .invalidSecret: "the webhook secret is not whsec_<base64 of 24 to 64 bytes>"
            case .missingHeader(let name): "the delivery has no \(name) header"
            case .invalidTimestamp(let text): "webhook-timestamp \(text.prefix(32)) is not whole seconds since 1970"
            case .timestampOutsideTolerance(let seconds): "the delivery was signed \(abs(seconds)) s \(seconds < 0 ? "ahead of" : "before") now, outside the tolerance"
            case .signatureMismatch: "no signature of webhook-signature matches the body under this secret"
            }
        }
    }

    let key: [UInt8]
    /// How far the delivery's timestamp may be from now (Standard Webhooks: 5 minutes).
    public var tolerance: Duration

    /// A verifier for the subscription whose secret is `secret` (`whsec_…`, as the service showed it once).
    public init(secret: String, tolerance: Duration = .seconds(300)) throws(Failure) {
        guard secret.hasPrefix("whsec_"), let data = Data(base64Encoded: String(secret.dropFirst(6))), (24...64).contains(data.count) else {
            throw .invalidSecret
        }
        self.key = Array(data)
        self.tolerance = tolerance
    }

    /// Accepts the delivery or throws why not. `now` is the receiver's clock.
    public func verify(body: [UInt8], id: String?, timestamp: String?, signature: String?, now: Date = Date()) throws(Failure) {
        guard let id else { throw .missingHeader("webhook-id") }
        guard let timestamp else { throw .missingHeader("webhook-timestamp") }
        guard let signature else { throw .missingHeader("webhook-signature") }
        guard let seconds = Int64(timestamp) else { throw .invalidTimestamp(timestamp) }
        let age = Int64(now.timeIntervalSince1970.rounded(.down)) - seconds
        if Duration.seconds(abs(age)) > tolerance { throw .timestampOutsideTolerance(seconds: age) }
        var signed = Array("\(id).\(timestamp).".utf8)
        signed.append(contentsOf: body)
        for candidate in signature.split(separator: " ") {
            let parts = candidate.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let given = Data(base64Encoded: String(parts[1])) else { continue }
            // Compared in constant time.
            if HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: signed, using: SymmetricKey(data: key)) { return }
        }
        throw .signatureMismatch
    }
}
