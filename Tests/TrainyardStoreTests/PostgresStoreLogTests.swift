import Foundation
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

struct JobNotCreated: Error {}

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
        let plans = try await store.schedule(capacity: { _ in Capacity(onDemand: 4, spot: 4) }, provisioner: "test", launchLeaseSeconds: 60)
        var hosts: [HostRecord] = []
        for launch in try #require(plans.first).hosts {
            hosts.append(try #require(try await store.authenticateAgent(launch.token)))
        }
        return (job, hosts)
    }

    static func records(_ seqs: ClosedRange<Int64>, _ text: String) -> [LogRecord] {
        seqs.map { LogRecord(seq: $0, timeMicros: 1_764_000_000_000_000 + $0, message: "\(text) \($0)") }
    }

    @Test func aRetriedOrOverlappingBatchStoresEveryLineOnceInOrder() async throws {
        try await TestPostgres.withStore { store in
            let (job, hosts) = try await Self.runningJob(store)
            #expect(try await store.ingestLogs(host: hosts[0], records: Self.records(1...3, "a"), points: []) == LogBatchReceipt(stored: 3, lastSeq: 3))
            #expect(try await store.ingestLogs(host: hosts[1], records: Self.records(1...2, "b"), points: []) == LogBatchReceipt(stored: 2, lastSeq: 2))
            // The same batch again (its answer was lost), then one that overlaps it.
            #expect(try await store.ingestLogs(host: hosts[0], records: Self.records(1...3, "a"), points: []) == LogBatchReceipt(stored: 0, lastSeq: 3))
            #expect(try await store.ingestLogs(host: hosts[0], records: Self.records(2...5, "a"), points: []) == LogBatchReceipt(stored: 2, lastSeq: 5))

            let lines = try await store.logLines(jobID: job.id, afterID: 0, host: nil, since: nil, limit: 100)
            #expect(lines.map(\.message) == ["a 1", "a 2", "a 3", "b 1", "b 2", "a 4", "a 5"])
            #expect(lines.map(\.id) == lines.map(\.id).sorted() && Set(lines.map(\.id)).count == 7)
            #expect(lines.first?.time == Date(timeIntervalSince1970: 1_764_000_000.000001))
            // Pages after an id, one host, from a time on.
            let second = try await store.logLines(jobID: job.id, afterID: lines[2].id, host: nil, since: nil, limit: 2)
            #expect(second.map(\.message) == ["b 1", "b 2"])
            #expect(try await store.logLines(jobID: job.id, afterID: 0, host: "algo-2", since: nil, limit: 100).map(\.message) == ["b 1", "b 2"])
            let since = Date(timeIntervalSince1970: 1_764_000_000.000004)
            #expect(try await store.logLines(jobID: job.id, afterID: 0, host: "algo-1", since: since, limit: 100).map(\.message) == ["a 4", "a 5"])
        }
    }

    @Test func metricPointsAreStoredOnceAndTheLastValueIsFinal() async throws {
        try await TestPostgres.withStore { store in
            let (job, hosts) = try await Self.runningJob(store)
            let records = Self.records(1...3, "loss")
            let points = records.map { MetricPointInput(name: "loss", timeMicros: $0.timeMicros, value: 1 / Double($0.seq)) }
            _ = try await store.ingestLogs(host: hosts[0], records: records, points: points)
            _ = try await store.ingestLogs(host: hosts[0], records: records, points: points)
            let samples = [SystemSample(name: "CPUUtilization", value: 150, timeMicros: 1_764_000_000_000_100)]
            try await store.recordSamples(host: hosts[1], samples: samples)
            try await store.recordSamples(host: hosts[1], samples: samples)

            let series = try await store.metricSeries(jobID: job.id)
            #expect(series.map { "\($0.kind) \($0.name) \($0.host) \($0.points.count)" } == ["definition loss algo-1 3", "system CPUUtilization algo-2 1"])
            let final = try await store.finalMetrics(jobID: job.id)
            #expect(final.map(\.name) == ["loss"])
            #expect(abs((final.first?.value ?? 0) - 1.0 / 3) < 1e-9)
        }
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

    /// A page ends at its byte budget (the first line always comes) and says there is more; pages of metric points
    /// continue exactly where the last one stopped, across series.
    @Test func logAndMetricPagesAreBoundedAndContinueExactly() async throws {
        try await TestPostgres.withStore { store in
            let (job, hosts) = try await Self.runningJob(store)
            let records = (1...6).map { LogRecord(seq: Int64($0), timeMicros: 1_764_000_000_000_000 + Int64($0), message: String(repeating: "x", count: 100)) }
            let points = records.flatMap { record in
                ["a", "b"].map { MetricPointInput(name: $0, timeMicros: record.timeMicros, value: Double(record.seq)) }
            }
            _ = try await store.ingestLogs(host: hosts[0], records: records, points: points)

            let first = try await store.logPage(jobID: job.id, afterID: 0, host: nil, since: nil, limit: 10, byteBudget: 250)
            #expect(first.lines.count == 3 && first.more)
            let rest = try await store.logPage(jobID: job.id, afterID: first.lines.last?.id ?? 0, host: nil, since: nil, limit: 10, byteBudget: 250)
            #expect(rest.lines.count == 3 && !rest.more)
            #expect(try await store.logPage(jobID: job.id, afterID: 0, host: nil, since: nil, limit: 10, byteBudget: 1).lines.count == 1)
            #expect(try await store.logPage(jobID: job.id, afterID: 0, host: nil, since: nil, limit: 6).more)

            var cursor: MetricCursor?
            var seen: [String] = []
            var pages = 0
            repeat {
                let page = try await store.metricPage(jobID: job.id, after: cursor, limit: 5)
                seen += page.series.flatMap { series in series.points.map { "\(series.name)\(Int($0.value))" } }
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == (1...6).map { "a\($0)" } + (1...6).map { "b\($0)" })
        }
    }
}
