import Foundation
import Testing
import TrainyardCore
import TrainyardStore
import TrainyardTestSupport

/// What every ``LogRepository`` does: PostgreSQL's and the in-memory twin.
@Suite struct LogRepositoryContractTests {
    static func records(_ seqs: ClosedRange<Int64>, _ text: String) -> [LogRecord] {
        seqs.map { LogRecord(seq: $0, timeMicros: 1_764_000_000_000_000 + $0, message: "\(text) \($0)") }
    }

    static func sameInstant(_ a: Date?, _ b: Date) -> Bool {
        a.map { abs($0.timeIntervalSince(b)) < 0.000_000_5 } ?? false
    }

    @Test(arguments: RepositoryKind.allCases)
    func aRetriedOrOverlappingBatchStoresEveryLineOnceInOrder(_ kind: RepositoryKind) async throws {
        try await kind.withLogRepository { fixture in
            let logs = fixture.logs
            let (job, hosts) = try await fixture.runningJob(project: "team", name: "chatty")
            #expect(try await logs.ingestLogs(host: hosts[0], records: Self.records(1...3, "a"), points: []) == LogBatchReceipt(stored: 3, lastSeq: 3))
            #expect(try await logs.ingestLogs(host: hosts[1], records: Self.records(1...2, "b"), points: []) == LogBatchReceipt(stored: 2, lastSeq: 2))
            // The same batch again (its answer was lost), then one that overlaps it, out of order.
            #expect(try await logs.ingestLogs(host: hosts[0], records: Self.records(1...3, "a"), points: []) == LogBatchReceipt(stored: 0, lastSeq: 3))
            #expect(
                try await logs.ingestLogs(host: hosts[0], records: Self.records(2...5, "a").reversed(), points: []) == LogBatchReceipt(stored: 2, lastSeq: 5))

            let lines = try await logs.logLines(jobID: job, afterID: 0, host: nil, since: nil, limit: 100)
            #expect(lines.map(\.message) == ["a 1", "a 2", "a 3", "b 1", "b 2", "a 4", "a 5"])
            #expect(lines.map(\.host) == ["algo-1", "algo-1", "algo-1", "algo-2", "algo-2", "algo-1", "algo-1"])
            #expect(lines.map(\.id) == lines.map(\.id).sorted() && Set(lines.map(\.id)).count == 7)
            #expect(Self.sameInstant(lines.first?.time, Date(timeIntervalSince1970: 1_764_000_000.000001)))
            // Pages after an id, one host, from a time on.
            let second = try await logs.logLines(jobID: job, afterID: lines[2].id, host: nil, since: nil, limit: 2)
            #expect(second.map(\.message) == ["b 1", "b 2"])
            #expect(try await logs.logLines(jobID: job, afterID: 0, host: "algo-2", since: nil, limit: 100).map(\.message) == ["b 1", "b 2"])
            let since = Date(timeIntervalSince1970: 1_764_000_000.000004)
            #expect(try await logs.logLines(jobID: job, afterID: 0, host: "algo-1", since: since, limit: 100).map(\.message) == ["a 4", "a 5"])
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func eachHostThatPrintedIsAStreamReadableBackwardsFromItsEnd(_ kind: RepositoryKind) async throws {
        try await kind.withLogRepository { fixture in
            let logs = fixture.logs
            let (job, hosts) = try await fixture.runningJob(project: "team", name: "streams", hosts: 3)
            _ = try await logs.ingestLogs(host: hosts[0], records: Self.records(1...4, "a"), points: [])
            _ = try await logs.ingestLogs(host: hosts[1], records: Self.records(1...2, "bb"), points: [])
            // The third host printed nothing: it has no stream.
            let streams = try await logs.logStreams(jobID: job)
            #expect(streams.map(\.host) == ["algo-1", "algo-2"])
            #expect(streams[0].bytes == 12 && streams[1].bytes == 8)
            #expect(Self.sameInstant(streams[0].firstTime, Date(timeIntervalSince1970: 1_764_000_000.000001)))
            #expect(Self.sameInstant(streams[0].lastTime, Date(timeIntervalSince1970: 1_764_000_000.000004)))
            // Backwards: the newest lines of one host before an id, oldest first.
            let all = try await logs.logLines(jobID: job, afterID: 0, host: "algo-1", since: nil, limit: 100)
            #expect(try await logs.logPageBefore(jobID: job, beforeID: .max, host: "algo-1", until: nil, limit: 2).map(\.message) == ["a 3", "a 4"])
            #expect(try await logs.logPageBefore(jobID: job, beforeID: all[2].id, host: "algo-1", until: nil, limit: 5).map(\.message) == ["a 1", "a 2"])
            let until = Date(timeIntervalSince1970: 1_764_000_000.0000025)
            #expect(try await logs.logPageBefore(jobID: job, beforeID: .max, host: "algo-1", until: until, limit: 5).map(\.message) == ["a 1", "a 2"])
            #expect(try await logs.logPageBefore(jobID: job, beforeID: .max, host: "algo-3", until: nil, limit: 5).isEmpty)
        }
    }

    /// The dashboard's log pages: the end of the log, earlier and later windows, one host, a search of the whole log
    /// whatever its case, a byte budget counted from the edge; another project's job of the same name is not in it.
    @Test(arguments: RepositoryKind.allCases)
    func aLogWindowReadsEitherWayFromAnEdgeForOneHostAndSearchesTheWholeLog(_ kind: RepositoryKind) async throws {
        try await kind.withLogRepository { fixture in
            let logs = fixture.logs
            let (job, hosts) = try await fixture.runningJob(project: "team", name: "viewer")
            let (other, otherHosts) = try await fixture.runningJob(project: "lab", name: "viewer")
            _ = try await logs.ingestLogs(host: hosts[0], records: Self.records(1...6, "step"), points: [])
            _ = try await logs.ingestLogs(host: hosts[1], records: [LogRecord(seq: 1, timeMicros: 1_764_000_000_000_010, message: "ERROR Loss is NaN")], points: [])
            _ = try await logs.ingestLogs(host: otherHosts[0], records: [LogRecord(seq: 1, timeMicros: 1_764_000_000_000_011, message: "error elsewhere")], points: [])
            let all = try await logs.logLines(jobID: job, afterID: 0, host: nil, since: nil, limit: 100)
            func window(_ edge: LogWindowEdge, host: String? = nil, search text: String? = nil, limit: Int = 3, budget: Int = 1 << 20) async throws -> [String] {
                try await logs.logWindow(jobID: job, host: host, containing: text, from: edge, limit: limit, byteBudget: budget).map(\.message)
            }
            #expect(try await window(.before(.max)) == ["step 5", "step 6", "ERROR Loss is NaN"])
            #expect(try await window(.before(all[3].id)) == ["step 1", "step 2", "step 3"])
            #expect(try await window(.after(all[3].id)) == ["step 5", "step 6", "ERROR Loss is NaN"])
            #expect(try await window(.after(0), limit: 2) == ["step 1", "step 2"])
            #expect(try await window(.before(.max), host: "algo-1") == ["step 4", "step 5", "step 6"])
            #expect(try await window(.before(.max), search: "error") == ["ERROR Loss is NaN"])
            #expect(try await window(.after(0), search: "NAN") == ["ERROR Loss is NaN"])
            #expect(try await window(.before(.max), search: "step 1") == ["step 1"])
            #expect(try await window(.before(.max), host: "algo-1", search: "nan").isEmpty)
            // ASCII letters in either case, every other character as it is
            _ = try await logs.ingestLogs(
                host: hosts[1],
                records: [
                    LogRecord(seq: 2, timeMicros: 1_764_000_000_000_012, message: "Café au lait"),
                    LogRecord(seq: 3, timeMicros: 1_764_000_000_000_013, message: "CAFÉ NOIR"),
                ], points: [])
            #expect(try await window(.before(.max), search: "café") == ["Café au lait"])
            #expect(try await window(.before(.max), search: "CAFÉ") == ["CAFÉ NOIR"])
            #expect(try await window(.before(.max), search: "caf") == ["Café au lait", "CAFÉ NOIR"])
            // Six bytes a line: a budget of 7 keeps the line at the edge and the next one, from either side.
            #expect(try await window(.after(0), budget: 7) == ["step 1", "step 2"])
            #expect(try await window(.before(.max), host: "algo-1", budget: 7) == ["step 5", "step 6"])
            #expect(try await window(.after(0), budget: 1) == ["step 1"])
            #expect(try await logs.logWindow(jobID: other, host: nil, containing: "step", from: .before(.max), limit: 10, byteBudget: 100).isEmpty)
        }
    }

    /// A chart's view of a job's series: a short one whole, a long one as each column's lowest and highest point in
    /// time order (the earliest of equals), with the series' count; another project's job of the same name apart.
    @Test(arguments: RepositoryKind.allCases)
    func aMetricOverviewKeepsShortSeriesWholeAndEachColumnsLowestAndHighestOfALongOne(_ kind: RepositoryKind) async throws {
        try await kind.withLogRepository { fixture in
            let logs = fixture.logs
            let (job, hosts) = try await fixture.runningJob(project: "team", name: "charted")
            let (other, otherHosts) = try await fixture.runningJob(project: "lab", name: "charted")
            let start: Int64 = 1_764_000_000_000_000
            // Ten points over nine microseconds (one a line): in three columns, points 0-2, 3-5 and 6-9.
            let values: [Double] = [5, 1, 9, 4, 4, 7, 3, 8, 2, 6]
            let records = Self.records(1...10, "loss")
            let loss = zip(records, values).map { MetricPointInput(name: "loss", timeMicros: $0.timeMicros, value: $1) }
            _ = try await logs.ingestLogs(host: hosts[0], records: records, points: loss)
            try await logs.recordSamples(host: hosts[1], samples: [SystemSample(name: "CPUUtilization", value: 50, timeMicros: start + 4)])
            _ = try await logs.ingestLogs(
                host: otherHosts[0], records: Self.records(1...1, "loss"), points: [MetricPointInput(name: "loss", timeMicros: start + 1, value: 99)])

            let overview = try await logs.metricOverview(jobID: job, columns: 3)
            #expect(overview.map { "\($0.series.kind) \($0.series.name) \($0.series.host) \($0.count)" } == [
                "definition loss algo-1 10", "system CPUUtilization algo-2 1",
            ])
            #expect(overview.first?.series.points.map(\.value) == [1, 9, 4, 7, 8, 2])
            let times = overview.first?.series.points.map(\.time) ?? []
            // of the column's two 4s, the earlier (line 4, not 5)
            #expect(times.map { Int(($0.timeIntervalSince1970 - 1_764_000_000) * 1_000_000 + 0.5) } == [2, 3, 4, 6, 8, 9], "\(times)")
            // wide enough for every point: the series whole
            let whole = try await logs.metricOverview(jobID: job, columns: 5)
            #expect(whole.first?.series.points.map(\.value) == values && whole.first?.count == 10)
            #expect(try await logs.metricOverview(jobID: other, columns: 3).map(\.series.points.count) == [1])
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func twoProjectsJobsOfTheSameNameKeepTheirOwnLinesAndMetrics(_ kind: RepositoryKind) async throws {
        try await kind.withLogRepository { fixture in
            let logs = fixture.logs
            let (ours, ourHosts) = try await fixture.runningJob(project: "team-a", name: "train", hosts: 1)
            let (theirs, theirHosts) = try await fixture.runningJob(project: "team-b", name: "train", hosts: 1)
            #expect(ours != theirs && ourHosts[0].name == theirHosts[0].name)
            let point = [MetricPointInput(name: "loss", timeMicros: 1_764_000_000_000_001, value: 0.5)]
            _ = try await logs.ingestLogs(host: ourHosts[0], records: Self.records(1...2, "ours"), points: point)
            // Their host's sequence numbers are its own: seq 1 is new to it.
            #expect(try await logs.ingestLogs(host: theirHosts[0], records: Self.records(1...1, "theirs"), points: []) == LogBatchReceipt(stored: 1, lastSeq: 1))
            #expect(try await logs.logLines(jobID: ours, afterID: 0, host: nil, since: nil, limit: 10).map(\.message) == ["ours 1", "ours 2"])
            #expect(try await logs.logLines(jobID: theirs, afterID: 0, host: nil, since: nil, limit: 10).map(\.message) == ["theirs 1"])
            #expect(try await logs.finalMetrics(jobID: ours).map(\.name) == ["loss"])
            #expect(try await logs.finalMetrics(jobID: theirs).isEmpty)
            #expect(try await logs.metricSeries(jobID: theirs).isEmpty)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func metricPointsAreStoredOnceAndTheLastValueIsFinal(_ kind: RepositoryKind) async throws {
        try await kind.withLogRepository { fixture in
            let logs = fixture.logs
            let (job, hosts) = try await fixture.runningJob(project: "team", name: "chatty")
            let records = Self.records(1...3, "loss")
            let points = records.map { MetricPointInput(name: "loss", timeMicros: $0.timeMicros, value: 1 / Double($0.seq)) }
                + [MetricPointInput(name: "accuracy", timeMicros: records[0].timeMicros, value: 0.25)]
            _ = try await logs.ingestLogs(host: hosts[0], records: records, points: points)
            _ = try await logs.ingestLogs(host: hosts[0], records: records, points: points)
            let samples = [SystemSample(name: "CPUUtilization", value: 150, timeMicros: 1_764_000_000_000_100)]
            try await logs.recordSamples(host: hosts[1], samples: samples)
            try await logs.recordSamples(host: hosts[1], samples: samples)
            try await logs.recordSamples(host: hosts[1], samples: [])

            let series = try await logs.metricSeries(jobID: job)
            #expect(
                series.map { "\($0.kind) \($0.name) \($0.host) \($0.points.count)" } == [
                    "definition accuracy algo-1 1", "definition loss algo-1 3", "system CPUUtilization algo-2 1",
                ])
            #expect(series[1].points.map(\.value) == [1, 0.5, 1.0 / 3])
            let final = try await logs.finalMetrics(jobID: job)
            #expect(final.map(\.name) == ["accuracy", "loss"])
            #expect(abs(final[1].value - 1.0 / 3) < 1e-9)
            #expect(Self.sameInstant(final[1].time, Date(timeIntervalSince1970: 1_764_000_000.000003)))
        }
    }

    /// The last lines start where `logTailStart` says: of the whole job, of one host, from a time on; all of them when
    /// there are fewer.
    @Test(arguments: RepositoryKind.allCases)
    func theLastLinesStartWhereTheTailSays(_ kind: RepositoryKind) async throws {
        try await kind.withLogRepository { fixture in
            let logs = fixture.logs
            let (job, hosts) = try await fixture.runningJob(project: "team", name: "tailed")
            let base: Int64 = 1_764_000_000_000_000
            // algo-1 prints a0…a5 at 0…5 µs, algo-2 b0…b2 at 10…12 µs, in one order of ids: a0-a2, b0-b2, a3-a5
            for (host, messages, first) in [(0, ["a0", "a1", "a2"], 0), (1, ["b0", "b1", "b2"], 10), (0, ["a3", "a4", "a5"], 3)] {
                let records = messages.enumerated().map { index, message in
                    LogRecord(seq: Int64(first + index + 1), timeMicros: base + Int64(first + index), message: message)
                }
                _ = try await logs.ingestLogs(host: hosts[host], records: records, points: [])
            }
            func tail(_ count: Int, host: String? = nil, since: Date? = nil) async throws -> [String] {
                let start = try await logs.logTailStart(jobID: job, host: host, since: since, count: count)
                return try await logs.logLines(jobID: job, afterID: start, host: host, since: since, limit: count).map(\.message)
            }
            #expect(try await tail(2) == ["a4", "a5"])
            #expect(try await tail(4) == ["b2", "a3", "a4", "a5"])
            #expect(try await tail(2, host: "algo-2") == ["b1", "b2"])
            #expect(try await tail(4, host: "algo-1") == ["a2", "a3", "a4", "a5"])
            #expect(try await tail(100) == ["a0", "a1", "a2", "b0", "b1", "b2", "a3", "a4", "a5"])
            #expect(try await logs.logTailStart(jobID: job, host: nil, since: nil, count: 9) == 0)
            // from 4 µs on: a4, a5 and algo-2's lines; the last three of those by id
            let since = Date(timeIntervalSince1970: Double(base + 4) / 1_000_000)
            #expect(try await tail(3, since: since) == ["b2", "a4", "a5"])
            #expect(try await tail(2, host: "nobody") == [])
        }
    }

    /// A page ends at its byte budget (the first line always comes) and says there is more; pages of metric points
    /// continue exactly where the last one stopped, across series.
    @Test(arguments: RepositoryKind.allCases)
    func logAndMetricPagesAreBoundedAndContinueExactly(_ kind: RepositoryKind) async throws {
        try await kind.withLogRepository { fixture in
            let logs = fixture.logs
            let (job, hosts) = try await fixture.runningJob(project: "team", name: "chatty")
            let records = (1...6).map { LogRecord(seq: Int64($0), timeMicros: 1_764_000_000_000_000 + Int64($0), message: String(repeating: "x", count: 100)) }
            let points = records.flatMap { record in
                ["a", "b"].map { MetricPointInput(name: $0, timeMicros: record.timeMicros, value: Double(record.seq)) }
            }
            _ = try await logs.ingestLogs(host: hosts[0], records: records, points: points)

            let first = try await logs.logPage(jobID: job, afterID: 0, host: nil, since: nil, limit: 10, byteBudget: 250)
            #expect(first.lines.count == 3 && first.more)
            let rest = try await logs.logPage(jobID: job, afterID: first.lines.last?.id ?? 0, host: nil, since: nil, limit: 10, byteBudget: 250)
            #expect(rest.lines.count == 3 && !rest.more)
            #expect(try await logs.logPage(jobID: job, afterID: 0, host: nil, since: nil, limit: 10, byteBudget: 1).lines.count == 1)
            #expect(try await logs.logPage(jobID: job, afterID: 0, host: nil, since: nil, limit: 6).more)

            var cursor: MetricCursor?
            var seen: [String] = []
            var pages = 0
            repeat {
                let page = try await logs.metricPage(jobID: job, after: cursor, limit: 5)
                seen += page.series.flatMap { series in series.points.map { "\(series.name)\(Int($0.value))" } }
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == (1...6).map { "a\($0)" } + (1...6).map { "b\($0)" })
        }
    }
}
