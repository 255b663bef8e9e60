import Foundation
import Testing
import Trainyard
import TrainyardCore

struct WebhookVerifierTests {
    static let vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let vectorBody = Array(#"{"test": 2432232314}"#.utf8)
    static let vectorTime = Date(timeIntervalSince1970: 1_614_265_330)

    /// The Standard Webhooks specification's published example, the one the server's signer is tested with.
    @Test func theStandardWebhooksVectorVerifies() throws {
        let verifier = try WebhookVerifier(secret: Self.vectorSecret)
        try verifier.verify(
            body: Self.vectorBody, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330",
            signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", now: Self.vectorTime)
    }

    @Test func whatTheServersSignerSignsVerifiesAndNothingElseDoes() throws {
        let secret = WebhookSecret.generate()
        let verifier = try WebhookVerifier(secret: secret.text)
        let body = Array(#"{"type":"job.completed","data":{"name":"mnist"}}"#.utf8)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let signature = secret.signature(id: "msg_1", timestamp: 1_800_000_000, body: body)
        // a rotated secret's signature beside the current one (Standard Webhooks: space-separated)
        try verifier.verify(body: body, id: "msg_1", timestamp: "1800000000", signature: "v1,AAAA \(signature)", now: now)
        #expect(throws: WebhookVerifier.Failure.signatureMismatch) {
            try verifier.verify(body: body + [0x20], id: "msg_1", timestamp: "1800000000", signature: signature, now: now)
        }
        #expect(throws: WebhookVerifier.Failure.signatureMismatch) {
            try verifier.verify(body: body, id: "msg_2", timestamp: "1800000000", signature: signature, now: now)
        }
        // a replay six minutes later
        #expect(throws: WebhookVerifier.Failure.timestampOutsideTolerance(seconds: 360)) {
            try verifier.verify(body: body, id: "msg_1", timestamp: "1800000000", signature: signature, now: now.addingTimeInterval(360))
        }
        #expect(throws: WebhookVerifier.Failure.missingHeader("webhook-signature")) {
            try verifier.verify(body: body, id: "msg_1", timestamp: "1800000000", signature: nil, now: now)
        }
        #expect(throws: WebhookVerifier.Failure.invalidTimestamp("soon")) {
            try verifier.verify(body: body, id: "msg_1", timestamp: "soon", signature: signature, now: now)
        }
    }

    @Test func aSecretNotInItsFormIsRefused() {
        #expect(throws: WebhookVerifier.Failure.invalidSecret) { try WebhookVerifier(secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") }
        #expect(throws: WebhookVerifier.Failure.invalidSecret) { try WebhookVerifier(secret: "whsec_AAAA") }
    }
}
