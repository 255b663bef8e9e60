import Foundation
import Synchronization
import TrainyardCore

/// The host's log on local disk, written as the command prints and read back by the ``LogShipper``: the buffer between
/// a command that prints as fast as it can and a server that may be slow or restarting. Memory stays bounded whatever
/// the rate (the disk holds what is not shipped yet) and the command is never slowed by the network.
///
/// Both output streams append whole ``LogRecord``s under one lock, which numbers them 1, 2, 3… in the order the
/// agent read them.
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
        var closed = false
        var openStreams: Int
    }

    /// Creates (or truncates) the spool file; `streams` is how many writers will ``finish(stream:)``.
    init(path: String, streams: Int) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        self.path = path
        state = Mutex(State(file: try FileHandle(forWritingTo: URL(fileURLWithPath: path)), openStreams: streams))
    }

    /// Appends lines read just now.
    func append(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        let micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
        state.withLock { state in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(lines.reduce(0) { $0 + $1.utf8.count + 32 })
            for line in lines {
                state.lastMicros = max(micros, state.lastMicros + 1)
                LogRecord(seq: state.nextSeq, timeMicros: state.lastMicros, message: line).encode(into: &bytes)
                state.nextSeq += 1
            }
            state.file?.write(Data(bytes))
            state.bytes += bytes.count
        }
        doorbell.ring()
    }

    /// One writer's stream ended; once all did, the spool is complete.
    func finish(stream lines: [String]) {
        append(lines)
        state.withLock { state in
            state.openStreams -= 1
            if state.openStreams <= 0, !state.closed {
                state.closed = true
                try? state.file?.close()
                state.file = nil
            }
        }
        doorbell.ring()
    }

    /// Bytes of whole records written, and whether nothing more will be.
    var progress: (bytes: Int, closed: Bool) { state.withLock { ($0.bytes, $0.closed) } }
}

/// Ships the spool to the server in batches, oldest first, one batch in flight: whatever accumulated while a batch
/// was on its way makes the next one (up to ``maximumBatchBytes``), so a quiet command's lines go out one by one at
/// once and a chatty one's in large batches.
struct LogShipper: Sendable {
    static let maximumBatchBytes = 1 << 20

    let spool: LogSpool
    let connection: ServerConnection

    /// Ships until the spool is closed and every record was acknowledged.
    func run() async throws {
        let reader = try FileHandle(forReadingFrom: URL(fileURLWithPath: spool.path))
        defer { try? reader.close() }
        var offset = 0
        while true {
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
                continue
            }
            if closed { return }
            await spool.doorbell.wait(upTo: .seconds(5))
        }
    }
}
