import Testing
import TrainyardCore

/// Which S3 calls the server signs for a host's agent: the operations a worker needs, inside its job's locations only.
@Suite struct AgentS3ScopeTests {
    /// Project `proj` in bucket `trainyard`: a channel `proj/a`, code `proj/code/sourcedir.tar.gz`, a read-only dataset of
    /// another bucket, checkpoints `proj/ckpt`, output path `proj/models`, attempt 2.
    static let scope: AgentS3Scope = {
        var spec = JobSpec(instanceType: "ml.m5.large")
        spec.entryPoint = "train.py"
        spec.sourceDir = "s3://trainyard/proj/code/sourcedir.tar.gz"
        spec.inputs = [
            "train": InputChannel(s3URI: "s3://trainyard/proj/a"), "shared": InputChannel(s3URI: "s3://datasets/imagenet/"),
            "local": InputChannel(s3URI: "file:///data/local"),
        ]
        spec.checkpointS3URI = "s3://trainyard/proj/ckpt"
        spec.outputPath = "s3://trainyard/proj/models"
        return AgentS3Scope(spec: spec, attemptOutputPrefix: "s3://trainyard/proj/models/job/attempts/2")
    }()

    static func call(
        _ method: String, _ bucket: String = "trainyard", key: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        payloadHash: String = "UNSIGNED-PAYLOAD"
    ) -> S3SignatureRequest {
        S3SignatureRequest(
            method: method, bucket: bucket, key: key, query: query.map { .init(name: $0.0, value: $0.1) },
            headers: [.init(name: "host", value: "127.0.0.1:8333")] + headers.map { .init(name: $0.0, value: $0.1) }, payloadHash: payloadHash)
    }

    static func listing(_ bucket: String = "trainyard", prefix: String?, token: String? = nil) -> S3SignatureRequest {
        var query = [("list-type", "2"), ("max-keys", "1000")]
        if let prefix { query.append(("prefix", prefix)) }
        if let token { query.append(("continuation-token", token)) }
        return call("GET", bucket, key: "", query: query)
    }

    static func refusal(_ request: S3SignatureRequest) -> S3SigningRefusal? {
        do {
            _ = try scope.authorize(request)
            return nil
        } catch {
            return error
        }
    }

    @Test func theScopeReadsChannelsCodeCheckpointsAndItsAttemptsOutputAndWritesOnlyCheckpointsAndThatOutput() {
        #expect(Self.scope.readable.map(\.description).sorted() == ["s3://datasets/imagenet/", "s3://trainyard/proj/a", "s3://trainyard/proj/code/sourcedir.tar.gz"])
        #expect(Self.scope.writable.map(\.description) == ["s3://trainyard/proj/ckpt", "s3://trainyard/proj/models/job/attempts/2"])
    }

    @Test(arguments: [
        (call("GET", key: "proj/a/part-0.txt", headers: [("range", "bytes=0-8388607")]), S3Operation.getObject),
        (call("HEAD", key: "proj/a/part-0.txt"), .headObject),
        (call("GET", key: "proj/code/sourcedir.tar.gz"), .getObject),
        (call("GET", "datasets", key: "imagenet/train/0001.jpg"), .getObject),
        (listing(prefix: "proj/a/"), .listObjectsV2),
        (listing(prefix: "proj/a/sub/", token: "abc"), .listObjectsV2),
        (listing("datasets", prefix: "imagenet/"), .listObjectsV2),
        (listing(prefix: "proj/ckpt/"), .listObjectsV2),
        (call("GET", key: "proj/ckpt/.trainyard/manifests/algo-1.json"), .getObject),
        (call("PUT", key: "proj/ckpt/step-3.pt", headers: [("content-length", "12"), ("content-type", "application/octet-stream")]), .putObject),
        (call("DELETE", key: "proj/ckpt/step-1.pt"), .deleteObject),
        (call("PUT", key: "proj/models/job/attempts/2/algo-1/model.tar.gz"), .putObject),
        (call("POST", key: "proj/models/job/attempts/2/algo-1/model.tar.gz", query: [("uploads", "")]), .createMultipartUpload),
        (call("PUT", key: "proj/models/job/attempts/2/algo-1/model.tar.gz", query: [("partNumber", "3"), ("uploadId", "u1")]), .uploadPart),
        (call(
            "POST", key: "proj/models/job/attempts/2/algo-1/model.tar.gz", query: [("uploadId", "u1")],
            payloadHash: String(repeating: "ab", count: 32)), .completeMultipartUpload),
        (call("DELETE", key: "proj/models/job/attempts/2/algo-1/model.tar.gz", query: [("uploadId", "u1")]), .abortMultipartUpload),
        (call("GET", key: "proj/models/job/attempts/2/algo-1/model.tar.gz"), .getObject),
    ])
    func whatAWorkerDoesIsSigned(request: S3SignatureRequest, operation: S3Operation) throws {
        #expect(try Self.scope.authorize(request) == operation)
    }

    @Test func anotherProjectsPrefixIsRefusedForEveryOperation() {
        for request in [
            Self.call("GET", key: "other/model.tar.gz"), Self.call("HEAD", key: "other/model.tar.gz"), Self.listing(prefix: "other/"),
            Self.call("PUT", key: "other/model.tar.gz"), Self.call("DELETE", key: "other/model.tar.gz"),
            Self.call("POST", key: "other/model.tar.gz", query: [("uploads", "")]),
        ] {
            guard case .outsideJob(_, let target, _, let allowed) = Self.refusal(request) else {
                Issue.record("\(request.method) \(request.target) was signed")
                continue
            }
            #expect(target.hasPrefix("s3://trainyard/other"))
            #expect(!allowed.isEmpty)
        }
        let refusal = Self.refusal(Self.call("PUT", key: "other/model.tar.gz"))
        #expect(
            refusal?.description
                == "PutObject of s3://trainyard/other/model.tar.gz is not signed for an agent: it lies outside where this host's job may write "
                + "(s3://trainyard/proj/ckpt, s3://trainyard/proj/models/job/attempts/2)")
    }

    @Test func aLocationHoldsWholeSegmentsOnly() {
        // proj/a must not reach proj/ab, by listing or by object
        #expect(Self.refusal(Self.listing(prefix: "proj/ab")) != nil)
        #expect(Self.refusal(Self.listing(prefix: "proj/a")) != nil, "a listing of proj/a would show proj/ab… too")
        #expect(Self.refusal(Self.call("GET", key: "proj/ab/secret")) != nil)
        #expect(Self.refusal(Self.call("GET", key: "proj/a")) == nil, "the location itself is an object a channel may name")
        #expect(Self.refusal(Self.call("GET", key: "proj//a/x")) != nil, "S3 compares strings: proj//a/x is not under proj/a/")
        #expect(Self.refusal(Self.call("PUT", key: "proj/ckpt-other/x")) != nil)
        #expect(Self.refusal(Self.call("PUT", key: "proj/models/job/attempts/1/algo-1/model.tar.gz")) != nil, "another attempt's output")
        #expect(Self.refusal(Self.call("PUT", key: "proj/models/other-job/output/model.tar.gz")) != nil, "output_path holds other jobs' outputs")
        #expect(Self.refusal(Self.listing(prefix: nil)) != nil, "a listing of the whole bucket")
        #expect(Self.refusal(Self.listing("datasets", prefix: "imagenet-private/")) != nil)
    }

    @Test func readOnlyLocationsAreNotWritten() {
        #expect(Self.refusal(Self.call("PUT", key: "proj/a/part-9.txt")) == .outsideJob(
            operation: .putObject, target: "s3://trainyard/proj/a/part-9.txt", writes: true,
            allowed: [.s3(bucket: "trainyard", key: "proj/ckpt"), .s3(bucket: "trainyard", key: "proj/models/job/attempts/2")]))
        #expect(Self.refusal(Self.call("DELETE", "datasets", key: "imagenet/train/0001.jpg")) != nil)
        #expect(Self.refusal(Self.call("POST", key: "proj/code/sourcedir.tar.gz", query: [("uploads", "")])) != nil)
    }

    @Test func dotSegmentsAreRefused() {
        #expect(Self.refusal(Self.call("PUT", key: "proj/ckpt/../../other/model.tar.gz"))?.description.contains("'..' segments") == true)
        #expect(Self.refusal(Self.listing(prefix: "proj/a/../../other/")) != nil)
    }

    @Test(arguments: ["x-amz-copy-source", "x-amz-acl", "x-amz-grant-full-control", "x-amz-server-side-encryption-customer-key", "x-amz-meta-owner",
                      "x-amz-tagging", "x-amz-website-redirect-location", "authorization-extra"])
    func headersBeyondTheWhitelistAreRefused(header: String) {
        let refusal = Self.refusal(Self.call("PUT", key: "proj/ckpt/step-3.pt", headers: [(header, "trainyard/other/model.tar.gz")]))
        guard case .headerNotSigned(let operation, let target, let name, _) = refusal else {
            Issue.record("\(header) was signed")
            return
        }
        #expect(operation == .putObject && target == "s3://trainyard/proj/ckpt/step-3.pt" && name == header)
    }

    @Test func aCopyIsRefusedNamingTheHeader() {
        let refusal = Self.refusal(Self.call("PUT", key: "proj/ckpt/stolen", headers: [("X-Amz-Copy-Source", "/trainyard/other/model.tar.gz")]))
        #expect(refusal?.description.hasPrefix("PutObject of s3://trainyard/proj/ckpt/stolen is not signed for an agent: header x-amz-copy-source") == true)
    }

    @Test func aHeaderValueWithALineBreakIsRefused() {
        #expect(Self.refusal(Self.call("GET", key: "proj/a/x", headers: [("range", "bytes=0-1\r\nx-amz-copy-source: a")])) != nil)
    }

    @Test(arguments: [
        // bucket-level operations
        call("DELETE", key: ""), call("PUT", key: ""), call("PUT", key: "", query: [("policy", "")]), call("GET", key: "", query: [("policy", "")]),
        call("DELETE", key: "", query: [("policy", "")]), call("PUT", key: "", query: [("acl", "")]), call("GET", key: "", query: [("uploads", "")]),
        call("POST", key: "", query: [("delete", "")]), call("GET", key: ""), call("HEAD", key: ""), call("GET", key: "", query: [("versions", "")]),
        call("PUT", key: "", query: [("lifecycle", "")]), call("PUT", key: "", query: [("cors", "")]),
        // a v1 listing, a listing with other parameters, a listing given twice
        call("GET", key: "", query: [("prefix", "proj/a/")]), call("GET", key: "", query: [("list-type", "1"), ("prefix", "proj/a/")]),
        call("GET", key: "", query: [("list-type", "2"), ("prefix", "proj/a/"), ("delimiter", "/")]),
        call("GET", key: "", query: [("list-type", "2"), ("prefix", "proj/a/"), ("prefix", "other/")]),
        // object sub-resources and other object calls, inside the job's own prefix
        call("GET", key: "proj/ckpt/x", query: [("acl", "")]), call("PUT", key: "proj/ckpt/x", query: [("acl", "")]),
        call("PUT", key: "proj/ckpt/x", query: [("tagging", "")]), call("GET", key: "proj/ckpt/x", query: [("versionId", "1")]),
        call("POST", key: "proj/ckpt/x", query: [("restore", "")]), call("POST", key: "proj/ckpt/x", query: [("select", ""), ("select-type", "2")]),
        call("PUT", key: "proj/ckpt/x", query: [("retention", "")]), call("GET", key: "proj/ckpt/x", query: [("uploadId", "u1")]),
        call("POST", key: "proj/ckpt/x", query: [("uploads", "x")]), call("POST", key: "proj/ckpt/x"), call("PATCH", key: "proj/ckpt/x"),
        call("OPTIONS", key: "proj/ckpt/x"), call("get", key: "proj/ckpt/x"),
    ])
    func operationsAWorkerDoesNotNeedAreRefused(request: S3SignatureRequest) {
        guard case .unknownOperation(let method, let target, _) = Self.refusal(request) else {
            Issue.record("\(request.method) \(request.target)?\(request.query.map(\.name)) was signed or refused for another reason")
            return
        }
        #expect(method == request.method && target == request.target)
    }

    @Test func anUnknownOperationIsNamedWithItsQuery() {
        let refusal = Self.refusal(Self.call("PUT", key: "", query: [("policy", "")]))
        #expect(refusal?.description.hasPrefix("PUT s3://trainyard?policy is not signed for an agent: it is not one of the operations") == true)
    }

    @Test func aPayloadHashIsHexOrUnsigned() {
        #expect(Self.refusal(Self.call("PUT", key: "proj/ckpt/x", payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")) == .invalidPayloadHash(
            operation: .putObject, target: "s3://trainyard/proj/ckpt/x"))
        #expect(Self.refusal(Self.call("PUT", key: "proj/ckpt/x", payloadHash: String(repeating: "A", count: 64))) != nil)
        #expect(Self.refusal(Self.call("PUT", key: "proj/ckpt/x", payloadHash: String(repeating: "0", count: 64))) == nil)
    }

    @Test func aJobWithoutS3LocationsGetsNothingSigned() {
        var spec = JobSpec(instanceType: "ml.m5.large")
        spec.command = ["true"]
        spec.inputs = ["train": InputChannel(s3URI: "file:///data/train")]
        let scope = AgentS3Scope(spec: spec, attemptOutputPrefix: "file:///data/out/job/attempts/1")
        #expect(scope.readable.isEmpty && scope.writable.isEmpty)
        #expect(throws: S3SigningRefusal.self) { try scope.authorize(Self.call("GET", key: "proj/a/x")) }
    }

    @Test func aGrantOfAWholeBucketHoldsEveryKeyOfItOnly() {
        let scope = AgentS3Scope(readable: [.s3(bucket: "datasets", key: "")], writable: [])
        #expect((try? scope.authorize(Self.listing("datasets", prefix: nil))) == .listObjectsV2)
        #expect((try? scope.authorize(Self.call("GET", "datasets", key: "any/thing"))) == .getObject)
        #expect((try? scope.authorize(Self.call("GET", "datasets2", key: "any/thing"))) == nil)
    }
}
