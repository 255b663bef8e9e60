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
