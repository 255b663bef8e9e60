import Foundation
import Testing
import TrainyardCore
import TrainyardObjectStore
import TrainyardServer
import TrainyardTestSupport

/// `TRAINYARD_SLURM_USERS`: each project's jobs are submitted to and run by the real Slurm cluster as the project's own
/// user, beside an S3 store; a project without one is refused with the setting named. Nested in ``SlurmTests`` so that
/// it never runs beside them: each test resets the one shared cluster (cancelling every job).
extension SlurmTests { @Suite struct Users {
    static let users = ["team-a": "trainyard-slurm-a", "team-b": "trainyard-slurm-b"]

    /// A Python training script that records who it runs as and what of the service it can read.
    static let probe = #"""
        import json, os, pwd
        found = {"user": pwd.getpwuid(os.getuid()).pw_name, "refused": [], "read": []}
        for path in os.environ["PROBE_PATHS"].split(":"):
            try:
                with open(path, "rb") as f:
                    f.read(16)
                found["read"].append(path)
            except OSError:
                found["refused"].append(path)
        print("probe", json.dumps(found), flush=True)
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "probe.json"), "w") as f:
            json.dump(found, f)
        """#

    @Test func eachProjectsJobRunsAsItsOwnSlurmUserAndAnUnmappedProjectIsRefused() async throws {
        for user in Self.users.values { try TestSlurm.ensureUser(user) }
        let scratch = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let server = try await TestSeaweed.shared()
        let store = try server.store()
        let bucket = "slurm-users-\(UUID().uuidString.lowercased().prefix(8))"
        try await store.createBucket(bucket)
        try Self.probe.write(toFile: scratch + "/train.py", atomically: true, encoding: .utf8)
        for project in Self.users.keys {
            _ = try await store.put(bucket: bucket, key: "\(project)/code/train.py", fromFile: scratch + "/train.py")
        }
        try await SlurmTests.withSlurm { cluster, slurm in
            var settings = slurm
            settings.slurmUsers = try ProjectUserMap.parse("team-a=trainyard-slurm-a, team-b = trainyard-slurm-b")
            try await LiveApp.run(objectStore: S3JobTests.settings(server, bucket: bucket), provisioner: settings) { app in
                var tokens: [String: String] = [:]
                for project in ["team-a", "team-b", "team-c"] {
                    let (_, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"\#(project)"}"#)
                    tokens[project] = try #require((created["api_key"] as? [String: Any])?["token"] as? String)
                }
                // What a job must not read: the service's admin key, its database and its data directory's secrets.
                let secrets = [app.dataDirectory + "/admin-key", "/proc/1/environ", app.dataDirectory + "/postgres/PG_VERSION"]
                    .filter { FileManager.default.fileExists(atPath: $0) }
                func job(_ project: String) -> String {
                    #"{"name":"train","instance_type":"ml.m5.large","entry_point":"train.py","source_dir":"s3://\#(bucket)/\#(project)/code","environment":{"PROBE_PATHS":"\#(secrets.joined(separator: ":"))"}}"#
                }
                // Given two projects that pick the same job name.
                for project in ["team-a", "team-b"] {
                    let (status, body) = try await LiveHTTP.request(.POST, app.baseURL + "/v1/jobs", token: tokens[project], json: job(project))
                    #expect(status == 201, "\(body)")
                }
                // When they run, each runs as its project's user and reads none of the service's files.
                for project in ["team-a", "team-b"] {
                    let described = try await SharedJobNameTests.waitForStatus(app, token: try #require(tokens[project]), "train", "Completed", timeout: .seconds(120))
                    let model = try #require((described["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String)
                    #expect(model == "s3://\(bucket)/\(project)/train/output/model.tar.gz")
                    let unpacked = scratch + "/\(project)"
                    try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
                    try await store.get(bucket: bucket, key: "\(project)/train/output/model.tar.gz", toFile: unpacked + "/model.tar.gz")
                    try TarArchive.extract(unpacked + "/model.tar.gz", into: unpacked + "/model")
                    let found = try #require(
                        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: unpacked + "/model/probe.json"))) as? [String: Any])
                    #expect(found["user"] as? String == Self.users[project])
                    #expect((found["read"] as? [String]) == [])
                    #expect(Set(found["refused"] as? [String] ?? []) == Set(secrets))
                }
                // And Slurm holds each job as that user.
                let text = try TestSlurm.client(cluster, "squeue", ["--json"])
                let jobs = (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
                let owners = Set(jobs.filter { ($0["name"] as? String ?? "").hasPrefix("trainyard-train-") }.compactMap { $0["user_name"] as? String })
                #expect(owners == Set(Self.users.values))
                // A project that maps to no user is told so, naming the setting; nothing is created.
                let (status, body) = try await LiveHTTP.request(.POST, app.baseURL + "/v1/jobs", token: tokens["team-c"], json: job("team-c"))
                #expect(status == 403)
                #expect(body.contains("project team-c has no Slurm user to run its jobs as"), "\(body)")
                #expect(body.contains("TRAINYARD_SLURM_USERS"))
                let (_, list) = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs", token: tokens["team-c"])
                #expect(list.contains(#""jobs":[]"#), "\(list)")
            }
        }
    }

    @Test func slurmUsersBesideTheFilesystemStoreStopTheServerAtStartNamingTheSetting() async throws {
        try await SlurmTests.withSlurm { _, slurm in
            var settings = slurm
            settings.slurmUsers = try ProjectUserMap.parse("*=trainyard-slurm-a")
            do {
                try await LiveApp.run(provisioner: settings) { _ in Issue.record("the server started") }
                Issue.record("no error")
            } catch {
                #expect("\(error)".contains("TRAINYARD_SLURM_USERS"), "\(error)")
                #expect("\(error)".contains("an S3 object store"), "\(error)")
            }
        }
    }

    @Test func aBadSlurmUsersValueNamesEveryWrongEntry() throws {
        #expect(throws: (any Error).self) { try ServerConfiguration(environment: ["TRAINYARD_PROVISIONER": "slurm", "TRAINYARD_SLURM_USERS": "x"]) }
        do {
            _ = try ServerConfiguration(environment: ["TRAINYARD_PROVISIONER": "slurm", "TRAINYARD_SLURM_USERS": "Team=alice,b=Root!,b=bob"])
            Issue.record("accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("TRAINYARD_SLURM_USERS"))
            #expect(text.contains("'Team' is not a project name"))
            #expect(text.contains("'Root!' is not a user name"))
            #expect(text.contains("'b' is mapped twice"))
        }
        do {
            _ = try ServerConfiguration(environment: ["TRAINYARD_SLURM_USERS": "a=alice"])
            Issue.record("accepted on local workers")
        } catch {
            #expect("\(error)".contains("unless TRAINYARD_PROVISIONER=slurm"), "\(error)")
        }
    }
}
}
