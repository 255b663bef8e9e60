/// What an agent writes to `<worker dir>/command.pgid` when it starts the user's command: the process group id and
/// the start time of the group's leader (field 22 of `/proc/<pid>/stat`, in clock ticks since boot). A group id alone
/// is not enough to kill what is left of a command later: once every process of the group has ended, the kernel may
/// give the number to an unrelated process (pids wrap at 32,768 on many machines), and `kill(-pgid)` would end that
/// one's group instead. The start time tells the command's leader from a newcomer with its number.
public struct CommandGroupRecord: Sendable, Equatable {
    public var processGroup: Int32
    public var leaderStartTime: UInt64?

    public init(processGroup: Int32, leaderStartTime: UInt64?) {
        self.processGroup = processGroup
        self.leaderStartTime = leaderStartTime
    }

    /// `"<pgid> <start time>\n"`, or `"<pgid>\n"` when the start time is unknown (an older agent wrote only that).
    public var text: String { leaderStartTime.map { "\(processGroup) \($0)\n" } ?? "\(processGroup)\n" }

    public init?(text: String) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let first = fields.first, let group = Int32(first), group > 1 else { return nil }
        processGroup = group
        leaderStartTime = fields.dropFirst().first.flatMap { UInt64($0) }
    }

    /// The start time in a `/proc/<pid>/stat` line: the 22nd field, counted after the command name, which is in
    /// parentheses and may itself hold spaces and parentheses.
    public static func startTime(statLine: String) -> UInt64? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        // Fields after the name start at field 3 (state); the start time is field 22, the 20th of these.
        let rest = statLine[statLine.index(after: close)...].split(separator: " ")
        return rest.count >= 20 ? UInt64(rest[19]) : nil
    }

    /// The process group id in a `/proc/<pid>/stat` line (field 5).
    public static func processGroup(statLine: String) -> Int32? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let rest = statLine[statLine.index(after: close)...].split(separator: " ")
        return rest.count >= 3 ? Int32(rest[2]) : nil
    }
}
