import Foundation
import TrainyardCore
import Logging
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster under Trainyard's data directory, started from the local PostgreSQL binaries.
///
/// `initdb` runs on first start; later starts reuse the cluster. When the process runs as root the cluster runs as an
/// unprivileged system user (PostgreSQL refuses root), created when missing. The server listens only on a Unix socket
/// in a directory readable by its owner alone, with `trust` authentication for that socket.
public final class EmbeddedPostgres: Sendable {
    /// Where and as whom the cluster runs.
    public struct Configuration: Sendable {
        /// Directory that holds the cluster (`<data dir>/postgres`).
        public var clusterDirectory: String
        /// The database Trainyard uses inside the cluster.
        public var database: String
        /// The system user that owns and runs the cluster when the process runs as root.
        public var systemUser: String
        /// Extra `-c name=value` settings for the server (tests turn `fsync` off).
        public var settings: [String: String]

        /// A configuration for the cluster under `dataDirectory`.
        public init(dataDirectory: String, database: String = "trainyard", systemUser: String = "trainyard-pg", settings: [String: String] = [:]) {
            self.clusterDirectory = (dataDirectory as NSString).appendingPathComponent("postgres")
            self.database = database
            self.systemUser = systemUser
            self.settings = settings
        }
    }

    /// The superuser role created by `initdb`.
    public static let superuser = "trainyard"

    public let configuration: Configuration
    let logger: Logger
    private let process = ProcessBox()

    /// Creates the cluster handle; nothing runs until ``start()``.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The Unix socket directory the server listens in.
    public var socketDirectory: String {
        let preferred = (configuration.clusterDirectory as NSString).appendingPathComponent("sock")
        // A Unix socket path is limited to 107 bytes; fall back to a short directory for deep data dirs.
        if preferred.utf8.count + 20 < 100 { return preferred }
        return "/tmp/trainyard-pg-\(StableHash.hex(configuration.clusterDirectory).prefix(16))"
    }

    /// A client configuration for a database of this cluster.
    public func clientConfiguration(database: String? = nil) -> PostgresClient.Configuration {
        PostgresClient.Configuration(
            unixSocketPath: (socketDirectory as NSString).appendingPathComponent(".s.PGSQL.5432"),
            username: Self.superuser,
            password: nil,
            database: database ?? configuration.database
        )
    }

    /// Initialises the cluster when needed (and `initialise` allows), starts the server, waits until it accepts
    /// connections and makes sure the database exists.
    public func start(initialise: Bool = true) async throws {
        let binaries = try PostgresBinaries.locate()
        let runAs = try Self.runAsUser(configuration.systemUser, logger: logger)
        let dataDir = (configuration.clusterDirectory as NSString).appendingPathComponent("data")
        try prepareDirectories(runAs: runAs)
        try checkAccess(runAs: runAs)

        if !FileManager.default.fileExists(atPath: (dataDir as NSString).appendingPathComponent("PG_VERSION")) {
            guard initialise else { throw EmbeddedPostgresError.clusterMissing(path: dataDir) }
            logger.info("initialising embedded postgres cluster", metadata: ["postgres.data": "\(dataDir)"])
            try initdb(binaries: binaries, dataDir: dataDir, runAs: runAs)
        }
        try stopLeftoverServer(dataDir: dataDir)

        var arguments = ["-D", dataDir, "-k", socketDirectory, "-c", "listen_addresses=", "-c", "unix_socket_permissions=0700"]
        for (name, value) in configuration.settings.sorted(by: { $0.key < $1.key }) {
            arguments += ["-c", "\(name)=\(value)"]
        }
        let logPath = (configuration.clusterDirectory as NSString).appendingPathComponent("postgres.log")
        let server = try Self.spawn(binaries.path("postgres"), arguments, runAs: runAs, logPath: logPath, workingDirectory: configuration.clusterDirectory)
        process.set(server)
        logger.info("started embedded postgres", metadata: ["postgres.pid": "\(server.processIdentifier)", "postgres.socket": "\(socketDirectory)"])

        try await waitUntilReady(binaries: binaries, server: server, logPath: logPath)
        try await ensureDatabase(configuration.database)
    }

    /// The exit status of a server this handle started that has exited without ``stop()``: a crash (the OOM killer's
    /// `kill -9`, a backend's fatal signal, which makes PostgreSQL end every process); nil while it runs or after a stop.
    public var unexpectedExitStatus: Int32? {
        guard let server = process.current, !server.isRunning else { return nil }
        return server.terminationStatus
    }

    /// Stops the server with a fast shutdown and waits for it to exit.
    public func stop() async {
        guard let server = process.take() else { return }
        if server.isRunning {
            kill(server.processIdentifier, SIGINT)
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while server.isRunning, ContinuousClock.now < deadline {
            // A cancelled shutdown still waits for the cluster (a cancelled sleep would return at once and spin).
            if Task.isCancelled { usleep(20_000) } else { try? await Task.sleep(for: .milliseconds(20)) }
        }
        if server.isRunning {
            kill(server.processIdentifier, SIGKILL)
        }
        logger.info("stopped embedded postgres")
    }

    /// Creates `name` in the cluster when it does not exist yet.
    public func ensureDatabase(_ name: String, template: String? = nil) async throws {
        try await withAdminConnection { connection in
            let rows = try await connection.query("SELECT 1 FROM pg_database WHERE datname = \(name)", logger: logger)
            var exists = false
            for try await _ in rows { exists = true }
            if !exists {
                let quoted = name.replacingOccurrences(of: "\"", with: "\"\"")
                var sql = "CREATE DATABASE \"\(quoted)\""
                if let template { sql += " TEMPLATE \"\(template.replacingOccurrences(of: "\"", with: "\"\""))\"" }
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            }
        }
    }

    /// Runs `body` on a single connection to the `postgres` maintenance database.
    public func withAdminConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let config = PostgresConnection.Configuration(
            unixSocketPath: (socketDirectory as NSString).appendingPathComponent(".s.PGSQL.5432"),
            username: Self.superuser, password: nil, database: "postgres")
        let connection = try await PostgresConnection.connect(configuration: config, id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    // MARK: - Steps

    private func prepareDirectories(runAs: SystemUser?) throws {
        let fm = FileManager.default
        for dir in [configuration.clusterDirectory, socketDirectory] {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if let runAs {
                guard chown(dir, runAs.uid, runAs.gid) == 0 else {
                    throw EmbeddedPostgresError.permission(path: dir, reason: "cannot give it to user \(runAs.name): \(String(cString: strerror(errno)))")
                }
            }
            chmod(dir, 0o700)
        }
    }

    /// Makes sure the cluster's owner can reach its directory; when a parent directory is closed to it (root's home,
    /// a `mktemp -d` folder), grants that parent search permission only (`o+x`, never read) and logs it.
    private func checkAccess(runAs: SystemUser?) throws {
        guard let runAs else { return }
        var path = (configuration.clusterDirectory as NSString).deletingLastPathComponent
        var closed: [String] = []
        while path != "/" && !path.isEmpty {
            var info = stat()
            if stat(path, &info) == 0 {
                let mode = info.st_mode
                let others = mode & S_IXOTH != 0
                let byOwner = info.st_uid == runAs.uid && mode & S_IXUSR != 0
                let byGroup = info.st_gid == runAs.gid && mode & S_IXGRP != 0
                if !(others || byOwner || byGroup) { closed.append(path) }
            }
            path = (path as NSString).deletingLastPathComponent
        }
        for dir in closed {
            var info = stat()
            guard stat(dir, &info) == 0, chmod(dir, (info.st_mode & 0o7777) | S_IXOTH) == 0 else {
                throw EmbeddedPostgresError.permission(
                    path: dir,
                    reason: "user \(runAs.name) cannot enter it and its mode cannot be changed; choose a TRAINYARD_DATA_DIR outside it")
            }
            logger.notice(
                "granted search permission on a parent of the data directory so the postgres user can reach its cluster",
                metadata: ["path": "\(dir)", "postgres.user": "\(runAs.name)"])
        }
    }

    private func initdb(binaries: PostgresBinaries, dataDir: String, runAs: SystemUser?) throws {
        let arguments = [
            "-D", dataDir, "-U", Self.superuser, "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        ]
        let logPath = (configuration.clusterDirectory as NSString).appendingPathComponent("initdb.log")
        let process = try Self.spawn(binaries.path("initdb"), arguments, runAs: runAs, logPath: logPath, workingDirectory: configuration.clusterDirectory)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            try? FileManager.default.removeItem(atPath: dataDir)
            throw EmbeddedPostgresError.initdbFailed(status: process.terminationStatus, log: Self.tail(of: logPath))
        }
    }

    /// A server left running by a killed `trainyard serve` still holds `postmaster.pid`: stop it so this process owns
    /// the cluster. A stale file whose process is gone is left to PostgreSQL, which removes it itself.
    private func stopLeftoverServer(dataDir: String) throws {
        let pidFile = (dataDir as NSString).appendingPathComponent("postmaster.pid")
        guard let contents = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let firstLine = contents.split(separator: "\n").first,
            let pid = pid_t(firstLine.trimmingCharacters(in: .whitespaces))
        else { return }
        let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        guard kill(pid, 0) == 0, cmdline.contains("postgres") else {
            try? FileManager.default.removeItem(atPath: pidFile)
            return
        }
        logger.notice("stopping a postgres server left running by an earlier process", metadata: ["postgres.pid": "\(pid)"])
        kill(pid, SIGINT)
        let deadline = Date().addingTimeInterval(30)
        while kill(pid, 0) == 0, Date() < deadline {
            usleep(20_000)
        }
        if kill(pid, 0) == 0 {
            throw EmbeddedPostgresError.leftoverServer(pid: pid)
        }
    }

    private func waitUntilReady(binaries: PostgresBinaries, server: Process, logPath: String) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard server.isRunning else {
                throw EmbeddedPostgresError.serverExited(status: server.terminationStatus, log: Self.tail(of: logPath))
            }
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: binaries.path("pg_isready"))
            probe.arguments = ["-q", "-h", socketDirectory, "-U", Self.superuser, "-d", "postgres"]
            probe.standardOutput = FileHandle.nullDevice
            probe.standardError = FileHandle.nullDevice
            try probe.run()
            probe.waitUntilExit()
            if probe.terminationStatus == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw EmbeddedPostgresError.notReady(log: Self.tail(of: logPath))
    }

    // MARK: - Processes and users

    struct SystemUser {
        var name: String
        var uid: uid_t
        var gid: gid_t
    }

    /// The user to run PostgreSQL as: nil when this process is not root, else `name`, created when missing.
    static func runAsUser(_ name: String, logger: Logger) throws -> SystemUser? {
        guard geteuid() == 0 else { return nil }
        if getpwnam(name) == nil {
            logger.notice("creating system user for the embedded postgres cluster", metadata: ["postgres.user": "\(name)"])
            let useradd = Process()
            useradd.executableURL = URL(fileURLWithPath: "/usr/sbin/useradd")
            useradd.arguments = ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name]
            try useradd.run()
            useradd.waitUntilExit()
            // Another process may have created it meanwhile; only the lookup below decides.
        }
        guard let entry = getpwnam(name) else {
            throw EmbeddedPostgresError.cannotCreateUser(name)
        }
        return SystemUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    static func spawn(_ executable: String, _ arguments: [String], runAs: SystemUser?, logPath: String, workingDirectory: String) throws -> Process {
        let process = Process()
        if let runAs {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(runAs.uid)", "--regid=\(runAs.gid)", "--clear-groups", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        if let runAs { chown(logPath, runAs.uid, runAs.gid) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C.UTF-8"
        process.environment = environment
        try process.run()
        try? log.close()
        return process
    }

    static func tail(of path: String, lines: Int = 20) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// Holds the running server process; the lock makes the handle `Sendable`.
private final class ProcessBox: @unchecked Sendable {
    // Safe: every access to `process` happens under `lock`.
    private let lock = NSLock()
    private var process: Process?

    func set(_ process: Process) { lock.withLock { self.process = process } }
    var current: Process? { lock.withLock { process } }
    func take() -> Process? { lock.withLock { defer { process = nil }; return process } }
}

/// Errors of the embedded cluster, each saying what to do.
public enum EmbeddedPostgresError: Error, CustomStringConvertible {
    case binariesNotFound(searched: [String])
    case permission(path: String, reason: String)
    case cannotCreateUser(String)
    case initdbFailed(status: Int32, log: String)
    case serverExited(status: Int32, log: String)
    case notReady(log: String)
    case leftoverServer(pid: pid_t)
    case clusterMissing(path: String)

    public var description: String {
        switch self {
        case .binariesNotFound(let searched):
            return "PostgreSQL server binaries (initdb, postgres) not found in \(searched.joined(separator: ", ")); "
                + "install them (apt-get install postgresql), set TRAINYARD_POSTGRES_BIN, or set TRAINYARD_DATABASE_URL"
        case .permission(let path, let reason):
            return "embedded postgres cannot use \(path): \(reason)"
        case .cannotCreateUser(let name):
            return "could not create the system user \(name) to run postgres as (PostgreSQL refuses to run as root); create it with useradd --system \(name)"
        case .initdbFailed(let status, let log):
            return "initdb failed with status \(status):\n\(log)"
        case .serverExited(let status, let log):
            return "postgres exited with status \(status) while starting:\n\(log)"
        case .notReady(let log):
            return "postgres did not accept connections within 60 s:\n\(log)"
        case .clusterMissing(let path):
            return "the embedded postgres cluster at \(path) is gone (its data directory was deleted?); "
                + "restore it from a backup, or start trainyard serve again on a fresh TRAINYARD_DATA_DIR"
        case .leftoverServer(let pid):
            return "a postgres server (pid \(pid)) left by an earlier run did not stop; stop it and start again"
        }
    }
}
