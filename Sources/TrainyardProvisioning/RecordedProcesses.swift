import Foundation
import TrainyardCore

#if canImport(Glibc)
import Glibc
#endif

/// Signals processes a worker recorded earlier, but only while the numbers still belong to them: pids are reused
/// (at 32,768 on many machines, within minutes on a busy one), and a kill by a stale number ends someone else's
/// process.
public enum RecordedProcesses {
    /// Signals what is left of the user's command whose group `<worker dir>/command.pgid` records: the whole group,
    /// unless its leader's number now belongs to another process (its start time differs, or it leads no group).
    public static func signalCommandGroup(workerDirectory: String, _ signal: Int32) {
        guard let text = try? String(contentsOfFile: "\(workerDirectory)/command.pgid", encoding: .utf8),
            let record = CommandGroupRecord(text: text)
        else { return }
        if let stat = try? String(contentsOfFile: "/proc/\(record.processGroup)/stat", encoding: .utf8) {
            // The leader's number is in use: only the leader itself may be signalled through it.
            guard CommandGroupRecord.processGroup(statLine: stat) == record.processGroup else { return }
            // An older agent recorded no start time: the group leader of that number is taken to be its command.
            if let recorded = record.leaderStartTime, CommandGroupRecord.startTime(statLine: stat) != recorded { return }
        }
        // The leader is gone: while any process of its group lives, the kernel keeps the number for the group.
        kill(-record.processGroup, signal)
    }

    /// Signals the agent `pid` (and, with `group`, its process group), only if that process is still the agent of
    /// `workerDirectory` (its environment says so).
    public static func signalAgent(pid: Int32, workerDirectory: String?, _ signal: Int32, group: Bool = false) {
        guard pid > 1 else { return }
        if let workerDirectory {
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                environ.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == "TRAINYARD_AGENT_DIR=\(workerDirectory)" })
            else { return }
        }
        if group { kill(-pid, signal) }
        kill(pid, signal)
    }
}
