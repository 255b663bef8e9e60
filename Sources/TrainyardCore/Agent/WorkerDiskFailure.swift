/// Why a worker's disk ended its job, in the words the job's `failure_reason` shows: the job's own volume filled up
/// (its fault: a larger `volume_size` or less data fixes it), or the machine's disk came down to the space kept for the
/// service's database (not its fault: the operator frees space).
public enum WorkerDiskFailure: Sendable, Equatable, CustomStringConvertible {
    /// The command failed with its volume full (ENOSPC inside `/opt/ml`); `commandReason` is what it said itself.
    case commandFilledVolume(volumeGiB: Int, commandReason: String)
    /// The watchdog (where no volume of its own bounds the worker) found the worker directory past its volume size and
    /// stopped the command.
    case volumeExceeded(volumeGiB: Int, usedBytes: Int64)
    /// Staging an input channel (or the code) ran out of room on the volume.
    case stagingFilledVolume(volumeGiB: Int, channel: String)
    /// The outputs could not be archived for upload: no room was left on the volume for `model.tar.gz`/`output.tar.gz`.
    case archiveFilledVolume(volumeGiB: Int, directory: String)
    /// The disk of the service's data directory came down to its reserve while the command ran; it was stopped.
    case reserveReached(freeBytes: Int64, reserveBytes: Int64)

    /// The longest failure reason kept (SageMaker's 1,024 characters).
    static let limit = 1024

    public var description: String {
        switch self {
        case .commandFilledVolume(let size, let reason):
            let head = "ClientError: the job's volume (\(size) GiB) is full: the training process ran out of space under /opt/ml "
                + "(input data, code, model, output, checkpoints and /tmp share the volume); ask for a larger volume_size or write less. "
            return String((head + reason).prefix(Self.limit))
        case .volumeExceeded(let size, let used):
            return "ClientError: the job's volume (\(size) GiB) is full: the worker directory holds \(ByteCount.text(used)), "
                + "so the training process was stopped; ask for a larger volume_size or write less."
        case .stagingFilledVolume(let size, let channel):
            let what = channel == "code" ? "the code (source_dir)" : "input channel \(channel)"
            return "ClientError: the job's volume (\(size) GiB) is full: \(what) did not fit while it was downloaded; "
                + "ask for a larger volume_size or stage less data."
        case .archiveFilledVolume(let size, let directory):
            return "ClientError: the job's volume (\(size) GiB) is full: no room was left to archive \(directory) for upload; "
                + "leave room on the volume for the archive or ask for a larger volume_size."
        case .reserveReached(let free, let reserve):
            return "InternalServerError: the worker's disk has \(ByteCount.text(free)) free, down to the \(ByteCount.text(reserve)) kept for the "
                + "service's database (TRAINYARD_DISK_RESERVE_GIB), so the training process was stopped before the disk filled; "
                + "the operator must free space on the service's data disk."
        }
    }
}

/// Byte counts as people read them: `512 bytes`, `5.0 MiB`, `256 MiB`, `1.5 GiB`.
public enum ByteCount {
    /// `bytes` in the largest binary unit that keeps it at 1 or more: whole when it is a whole number of that unit,
    /// else with one decimal.
    public static func text(_ bytes: Int64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard bytes >= 1024 else { return bytes == 1 ? "1 byte" : "\(bytes) bytes" }
        var unit = 0
        var size: Int64 = 1024
        while bytes >= size * 1024, unit < units.count - 1 {
            size *= 1024
            unit += 1
        }
        if bytes % size == 0 { return "\(bytes / size) \(units[unit])" }
        let tenths = Int64((Double(bytes) / Double(size) * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }
}
