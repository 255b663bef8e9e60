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
            // (the CLI has its key and nothing of the store: the archive goes through the server)
            let environment = ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": TestApp.adminToken]
            // when
            let (status, output) = try await Self.cli(
                ["jobs", "submit", "--name", "cli-source", "--instance-type", "ml.m5.large", "--output-path", "s3://\(bucket)/models",
                 "--source-dir", "./src", "--entry-point", "train.py", "--hyperparameter", "epochs=2", "--wait"],
                in: work, environment: environment)
            // then: the archive is where the SDK puts it, the job names it and ran the script from it
            #expect(status == 0, "\(output)")
            let key = "models/cli-source/source/sourcedir.tar.gz"
            try await store.get(bucket: bucket, key: key, toFile: work + "/sourcedir.tar.gz")
            try TarArchive.extract(work + "/sourcedir.tar.gz", into: work + "/unpacked")
            #expect(FileManager.default.fileExists(atPath: work + "/unpacked/train.py"))
            #expect(FileManager.default.fileExists(atPath: work + "/unpacked/lib/helper.py"))
            let job = try await app.describe("cli-source")
            #expect(job["source_dir"] as? String == "s3://\(bucket)/\(key)")
            #expect(job["entry_point"] as? String == "train.py")
            #expect(job["status"] as? String == "Completed", "\(job["failure_reason"] ?? "")")
            // and `jobs download` brings the model back through the server, checked against the recorded digest
            let (downloaded, said) = try await Self.cli(["jobs", "download", "cli-source", "--to", "out/model.tar.gz"], in: work, environment: environment)
            #expect(downloaded == 0, "\(said)")
            let model = try #require(job["model_artifacts"] as? [String: Any])
            #expect(said.contains("out/model.tar.gz  \(model["size_bytes"] as? Int ?? -1) B  sha256 \(model["sha256"] as? String ?? "-")"), "\(said)")
            try TarArchive.extract(work + "/out/model.tar.gz", into: work + "/model")
            #expect(try String(contentsOfFile: work + "/model/greeting.txt", encoding: .utf8) == "packed by the cli --epochs 2")
            let (outputStatus, _) = try await Self.cli(["jobs", "download", "cli-source", "--output"], in: work, environment: environment)
            #expect(outputStatus == 0 && FileManager.default.fileExists(atPath: work + "/output.tar.gz"))
            // a job that has not ended has no model yet, and the message says when it will
            let (_, submitted) = try await Self.cli(
                ["jobs", "submit", "--name", "still-running", "--instance-type", "ml.m5.large", "--", "sleep", "30"], in: work, environment: environment)
            #expect(submitted.contains("still-running"))
            let (early, earlyOutput) = try await Self.cli(["jobs", "download", "still-running"], in: work, environment: environment)
            #expect(early == 6 && earlyOutput.contains("its model.tar.gz is uploaded when it ends"), "\(earlyOutput)")
            _ = try await Self.cli(["jobs", "stop", "still-running"], in: work, environment: environment)
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

    @Test func twoProjectsSubmittingOneJobNameWithTheirOwnSourceRunTheirOwnCode() async throws {
        try await LiveApp.run { app in
            // given: projects a and b, each with its own source directory of one name, and no --output-path
            var tokens: [String: String] = [:]
            for project in ["team-a", "team-b"] {
                let (status, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"\#(project)"}"#)
                #expect(status == 201)
                tokens[project] = (created["api_key"] as? [String: Any])?["token"] as? String
                let source = app.dataDirectory + "/\(project)/src"
                try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
                try """
                    import os
                    open(os.path.join(os.environ["SM_MODEL_DIR"], "who.txt"), "w").write("\(project)")
                    """.write(toFile: source + "/train.py", atomically: true, encoding: .utf8)
            }
            // when both submit `train` with --source-dir, b right after a
            for project in ["team-a", "team-b"] {
                let environment = ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": tokens[project] ?? "", "TRAINYARD_DATA_DIR": app.dataDirectory]
                let (status, output) = try await Self.cli(
                    ["jobs", "submit", "--name", "train", "--instance-type", "ml.m5.large", "--source-dir", "\(project)/src", "--entry-point", "train.py"],
                    in: app.dataDirectory, environment: environment)
                #expect(status == 0, "\(output)")
                let (whoStatus, who) = try await Self.cli(["whoami"], in: app.dataDirectory, environment: environment)
                #expect(whoStatus == 0 && who.contains("project  \(project)") && who.contains("s3://trainyard/\(project)"), "\(who)")
            }
            // then each archive is under its own project's prefix, and each job ran its own project's code
            for project in ["team-a", "team-b"] {
                #expect(FileManager.default.fileExists(atPath: app.objectPath("s3://trainyard/\(project)/train/source/sourcedir.tar.gz")))
                try await eventually("\(project)'s train completed") {
                    let body = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs/train", token: tokens[project]).1
                    return body.contains(#""status":"Completed""#)
                }
                let files = try app.unpack("s3://trainyard/\(project)/train/output/model.tar.gz")
                #expect((files["./who.txt"] ?? files["who.txt"]) == project)
            }
        }
    }

    @Test func grantsAreMadeAndShownThroughTheCLI() async throws {
        try await LiveApp.run { app in
            let (status, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"vision"}"#)
            #expect(status == 201)
            let token = try #require((created["api_key"] as? [String: Any])?["token"] as? String)
            let admin = ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": TestApp.adminToken]
            let member = ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": token]
            // A project's own admin cannot grant itself a location.
            let (selfGrant, selfOutput) = try await Self.cli(["projects", "grant", "vision", "s3://datasets/imagenet"], in: app.dataDirectory, environment: member)
            #expect(selfGrant == 4, "\(selfOutput)")
            #expect(selfOutput.contains("only admins of the default project can grant locations"), "\(selfOutput)")
            // The service admin grants a read-only prefix; the project sees it.
            let (granted, grantOutput) = try await Self.cli(
                ["projects", "grant", "vision", "s3://datasets/imagenet", "--read-only"], in: app.dataDirectory, environment: admin)
            #expect(granted == 0, "\(grantOutput)")
            let (_, shown) = try await Self.cli(["projects", "locations", "vision"], in: app.dataDirectory, environment: member)
            let rows = shown.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(rows.contains(["s3://datasets/imagenet", "read", "granted"]), "\(shown)")
            #expect(rows.contains(["s3://trainyard/vision", "read_write", "the", "project's", "own", "prefix"]), "\(shown)")
            // A job writing there is refused with the rule and what is allowed.
            let (refused, refusal) = try await Self.cli(
                ["jobs", "submit", "--name", "w", "--instance-type", "ml.m5.large", "--output-path", "s3://datasets/imagenet", "--", "true"],
                in: app.dataDirectory, environment: member)
            #expect(refused == 3, "\(refusal)")
            #expect(refusal.contains("output_path [location]") && refusal.contains("outside what project vision may read and write"), "\(refusal)")
            // Revoked, it is gone; revoking what was never granted says so.
            #expect(try await Self.cli(["projects", "revoke", "vision", "s3://datasets/imagenet"], in: app.dataDirectory, environment: admin).0 == 0)
            let (again, againOutput) = try await Self.cli(["projects", "revoke", "vision", "s3://datasets/imagenet"], in: app.dataDirectory, environment: admin)
            #expect(again == 3 && againOutput.contains("project vision has no grant of s3://datasets/imagenet"), "\(againOutput)")
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
