import Foundation
import Testing
import TrainyardCore

/// The signer against AWS's published vectors: the aws-sig-v4-test-suite (AKIDEXAMPLE, 2015-08-30T12:36:00Z,
/// us-east-1, service "service") and the worked S3 examples of the S3 SigV4 documentation (examplebucket).
@Suite struct SigV4SignerTests {
    static let suite = SigV4Signer(
        credentials: SigV4Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    static let s3Docs = SigV4Signer(
        credentials: SigV4Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3")
    static let s3DocsDate = Date(timeIntervalSince1970: 1_369_353_600)  // 20130524T000000Z

    @Test func amzDateIsTheBasicISOFormatInUTC() {
        #expect(SigV4Signer.amzDate(Self.suiteDate) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(Self.s3DocsDate) == "20130524T000000Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 951_782_400)) == "20000229T000000Z")
    }

    @Test func getVanillaMatchesTheTestSuite() {
        // given
        let request = SigV4Request(
            method: "GET", path: "/", headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash)
        // when
        let signed = Self.suite.sign(request, date: Self.suiteDate)
        // then
        #expect(
            signed.canonicalRequest
                == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func getVanillaQueryOrderKeyCaseSortsTheQuery() {
        let request = SigV4Request(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")], payloadHash: SigV4Signer.emptyPayloadHash)
        let signed = Self.suite.sign(request, date: Self.suiteDate)
        #expect(signed.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func postXWWWFormURLEncodedSignsTheContentTypeAndTheBody() {
        let body = "Param1=value1"
        let request = SigV4Request(
            method: "POST", path: "/",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.payloadHash(Data(body.utf8)))
        let signed = Self.suite.sign(request, date: Self.suiteDate)
        #expect(request.payloadHash == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        #expect(signed.stringToSign.split(separator: "\n").last == "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
    }

    @Test func theS3GetObjectExampleWithARange() {
        let request = SigV4Request(
            method: "GET", path: "/test.txt",
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
                ("x-amz-date", "20130524T000000Z"),
            ], payloadHash: SigV4Signer.emptyPayloadHash)
        let signed = Self.s3Docs.sign(request, date: Self.s3DocsDate)
        #expect(signed.stringToSign.split(separator: "\n").last == "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(signed.signedHeaders == "host;range;x-amz-content-sha256;x-amz-date")
    }

    @Test func theS3ListObjectsExampleSortsItsParameters() {
        let request = SigV4Request(
            method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
                ("x-amz-date", "20130524T000000Z"),
            ], payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(Self.s3Docs.sign(request, date: Self.s3DocsDate).signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func aVerifierSigningOnlyTheNamedHeadersGetsTheClientsSignature() {
        // given: a request that also carries a header the client did not sign
        let request = SigV4Request(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"), ("User-Agent", "proxy added me")],
            payloadHash: SigV4Signer.emptyPayloadHash)
        // when
        let signed = Self.suite.sign(request, signedHeaderNames: ["host", "x-amz-date"], date: Self.suiteDate)
        // then
        #expect(signed.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func uriEncodingKeepsOnlyUnreservedCharacters() {
        #expect(SigV4Signer.uriEncode("a-b_c.d~e", encodeSlash: true) == "a-b_c.d~e")
        #expect(SigV4Signer.uriEncode("a b/c+d=é", encodeSlash: true) == "a%20b%2Fc%2Bd%3D%C3%A9")
        #expect(SigV4Signer.canonicalURI("/test$file.text") == "/test%24file.text")
        #expect(SigV4Signer.canonicalQuery([("uploads", "")]) == "uploads=")
    }
}
