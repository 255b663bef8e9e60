/// Which `priority` a key may give a job. Priority orders one queue shared by every project, so a tenant may lower its
/// own jobs freely but raise them only a little: members up to 0 (the default), a project's admins up to
/// ``projectAdminMaximum``, and only the service's own admins (admin keys of the bootstrap project) up to 1000.
public enum PriorityPolicy {
    public static let memberMaximum = 0
    public static let projectAdminMaximum = 100
    public static let serviceAdminMaximum = 1000

    /// The priorities a key of `role` may use; `serviceAdmin` when it is an admin key of the bootstrap project.
    public static func range(role: APIKeyRole, serviceAdmin: Bool) -> ClosedRange<Int> {
        let minimum = JobSpecValidator.priorityRange.lowerBound
        switch role {
        case .admin: return minimum...(serviceAdmin ? serviceAdminMaximum : projectAdminMaximum)
        case .member, .viewer: return minimum...memberMaximum
        }
    }

    /// The violation of `priority` for this key, or nil when it may use it. Values outside -1000…1000 are the
    /// validator's (rule `range` without a role).
    public static func violation(_ priority: Int, role: APIKeyRole, serviceAdmin: Bool) -> FieldViolation? {
        guard JobSpecValidator.priorityRange.contains(priority) else { return nil }
        let allowed = range(role: role, serviceAdmin: serviceAdmin)
        guard !allowed.contains(priority) else { return nil }
        let who = serviceAdmin ? "a service admin key" : role == .admin ? "a project admin key" : "a \(role.rawValue) key"
        return FieldViolation(
            field: "priority", rule: "range",
            message: "priority \(priority) is above what \(who) may set (\(allowed.lowerBound)…\(allowed.upperBound)): priority orders the queue "
                + "every project shares; ask a service admin for more")
    }
}
