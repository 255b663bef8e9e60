import Testing
import TrainyardCore

/// What a user reads when a worker's disk ends their job, and when a host's log spool dropped lines.
struct WorkerDiskTests {
    @Test func everyDiskFailureSaysWhatFilledAndWhatToDo() {
        #expect(
            WorkerDiskFailure.commandFilledVolume(volumeGiB: 1, commandReason: "AlgorithmError: Training process exited with code 1").description
                == "ClientError: the job's volume (1 GiB) is full: the training process ran out of space under /opt/ml (input data, code, model, "
                + "output, checkpoints and /tmp share the volume); ask for a larger volume_size or write less. AlgorithmError: Training process "
                + "exited with code 1")
        #expect(
            WorkerDiskFailure.volumeExceeded(volumeGiB: 1, usedBytes: 1_288_490_189).description
                == "ClientError: the job's volume (1 GiB) is full: the worker directory holds 1.2 GiB, so the training process was stopped; "
                + "ask for a larger volume_size or write less.")
        #expect(
            WorkerDiskFailure.stagingFilledVolume(volumeGiB: 2, channel: "train").description
                == "ClientError: the job's volume (2 GiB) is full: input channel train did not fit while it was downloaded; ask for a larger "
                + "volume_size or stage less data.")
        #expect(
            WorkerDiskFailure.stagingFilledVolume(volumeGiB: 2, channel: "code").description
                == "ClientError: the job's volume (2 GiB) is full: the code (source_dir) did not fit while it was downloaded; ask for a larger "
                + "volume_size or stage less data.")
        #expect(
            WorkerDiskFailure.archiveFilledVolume(volumeGiB: 30, directory: "model/").description
                == "ClientError: the job's volume (30 GiB) is full: no room was left to archive model/ for upload; leave room on the volume for "
                + "the archive or ask for a larger volume_size.")
        #expect(
            WorkerDiskFailure.reserveReached(freeBytes: 1_610_612_736, reserveBytes: 2 << 30).description
                == "InternalServerError: the worker's disk has 1.5 GiB free, down to the 2 GiB kept for the service's database "
                + "(TRAINYARD_DISK_RESERVE_GIB), so the training process was stopped before the disk filled; the operator must free space on the "
                + "service's data disk.")
    }

    @Test func aFullVolumeReasonKeepsTheCommandsOwnWordsWithinSageMakersLimit() {
        let reason = WorkerDiskFailure.commandFilledVolume(volumeGiB: 1, commandReason: String(repeating: "x", count: 5000)).description
        #expect(reason.count == 1024)
        #expect(reason.hasPrefix("ClientError: the job's volume (1 GiB) is full"))
    }

    @Test func byteCountsReadAsPeopleWriteThem() {
        #expect(ByteCount.text(1) == "1 byte")
        #expect(ByteCount.text(512) == "512 bytes")
        #expect(ByteCount.text(16384) == "16 KiB")
        #expect(ByteCount.text(5_242_880) == "5 MiB")
        #expect(ByteCount.text(5_300_000) == "5.1 MiB")
        #expect(ByteCount.text(256 << 20) == "256 MiB")
        #expect(ByteCount.text(1_610_612_736) == "1.5 GiB")
    }

    @Test func droppedLinesAreToldOncePerCauseAndOnlyWhatIsNew() {
        let first = LogSpoolDrops(cappedLines: 1234, cappedBytes: 5_300_000, capBytes: 256 << 20)
        #expect(
            first.messages(since: nil, host: "algo-1") == [
                "host algo-1 dropped 1234 log lines (5.1 MiB): its log spool reached its 256 MiB cap while the server was not taking its logs "
                    + "(unreachable or slow)"
            ])
        // The same totals again (a retried report) say nothing; more say only the difference.
        #expect(first.messages(since: first, host: "algo-1").isEmpty)
        var later = first
        later.cappedLines += 1
        later.cappedBytes += 100
        later.unwritableLines = 3
        later.unwritableBytes = 2048
        #expect(
            later.messages(since: first, host: "algo-2") == [
                "host algo-2 dropped 1 log line (100 bytes): its log spool reached its 256 MiB cap while the server was not taking its logs "
                    + "(unreachable or slow)",
                "host algo-2 dropped 3 log lines (2 KiB): its log spool could not be written because the disk under it was full",
            ])
        // Totals lower than the server's (a crafted or confused agent) say nothing.
        #expect(first.messages(since: later, host: "algo-1").isEmpty)
    }
}
