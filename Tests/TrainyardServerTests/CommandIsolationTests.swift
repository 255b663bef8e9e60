import Foundation
import Testing
import TrainyardCore

/// A job's code, tried as another tenant would write it, reaches neither the service (its environment, data directory,
/// object store) nor another job (its processes, files, /tmp). These hold when the service runs as root, as CI and the
/// documented quick start on a fresh machine do; elsewhere commands run as the service's own user (README: Security
/// model), and the test says so instead of passing.
@Suite(.serialized) struct CommandIsolationTests {
    /// A job of project `project` running `source` as its `train.py`, kept in the project's own prefix of the store.
    static func pythonJob(_ app: LiveApp, project: String, _ name: String, _ source: String, environment: [String: String] = [:]) throws -> String {
        let code = app.objectPath("s3://trainyard/\(project)/code-\(name)")
        try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
        try source.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
        let spec: [String: Any] = [
            "name": name, "instance_type": "ml.m5.large", "entry_point": "train.py", "source_dir": "s3://trainyard/\(project)/code-\(name)",
            "environment": environment,
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
    }

    static let victim = """
        import os, signal, sys, time
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        open("/tmp/victim-secret", "w").write("victim tmp")
        open(os.path.join(os.environ["SM_MODEL_DIR"], "weights.txt"), "w").write("victim weights")
        print("victim ready", flush=True)
        time.sleep(300)
        """

    static let attacker = """
        import json, os, glob, signal, socket
        result = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}
        result["env_keys"] = sorted(os.environ)
        def attempt(name, action):
            try:
                result[name] = "reached: " + str(action())[:80]
            except Exception as error:
                result[name] = "refused: " + type(error).__name__
        attempt("service_environ", lambda: open("/proc/%s/environ" % os.environ["SERVICE_PID"], "rb").read())
        attempt("service_cmdline", lambda: open("/proc/%s/cmdline" % os.environ["SERVICE_PID"], "rb").read())
        attempt("kill_victim", lambda: os.kill(int(os.environ["VICTIM_PID"]), signal.SIGKILL))
        attempt("victim_worker_files", lambda: open(os.environ["VICTIM_WEIGHTS"]).read())
        attempt("object_store", lambda: os.listdir(os.environ["OBJECTS_DIR"]))
        attempt("workers_dir", lambda: os.listdir(os.environ["WORKERS_DIR"]))
        attempt("victim_tmp", lambda: open("/tmp/victim-secret").read())
        attempt("own_model_dir", lambda: open(os.path.join(os.environ["SM_MODEL_DIR"], "mine.txt"), "w").write("ok"))
        attempt("own_tmp", lambda: open("/tmp/mine", "w").write("ok"))
        attempt("own_shm", lambda: open("/dev/shm/mine", "w").write("ok"))
        result["visible_pids"] = len([p for p in os.listdir("/proc") if p.isdigit()])
        print("RESULT " + json.dumps(result), flush=True)
        """

    @Test func aJobReachesNeitherTheServiceNorAnotherJob() async throws {
        // A variable of the service's own environment, as an operator's credentials would be.
        setenv("OPERATOR_SECRET_FOR_TEST", "hunter2", 1)
        defer { unsetenv("OPERATOR_SECRET_FOR_TEST") }
        try await LiveApp.run { app in
            let (_, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"intruder"}"#)
            let intruder = try #require((created["api_key"] as? [String: Any])?["token"] as? String)
            // Given a victim job of the bootstrap project, running.
            try await app.submit(try Self.pythonJob(app, project: "default", "victim", Self.victim))
            try await eventually("the victim is ready") { try await app.allLogLines("victim").contains { $0["message"] as? String == "victim ready" } }
            let workers = app.dataDirectory + "/workers"
            let victimHost = try #require(try FileManager.default.contentsOfDirectory(atPath: workers).first { $0.hasPrefix("victim-1-algo-1-j") })
            let record = try String(contentsOfFile: "\(workers)/\(victimHost)/command.pgid", encoding: .utf8)
            let victimPID = try #require(record.split(separator: " ").first.map(String.init))

            // When another project's job tries to reach the service and the victim.
            let environment = [
                "SERVICE_PID": "\(getpid())", "VICTIM_PID": victimPID, "VICTIM_WEIGHTS": "\(workers)/\(victimHost)/model/weights.txt",
                "OBJECTS_DIR": app.dataDirectory + "/objects", "WORKERS_DIR": workers,
            ]
            let (status, answer) = try await LiveHTTP.request(
                .POST, app.baseURL + "/v1/jobs", token: intruder, json: try Self.pythonJob(app, project: "intruder", "probe", Self.attacker, environment: environment))
            #expect(status == 201, "\(answer)")
            var result: [String: Any] = [:]
            try await eventually("the probe printed its result") {
                let (_, body) = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs/probe/logs", token: intruder)
                let lines = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["lines"] as? [[String: Any]] ?? []
                guard let message = lines.compactMap({ $0["message"] as? String }).first(where: { $0.hasPrefix("RESULT ") }) else { return false }
                result = (try? JSONSerialization.jsonObject(with: Data(message.dropFirst("RESULT ".count).utf8)) as? [String: Any]) ?? [:]
                return true
            }

            // Then, as root, the probe ran as its own unprivileged user and reached nothing of the others.
            guard geteuid() == 0 else {
                Issue.record("not root: commands run as the service's own user here, so this isolation is not in force (\(result))")
                return
            }
            let uid = try #require(result["uid"] as? Int)
            #expect(uid >= 3_000_000 && result["gid"] as? Int == uid, "\(result)")
            #expect((result["groups"] as? [Int]) == [] || (result["groups"] as? [Int]) == [uid], "\(result)")
            let keys = result["env_keys"] as? [String] ?? []
            #expect(!keys.contains("OPERATOR_SECRET_FOR_TEST"), "\(keys)")
            let credentials = keys.filter { $0.hasPrefix("TRAINYARD_") || ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"].contains($0) }
            #expect(credentials.isEmpty, "\(credentials)")
            #expect(keys.contains("SM_MODEL_DIR") && keys.contains("PATH") && keys.contains("HOME") && keys.contains("VICTIM_PID"))
            for probe in ["service_environ", "service_cmdline", "kill_victim", "victim_worker_files", "object_store", "workers_dir", "victim_tmp"] {
                #expect((result[probe] as? String)?.hasPrefix("refused") == true, "\(probe): \(result[probe] ?? "-")")
            }
            for own in ["own_model_dir", "own_tmp", "own_shm"] {
                #expect((result[own] as? String)?.hasPrefix("reached") == true, "\(own): \(result[own] ?? "-")")
            }
            #expect((result["visible_pids"] as? Int ?? 99) < 10, "\(result["visible_pids"] ?? "-") processes visible")
            // And the probe completed, its model written, while the victim runs on.
            let probe = try await SharedJobNameTests.waitForStatus(app, token: intruder, "probe", "Completed")
            #expect(probe["failure_reason"] == nil)
            let victim = try await app.describe("victim")
            #expect(victim["secondary_status"] as? String == "Training", "\(victim["status"] ?? "-") \(victim["failure_reason"] ?? "")")
            let files = try app.unpack("s3://trainyard/intruder/probe/output/model.tar.gz")
            #expect((files["./mine.txt"] ?? files["mine.txt"]) == "ok")
        }
    }

    @Test func aCheckpointDirectoryOutsideTheJobsTreeIsRefusedAtSubmission() async throws {
        try await LiveApp.run { app in
            guard geteuid() == 0 else { return }
            let (status, answer) = try await app.request(
                .POST, "/v1/jobs",
                json: #"{"name":"ckpt-etc","instance_type":"ml.m5.large","command":["true"],"checkpoint_s3_uri":"s3://trainyard/default/c","checkpoint_local_path":"/etc"}"#)
            #expect(status == 422)
            let errors = answer["errors"] as? [[String: Any]] ?? []
            #expect(errors.first?["field"] as? String == "checkpoint_local_path" && errors.first?["rule"] as? String == "unsupported", "\(answer)")
            #expect((errors.first?["message"] as? String)?.contains("outside /opt/ml") == true, "\(answer)")
        }
    }
}
