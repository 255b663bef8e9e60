import Testing

@testable import TrainyardCore

@Suite struct ShardTests {
    @Test(arguments: [1, 2, 3, 7])
    func everyKeyGoesToExactlyOneHost(_ hostCount: Int) {
        let keys = (0..<20).map { "data/part-\($0)" }.shuffled()
        let shares = (0..<hostCount).map { SageMakerContract.shard(keys, hostIndex: $0, hostCount: hostCount) }
        #expect(shares.flatMap { $0 }.sorted() == keys.sorted())
        #expect(Set(shares.flatMap { $0 }).count == keys.count)
        #expect(shares.map(\.count).max()! - shares.map(\.count).min()! <= 1)
    }

    @Test func hostsTakeEveryNthSortedKey() {
        #expect(SageMakerContract.shard(["c", "a", "d", "b", "e"], hostIndex: 1, hostCount: 2) == ["b", "d"])
        #expect(SageMakerContract.shard(["a"], hostIndex: 5, hostCount: 2) == [])
    }
}

@Suite struct WorkerLayoutTests {
    @Test func sageMakersDefaultCheckpointDirectoryMapsUnderAnotherRoot() {
        let layout = WorkerLayout(root: "/var/trainyard/job-1/algo-1/")
        var spec = JobSpec(instanceType: "ml.m5.large", checkpointLocalPath: "/opt/ml/checkpoints")
        #expect(layout.checkpoints(spec) == "/var/trainyard/job-1/algo-1/checkpoints")
        spec.checkpointLocalPath = "/scratch/ckpt"
        #expect(layout.checkpoints(spec) == "/scratch/ckpt")
        spec.checkpointLocalPath = nil
        #expect(layout.checkpoints(spec) == "/var/trainyard/job-1/algo-1/checkpoints")
        #expect(WorkerLayout(root: "/opt/ml").checkpoints(JobSpec(instanceType: "x", checkpointLocalPath: "/opt/ml/checkpoints")) == "/opt/ml/checkpoints")
    }

    @Test func directoriesListTheTreeParentsFirst() {
        let layout = WorkerLayout(root: "/w")
        let spec = JobSpec(instanceType: "x", inputs: ["train": InputChannel(s3URI: "s3://b/t")])
        #expect(
            layout.directories(for: spec) == [
                "/w", "/w/input", "/w/input/config", "/w/input/data", "/w/input/data/train", "/w/code", "/w/model", "/w/output",
                "/w/output/data", "/w/output/intermediate", "/w/checkpoints",
            ]
        )
        #expect(layout.failureFile == "/w/output/failure")
        #expect(layout.successFile == "/w/output/success")
    }
}

@Suite struct FailureReasonTests {
    @Test func aFailureFileWinsAndIsCappedAt1024Characters() {
        let reason = SageMakerContract.failureReason(failureFile: String(repeating: "x", count: 5000), exitCode: 1, signal: nil, stderrTail: ["e"])
        #expect(reason.count == 1024)
        #expect(reason.hasPrefix("AlgorithmError: xxx"))
    }

    @Test func anEmptyFailureFileFallsBackToTheExitCodeAndStderr() {
        let reason = SageMakerContract.failureReason(failureFile: " \n", exitCode: 2, signal: nil, stderrTail: ["Traceback", "ValueError: bad"])
        #expect(reason == "AlgorithmError: Training process exited with code 2\nstderr:\nTraceback\nValueError: bad")
    }

    @Test func aKilledProcessNamesItsSignal() {
        let reason = SageMakerContract.failureReason(failureFile: nil, exitCode: nil, signal: 9, stderrTail: [])
        #expect(reason == "AlgorithmError: Training process was killed by signal 9 (SIGKILL). OutOfMemory: Process killed by SIGKILL (signal 9)")
    }

    @Test func longStderrKeepsTheLastLinesWithin1024Characters() {
        let lines = (0..<200).map { "line \($0) " + String(repeating: "-", count: 20) }
        let reason = SageMakerContract.failureReason(failureFile: nil, exitCode: 1, signal: nil, stderrTail: lines)
        #expect(reason.count <= 1024)
        #expect(reason.hasPrefix("AlgorithmError: Training process exited with code 1\nstderr:\n"))
        #expect(reason.hasSuffix(lines.last!))
        let huge = SageMakerContract.failureReason(failureFile: nil, exitCode: 1, signal: nil, stderrTail: [String(repeating: "y", count: 3000)])
        #expect(huge.count == 1024)
    }
}
