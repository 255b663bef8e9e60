import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The local hosts' directories under `<data dir>/workers`, `<host id>/`, from launch to removal: each holds a mark of
/// its attempt (`.trainyard-attempt`), so that a reconciliation after a crash knows whose it is, and, once its agent
/// ended, a mark of when (`.trainyard-ended`). A directory goes once its agent has uploaded the outputs and ended
/// (its agent exits 0), or, left behind (an agent killed, a server that was down), once its attempt has ended; with
/// `keepHours` it stays that many hours after, for debugging.
struct WorkerDirectories: Sendable {
    let root: String
    let keepHours: Double
    let logger: Logger

    static let attemptMark = ".trainyard-attempt"
    static let endedMark = ".trainyard-ended"

    func path(of hostID: String) -> String { "\(root)/\(hostID)" }

    /// Marks `directory` as a host of `attemptID`.
    func mark(_ directory: String, attemptID: Int64) throws {
        try "\(attemptID)\n".write(toFile: directory + "/" + Self.attemptMark, atomically: true, encoding: .utf8)
    }

    /// The host directories that carry an attempt's mark, by path, with their attempt.
    func marked() -> [(path: String, attemptID: Int64)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.sorted().compactMap { entry in
            let path = "\(root)/\(entry)"
            guard let text = try? String(contentsOfFile: path + "/" + Self.attemptMark, encoding: .utf8),
                let attemptID = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { return nil }
            return (path, attemptID)
        }
    }

    /// The host's agent has ended with its outputs uploaded: the directory goes now, or is marked to go after
    /// `keepHours`.
    func agentEnded(_ directory: String) {
        guard keepHours > 0 else {
            WorkerVolumes.queue.async { remove(directory) }
            return
        }
        _ = FileManager.default.createFile(atPath: directory + "/" + Self.endedMark, contents: nil)
        logger.debug("kept a worker directory for debugging", metadata: ["dir": "\(directory)", "hours": "\(keepHours)"])
    }

    /// Whether the directory of a host whose attempt has ended may go now: at once without `keepHours`, else once it
    /// ended that long ago (a directory found ended without a mark, after a crash, is marked now and kept from now).
    func isDue(_ directory: String, now: Date) -> Bool {
        guard keepHours > 0 else { return true }
        let mark = directory + "/" + Self.endedMark
        guard let ended = (try? FileManager.default.attributesOfItem(atPath: mark))?[.modificationDate] as? Date else {
            _ = FileManager.default.createFile(atPath: mark, contents: nil)
            return false
        }
        return now.timeIntervalSince(ended) >= keepHours * 3600
    }

    /// Kills what may be left of the host's command and agent, then unmounts and removes its directory.
    func remove(_ directory: String) {
        RecordedProcesses.signalCommandGroup(workerDirectory: directory, SIGKILL)
        for pid in Self.agentPIDs(of: directory) { RecordedProcesses.signalAgent(pid: pid, workerDirectory: directory, SIGKILL) }
        WorkerVolumes.release(directory, logger: logger)
        logger.debug("removed a worker directory", metadata: ["dir": "\(directory)"])
    }

    /// The agents of `directory` still running (their environment names it).
    static func agentPIDs(of directory: String) -> [Int32] {
        let needle = Data("TRAINYARD_AGENT_DIR=\(directory)\u{0}".utf8)
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry), let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { return nil }
            return environ.range(of: needle) != nil ? pid : nil
        }
    }
}
