import Testing
import TrainyardCore

/// Text from outside made safe for PostgreSQL `text` (no NUL, valid UTF-8, bounded) at every boundary.
struct StorableTextTests {
    @Test func nulBecomesTheReplacementCharacterAndNothingElseChanges() {
        #expect(StorableText.sanitize("a\u{0}b\u{0}") == "a\u{FFFD}b\u{FFFD}")
        #expect(StorableText.sanitize("épreuve ✓ 🎉") == "épreuve ✓ 🎉")
        #expect(!StorableText.isStorable("a\u{0}b") && StorableText.isStorable("ab"))
    }

    @Test func invalidUTF8AndNulBytesAreReplacedWhenDecoding() {
        #expect(StorableText.decode([0x61, 0x00, 0x62, 0xFF, 0x63]) == "a\u{FFFD}b\u{FFFD}c")
        #expect(StorableText.decode(Array("plain".utf8)) == "plain")
    }

    @Test func aPrintableExcerptKeepsTabsAndLinesAndReplacesEveryOtherControl() {
        let bytes: [UInt8] = Array("ok".utf8) + [0x00, 0x1B] + Array("[31mred\tcol\r\nnext\rover".utf8) + [0x7F, 0xC2, 0x85, 0xFF] + Array("é".utf8)
        #expect(StorableText.printable(bytes, maximumBytes: 100) == "ok\u{FFFD}\u{FFFD}[31mred\tcol\nnext\u{FFFD}over\u{FFFD}\u{FFFD}\u{FFFD}é")
        #expect(StorableText.printable(Array("€€€".utf8), maximumBytes: 4) == "€")
        #expect(StorableText.printable(Array("trailing\r".utf8), maximumBytes: 100) == "trailing\u{FFFD}")
    }

    @Test func aLongTextIsCutAtACharacterBoundaryWithinTheLimit() {
        // "€" is three bytes: a cut at 4 bytes would fall inside the second.
        #expect(StorableText.sanitize("€€€", maximumBytes: 4) == "€")
        #expect(StorableText.sanitize("abcdef", maximumBytes: 4) == "abcd")
        #expect(StorableText.sanitize("abc", maximumBytes: 0) == "")
        #expect(StorableText.decode(Array(repeating: 0x79, count: 300_000), maximumBytes: 16384).utf8.count == 16384)
    }

    @Test func theSplitterReplacesNulInLinesAndInPiecesOfLongLines() {
        var splitter = LogLineSplitter(maximumBytes: 8)
        var lines = splitter.append([0x61, 0x00, 0x62, 0x0A])
        lines += splitter.append(Array(repeating: 0x00, count: 10) + [0x0A])
        lines += splitter.append(Array("after\n".utf8))
        #expect(lines == ["a\u{FFFD}b", String(repeating: "\u{FFFD}", count: 8), "\u{FFFD}\u{FFFD}", "after"])
        #expect(lines.allSatisfy { StorableText.isStorable($0) })
    }

    @Test func aPieceOfBinaryOutputSurvivesTheServersCutWhole() throws {
        // Every byte of a 16 KiB piece of binary output becomes a three-byte U+FFFD: the server keeps all of it.
        var splitter = LogLineSplitter()
        let binary = [UInt8](repeating: 0xFF, count: LogLineSplitter.defaultMaximumBytes) + [0x0A]
        let lines = binary.withUnsafeBytes { splitter.append($0) }
        #expect(lines.count == 1)
        let records = try LogRecord.decode(Array("1\t10\t".utf8) + Array(lines[0].utf8) + [0x0A])
        #expect(records.first?.message == lines[0])
    }

    @Test func aCraftedLogBatchComesOutStorableAndBounded() throws {
        // seq 1 holds a NUL and an invalid byte; seq 2 a 300 kB line no real agent sends.
        let bytes = Array("1\t10\ta".utf8) + [0x00, 0xFF] + [0x0A] + Array("2\t11\t".utf8) + Array(repeating: 0x79, count: 300_000) + [0x0A]
        let records = try LogRecord.decode(bytes)
        #expect(records.map(\.seq) == [1, 2])
        #expect(records[0].message == "a\u{FFFD}\u{FFFD}")
        #expect(records[1].message.utf8.count == LogLineSplitter.maximumStoredBytes)
    }

    @Test func aFailureFileWithNulGivesAStorableReason() {
        let reason = SageMakerContract.failureReason(failureFile: "loss diverged\u{0} at step 7\n", exitCode: 1, signal: nil, stderrTail: [])
        #expect(reason == "AlgorithmError: loss diverged\u{FFFD} at step 7")
    }

    @Test func aCraftedAgentReportIsMadeStorable() {
        let report = AgentReport(
            phase: .exited, exitCode: 1, failureReason: "x\u{0}" + String(repeating: "y", count: 10_000), modelArchive: "s3://b/\u{0}",
            samples: [SystemSample(name: "CPU\u{0}", value: 1, timeMicros: 1)])
        let storable = report.storable()
        #expect(storable.failureReason?.hasPrefix("x\u{FFFD}y") == true)
        #expect(storable.failureReason?.utf8.count == AgentReport.maximumFailureReasonBytes)
        #expect(storable.modelArchive == "s3://b/\u{FFFD}")
        #expect(storable.samples?.first?.name == "CPU\u{FFFD}")
        #expect(storable.exitCode == 1 && storable.phase == .exited)
    }
}

/// Host ids are unique across projects, and never equal one of the earlier form still in a database.
struct HostIDTests {
    @Test func twoProjectsJobsOfOneNameGetDifferentHostIDs() {
        #expect(HostID.make(jobID: 1, jobName: "mnist", attempt: 1, ordinal: 1) == "mnist-1-algo-1-j1")
        #expect(HostID.make(jobID: 1, jobName: "mnist", attempt: 1, ordinal: 1) != HostID.make(jobID: 2, jobName: "mnist", attempt: 1, ordinal: 1))
        #expect(HostID.hostName(ordinal: 3) == "algo-3")
    }

    @Test func anIDNeverEqualsOneOfTheEarlierForm() {
        // Earlier ids were `<job>-<attempt>-algo-<N>`: their last part is a number after `algo`; ours is `j<id>`.
        let earlier = ["mnist-1-algo-1-j1", "x-1-algo-1"].map { "\($0)-1-algo-1" }
        for jobName in ["mnist", "mnist-1-algo-1-j1-1", "x-1-algo-1-1"] {
            #expect(!earlier.contains(HostID.make(jobID: 1, jobName: jobName, attempt: 1, ordinal: 1)))
        }
        #expect(HostID.make(jobID: 7, jobName: "a", attempt: 2, ordinal: 3).split(separator: "-").last == "j7")
    }
}
