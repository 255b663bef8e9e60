/// Where one worker host stands, as its agent reports it. Ordered: a host only moves forward.
public enum HostPhase: String, Codable, Sendable, CaseIterable, Comparable {
    /// The provisioner started the host; its agent has not called in yet.
    case launching
    /// The agent fetched its assignment and is laying out the `/opt/ml` tree.
    case preparing
    /// The agent is staging input channels and code.
    case downloading
    /// The user's command runs.
    case training
    /// The command ended; the agent archives and uploads `model/` and `output/data/`.
    case uploading
    /// The agent finished: its report says how the command ended.
    case exited
    /// The host stopped heartbeating past its lease, or its agent died: an infrastructure failure.
    case lost

    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public static func < (lhs: HostPhase, rhs: HostPhase) -> Bool { lhs.rank < rhs.rank }

    /// Whether the host is done, one way or the other.
    public var isFinal: Bool { self == .exited || self == .lost }
}
