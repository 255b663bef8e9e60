import Foundation
import Testing
import TrainyardCore
import TrainyardTestSupport
import TrainyardObjectStore
@testable import TrainyardStore

@testable import TrainyardServer

/// `Finalizer.runOnce`: an attempt whose hosts are done is merged and ended, on a real database and a filesystem
/// object store, with a fake provisioner.
@Suite struct FinalizerPassTests {
    /// Runs `body` with a finalizer over a fresh filesystem object store.
    static func withFinalizer(_ f: ControllerFixture, _ body: (Finalizer, String) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-finalizer-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let objects = FileSystemObjectStore(root: root + "/objects")
        let finalizer = Finalizer(
            attempts: f.attempts, provisioner: f.provisioner, location: ObjectLocation(store: objects), scratchDirectory: root + "/scratch", logger: f.logger)
        try await body(finalizer, root + "/objects")
    }

    /// A `.tar.gz` of `files` (relative path: content), as an agent uploads its `model/`.
    static func archive(_ files: [String: String], at path: String) throws {
        let directory = path + ".d"
        for (name, content) in files {
            let file = directory + "/" + name
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: file, atomically: true, encoding: .utf8)
        }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-czf", path, "-C", directory, "."]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
    }

    static func unpack(_ path: String) throws -> [String] {
        let tar = Process()
        let out = Pipe()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-tzf", path]
        tar.standardOutput = out
        try tar.run()
        let listing = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        tar.waitUntilExit()
        return listing.split(separator: "\n").map { String($0.hasPrefix("./") ? $0.dropFirst(2) : $0[...]) }.filter { !$0.isEmpty && !$0.hasSuffix("/") }.sorted()
    }

    @Test(arguments: RepositoryKind.allCases)
    func theHostsModelsAreMergedIntoModelTarGzAndTheJobCompletes(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            try await Self.withFinalizer(f) { finalizer, objects in
                let (job, hosts) = try await f.launched("merged", hosts: 2)
                let attempt = try #require(try await f.attempts.attempts(jobID: job.id).last)
                let prefix = job.paths.attemptPrefix(1)
                for (index, host) in hosts.enumerated() {
                    let name = "algo-\(index + 1)"
                    let uri = "\(prefix)/\(name)/model.tar.gz"
                    let local = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString).tar.gz").path
                    defer { try? FileManager.default.removeItem(atPath: local) }
                    try Self.archive(["weights-\(name).bin": name, "shared.txt": name], at: local)
                    guard case .s3(let bucket, let key) = try ObjectURI(parsing: uri) else { throw TestFailure("\(uri) is not s3") }
                    _ = try await FileSystemObjectStore(root: objects).put(bucket: bucket, key: key, fromFile: local)
                    try await f.heartbeat(host, AgentReport(phase: .exited, exitCode: 0, modelArchive: uri), at: 20)
                }

                try await finalizer.runOnce(now: ControllerFixture.at(21))
                let ended = try await f.job(job)
                #expect(ended.status == .completed, "\(ended)")
                #expect(ended.modelArtifacts == "s3://trainyard/team/merged/output/model.tar.gz")
                #expect(try Self.unpack(objects + "/trainyard/team/merged/output/model.tar.gz") == ["shared.txt", "weights-algo-1.bin", "weights-algo-2.bin"])
                #expect(f.provisioner.calls.ended == [attempt.id])
                // Nothing is left to finish.
                try await finalizer.runOnce(now: ControllerFixture.at(22))
                #expect(f.provisioner.calls.ended.count == 1)
            }
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aLostHostWithARetryLeftQueuesTheJobAgainForTheScheduler(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            try await Self.withFinalizer(f) { finalizer, _ in
                let job = try await f.submit("flaky", retries: 1)
                try await f.scheduler.runOnce(now: ControllerFixture.t0)
                let first = try #require(f.provisioner.calls.launched.first)
                try await f.heartbeat(first.hosts[0].id, AgentReport(phase: .training), at: 5)
                // Its heartbeats stop: an infrastructure failure, which a retry covers.
                try await f.leaseReaper.runOnce(now: ControllerFixture.at(36))
                try await finalizer.runOnce(now: ControllerFixture.at(37))
                let retried = try await f.job(job)
                #expect(retried.status == .inProgress, "\(retried)")

                try await f.scheduler.runOnce(now: ControllerFixture.at(38))
                #expect(f.provisioner.calls.launched.map(\.attemptNumber) == [1, 2])
                #expect(f.provisioner.calls.ended == [first.attemptID])
            }
        }
    }

    /// A pass that fails to finish an attempt (the database refused a statement, as one restarting does) tries it
    /// again seconds later, not when its ten-minute claim runs out.
    @Test func anAttemptThatFailedToFinishIsTriedAgainSecondsLaterNotALeaseLater() async throws {
        try await ControllerFixture.with(.postgres) { f in
            let store = try #require(f.attempts as? PostgresStore)
            try await Self.withFinalizer(f) { finalizer, _ in
                let (job, hosts) = try await f.launched("retried")
                try await f.heartbeat(hosts[0], AgentReport(phase: .exited, exitCode: 0), at: 5)
                // Given a database that refuses to end the attempt, for now.
                try await store.client.query(
                    """
                    CREATE FUNCTION refuse_for_the_test() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN RAISE EXCEPTION 'refused for the test' USING ERRCODE = '57P01'; END $$
                    """)
                try await store.client.query(
                    "CREATE TRIGGER refuse_for_the_test BEFORE UPDATE ON attempts FOR EACH ROW WHEN (NEW.state <> 'ending') EXECUTE FUNCTION refuse_for_the_test()")
                try await finalizer.runOnce(now: ControllerFixture.at(6))
                #expect(try await f.job(job).status == .inProgress)
                try await finalizer.runOnce(now: ControllerFixture.at(10))
                #expect(try await f.job(job).status == .inProgress)
                // When it takes statements again, a pass after the retry delay finishes the attempt.
                try await store.client.query("DROP TRIGGER refuse_for_the_test ON attempts")
                try await finalizer.runOnce(now: ControllerFixture.at(6 + FinalizeWork.retryAfterFailureSeconds + 1))
                #expect(try await f.job(job).status == .completed)
            }
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func anAttemptAFinalizerGaveBackIsFinishedAtOnceNotALeaseLater(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            try await Self.withFinalizer(f) { finalizer, _ in
                let (job, hosts) = try await f.launched("handed-over")
                try await f.heartbeat(hosts[0], AgentReport(phase: .exited, exitCode: 0), at: 5)
                // A finalizer claimed it and was stopped half-way by shutdown.
                let claimed = try #require(try await f.attempts.claimFinishedAttempt(leaseSeconds: Finalizer.leaseSeconds, now: ControllerFixture.at(6)))
                try await finalizer.runOnce(now: ControllerFixture.at(7))
                #expect(try await f.job(job).status == .inProgress)

                try await f.attempts.releaseFinishedAttemptClaim(attemptID: claimed.attempt.id)
                try await finalizer.runOnce(now: ControllerFixture.at(8))
                #expect(try await f.job(job).status == .completed)
            }
        }
    }
}
