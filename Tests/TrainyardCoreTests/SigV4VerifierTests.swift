import Foundation
import Testing
import TrainyardCore

/// The verifier against AWS's published vectors (the aws-sig-v4-test-suite: AKIDEXAMPLE, 2015-08-30T12:36:00Z,
/// us-east-1, service "service"), and against requests tampered with after signing: what boto3 and the aws CLI get
/// back is AWS's own error type and message.
@Suite struct SigV4VerifierTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let signedAt = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    static let verifier = SigV4Verifier(service: "service")

    static func keys(_ id: String) -> String? { id == "AKIDEXAMPLE" ? secret : nil }

    /// The suite's post-x-www-form-urlencoded request, with its published Authorization header.
    static func post(
        body: String = "Param1=value1", host: String = "example.amazonaws.com",
        authorization: String? =
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        extra: [(name: String, value: String)] = []
    ) -> SigV4Request {
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Host", host), ("X-Amz-Date", "20150830T123600Z"),
        ]
        if let authorization { headers.append(("Authorization", authorization)) }
        return SigV4Request(method: "POST", path: "/", headers: headers + extra, payloadHash: SigV4Signer.payloadHash(Data(body.utf8)))
    }

    @Test func thePublishedRequestsVerify() throws {
        let post = try Self.verifier.verify(Self.post(), now: Self.signedAt, secret: Self.keys).get()
        #expect(post == SigV4Identity(accessKeyID: "AKIDEXAMPLE", region: "us-east-1", service: "service", signedAt: Self.signedAt))
        let vanilla = SigV4Request(
            method: "GET", path: "/",
            headers: [
                ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
                ("Authorization",
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            ],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(try Self.verifier.verify(vanilla, now: Self.signedAt, secret: Self.keys).get().accessKeyID == "AKIDEXAMPLE")
        // A header added on the way (a proxy's) was not signed and does not matter; nor does a clock within the skew.
        let proxied = Self.post(extra: [("User-Agent", "a proxy added me"), ("X-Forwarded-For", "10.0.0.1")])
        #expect(throws: Never.self) { try Self.verifier.verify(proxied, now: Self.signedAt.addingTimeInterval(14 * 60), secret: Self.keys).get() }
    }

    @Test func aRequestChangedAfterSigningOrSignedWithAnotherSecretIsRefusedAsAWSRefusesIt() {
        let tampered = [
            Self.post(body: "Param1=value2"),
            Self.post(host: "attacker.example"),
            Self.post(
                authorization:
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473b"),
            // The signed header list cut down: the signature no longer covers what it claims.
            Self.post(
                authorization:
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
        ]
        for request in tampered {
            #expect(Self.verifier.verify(request, now: Self.signedAt, secret: Self.keys) == .failure(.mismatch))
        }
        #expect(Self.verifier.verify(Self.post(), now: Self.signedAt, secret: { _ in "not the secret" }) == .failure(.mismatch))
        let refusal = SigV4Refusal.mismatch
        #expect(refusal.errorType == "InvalidSignatureException" && refusal.status == 403)
        #expect(
            refusal.message
                == "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        )
    }

    @Test func anUnknownKeyAMissingHeaderAndAnotherServicesScopeEachSayWhat() {
        let unknown = Self.verifier.verify(Self.post(), now: Self.signedAt, secret: { _ in nil })
        #expect(unknown == .failure(.unknownKey))
        #expect(SigV4Refusal.unknownKey.errorType == "UnrecognizedClientException" && SigV4Refusal.unknownKey.message == "The security token included in the request is invalid.")

        let unsigned = Self.verifier.verify(Self.post(authorization: nil), now: Self.signedAt, secret: Self.keys)
        #expect(unsigned == .failure(.missingAuthentication))
        #expect(SigV4Refusal.missingAuthentication.errorType == "MissingAuthenticationTokenException" && SigV4Refusal.missingAuthentication.status == 403)

        let sagemaker = SigV4Verifier(service: "sagemaker").verify(Self.post(), now: Self.signedAt, secret: Self.keys)
        #expect(sagemaker == .failure(.invalid("Credential should be scoped to correct service: 'sagemaker'.")))

        let noSignature = Self.verifier.verify(
            Self.post(authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"), now: Self.signedAt, secret: Self.keys)
        guard case .failure(let refusal) = noSignature else { Issue.record("a header without a signature verified"); return }
        #expect(refusal.errorType == "IncompleteSignatureException" && refusal.status == 400)
        #expect(refusal.message.hasPrefix("Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."))

        let otherDay = Self.post(
            authorization:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
        #expect(
            Self.verifier.verify(otherDay, now: Self.signedAt, secret: Self.keys)
                == .failure(
                    .invalid(
                        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'."
                    )))
    }

    @Test func aSignatureOutsideTheSkewIsExpiredOrNotYetCurrent() {
        let late = Self.verifier.verify(Self.post(), now: Self.signedAt.addingTimeInterval(16 * 60), secret: Self.keys)
        guard case .failure(let expired) = late else { Issue.record("a stale signature verified"); return }
        #expect(expired.errorType == "InvalidSignatureException" && expired.status == 403)
        #expect(expired.message == "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)")

        let early = Self.verifier.verify(Self.post(), now: Self.signedAt.addingTimeInterval(-16 * 60), secret: Self.keys)
        guard case .failure(let future) = early else { Issue.record("a signature from the future verified"); return }
        #expect(future.message == "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z (20150830T122000Z + 15 min.)")
    }
}
