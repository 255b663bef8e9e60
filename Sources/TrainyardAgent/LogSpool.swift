import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TrainyardCore

/// The host's log on local disk, written as the command prints and read back by the ``LogShipper``: the buffer between
/// a command that prints as fast as it can and a server that may be slow or restarting. Memory stays bounded whatever
/// the rate, the command is never slowed by the network, and so is the disk: the spool holds at most `capBytes` of
/// lines not yet shipped (a line past the cap is dropped and counted, see ``LogSpoolDrops``), and the bytes the server
/// has acknowledged are given back to the file system (punched out of the file, which keeps its offsets).
///
/// Both output streams append whole ``LogRecord``s under one lock, which numbers them 1, 2, 3… in the order the
/// agent read them (a dropped line gets no number).
final class LogSpool: Sendable {
    let path: String
    /// Rung after every append and at close, so the shipper wakes at once.
    let doorbell = Doorbell()
    private let state: Mutex<State>

    private struct State {
        var file: FileHandle?
        var nextSeq: Int64 = 1
        /// Each record gets a later microsecond than the one before, so a host's records have distinct times.
        var lastMicros: Int64 = 0
        /// Bytes of whole records written so far.
        var bytes: Int = 0
        /// Bytes the server has acknowledged (the start of what is not shipped yet).
        var shipped: Int = 0
        var closed = false
        var openStreams: Int
        /// Every line dropped so far.
        var drops: LogSpoolDrops
        /// The drops as they were when the run of drops going on now began: what reports carry meanwhile, so that a
        /// run is reported once it ends, in one event, rather than a little more at every heartbeat.
        var settled: LogSpoolDrops
        /// Whether the last line offered was dropped.
        var dropping = false

        mutating func startDropping() {
            if !dropping { settled = drops }
            dropping = true
        }

        /// What reports carry: every drop, or while a run of drops goes on, those before it.
        var reported: LogSpoolDrops { dropping ? settled : drops }

        /// Numbers and writes the lines that fit under the cap; counts the others, and all of them when the file
        /// cannot be written.
        mutating func append(_ lines: [String], micros: Int64) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 32 })
            let first = nextSeq
            var kept: (lines: Int64, bytes: Int64) = (0, 0)
            for line in lines {
                if Int64(self.bytes - shipped + bytes.count + line.utf8.count + 32) > drops.capBytes {
                    startDropping()
                    drops.cappedLines += 1
                    drops.cappedBytes += Int64(line.utf8.count)
                    continue
                }
                dropping = false
                lastMicros = max(micros, lastMicros + 1)
                LogRecord(seq: nextSeq, timeMicros: lastMicros, message: line).encode(into: &bytes)
                nextSeq += 1
                kept = (kept.lines + 1, kept.bytes + Int64(line.utf8.count))
            }
            guard !bytes.isEmpty else { return }
            do {
                try file?.write(contentsOf: Data(bytes))
                self.bytes += bytes.count
            } catch {
                // The disk under the spool is full: these lines are lost, and counted; their numbers are taken back,
                // so that the records stay numbered without gaps. A partial write is cut back to the last whole record.
                nextSeq = first
                startDropping()
                drops.unwritableLines += kept.lines
                drops.unwritableBytes += kept.bytes
                try? file?.truncate(atOffset: UInt64(self.bytes))
                try? file?.seek(toOffset: UInt64(self.bytes))
            }
        }
    }

    /// The cap when the server names none: 256 MiB.
    static let defaultCapBytes: Int64 = 256 << 20

    /// Where the spool says that it starts dropping lines.
    let logger: Logger?

    /// Creates (or truncates) the spool file; `streams` is how many writers will ``finish(stream:)``.
    init(path: String, streams: Int, capBytes: Int64 = LogSpool.defaultCapBytes, logger: Logger? = nil) throws {
        self.logger = logger
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        self.path = path
        let drops = LogSpoolDrops(capBytes: capBytes)
        state = Mutex(State(file: try FileHandle(forWritingTo: URL(fileURLWithPath: path)), openStreams: streams, drops: drops, settled: drops))
    }

    /// Appends lines read just now; lines past the cap, or that cannot be written, are counted as dropped.
    func append(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        let micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let (startedDropping, cap) = state.withLock { state in
            let wasDropping = state.dropping
            state.append(lines, micros: micros)
            return (!wasDropping && state.dropping, state.drops.capBytes)
        }
        if startedDropping {
            logger?.warning(
                "the log spool is full; dropping lines until the server takes some (the job's events will say how many)",
                metadata: ["spool": "\(path)", "cap_bytes": "\(cap)"])
        }
        doorbell.ring()
    }

    /// The server has every record before `offset`: the file gives those bytes back to the file system (where it can),
    /// and they no longer count against the cap.
    func acknowledge(upTo offset: Int) {
        state.withLock { state in
            guard offset > state.shipped else { return }
            state.shipped = offset
            // Whole blocks only; a file system that cannot punch keeps them (the volume's bound still holds).
            if let descriptor = state.file?.fileDescriptor {
                let end = offset & ~4095
                if end > 0 { _ = Self.fallocate(descriptor, Self.punchHole, 0, Int64(end)) }
            }
        }
    }

    /// `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`.
    static let punchHole: Int32 = 0x02 | 0x01

    /// glibc's `fallocate(2)` (a GNU extension the Glibc module does not show).
    @_silgen_name("fallocate")
    private static func fallocate(_ descriptor: Int32, _ mode: Int32, _ offset: Int64, _ length: Int64) -> Int32

    /// One writer's stream ended; once all did, the spool is complete.
    func finish(stream lines: [String]) {
        append(lines)
        state.withLock { state in
            state.openStreams -= 1
            if state.openStreams <= 0, !state.closed {
                state.closed = true
                // Whatever was dropped is reported now: no line follows to end the run.
                state.dropping = false
                try? state.file?.close()
                state.file = nil
            }
        }
        doorbell.ring()
    }

    /// Bytes of whole records written, and whether nothing more will be.
    var progress: (bytes: Int, closed: Bool) { state.withLock { ($0.bytes, $0.closed) } }

    /// The lines dropped, as reports carry them (a run of drops still going is left for later); nil while none was.
    var reportedDrops: LogSpoolDrops? { state.withLock { $0.reported.isEmpty ? nil : $0.reported } }

    /// Every line dropped so far (a run still going included).
    var drops: LogSpoolDrops { state.withLock { $0.drops } }
}

/// Ships the spool to the server in batches, oldest first, one batch in flight: whatever accumulated while a batch
/// was on its way makes the next one (up to ``maximumBatchBytes``), so a quiet command's lines go out one by one at
/// once and a chatty one's in large batches.
struct LogShipper: Sendable {
    static let maximumBatchBytes = 1 << 20

    let spool: LogSpool
    let connection: ServerConnection

    /// Ships until the spool is closed and every record was acknowledged, or the task is cancelled.
    func run() async throws {
        let reader = try FileHandle(forReadingFrom: URL(fileURLWithPath: spool.path))
        defer { try? reader.close() }
        var offset = 0
        while true {
            // A spool nobody closes (its command never started) would keep a cancelled shipper waiting for ever.
            try Task.checkCancellation()
            let (written, closed) = spool.progress
            if offset < written {
                try reader.seek(toOffset: UInt64(offset))
                let chunk = try reader.read(upToCount: min(written - offset, Self.maximumBatchBytes)) ?? Data()
                // Whole records only: cut after the chunk's last newline.
                guard let lastNewline = chunk.lastIndex(of: 0x0A) else {
                    throw AgentError.logSpool("spool \(spool.path) holds a record longer than \(Self.maximumBatchBytes) bytes")
                }
                let batch = Array(chunk[chunk.startIndex...lastNewline])
                _ = try await connection.shipLogs(batch)
                offset += batch.count
                spool.acknowledge(upTo: offset)
                continue
            }
            if closed { return }
            await spool.doorbell.wait(upTo: .seconds(5))
        }
    }
}
