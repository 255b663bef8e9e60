import Foundation
import TrainyardCore

/// The operating-system user a project's Slurm jobs run as (``ProjectUserMap``), as this host's user database knows
/// it: `sbatch` runs as that user, and the attempt's files are that user's alone.
struct SlurmAccount: Sendable, Equatable {
    var name: String
    var uid: uid_t
    var gid: gid_t
    var home: String

    /// The account `project` maps to; an error the job's users can act on when it has none or the user is unknown.
    static func resolve(project: String, users: ProjectUserMap) throws -> SlurmAccount {
        guard let name = users.user(for: project) else { throw SlurmError.noUser(project: project) }
        guard let account = lookup(name) else { throw SlurmError.unknownUser(user: name, project: project) }
        return account
    }

    static func lookup(_ name: String) -> SlurmAccount? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, let found = result?.pointee else { return nil }
        return SlurmAccount(name: name, uid: found.pw_uid, gid: found.pw_gid, home: found.pw_dir.map { String(cString: $0) } ?? "/")
    }

    /// Gives `path` and everything under it to the account (without following links).
    func own(_ path: String) throws {
        guard lchown(path, uid, gid) == 0 else { throw SlurmError.files(path: path, reason: String(cString: strerror(errno))) }
        guard let children = FileManager.default.enumerator(atPath: path) else { return }
        while let child = children.nextObject() as? String {
            guard lchown("\(path)/\(child)", uid, gid) == 0 else {
                throw SlurmError.files(path: "\(path)/\(child)", reason: String(cString: strerror(errno)))
            }
        }
    }

    /// The environment a login of the account would have for the basics (`sbatch` exports it to the job).
    var environment: [String: String] { ["HOME": home, "USER": name, "LOGNAME": name] }
}
