import Foundation
import TrainyardCore

/// Which provisioner runs the workers, and how to reach Slurm when it is Slurm.
public struct ProvisionerSettings: Sendable {
    /// The provisioners `TRAINYARD_PROVISIONER` may name.
    public enum Kind: String, Sendable {
        /// Local processes (the default).
        case local
        /// A Slurm cluster: one `sbatch` per attempt.
        case slurm
    }

    /// `TRAINYARD_PROVISIONER`: `local` (default) or `slurm`.
    public var kind: Kind
    /// `SLURM_CONF`: the cluster's `slurm.conf`; nil: Slurm's default (`/etc/slurm/slurm.conf`).
    public var slurmConf: String?
    /// `TRAINYARD_SLURM_BIN`: the directory of `sbatch`, `squeue`, `sinfo` and `scancel`; nil: `PATH`.
    public var slurmBin: String?
    /// `TRAINYARD_SLURM_JOB_PREFIX`: names and tags this installation's Slurm jobs. Default `trainyard`.
    public var slurmJobPrefix: String
    /// `TRAINYARD_SLURM_SERVER_URL`: the server's URL as Slurm nodes reach it; default the address it listens on.
    public var slurmServerURL: String?
    /// `TRAINYARD_SLURM_USERS`: the Slurm user each project's jobs run as (`team-a=alice,*=trainyard`); nil: every job
    /// runs as the service's own user (its commands as per-attempt users when that is root).
    public var slurmUsers: ProjectUserMap?

    public init(
        kind: Kind = .local, slurmConf: String? = nil, slurmBin: String? = nil, slurmJobPrefix: String = "trainyard", slurmServerURL: String? = nil,
        slurmUsers: ProjectUserMap? = nil
    ) {
        self.slurmUsers = slurmUsers
        self.kind = kind
        self.slurmConf = slurmConf
        self.slurmBin = slurmBin
        self.slurmJobPrefix = slurmJobPrefix
        self.slurmServerURL = slurmServerURL
    }

    /// Reads the provisioner variables; a value that cannot be used is an error naming it.
    static func from(environment: [String: String]) throws -> ProvisionerSettings {
        func value(_ key: String) -> String? {
            guard let value = environment[key], !value.isEmpty else { return nil }
            return value
        }
        var settings = ProvisionerSettings()
        if let kind = value("TRAINYARD_PROVISIONER") {
            guard let parsed = Kind(rawValue: kind) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_PROVISIONER", value: kind, expected: "local or slurm")
            }
            settings.kind = parsed
        }
        settings.slurmConf = value("SLURM_CONF")
        settings.slurmBin = value("TRAINYARD_SLURM_BIN")
        if let prefix = value("TRAINYARD_SLURM_JOB_PREFIX") {
            guard prefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_SLURM_JOB_PREFIX", value: prefix, expected: "letters, digits, - and _")
            }
            settings.slurmJobPrefix = prefix
        }
        settings.slurmServerURL = value("TRAINYARD_SLURM_SERVER_URL")
        if let users = value("TRAINYARD_SLURM_USERS") {
            do {
                settings.slurmUsers = try ProjectUserMap.parse(users)
            } catch {
                throw ConfigurationError.invalid(key: "TRAINYARD_SLURM_USERS", value: users, expected: "project=user pairs separated by commas (\(error))")
            }
            guard settings.kind == .slurm else {
                throw ConfigurationError.invalid(
                    key: "TRAINYARD_SLURM_USERS", value: users, expected: "nothing unless TRAINYARD_PROVISIONER=slurm (local workers run each attempt as its own user)")
            }
        }
        return settings
    }
}
