import Foundation
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

struct JobNotCreated: Error {}

/// PostgreSQL's retention of logs; what every log repository does is in LogRepositoryContractTests.
@Suite struct PostgresStoreLogTests {
    /// A running 2-host job: its hosts as the agents' tokens authenticate them.
    static func runningJob(_ store: PostgresStore, name: String = "chatty") async throws -> (job: JobRecord, hosts: [HostRecord]) {
        let project = try await store.createProject(name: "team-\(name)").0
        var spec = JobSpec(instanceType: "ml.m5.large")
        spec.name = name
        spec.instanceCount = 2
        spec.command = ["python3", "train.py"]
        guard case .created(let job, _) = try await store.createJob(projectID: project.id, name: name, spec: spec, idempotencyKey: nil, requestHash: "h")
        else { throw JobNotCreated() }
        let plans = try await store.schedule(capacity: .everyType(Capacity(onDemand: 4, spot: 4)), provisioner: "test", launchLeaseSeconds: 60)
        var hosts: [HostRecord] = []
        for launch in try #require(plans.first).hosts {
            hosts.append(try #require(try await store.authenticateAgent(launch.token)))
        }
        return (job, hosts)
    }

    static func records(_ seqs: ClosedRange<Int64>, _ text: String) -> [LogRecord] {
        seqs.map { LogRecord(seq: $0, timeMicros: 1_764_000_000_000_000 + $0, message: "\(text) \($0)") }
    }

    @Test func retentionDeletesTheLinesOfJobsEndedLongAgoOnly() async throws {
        try await TestPostgres.withStore { store in
            let (old, oldHosts) = try await Self.runningJob(store, name: "old")
            let (recent, recentHosts) = try await Self.runningJob(store, name: "recent")
            _ = try await store.ingestLogs(host: oldHosts[0], records: Self.records(1...2, "old"), points: [])
            _ = try await store.ingestLogs(host: recentHosts[0], records: Self.records(1...2, "recent"), points: [])
            try await store.client.query(
                "UPDATE jobs SET status = 'Failed', secondary_status = 'Failed', last_modified_at = now() - interval '40 days' WHERE id = \(old.id)",
                logger: store.logger)
            let cutoff = Date().addingTimeInterval(-30 * 86_400)
            #expect(try await store.deleteExpiredLogs(endedBefore: cutoff) == 1)
            #expect(try await store.deleteExpiredLogs(endedBefore: cutoff) == 0)
            #expect(try await store.logLines(jobID: old.id, afterID: 0, host: nil, since: nil, limit: 10).isEmpty)
            #expect(try await store.logLines(jobID: recent.id, afterID: 0, host: nil, since: nil, limit: 10).count == 2)
        }
    }
}
