import Foundation

/// Which operating-system user each project's jobs run as on a cluster whose users are people (Slurm): the
/// operator's `TRAINYARD_SLURM_USERS`, `team-a=alice,team-b=bob,*=trainyard`. A project not named falls to `*`; with no
/// `*`, its jobs are refused at submission. The agents and the commands run as that user on the nodes, with that
/// user's rights, quotas and accounting, as a Slurm user's own `sbatch` would.
public struct ProjectUserMap: Sendable, Equatable {
    /// Project name to user name.
    public var users: [String: String]
    /// The user of every project not named; nil: those projects cannot run jobs.
    public var fallback: String?

    public init(users: [String: String], fallback: String? = nil) {
        self.users = users
        self.fallback = fallback
    }

    /// The user `project`'s jobs run as, or nil when it has none.
    public func user(for project: String) -> String? {
        users[project] ?? fallback
    }

    /// Why `project` cannot run jobs here (the message its users see), or nil when it can.
    public func refusal(for project: String) -> String? {
        guard user(for: project) == nil else { return nil }
        return "project \(project) has no Slurm user to run its jobs as: the service's operator maps projects to users "
            + "with TRAINYARD_SLURM_USERS (e.g. \(project)=<user>, or *=<user> for every project not named)"
    }

    /// Parses `project=user` pairs separated by commas (whitespace around each is ignored). Throws a message naming
    /// every wrong entry: a project that is not a project name (or `*`), a user that is not a portable POSIX user name
    /// (`[a-z_][a-z0-9_-]*`, at most 32 characters), a project named twice, an empty map.
    public static func parse(_ text: String) throws(ProjectUserMapError) -> ProjectUserMap {
        var map = ProjectUserMap(users: [:])
        var problems: [String] = []
        var seen: Set<String> = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else {
                problems.append("'\(entry)' is not project=user")
                continue
            }
            let (project, user) = (parts[0], parts[1])
            if project != "*", !isProjectName(project) { problems.append("'\(project)' is not a project name (or *)") }
            if !isUserName(user) { problems.append("'\(user)' is not a user name ([a-z_][a-z0-9_-]*, at most 32 characters)") }
            if !seen.insert(project).inserted { problems.append("'\(project)' is mapped twice") }
            if project == "*" { map.fallback = user } else { map.users[project] = user }
        }
        guard problems.isEmpty else { throw ProjectUserMapError(problems: problems) }
        return map
    }

    static func isProjectName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard (1...63).contains(scalars.count), scalars.first != "-", scalars.last != "-" else { return false }
        var previous: Unicode.Scalar?
        for scalar in scalars {
            guard ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-" else { return false }
            if scalar == "-", previous == "-" { return false }
            previous = scalar
        }
        return true
    }

    static func isUserName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, scalars.count <= 32, ("a"..."z").contains(first) || first == "_" else { return false }
        return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
    }
}

/// Every problem of a `TRAINYARD_SLURM_USERS` value.
public struct ProjectUserMapError: Error, Equatable, CustomStringConvertible {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "; ") }
}
