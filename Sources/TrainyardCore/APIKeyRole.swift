/// What an API key may do inside its project.
public enum APIKeyRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// Everything, including managing keys (and, in the bootstrap project, projects and capacity).
    case admin
    /// Submit, stop and read jobs.
    case member
    /// Read only.
    case viewer

    /// Whether the key may create, stop and delete jobs (admin, member).
    public var canWriteJobs: Bool {
        switch self {
        case .admin, .member: true
        case .viewer: false
        }
    }

    /// Whether the key may create and revoke keys (admin).
    public var canManageKeys: Bool {
        self == .admin
    }
}
