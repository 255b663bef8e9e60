/// One setting of `trainyard serve`: the environment variables it is read from, its default and what it means. The
/// README's configuration table is this list (a test keeps the two equal), and every `TRAINYARD_*` setting is also a
/// `trainyard serve` flag of the same name (`TRAINYARD_MAX_QUEUED_JOBS`: `--max-queued-jobs`).
public struct ServerSetting: Sendable, Equatable {
    /// The variables, `TRAINYARD_*` or the AWS SDK's own (`AWS_REGION`).
    public let variables: [String]
    /// The default as the README shows it (Markdown).
    public let defaultValue: String
    /// What it does (Markdown).
    public let meaning: String

    /// The `trainyard serve` flag of a `TRAINYARD_*` variable: `--` and the rest of its name in kebab case.
    public static func flag(of variable: String) -> String? {
        guard variable.hasPrefix(prefix) else { return nil }
        return "--" + variable.dropFirst(prefix.count).lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// The variable a `trainyard serve` flag sets, if it names a setting.
    public static func variable(ofFlag flag: String) -> String? {
        ServerSettings.all.lazy.flatMap(\.variables).first { Self.flag(of: $0) == flag }
    }

    static let prefix = "TRAINYARD_"

    /// The README's row: `| `A` / `B` | default | meaning |`.
    public var markdownRow: String {
        "| \(variables.map { "`\($0)`" }.joined(separator: " / ")) | \(defaultValue) | \(meaning) |"
    }
}

/// Every setting `trainyard serve` reads, in the README's order.
public enum ServerSettings {
    /// Settings that were replaced: set, they stop the server with a message naming what replaced them.
    public static let retired = ["TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL", "TRAINYARD_ACCOUNT"]

    /// The README's configuration table, header included.
    public static var markdownTable: String {
        (["| variable | default | meaning |", "| --- | --- | --- |"] + all.map(\.markdownRow)).joined(separator: "\n")
    }

    public static let all: [ServerSetting] = [
        ServerSetting(
            variables: ["TRAINYARD_DATA_DIR"],
            defaultValue: #"`./.trainyard`"#,
            meaning: #"embedded PostgreSQL cluster (`postgres/`), bootstrap key (`admin-key`), master key (`master-key`), filesystem object store (`objects/`), worker directories (`workers/`)"#),
        ServerSetting(
            variables: ["TRAINYARD_HOST"],
            defaultValue: #"`127.0.0.1`"#,
            meaning: #"listen address"#),
        ServerSetting(
            variables: ["TRAINYARD_PORT"],
            defaultValue: #"`8080`"#,
            meaning: #"listen port; `0` picks a free one (logged)"#),
        ServerSetting(
            variables: ["TRAINYARD_DATABASE_URL"],
            defaultValue: #"embedded cluster"#,
            meaning: #"`postgres://user:pass@host:port/db[?sslmode=disable\|prefer\|require]` of an external PostgreSQL; several replicas may share it"#),
        ServerSetting(
            variables: ["TRAINYARD_ADMIN_KEY"],
            defaultValue: #"generated"#,
            meaning: #"bootstrap admin key `<id>.<secret>` (id `[A-Z0-9]{8,32}`); without it one is generated on first start and kept in `<data dir>/admin-key`"#),
        ServerSetting(
            variables: ["TRAINYARD_MASTER_KEY"],
            defaultValue: #"generated"#,
            meaning: #"secret text (32 bytes or more) every API key's secret is derived from, so that the SageMaker endpoint can check SigV4 while the database keeps only hashes; without it one is generated on first start and kept in `<data dir>/master-key`. Replicas that share a database share it; changing it stops SigV4 (not bearer use) of the keys made before"#),
        ServerSetting(
            variables: ["TRAINYARD_API_KEY_CACHE_SECONDS"],
            defaultValue: #"`10`"#,
            meaning: #"how long a replica trusts an API key it has read without reading it again (0: every request reads it); deleting a key tells every replica at once, this bounds it for one that was not listening"#),
        ServerSetting(
            variables: ["TRAINYARD_CAPACITY"],
            defaultValue: #"built-in"#,
            meaning: #"JSON file of instance type capacity and prices (below)"#),
        ServerSetting(
            variables: ["TRAINYARD_PROJECT_LOCATIONS"],
            defaultValue: #"none"#,
            meaning: #"JSON file of locations granted to projects beside those granted through the API, `{"vision-team": [{"uri": "s3://datasets/imagenet", "access": "read"}]}` (see Security model)"#),
        ServerSetting(
            variables: ["TRAINYARD_LOG_LEVEL"],
            defaultValue: #"`info`"#,
            meaning: #"`trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`"#),
        ServerSetting(
            variables: ["TRAINYARD_REGION"],
            defaultValue: #"`local`"#,
            meaning: #"region of `/v1` jobs' ARNs and of their workers' `AWS_REGION` (a job created through the SageMaker endpoint has its request's region); the account in an ARN is the job's project's (its id, 12 digits; `TRAINYARD_ACCOUNT` was retired)"#),
        ServerSetting(
            variables: ["TRAINYARD_HEARTBEAT_INTERVAL"],
            defaultValue: #"`2`"#,
            meaning: #"seconds between a worker agent's heartbeats"#),
        ServerSetting(
            variables: ["TRAINYARD_HOST_LEASE"],
            defaultValue: #"`20`"#,
            meaning: #"seconds a worker host may stay silent before it is judged lost (an infrastructure failure, retried under `max_retry_attempts`); after a server restart every live host first gets a fresh lease"#),
        ServerSetting(
            variables: ["TRAINYARD_STOP_GRACE"],
            defaultValue: #"`120`"#,
            meaning: #"seconds between SIGTERM and SIGKILL when a job is stopped or passes `max_run` (SageMaker's 120 s)"#),
        ServerSetting(
            variables: ["TRAINYARD_AGENT_OUTAGE_LIMIT"],
            defaultValue: #"`3600`"#,
            meaning: #"seconds a worker agent keeps trying while its server is unreachable or failing (a restart, a database recovery); after that it stops its command (SIGTERM, `TRAINYARD_STOP_GRACE`, SIGKILL), leaves its log spool and outputs in its worker directory, logs where they are and exits. Handed to the agents in their assignment"#),
        ServerSetting(
            variables: ["TRAINYARD_WORKER_UIDS"],
            defaultValue: #"`3000000-3999999`"#,
            meaning: #"uids local workers' commands run as when the service runs as root: each attempt gets its own (`start + attempt id mod count`), with no supplementary groups and no way back to privileges; pick a range no other account uses"#),
        ServerSetting(
            variables: ["TRAINYARD_LAUNCH_TIMEOUT"],
            defaultValue: #"`120`"#,
            meaning: #"seconds a launched host has to call in before it is judged lost"#),
        ServerSetting(
            variables: ["TRAINYARD_DEFAULT_VOLUME_SIZE"],
            defaultValue: #"`30`"#,
            meaning: #"GiB of disk a local host gets when its job has no `volume_size` (the SageMaker SDK's default); see "Disks""#),
        ServerSetting(
            variables: ["TRAINYARD_WORKER_VOLUMES"],
            defaultValue: #"`auto`"#,
            meaning: #"how local hosts' disks are bounded: `auto` gives each host a loop-mounted ext4 volume of its size where the service can (root, loop devices), else the agents watch their directories; `watch` always watches"#),
        ServerSetting(
            variables: ["TRAINYARD_DISK_RESERVE_GIB"],
            defaultValue: #"`2`"#,
            meaning: #"GiB kept free on the disk of the data directory, where the embedded PostgreSQL lives: no host starts below it, and a running command is stopped (the job fails saying so) before the disk comes down to it; `0` keeps none"#),
        ServerSetting(
            variables: ["TRAINYARD_KEEP_WORKER_DIRS_HOURS"],
            defaultValue: #"`0`"#,
            meaning: #"hours a local host's worker directory (and volume) is kept after its job, for debugging; `0` removes it as soon as its outputs are uploaded. Left-behind directories (an agent killed, a server that crashed) are removed by the reconciler once their attempt has ended and these hours have passed"#),
        ServerSetting(
            variables: ["TRAINYARD_LOG_SPOOL_MIB"],
            defaultValue: #"`256`"#,
            meaning: #"MiB of log lines not yet shipped that an agent keeps on disk (while the server is unreachable or slow); lines past it are dropped, and the job's events say how many (`log_lines_dropped`). Handed to the agents in their assignment"#),
        ServerSetting(
            variables: ["TRAINYARD_SPOT_NOTICE"],
            defaultValue: #"`120`"#,
            meaning: #"seconds between a reclaim notice and the host being taken away (AWS's two-minute spot notice): the command gets SIGTERM and three quarters of it, then the final checkpoint sync"#),
        ServerSetting(
            variables: ["TRAINYARD_CHECKPOINT_SYNC_INTERVAL"],
            defaultValue: #"`10`"#,
            meaning: #"seconds between checkpoint syncs while a command runs (a final sync always follows its end)"#),
        ServerSetting(
            variables: ["TRAINYARD_SPOT_INTERRUPTION_RATE"],
            defaultValue: #"`0`"#,
            meaning: #"the simulated spot market: mean interruptions per spot host-hour (`0`: none at random)"#),
        ServerSetting(
            variables: ["TRAINYARD_SPOT_SEED"],
            defaultValue: #"`1`"#,
            meaning: #"seed of the simulated spot market's draws: the same seed reclaims the same hosts at the same ages"#),
        ServerSetting(
            variables: ["TRAINYARD_SYSTEM_METRICS_INTERVAL"],
            defaultValue: #"`5`"#,
            meaning: #"seconds between the agents' CPU, memory and GPU samples of the user's command"#),
        ServerSetting(
            variables: ["TRAINYARD_LOG_RETENTION_DAYS"],
            defaultValue: #"`30`"#,
            meaning: #"days an ended job's log lines and metric points are kept; `0` keeps them forever"#),
        ServerSetting(
            variables: ["TRAINYARD_MAX_QUEUED_JOBS"],
            defaultValue: #"`10000`"#,
            meaning: #"jobs one project may have waiting to run; one more is a `429` with `Retry-After`"#),
        ServerSetting(
            variables: ["TRAINYARD_MAX_WEBHOOKS"],
            defaultValue: #"`100`"#,
            meaning: #"webhook subscriptions one project may hold"#),
        ServerSetting(
            variables: ["TRAINYARD_MAX_LOG_FOLLOWERS"],
            defaultValue: #"`10`"#,
            meaning: #"log streams (`follow=true`) one API key may hold open on one server"#),
        ServerSetting(
            variables: ["TRAINYARD_MAX_SOURCE_BYTES"],
            defaultValue: #"`5368709120`"#,
            meaning: #"the largest code archive `PUT /v1/jobs/{name}/source` stores (5 GiB; it streams to the object store, so the size costs no memory)"#),
        ServerSetting(
            variables: ["TRAINYARD_METRICS_PUBLIC"],
            defaultValue: #"`false`"#,
            meaning: #"`true` lets a scraper read `GET /metrics` without a key; otherwise it needs an admin key of the bootstrap project (the figures are every project's)"#),
        ServerSetting(
            variables: ["TRAINYARD_WEBHOOK_RETRY_SCHEDULE"],
            defaultValue: #"`5,300,1800,7200,18000,36000,36000`"#,
            meaning: #"seconds between a failed webhook try and the next (Standard Webhooks' schedule: eight tries over about a day)"#),
        ServerSetting(
            variables: ["TRAINYARD_WEBHOOK_TIMEOUT"],
            defaultValue: #"`10`"#,
            meaning: #"seconds one webhook try may take"#),
        ServerSetting(
            variables: ["TRAINYARD_WEBHOOK_DISABLE_AFTER"],
            defaultValue: #"`432000`"#,
            meaning: #"seconds of nothing but failed tries after which a subscription is disabled (five days)"#),
        ServerSetting(
            variables: ["TRAINYARD_WEBHOOK_ALLOWED_NETWORKS"],
            defaultValue: #"none"#,
            meaning: #"comma-separated networks (`127.0.0.0/8,10.20.0.0/16,fd12::/16`; a bare address is itself) that webhooks may be sent to although they are loopback, private, link-local, metadata or otherwise internal addresses; everything else internal is refused, at subscription and at every send (replaces `TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL`, which `serve` now refuses)"#),
        ServerSetting(
            variables: ["TRAINYARD_CLIENT_PROFILE"],
            defaultValue: #"`local`"#,
            meaning: #"the client profile a `trainyard serve` on a fixed port writes for itself (its URL and admin key file) into the per-user client configuration; empty: none. Not written with `TRAINYARD_ADMIN_KEY` or port `0`"#),
        ServerSetting(
            variables: ["TRAINYARD_AGENT_BIN"],
            defaultValue: #"beside `trainyard`"#,
            meaning: #"the `trainyard-agent` executable the local provisioner starts"#),
        ServerSetting(
            variables: ["TRAINYARD_PROVISIONER"],
            defaultValue: #"`local`"#,
            meaning: #"`local` (worker processes on this machine) or `slurm` (one `sbatch` per attempt; see "Running on Slurm")"#),
        ServerSetting(
            variables: ["SLURM_CONF"],
            defaultValue: #"Slurm's default"#,
            meaning: #"the cluster's `slurm.conf`, for the Slurm provisioner's `sbatch`, `squeue`, `sinfo` and `scancel`"#),
        ServerSetting(
            variables: ["TRAINYARD_SLURM_BIN"],
            defaultValue: #"found on `PATH`"#,
            meaning: #"the directory of Slurm's client tools"#),
        ServerSetting(
            variables: ["TRAINYARD_SLURM_JOB_PREFIX"],
            defaultValue: #"`trainyard`"#,
            meaning: #"names (`<prefix>-<job>-<attempt>`) and tags (`--comment=<prefix>:attempt:<id>`) this installation's Slurm jobs; give each installation sharing a cluster its own"#),
        ServerSetting(
            variables: ["TRAINYARD_SLURM_SERVER_URL"],
            defaultValue: #"the listen address"#,
            meaning: #"the server's URL as the Slurm nodes reach it (set it when `TRAINYARD_HOST` is `0.0.0.0` or behind a proxy)"#),
        ServerSetting(
            variables: ["TRAINYARD_SLURM_USERS"],
            defaultValue: #"unset"#,
            meaning: #"the Slurm user each project's jobs run as: `team-a=alice,team-b=bob,*=trainyard` (`*`: every project not named; without it, an unnamed project's submissions are a `403`); needs the S3 object store. See "Running on Slurm""#),
        ServerSetting(
            variables: ["TRAINYARD_POSTGRES_BIN"],
            defaultValue: #"newest `/usr/lib/postgresql/*/bin`"#,
            meaning: #"where `initdb` and `postgres` are, for the embedded cluster"#),
        ServerSetting(
            variables: ["TRAINYARD_OBJECT_STORE"],
            defaultValue: #"`file://<data dir>/objects`"#,
            meaning: #"`file:///absolute/path` for the filesystem store elsewhere, or `s3://bucket` for an S3-compatible server (the server and every agent switch; jobs without `output_path` write to `s3://bucket/<project>`); checked at start: wrong credentials or an unreachable endpoint stop `serve` naming the variable to fix, a missing bucket is created"#),
        ServerSetting(
            variables: ["TRAINYARD_S3_ENDPOINT"],
            defaultValue: #"`https://s3.<region>.amazonaws.com`"#,
            meaning: #"`http(s)://host[:port]` of the S3 API (MinIO, Ceph, SeaweedFS, …)"#),
        ServerSetting(
            variables: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
            defaultValue: #"required with `s3://`"#,
            meaning: #"the credentials requests are signed with (AWS Signature V4); the server's alone: agents' requests are signed by the server, within their job's locations"#),
        ServerSetting(
            variables: ["AWS_SESSION_TOKEN"],
            defaultValue: #"none"#,
            meaning: #"session token of temporary credentials"#),
        ServerSetting(
            variables: ["AWS_REGION"],
            defaultValue: #"`us-east-1` (or `AWS_DEFAULT_REGION`)"#,
            meaning: #"signing region"#),
        ServerSetting(
            variables: ["TRAINYARD_S3_ADDRESSING"],
            defaultValue: #"`path` with an endpoint, `virtual` without"#,
            meaning: #"`path` (`host/bucket/key`) or `virtual` (`bucket.host/key`)"#),
        ServerSetting(
            variables: ["TRAINYARD_S3_PAYLOAD_SIGNING"],
            defaultValue: #"`unsigned`"#,
            meaning: #"`signed` hashes every request body into its signature; `unsigned` sends `UNSIGNED-PAYLOAD`"#)
    ]
}

extension ServerSettings {
    /// Why `trainyard serve`'s flags cannot be used.
    public struct FlagError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The variables `trainyard serve`'s flags set (`--port 0`, `--max-queued-jobs=50`), to lay over the environment.
    public static func environment(fromFlags arguments: [String]) throws(FlagError) -> [String: String] {
        var environment: [String: String] = [:]
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                throw FlagError(description: "unexpected argument '\(argument)': every setting is a flag with its value, e.g. --port 8080")
            }
            var flag = argument
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard let variable = ServerSetting.variable(ofFlag: flag) else {
                throw FlagError(
                    description: "unknown flag '\(flag)': each TRAINYARD_* setting is a flag of its name (TRAINYARD_MAX_QUEUED_JOBS: "
                        + "--max-queued-jobs); `trainyard serve --help` lists them")
            }
            if value == nil {
                guard index < arguments.endIndex, !arguments[index].hasPrefix("--") else {
                    throw FlagError(description: "\(flag) needs a value (\(flag) <value> or \(flag)=<value>)")
                }
                value = arguments[index]
                index += 1
            }
            environment[variable] = value
        }
        return environment
    }

    /// The flags for `trainyard serve --help`: one line each, with its variable and default.
    public static var flagHelp: String {
        let lines = all.flatMap { setting in
            setting.variables.compactMap { variable in
                ServerSetting.flag(of: variable).map { "  \($0) <value>  (\(variable); default \(setting.defaultValue.replacingOccurrences(of: "`", with: "")))" }
            }
        }
        return (["Every TRAINYARD_* setting is also a flag of its name; flags win over the environment. README.md's "
            + "Configuration table says what each one does."] + lines).joined(separator: "\n")
    }
}
