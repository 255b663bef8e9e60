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

/// Runs the user's command in a process group of its own with a clean signal state (``CleanSpawn``), so that a stop
/// reaches every process it started and a script's own SIGTERM handler runs: SIGTERM to the group, SIGKILL after the
/// grace period. Output goes line by line into the host's ``LogSpool`` (stdout and stderr together, in the order
/// read); the last stderr lines are kept for the failure reason.
final class CommandRunner: Sendable {
    let process: CleanSpawn
    private let stopRequested = Atomic<Bool>(false)
    /// When the command's group gets SIGKILL, once a stop sent it SIGTERM.
    private let killAt = Mutex<ContinuousClock.Instant?>(nil)
    private let termination = Mutex<CommandTermination?>(nil)
    private let stderrTail = LineTail(limit: 20)
    private let spool: LogSpool

    init(argv: [String], environment: [String: String], workingDirectory: String, spool: LogSpool, pgidFile: String) throws {
        let process = try CleanSpawn.start(argv: argv, environment: environment, workingDirectory: workingDirectory)
        self.process = process
        // The group and its leader's start time, so that whoever kills what is left of it later (the provisioner,
        // after this agent died) can tell the group from a newcomer with a reused number.
        let stat = try? String(contentsOfFile: "/proc/\(process.pid)/stat", encoding: .utf8)
        let record = CommandGroupRecord(processGroup: process.pid, leaderStartTime: stat.flatMap(CommandGroupRecord.startTime(statLine:)))
        try? record.text.write(toFile: pgidFile, atomically: true, encoding: .utf8)
        self.spool = spool
    }

    /// How the command ended, once it has (reaped on the first call that sees it).
    private func ended() -> CommandTermination? {
        termination.withLock { known in
            if known == nil { known = process.poll() }
            return known
        }
    }

    /// Copies a stream into the spool as it comes, line by line, keeping the last lines when asked. Reading a pipe
    /// blocks, so it runs on a thread of its own, never on the concurrency pool (two blocked readers would starve a
    /// 2-core machine's pool, heartbeats included). It reads until the pipe's every writer closed it, so what the
    /// command printed just before it exited or was killed is kept.
    static func pump(_ handle: FileHandle, to spool: LogSpool, keep tail: LineTail?) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                copy(handle, to: spool, keep: tail)
                done.resume()
            }
            thread.start()
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

    /// Copies the command's output into the spool while it runs, and waits for the command, its output streams and,
    /// after a stop, the rest of its group to end: the group gets SIGKILL once the stop's grace has passed. Every task
    /// is a child of this call.
    func wait() async -> CommandExit {
        let end: CommandTermination? = await withTaskGroup(of: Void.self) { group in
            group.addTask { [process, spool] in await Self.pump(process.standardOutput, to: spool, keep: nil) }
            group.addTask { [process, spool, stderrTail] in await Self.pump(process.standardError, to: spool, keep: stderrTail) }
            var end = ended()
            while end == nil {
                killIfGraceOver()
                try? await Task.sleep(for: .milliseconds(20))
                end = ended()
            }
            // The streams end once every process of the group that holds them has; meanwhile a stop's SIGKILL
            // reaches those that ignore SIGTERM when the grace is over.
            group.addTask { [self] in
                while !Task.isCancelled {
                    killIfGraceOver()
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            _ = await group.next()
            _ = await group.next()
            // After a stop, what is left of the group (a process that closed its output and ignores SIGTERM) gets its
            // SIGKILL too before the command counts as ended; without a stop it is left alone, as before.
            while stopRequested.load(ordering: .acquiring), groupAlive(process.pid), killAt.withLock({ $0 }).map({ ContinuousClock.now < $0 }) ?? false {
                try? await Task.sleep(for: .milliseconds(50))
            }
            killIfGraceOver()
            group.cancelAll()
            return end
        }
        let stopped = stopRequested.load(ordering: .acquiring)
        switch end {
        case .signalled(let signal): return CommandExit(exitCode: nil, signal: signal, stopped: stopped)
        case .exited(let code): return CommandExit(exitCode: code, signal: nil, stopped: stopped)
        case nil: return CommandExit(exitCode: nil, signal: nil, stopped: stopped)
        }
    }

    var lastStderrLines: [String] { stderrTail.lines }

    /// Whether any process of the command's group lives. Until the leader is reaped its number is the group's; after
    /// that, while any member lives, the kernel keeps the number for the group, and once none does a process that
    /// gets the number and leads a group of its own is a newcomer, not ours.
    private func groupAlive(_ group: pid_t) -> Bool {
        guard ended() != nil else { return true }
        if let stat = try? String(contentsOfFile: "/proc/\(group)/stat", encoding: .utf8), CommandGroupRecord.processGroup(statLine: stat) == group {
            return false
        }
        return kill(-group, 0) == 0
    }

    /// SIGTERM to the command's process group, then SIGKILL once `grace` has passed; once only.
    /// The whole grace for the whole group: a shell that wraps `python train.py` dies on SIGTERM at once, while the
    /// Python process it started is still saving its checkpoint. ``wait()`` sends the SIGKILL.
    func stop(grace: Double) {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        killAt.withLock { $0 = ContinuousClock.now + .milliseconds(Int(grace * 1000)) }
        kill(-process.pid, SIGTERM)
    }

    /// SIGKILL to the group once a stop's grace has passed, while any of it lives.
    private func killIfGraceOver() {
        guard let deadline = killAt.withLock({ $0 }), ContinuousClock.now >= deadline, groupAlive(process.pid) else { return }
        kill(-process.pid, SIGKILL)
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
