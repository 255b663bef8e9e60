import Testing
import TrainyardCore

struct LogLineSplitterTests {
    @Test func linesEndAtNewlinesWhateverTheChunkBoundaries() {
        var splitter = LogLineSplitter()
        var lines: [String] = []
        for chunk in ["ep", "och 1\nepoch", " 2\r\n", "\n", "last"] { lines += splitter.append(Array(chunk.utf8)) }
        lines += splitter.finish()
        #expect(lines == ["epoch 1", "epoch 2", "", "last"])
        #expect(splitter.finish().isEmpty)
    }

    @Test func aLongLineIsSplitIntoPiecesOfAtMostTheLimit() {
        var splitter = LogLineSplitter(maximumBytes: 8)
        let lines = splitter.append(Array("abcdefghijklmnopqrst\n".utf8))
        #expect(lines == ["abcdefgh", "ijklmnop", "qrst"])
    }

    @Test func aLineOfExactlyTheLimitIsOneLineEvenAcrossChunks() {
        var splitter = LogLineSplitter(maximumBytes: 8)
        var lines = splitter.append(Array("abcd".utf8))
        lines += splitter.append(Array("efgh".utf8))
        lines += splitter.append(Array("\nijklmnopq".utf8))
        lines += splitter.append(Array("rstuvwxyz\n".utf8))
        #expect(lines == ["abcdefgh", "ijklmnop", "qrstuvwx", "yz"])
    }

    @Test func aSplitNeverCutsAUTF8Character() {
        // "é" is two bytes, "€" three: a cut at 8 bytes would fall inside the second "€".
        var splitter = LogLineSplitter(maximumBytes: 8)
        let lines = splitter.append(Array("abc€€é\n".utf8)) + splitter.finish()
        #expect(lines == ["abc€", "€é"])
        #expect(lines.joined() == "abc€€é")
    }

    @Test func invalidUTF8IsReplacedNotRejected() {
        var splitter = LogLineSplitter()
        let lines = splitter.append([0x6F, 0x6B, 0xFF, 0xFE, 0x21, 0x0A])
        #expect(lines == ["ok\u{FFFD}\u{FFFD}!"])
    }
}

struct LogRecordTests {
    @Test func recordsRoundTripThroughTheWireForm() throws {
        let records = [
            LogRecord(seq: 1, timeMicros: 1_764_000_000_000_001, message: "epoch\t1 loss=0.5"),
            LogRecord(seq: 2, timeMicros: 1_764_000_000_000_002, message: ""),
            LogRecord(seq: 3, timeMicros: 1_764_000_000_000_003, message: "ünïcode €"),
        ]
        var bytes: [UInt8] = []
        for record in records { record.encode(into: &bytes) }
        #expect(try LogRecord.decode(bytes) == records)
    }

    @Test func aMalformedBatchNamesItsLine() {
        #expect(throws: LogRecord.MalformedBatch(line: 2, reason: "expected <seq>\\t<time micros>\\t<message> with a positive seq")) {
            try LogRecord.decode(Array("1\t5\tok\nx\t5\tbad\n".utf8))
        }
        #expect(throws: LogRecord.MalformedBatch(line: 1, reason: "the last record does not end with a newline")) {
            try LogRecord.decode(Array("1\t5\tno newline".utf8))
        }
        #expect(throws: LogRecord.MalformedBatch.self) { try LogRecord.decode(Array("0\t5\tzero seq\n".utf8)) }
    }
}

struct MetricExtractorTests {
    @Test func theFirstGroupOfAMatchIsTheValue() {
        let extractor = MetricExtractor([
            MetricDefinition(name: "train:loss", regex: "loss=([0-9.eE+-]+)"),
            MetricDefinition(name: "accuracy", regex: "acc: ([0-9.]+)%"),
            MetricDefinition(name: "epoch", regex: "[0-9]+(?= epochs done)"),
        ])
        #expect(extractor.values(in: "step 10 loss=0.25 acc: 91.5%").values.map(\.name) == ["train:loss", "accuracy"])
        #expect(extractor.values(in: "step 10 loss=0.25 acc: 91.5%").values.map(\.value) == [0.25, 91.5])
        #expect(extractor.values(in: "loss=1e-3").values.first?.value == 0.001)
        // No group: the whole match.
        #expect(extractor.values(in: "12 epochs done").values.first?.value == 12)
        // A match that is not a number is no point.
        #expect(extractor.values(in: "loss=.-").values.isEmpty)
        #expect(extractor.values(in: "nothing here").values.isEmpty)
    }
}

struct SystemSampleTests {
    @Test func processStatIsReadPastACommandNameWithSpacesAndParentheses() throws {
        let line = "4242 (python (train) x) S 1 4200 4200 0 -1 4194560 100 0 0 0 150 30 7 3 20 0 4 0 12345 2000000000 5000 18446744073709551615"
        let stat = try #require(ProcessStat.parse(line))
        #expect(stat == ProcessStat(processGroup: 4200, cpuTicks: 150 + 30 + 7 + 3, residentPages: 5000))
        #expect(ProcessStat.parse("garbage") == nil)
    }

    /// Four GPUs as `nvidia-smi --query-gpu=index,uuid,utilization.gpu,memory.used,memory.total
    /// --format=csv,noheader,nounits` prints them (an H100 node; the last one's figures not supported).
    static let fourGPUs = """
        0, GPU-8932f937-d72c-4106-c12f-20bd9faed9f6, 80, 1000, 4000
        1, GPU-51b6f3a2-0c1e-4a63-9f2b-7d0e5c1d2a11, 60, 3000, 4000
        2, GPU-51c0aa00-3e4d-4f19-8a6b-0b1c2d3e4f50, 0, 0, 4000
        3, GPU-0d2b7c11-9a8e-4d6f-b1e2-3c4d5e6f7a8b, [N/A], [N/A], [N/A]
        """

    @Test func gpuReadingsSumUtilisationAndShareMemory() {
        let readings = GPUReading.parse(csv: "0, GPU-a, 80, 1000, 4000\n1, GPU-b, 60, 3000, 4000\n2, GPU-c, [N/A], [N/A], [N/A]\n")
        #expect(readings.map(\.index) == [0, 1, 2] && readings.map(\.uuid) == ["GPU-a", "GPU-b", "GPU-c"] && readings[2].utilization == nil)
        let samples = GPUReading.samples(readings, timeMicros: 7)
        #expect(samples == [
            SystemSample(name: "GPUUtilization", value: 140, timeMicros: 7), SystemSample(name: "GPUMemoryUtilization", value: 50, timeMicros: 7),
        ])
        #expect(GPUReading.samples([], timeMicros: 7).isEmpty)
        #expect(GPUReading.samples([readings[2]], timeMicros: 7).isEmpty, "a GPU that reports nothing adds no series")
    }

    /// A host's GPUs are those CUDA_VISIBLE_DEVICES gives it, as CUDA reads the variable.
    @Test func aHostsGPUsAreThoseCUDAVisibleDevicesGivesIt() {
        let all = GPUReading.parse(csv: Self.fourGPUs)
        #expect(all.map(\.index) == [0, 1, 2, 3])
        func visible(_ variable: String?) -> [Int] { GPUReading.visible(all, cudaVisibleDevices: variable).map(\.index) }
        #expect(visible(nil) == [0, 1, 2, 3], "unset: every GPU")
        #expect(visible("1,2") == [1, 2] && visible("2,1") == [2, 1] && visible(" 1 , 2 ") == [1, 2])
        #expect(visible("") == [] && visible("-1") == [] && visible("1,-1,2") == [1], "read up to the first entry that is not an ordinal")
        #expect(visible("1gpu,2") == [1, 2], "an entry's leading digits, as strtoul reads them")
        #expect(visible("0,0") == [] && visible("1,2,1") == [], "a repeated entry: no GPU")
        #expect(visible("2,7,1") == [2], "read up to the first ordinal past the GPUs there are")
        #expect(visible("GPU-8932f937-d72c-4106-c12f-20bd9faed9f6") == [0], "a UUID")
        #expect(visible("GPU-51b6,GPU-8932") == [1, 0], "unique prefixes")
        #expect(visible("GPU-51b6,0") == [1], "a UUID list ends at an entry that is not one")
        #expect(visible("GPU-51") == [], "a prefix of two names neither")
        // a device cgroup lists only its own GPUs, numbered by their place in the list
        let cgroup = GPUReading.parse(csv: "2, GPU-c, 70, 100, 400\n3, GPU-d, 10, 300, 400\n")
        #expect(GPUReading.visible(cgroup, cudaVisibleDevices: "0,1").map(\.uuid) == ["GPU-c", "GPU-d"])
        // two hosts of one node, each its own GPU: each reports its own
        let first = GPUReading.samples(GPUReading.visible(all, cudaVisibleDevices: "0"), timeMicros: 1)
        let second = GPUReading.samples(GPUReading.visible(all, cudaVisibleDevices: "1"), timeMicros: 1)
        #expect(first.first?.value == 80 && second.first?.value == 60)
        #expect(first.last?.value == 25 && second.last?.value == 75)
    }
}
