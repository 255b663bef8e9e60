import Foundation
import Testing
import TrainyardCore
import TrainyardObjectStore
import TrainyardServer
import TrainyardTestSupport

/// `trainyard jobs submit --source-dir ./src --entry-point train.py`, through the real CLI binary: the directory is
/// packed and uploaded where the SageMaker SDK puts it, and the job runs it.
@Suite(.serialized) struct SourceDirCLITests {
    /// Runs the `trainyard` binary in `directory` with only `environment`'s Trainyard and AWS settings; its exit
    /// status and everything it printed.
    static func cli(_ arguments: [String], in directory: String, environment extra: [String: String], deadline: Duration = .seconds(120))
        async throws -> (Int32, String)
    {
        try await runTrainyard(arguments, in: directory, environment: extra, isolated: true, mergingErrors: true, timeout: deadline)
    }

    /// A SageMaker-style script that imports a module beside it (so the whole directory must have arrived) and writes
    /// its model.
    static func writeSource(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory + "/lib", withIntermediateDirectories: true)
        try "GREETING = 'packed by the cli'\n".write(toFile: directory + "/lib/helper.py", atomically: true, encoding: .utf8)
        try """
            import os, sys
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
            import helper
            with open(os.path.join(os.environ["SM_MODEL_DIR"], "greeting.txt"), "w") as f:
                f.write(helper.GREETING + " " + " ".join(sys.argv[1:]))
            """.write(toFile: directory + "/train.py", atomically: true, encoding: .utf8)
    }

    @Test func submitWithASourceDirUploadsItToTheOutputBucketInS3AndTheJobRunsIt() async throws {
        // given: the server on SeaweedFS, and a local source directory
        let server = try await TestSeaweed.shared()
        let store = try server.store()
        let bucket = "cli-\(UUID().uuidString.lowercased().prefix(8))"
        try await store.createBucket(bucket)
        let work = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try Self.writeSource(work + "/src")
        try await LiveApp.run(objectStore: S3JobTests.settings(server, bucket: bucket)) { app in
            let environment = [
                "TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": TestApp.adminToken, "TRAINYARD_OBJECT_STORE": "s3://\(bucket)",
                "TRAINYARD_S3_ENDPOINT": server.endpoint, "AWS_ACCESS_KEY_ID": TestSeaweed.accessKey, "AWS_SECRET_ACCESS_KEY": TestSeaweed.secretKey,
            ]
            // when
            let (status, output) = try await Self.cli(
                ["jobs", "submit", "--name", "cli-source", "--instance-type", "ml.m5.large", "--output-path", "s3://\(bucket)/models",
                 "--source-dir", "./src", "--entry-point", "train.py", "--hyperparameter", "epochs=2", "--wait"],
                in: work, environment: environment)
            // then: the archive is where the SDK puts it, the job names it and ran the script from it
            #expect(status == 0, "\(output)")
            let key = "cli-source/source/sourcedir.tar.gz"
            try await store.get(bucket: bucket, key: key, toFile: work + "/sourcedir.tar.gz")
            try TarArchive.extract(work + "/sourcedir.tar.gz", into: work + "/unpacked")
            #expect(FileManager.default.fileExists(atPath: work + "/unpacked/train.py"))
            #expect(FileManager.default.fileExists(atPath: work + "/unpacked/lib/helper.py"))
            let job = try await app.describe("cli-source")
            #expect(job["source_dir"] as? String == "s3://\(bucket)/\(key)")
            #expect(job["entry_point"] as? String == "train.py")
            #expect(job["status"] as? String == "Completed", "\(job["failure_reason"] ?? "")")
            try await store.get(bucket: bucket, key: "models/cli-source/output/model.tar.gz", toFile: work + "/model.tar.gz")
            try TarArchive.extract(work + "/model.tar.gz", into: work + "/model")
            #expect(try String(contentsOfFile: work + "/model/greeting.txt", encoding: .utf8) == "packed by the cli --epochs 2")
        }
    }

    @Test func withoutAnObjectStoreSettingTheSourceGoesToTheLocalFilesystemStoreAndANameIsGenerated() async throws {
        try await LiveApp.run { app in
            // given: the embedded defaults, the CLI run where the server keeps its data directory
            try Self.writeSource(app.dataDirectory + "/src")
            let environment = ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": TestApp.adminToken, "TRAINYARD_DATA_DIR": app.dataDirectory]
            // when no name is given
            let (status, output) = try await Self.cli(
                ["jobs", "submit", "--instance-type", "ml.m5.large", "--output-path", "s3://models/", "--source-dir", "src",
                 "--entry-point", "train.py", "--wait"],
                in: app.dataDirectory, environment: environment)
            // then the SDK-style name is the entry point's stem and a timestamp, and the archive is in s3://models
            #expect(status == 0, "\(output)")
            let name = try #require(output.split(separator: "\n").first.map(String.init))
            #expect(name.range(of: #"^train-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}$"#, options: .regularExpression) != nil, "\(name)")
            #expect(FileManager.default.fileExists(atPath: app.objectPath("s3://models/\(name)/source/sourcedir.tar.gz")))
            let files = try app.unpack("s3://models/\(name)/output/model.tar.gz")
            #expect((files["./greeting.txt"] ?? files["greeting.txt"]) == "packed by the cli ")
        }
    }

    @Test func aSourceDirThatIsNotADirectoryIsRefusedBeforeAnythingIsSubmitted() async throws {
        try await LiveApp.run { app in
            let environment = ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": TestApp.adminToken, "TRAINYARD_DATA_DIR": app.dataDirectory]
            let (status, output) = try await Self.cli(
                ["jobs", "submit", "--name", "no-src", "--instance-type", "ml.m5.large", "--source-dir", "missing", "--entry-point", "train.py"],
                in: app.dataDirectory, environment: environment)
            #expect(status == 3, "\(output)")
            #expect(output.contains("--source-dir missing is not a directory"))
            #expect(try await app.request(.GET, "/v1/jobs/no-src").0 == 404)
        }
    }
}
