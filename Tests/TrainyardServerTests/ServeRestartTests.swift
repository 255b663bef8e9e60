import AsyncHTTPClient
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `trainyard serve` as a user runs it: embedded cluster in the data directory, restarts that keep every job,
/// recovery after kill -9, and a clean stop on SIGTERM.
@Suite(.serialized) struct ServeRestartTests {
    /// A data directory inside a 0700 `mktemp -d`-style folder, as root's home or a temp dir would be.
    static func privateDataDirectory() throws -> String {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-serve-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return parent + "/data"
    }

    @Test func jobsSurviveARestartAndAKillMinusNine() async throws {
        let dataDir = try Self.privateDataDirectory()
        defer {
            // The jobs' agents wait for their server to come back (by design); this one will not.
            LiveApp.killWorkers(under: dataDir)
            try? FileManager.default.removeItem(atPath: (dataDir as NSString).deletingLastPathComponent)
        }

        // given a first start that generated the admin key and created jobs
        let first = try ServeProcess(dataDirectory: dataDir)
        var port = try await first.waitForPort()
        let keyPath = dataDir + "/admin-key"
        let token = try String(contentsOfFile: keyPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(first.log.contains(keyPath))
        for name in ["before-restart-1", "before-restart-2"] {
            let (status, body) = try await LiveHTTP.request(
                .POST, "http://127.0.0.1:\(port)/v1/jobs", token: token, json: #"{"name":"\#(name)","instance_type":"ml.m5.large","command":["true"]}"#)
            #expect(status == 201, "\(body)")
        }

        // when it stops on SIGTERM, it stops its cluster too
        first.signal(SIGTERM)
        #expect(try await first.waitForExit() == 0)
        #expect(first.postmasterPID == nil)

        // then a second start on the same directory reuses the cluster and the key, and has every job
        let second = try ServeProcess(dataDirectory: dataDir)
        port = try await second.waitForPort()
        #expect(!second.log.contains("initialising embedded postgres cluster"))
        let (listStatus, list) = try await LiveHTTP.request(.GET, "http://127.0.0.1:\(port)/v1/jobs?sort_by=name&sort_order=ascending", token: token)
        #expect(listStatus == 200)
        #expect(list.contains("before-restart-1") && list.contains("before-restart-2"))

        // when it is killed with -9, its postgres is left running with its postmaster.pid
        let orphan = try #require(second.postmasterPID)
        second.signal(SIGKILL)
        _ = try await second.waitForExit()
        #expect(kill(orphan, 0) == 0)

        // then a third start takes the cluster over cleanly and still has every job
        let third = try ServeProcess(dataDirectory: dataDir)
        port = try await third.waitForPort()
        let (status, job) = try await LiveHTTP.request(.GET, "http://127.0.0.1:\(port)/v1/jobs/before-restart-2", token: token)
        #expect(status == 200, "\(job)")
        #expect(kill(orphan, 0) != 0)
        third.signal(SIGINT)
        #expect(try await third.waitForExit() == 0)
        #expect(third.postmasterPID == nil)
    }

    @Test func aServerKilledMinusNineMidAttemptLosesNothingAndJudgesNoHostDead() async throws {
        let dataDir = try Self.privateDataDirectory()
        defer {
            LiveApp.killWorkers(under: dataDir)
            try? FileManager.default.removeItem(atPath: (dataDir as NSString).deletingLastPathComponent)
        }
        // The port must survive the restart: the agents call the server back there. Leases are short (6 s; 3 s lost a
        // healthy host to a stall of the loaded machine), so a restart that judged hosts by the silence of its own
        // downtime would lose them.
        let port = try LiveApp.freePort()
        let environment = ["TRAINYARD_PORT": "\(port)", "TRAINYARD_HEARTBEAT_INTERVAL": "0.3", "TRAINYARD_HOST_LEASE": "6"]
        let first = try ServeProcess(dataDirectory: dataDir, environment: environment)
        _ = try await first.waitForPort()
        let token = try String(contentsOfFile: dataDir + "/admin-key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let base = "http://127.0.0.1:\(port)"
        // (A serve on a fixed port writes its client profile: into the test's own configuration, not the profile of
        // whoever runs the tests.)
        let profile = try String(contentsOfFile: dataDir + "-config/trainyard/config.json", encoding: .utf8)
        #expect(profile.contains(#""url" : "\#(base)""#), "\(profile)")
        // given a 2-host job training for a while, printing as it goes
        let script = #"i=0; while [ $i -lt 80 ]; do i=$((i+1)); echo tick $i; sleep 0.1; done; echo ok > $SM_MODEL_DIR/done"#
        let body = #"{"name":"through-kill","instance_type":"ml.m5.large","instance_count":2,"output_path":"s3://models/","command":["/bin/sh","-c","\#(script)"]}"#
        let (created, answer) = try await LiveHTTP.request(.POST, base + "/v1/jobs", token: token, json: body)
        #expect(created == 201, "\(answer)")
        try await Self.waitFor(base, token: token, "Training")
        // when the server is killed with -9 in the middle of the attempt, stays down past the hosts' lease, and restarts
        first.signal(SIGKILL)
        _ = try await first.waitForExit()
        try await Task.sleep(for: .seconds(7))
        let second = try ServeProcess(dataDirectory: dataDir, environment: environment)
        _ = try await second.waitForPort()
        // then the job completes in its one attempt with every log line once, and no host was judged lost
        let job = try await Self.waitFor(base, token: token, "Completed", status: true)
        let attempts = job["attempts"] as? [[String: Any]] ?? []
        #expect(attempts.count == 1, "\(attempts)")
        #expect((attempts.first?["hosts"] as? [[String: Any]])?.allSatisfy { $0["state"] as? String == "exited" } == true)
        let (_, events) = try await LiveHTTP.request(.GET, base + "/v1/jobs/through-kill/events", token: token)
        #expect(!events.contains("host_lost"))
        let (_, logs) = try await LiveHTTP.request(.GET, base + "/v1/jobs/through-kill/logs", token: token)
        let lines = ((try? JSONSerialization.jsonObject(with: Data(logs.utf8)) as? [String: Any])?["lines"] as? [[String: Any]]) ?? []
        for host in ["algo-1", "algo-2"] {
            let ticks = lines.filter { $0["host"] as? String == host }.compactMap { $0["message"] as? String }
            #expect(ticks == (1...80).map { "tick \($0)" }, "\(host) has \(ticks.count) lines")
        }
        second.signal(SIGTERM)
        #expect(try await second.waitForExit() == 0)
    }

    /// Polls the job `through-kill` until its secondary status (or, with `status`, its status) is `value`.
    @discardableResult
    static func waitFor(_ base: String, token: String, _ value: String, status: Bool = false) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(90)
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            if let (code, text) = try? await LiveHTTP.request(.GET, base + "/v1/jobs/through-kill", token: token), code == 200,
                let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            {
                last = object
                if object[status ? "status" : "secondary_status"] as? String == value { return object }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("through-kill never reached \(value); last \(last["status"] ?? "-")/\(last["secondary_status"] ?? "-")")
    }

    @Test func aConfiguredAdminKeyIsUsedAndAMalformedOneIsRefused() async throws {
        let dataDir = try Self.privateDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: (dataDir as NSString).deletingLastPathComponent) }
        let bad = try ServeProcess(dataDirectory: dataDir, environment: ["TRAINYARD_ADMIN_KEY": "not a key"])
        #expect(try await bad.waitForExit() != 0)
        #expect(bad.log.contains("TRAINYARD_ADMIN_KEY"))

        let good = try ServeProcess(dataDirectory: dataDir, environment: ["TRAINYARD_ADMIN_KEY": "OPERATORKEY1.s3cret-value"])
        let port = try await good.waitForPort()
        let (status, _) = try await LiveHTTP.request(.GET, "http://127.0.0.1:\(port)/v1/jobs", token: "OPERATORKEY1.s3cret-value")
        #expect(status == 200)
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/admin-key"))
        good.signal(SIGTERM)
        #expect(try await good.waitForExit() == 0)
    }
}
