import Foundation

extension Components.Schemas.WarmPoolStatus {
    /// The pool in words, as the CLI and the dashboard print it: `Available until 2026-12-05T10:15:00Z (12 s kept)`,
    /// `Reused by exp-2 (31 s kept)`, `InUse: the job runs on the hosts an earlier job kept`, `Terminated (600 s kept)`.
    public var summary: String {
        let kept = resourceRetainedBillableTimeInSeconds.map { " (\($0) s kept)" } ?? ""
        switch status {
        case .available: return "Available until \(expiresAt?.formatted(.iso8601) ?? "-")\(kept)"
        case .reused: return "Reused by \(reusedByJob ?? "-")\(kept)"
        case .inUse: return "InUse: the job runs on the hosts an earlier job kept"
        case .terminated: return "Terminated\(kept)"
        }
    }
}
