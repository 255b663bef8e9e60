import Foundation

/// The last lines an agent (or the backend, on its behalf) wrote before it ended: what a user needs to see in the
/// failure reason of a host whose agent never reported (`exec: …/trainyard-agent: not found`, a missing library).
enum AgentLogTail {
    /// The last `count` non-empty lines of the file at `path`, joined with ` | `; empty when there are none.
    static func lastLines(of path: String, count: Int = 3) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.suffix(count)
            .joined(separator: " | ")
    }
}
