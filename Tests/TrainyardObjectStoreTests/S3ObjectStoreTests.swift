import Foundation
import NIOCore
import Testing
import TrainyardCore
@testable import TrainyardObjectStore
import TrainyardTestSupport

/// What only the S3 store has: signatures the server checks, a server that goes away, addressing styles.
@Suite struct S3ObjectStoreTests {
    @Test func aWrongSecretIsRefusedWithSignatureDoesNotMatch() async throws {
        // given
        let server = try await TestSeaweed.shared()
        let right = try server.store()
        try await right.createBucket("signatures")
        let wrong = try server.store(secret: "not-the-secret")
        // when / then
        do {
            _ = try await wrong.head(bucket: "signatures", key: "anything")
            // HEAD has no body to carry the code: a listing does.
            _ = try await wrong.listPage(bucket: "signatures", prefix: "", continuationToken: nil, maxKeys: 10)
            Issue.record("a wrong secret was accepted")
        } catch let error as ObjectStoreError {
            #expect(["SignatureDoesNotMatch", "AccessDenied"].contains(error.code))
        }
        await #expect(throws: ObjectStoreError.self) {
            _ = try await wrong.listPage(bucket: "signatures", prefix: "", continuationToken: nil, maxKeys: 10)
        }
        do {
            _ = try await wrong.listPage(bucket: "signatures", prefix: "", continuationToken: nil, maxKeys: 10)
        } catch let error as ObjectStoreError {
            #expect(error.code == "SignatureDoesNotMatch")
            #expect("\(error)".contains("s3://signatures/"))
        }
    }

    @Test func signedPayloadsAreAcceptedToo() async throws {
        let server = try await TestSeaweed.shared()
        let store = try server.store { $0.payloadSigning = .signed; $0.multipartThreshold = 5 << 20; $0.partSize = 5 << 20 }
        try await store.createBucket("signed-payloads")
        let info = try await store.put(bucket: "signed-payloads", key: "k", body: PatternBody(chunkSize: 1 << 20, totalBytes: 12 << 20))
        #expect(info.size == 12 << 20)
        #expect(try await store.head(bucket: "signed-payloads", key: "k")?.size == 12 << 20)
    }

    @Test func aServerThatGoesAwayMidUploadGivesAClearErrorAndNoObject() async throws {
        // given: a server of this test's own, and a 64 MiB body that kills it after 24 MiB
        let server = try await TestSeaweed.start()
        defer { server.stop() }
        let store = try server.store { $0.maxAttempts = 3; $0.baseBackoff = 0.05; $0.requestTimeout = 3 }
        try await store.createBucket("outputs")
        let body = PatternBody(chunkSize: 1 << 20, totalBytes: 64 << 20, onChunk: { sent in if sent == 24 << 20 { server.kill() } })
        // when
        var failure: ObjectStoreError?
        do {
            _ = try await store.put(bucket: "outputs", key: "job/output/model.tar.gz", body: body)
        } catch let error as ObjectStoreError {
            failure = error
        }
        // then: the error says which object and that the store is unreachable; once back, there is no object
        let error = try #require(failure)
        #expect(error.code == "ServiceUnavailable")
        #expect("\(error)".contains("s3://outputs/job/output/model.tar.gz"))
        try await server.launch()
        let again = try server.store()
        let deadline = ContinuousClock.now + .seconds(60)
        var listed: [ObjectInfo]?
        while listed == nil, ContinuousClock.now < deadline {
            listed = try? await again.list(bucket: "outputs", prefix: "")
            if listed == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(listed == [])
        #expect(try await again.head(bucket: "outputs", key: "job/output/model.tar.gz") == nil)
    }

    @Test func addressingStylesPlaceTheBucketInThePathOrTheHost() async throws {
        let credentials = SigV4Credentials(accessKeyID: "a", secretAccessKey: "b")
        let path = try S3ObjectStore(
            configuration: S3Configuration(endpoint: "http://127.0.0.1:8333", credentials: credentials), logger: .init(label: "t"))
        #expect(path.location(bucket: "models", key: "a b/c") == ("127.0.0.1:8333", "/models/a b/c"))
        let virtual = try S3ObjectStore(
            configuration: S3Configuration(endpoint: "https://s3.eu-west-1.amazonaws.com", credentials: credentials, addressing: .virtualHosted),
            logger: .init(label: "t"))
        #expect(virtual.location(bucket: "models", key: "a b/c") == ("models.s3.eu-west-1.amazonaws.com", "/a b/c"))
        let request = try await virtual.request(.init(method: .GET, bucket: "models", key: "a b/c"))
        #expect(request.url == "https://models.s3.eu-west-1.amazonaws.com/a%20b/c")
        #expect(throws: S3ConfigurationError.self) {
            try S3ObjectStore(configuration: S3Configuration(endpoint: "ftp://x", credentials: credentials), logger: .init(label: "t"))
        }
    }

    @Test func theSignerSignsTheHostOfTheBucketWhateverTheCallerNames() throws {
        // A caller (an agent) naming another bucket's host must not get a signature for that bucket: with
        // virtual-hosted addressing the host is the bucket.
        let configuration = S3Configuration(
            endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1", credentials: nil, addressing: .virtualHosted)
        let credentials = SigV4Credentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token")
        let authorizer = try SigV4RequestAuthorizer(configuration: configuration, credentials: credentials)
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        func sign(host: String) -> [S3SignatureRequest.Field] {
            authorizer.authorize(
                S3SignatureRequest(
                    method: "GET", bucket: "models", key: "a", headers: [.init(name: "host", value: host), .init(name: "x-amz-date", value: "19990101T000000Z")],
                    payloadHash: SigV4Signer.unsignedPayload),
                date: date)
        }
        let honest = sign(host: "models.s3.eu-west-1.amazonaws.com")
        #expect(sign(host: "secrets.s3.eu-west-1.amazonaws.com") == honest)
        #expect(honest.map(\.name) == ["x-amz-content-sha256", "x-amz-date", "x-amz-security-token", "authorization"])
        #expect(honest.first { $0.name == "x-amz-date" }?.value == "20231114T221320Z")
        let authorization = honest.last?.value ?? ""
        #expect(authorization.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"), "\(authorization)")
        let expected = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "s3").sign(
            SigV4Request(
                method: "GET", path: "/a",
                headers: [("host", "models.s3.eu-west-1.amazonaws.com"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                          ("x-amz-date", "20231114T221320Z"), ("x-amz-security-token", "token")],
                payloadHash: "UNSIGNED-PAYLOAD"), date: date)
        #expect(authorization == expected.authorization)
    }
}
