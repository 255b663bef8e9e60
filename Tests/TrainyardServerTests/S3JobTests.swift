import Crypto
import Foundation
import Logging
import Testing
import TrainyardCore
import TrainyardObjectStore
import TrainyardServer
import TrainyardTestSupport

/// Jobs on a real SeaweedFS: the server and its agents switched to S3 by the object store settings.
@Suite(.serialized) struct S3JobTests {
    static func settings(_ server: TestSeaweed, bucket: String, secret: String = TestSeaweed.secretKey) -> ObjectStoreSettings {
        .s3(
            bucket: bucket,
            configuration: S3Configuration(
                endpoint: server.endpoint, credentials: SigV4Credentials(accessKeyID: TestSeaweed.accessKey, secretAccessKey: secret)))
    }

    /// A fresh bucket on the shared SeaweedFS named `<prefix>-…`, holding `datasets/numbers/part-0.txt` … `part-3.txt`
    /// ("sample N"), written through `scratch`.
    static func bucketWithNumbers(_ prefix: String, scratch: String) async throws -> (server: TestSeaweed, store: S3ObjectStore, bucket: String) {
        let server = try await TestSeaweed.shared()
        let store = try server.store()
        let bucket = "\(prefix)-\(UUID().uuidString.lowercased().prefix(8))"
        try await store.createBucket(bucket)
        for index in 0..<4 {
            try "sample \(index)".write(toFile: "\(scratch)/part-\(index)", atomically: true, encoding: .utf8)
            _ = try await store.put(bucket: bucket, key: "datasets/numbers/part-\(index).txt", fromFile: "\(scratch)/part-\(index)")
        }
        return (server, store, bucket)
    }

    @Test func aTwoHostJobStagesS3InputsAndLeavesItsModelInS3() async throws {
        // given: a dataset in S3, sharded over two hosts
        let scratch = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (server, store, bucket) = try await Self.bucketWithNumbers("e2e", scratch: scratch)
        try await LiveApp.run(objectStore: Self.settings(server, bucket: bucket)) { app in
            let script = #"ls "$SM_CHANNEL_TRAIN" | sort > "$SM_MODEL_DIR/train-$SM_CURRENT_HOST"; echo out > "$SM_OUTPUT_DATA_DIR/o-$SM_CURRENT_HOST""#
            let extra = #","inputs":{"train":{"s3_uri":"s3://\#(bucket)/datasets/numbers/","distribution":"ShardedByS3Key"}}"#
            let body = try WorkerTests.job(app, "s3-job", count: 2, script: script, extra: extra)
                .replacingOccurrences(of: #""output_path":"s3://models/""#, with: #""output_path":"s3://\#(bucket)/models""#)
            // when
            try await app.submit(body)
            let job = try await app.waitForStatus("s3-job", "Completed", timeout: .seconds(120))
            // then: the merged model is in S3, with both hosts' shares
            let model = try #require(((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String))
            #expect(model == "s3://\(bucket)/models/s3-job/output/model.tar.gz")
            try await store.get(bucket: bucket, key: "models/s3-job/output/model.tar.gz", toFile: scratch + "/model.tar.gz")
            try TarArchive.extract(scratch + "/model.tar.gz", into: scratch + "/model")
            let one = try String(contentsOfFile: scratch + "/model/train-algo-1", encoding: .utf8)
            let two = try String(contentsOfFile: scratch + "/model/train-algo-2", encoding: .utf8)
            #expect(Set((one + two).split(separator: "\n")) == ["part-0.txt", "part-1.txt", "part-2.txt", "part-3.txt"])
            #expect(!one.isEmpty && !two.isEmpty)
            // and the description's sizes and digests are those of the objects as downloaded from S3
            let artifacts = try #require(job["model_artifacts"] as? [String: Any])
            let (modelSize, modelDigest) = try Self.sizeAndSHA256(scratch + "/model.tar.gz")
            #expect(artifacts["size_bytes"] as? Int == modelSize)
            #expect(artifacts["sha256"] as? String == modelDigest)
            let outputs = try #require(job["output_artifacts"] as? [String: Any])
            #expect(outputs["s3_output_artifacts"] as? String == "s3://\(bucket)/models/s3-job/output/output.tar.gz")
            try await store.get(bucket: bucket, key: "models/s3-job/output/output.tar.gz", toFile: scratch + "/output.tar.gz")
            let (outputSize, outputDigest) = try Self.sizeAndSHA256(scratch + "/output.tar.gz")
            #expect(outputs["size_bytes"] as? Int == outputSize && outputSize > 0)
            #expect(outputs["sha256"] as? String == outputDigest)
        }
    }

    /// Size and SHA-256 (hex) of a file, computed here, independently of the server's code.
    static func sizeAndSHA256(_ path: String) throws -> (Int, String) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return (data.count, SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined())
    }

    @Test func codeUploadedThroughTheAPILandsInS3AndTheModelComesBackThroughIt() async throws {
        // given: the service on SeaweedFS, and a client that has only its Trainyard key
        let scratch = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (server, store, bucket) = try await Self.bucketWithNumbers("upload", scratch: scratch)
        try await LiveApp.run(objectStore: Self.settings(server, bucket: bucket)) { app in
            let code = scratch + "/src"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try ArtifactTransferTests.trainer.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
            // padding past the store's multipart threshold, so that the archive goes up in parts
            try Data((0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }).write(to: URL(fileURLWithPath: code + "/vocab.bin"))
            try ArtifactTransferTests.pack(code, into: scratch + "/sourcedir.tar.gz")
            let archive = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch + "/sourcedir.tar.gz")))

            // a body whose digest is wrong leaves nothing in the bucket (the multipart upload is aborted)
            let (refused, _) = try await ArtifactTransferTests.upload(
                app, "s3-upload", bytes: archive, query: "?output_path=s3://\(bucket)/models", digest: ArtifactTransferTests.digestField([0]),
                chunked: true)
            #expect(refused == 422)
            #expect(try await store.head(bucket: bucket, key: "models/s3-upload/source/sourcedir.tar.gz") == nil)

            // when it is uploaded whole, streamed
            let (status, stored) = try await ArtifactTransferTests.upload(
                app, "s3-upload", bytes: archive, query: "?output_path=s3://\(bucket)/models", digest: ArtifactTransferTests.digestField(archive),
                chunked: true)
            #expect(status == 201, "\(stored)")
            let sourceDir = try #require(stored["source_dir"] as? String)
            #expect(sourceDir == "s3://\(bucket)/models/s3-upload/source/sourcedir.tar.gz")
            try await store.get(bucket: bucket, key: "models/s3-upload/source/sourcedir.tar.gz", toFile: scratch + "/back.tar.gz")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch + "/back.tar.gz"))) == archive)

            // then the job runs it, and its model comes back through the API as the description records it
            try await app.submit(
                #"{"name":"s3-upload","instance_type":"ml.m5.large","entry_point":"train.py","source_dir":"\#(sourceDir)","output_path":"s3://\#(bucket)/models"}"#)
            let job = try await app.waitForStatus("s3-upload", "Completed", timeout: .seconds(120))
            let model = try #require(job["model_artifacts"] as? [String: Any])
            let (got, headers, bytes) = try await ArtifactTransferTests.download(app, "s3-upload", "model")
            #expect(got == 200 && bytes.count == model["size_bytes"] as? Int)
            #expect(ArtifactTransferTests.sha256Hex(bytes) == model["sha256"] as? String)
            #expect(headers.first(name: "Repr-Digest") == ArtifactTransferTests.digestField(bytes))
        }
    }

    @Test func aWrongSecretStopsTheServerAtStartNamingTheVariable() async throws {
        let server = try await TestSeaweed.shared()
        let directory = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ServerConfiguration(dataDirectory: directory, port: 0, adminKey: TestApp.adminToken)
        configuration.objectStore = Self.settings(server, bucket: "never-made", secret: "wrong")
        do {
            _ = try await buildApplication(
                configuration: configuration, database: .client(try await TestPostgres.shared.freshDatabase()), logger: Logger(label: "t"))
            Issue.record("the server started with a wrong secret")
        } catch {
            #expect("\(error)".contains("AWS_SECRET_ACCESS_KEY"))
            #expect("\(error)".contains("SignatureDoesNotMatch"))
        }
    }
}
