import Foundation
import Logging
import Synchronization
import TrainyardCore

#if canImport(Glibc)
import Glibc
#endif

/// How the user's command ended.
struct CommandExit: Sendable, Equatable {
    var exitCode: Int32?
    var signal: Int32?
    /// Whether it ended because the agent was told to stop it.
    var stopped: Bool
}

/// Runs the user's command in a process group of its own (Foundation makes every child a group leader), so that a
/// stop reaches every process it started: SIGTERM to the group, SIGKILL after the grace period. Output goes line by
/// line into the host's ``LogSpool`` (stdout and stderr together, in the order read); the last stderr lines are kept
/// for the failure reason.
final class CommandRunner: Sendable {
    let process: Process
    private let stopRequested = Atomic<Bool>(false)
    private let stderrTail = LineTail(limit: 20)
    private let readers: [Task<Void, Never>]

    init(argv: [String], environment: [String: String], workingDirectory: String, spool: LogSpool, pgidFile: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--"] + argv
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        self.process = process
        try? "\(process.processIdentifier)\n".write(toFile: pgidFile, atomically: true, encoding: .utf8)
        readers = [
            Self.pump(out.fileHandleForReading, to: spool, keep: nil),
            Self.pump(err.fileHandleForReading, to: spool, keep: stderrTail),
        ]
    }

    /// Copies a stream into the spool as it comes, line by line, keeping the last lines when asked. Reading a pipe
    /// blocks, so it runs on a thread of its own, never on the concurrency pool (two blocked readers would starve a
    /// 2-core machine's pool, heartbeats included). It reads until the pipe's every writer closed it, so what the
    /// command printed just before it exited or was killed is kept.
    static func pump(_ handle: FileHandle, to spool: LogSpool, keep tail: LineTail?) -> Task<Void, Never> {
        Task {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    copy(handle, to: spool, keep: tail)
                    done.resume()
                }
                thread.start()
            }
        }
    }

    private static func copy(_ handle: FileHandle, to spool: LogSpool, keep tail: LineTail?) {
        var splitter = LogLineSplitter()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            let lines = chunk.withUnsafeBytes { splitter.append($0) }
            spool.append(lines)
            if let tail { for line in lines { tail.append(line) } }
        }
        let last = splitter.finish()
        if let tail { for line in last { tail.append(line) } }
        spool.finish(stream: last)
    }

    /// Waits for the command and its output streams to end.
    func wait() async -> CommandExit {
        while process.isRunning {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for reader in readers { await reader.value }
        let stopped = stopRequested.load(ordering: .acquiring)
        switch process.terminationReason {
        case .uncaughtSignal: return CommandExit(exitCode: nil, signal: process.terminationStatus, stopped: stopped)
        case .exit: return CommandExit(exitCode: process.terminationStatus, signal: nil, stopped: stopped)
        @unknown default: return CommandExit(exitCode: process.terminationStatus, signal: nil, stopped: stopped)
        }
    }

    var lastStderrLines: [String] { stderrTail.lines }

    /// SIGTERM to the command's process group, then SIGKILL once `grace` has passed; once only.
    func stop(grace: Double) {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let group = process.processIdentifier
        kill(-group, SIGTERM)
        Task.detached { [process] in
            let deadline = ContinuousClock.now + .milliseconds(Int(grace * 1000))
            while process.isRunning, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            kill(-group, SIGKILL)
        }
    }
}

/// The last lines of a stream.
final class LineTail: Sendable {
    private let state: Mutex<[String]>
    let limit: Int

    init(limit: Int) {
        self.limit = limit
        state = Mutex([])
    }

    func append(_ line: String) {
        state.withLock { lines in
            lines.append(line)
            if lines.count > limit { lines.removeFirst(lines.count - limit) }
        }
    }

    var lines: [String] { state.withLock { $0 } }
}
