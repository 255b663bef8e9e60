import CTrainyardSpawn
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts the user's command as a process would start from a login shell, whatever thread of the agent asks: an empty
/// signal mask and every signal at its default disposition, in a process group of its own, with standard input from
/// `/dev/null`, standard output and error into pipes, and no other descriptor of the agent.
///
/// Foundation's `Process` cannot do this. A child inherits the mask of the thread that spawns it, and the agent's
/// threads (the concurrency pool's, Dispatch's) block nearly every signal; it also inherits ignored dispositions (the
/// agent ignores SIGPIPE, and SIGTERM on a spot host, to handle them itself). A Python script's
/// `signal.signal(SIGTERM, save_checkpoint)` then never ran: a stop, `max_run` or a reclaim notice stayed pending
/// until the script ended by itself or was killed. `posix_spawn` with `POSIX_SPAWN_SETSIGMASK` and
/// `POSIX_SPAWN_SETSIGDEF` sets both in the child, before it runs a line of the user's code.
struct CleanSpawn: Sendable {
    /// The process id; also the id of its process group.
    let pid: pid_t
    let standardOutput: FileHandle
    let standardError: FileHandle

    /// Starts `argv` (its first element looked up in `environment`'s `PATH` when it has no slash).
    static func start(argv: [String], environment: [String: String], workingDirectory: String) throws -> CleanSpawn {
        guard let name = argv.first, !name.isEmpty else { throw CleanSpawnError.emptyCommand }
        let executable = try resolve(name, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")

        var attributes = posix_spawnattr_t()
        try check(posix_spawnattr_init(&attributes), "posix_spawnattr_init")
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var every = sigset_t()
        sigfillset(&every)
        try check(posix_spawnattr_setsigmask(&attributes, &empty), "posix_spawnattr_setsigmask")
        try check(posix_spawnattr_setsigdefault(&attributes, &every), "posix_spawnattr_setsigdefault")
        try check(posix_spawnattr_setpgroup(&attributes, 0), "posix_spawnattr_setpgroup")
        let flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP
        try check(posix_spawnattr_setflags(&attributes, Int16(flags)), "posix_spawnattr_setflags")

        let output = try makePipe()
        let errors: (read: Int32, write: Int32)
        do {
            errors = try makePipe()
        } catch {
            close(output.read)
            close(output.write)
            throw error
        }
        var spawned = false
        defer {
            // The child has its copies of the write ends; without a child the read ends go too.
            close(output.write)
            close(errors.write)
            if !spawned {
                close(output.read)
                close(errors.read)
            }
        }
        var actions = posix_spawn_file_actions_t()
        try check(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init")
        defer { posix_spawn_file_actions_destroy(&actions) }
        try check(posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0), "addopen /dev/null")
        try check(posix_spawn_file_actions_adddup2(&actions, output.write, 1), "adddup2 stdout")
        try check(posix_spawn_file_actions_adddup2(&actions, errors.write, 2), "adddup2 stderr")
        try check(trainyard_spawn_file_actions_addclosefrom(&actions, 3), "addclosefrom")
        try check(trainyard_spawn_file_actions_addchdir(&actions, workingDirectory), "addchdir \(workingDirectory)")

        var pid: pid_t = 0
        var status = spawn(&pid, executable, arguments: argv, environment: environment, actions: &actions, attributes: &attributes)
        if status == ENOEXEC {
            // A script without a `#!` line: run it with /bin/sh, as execvp (and so the shell) does.
            status = spawn(&pid, "/bin/sh", arguments: ["/bin/sh", executable] + argv.dropFirst(), environment: environment, actions: &actions,
                attributes: &attributes)
        }
        guard status == 0 else {
            throw CleanSpawnError.spawnFailed(executable: executable, reason: String(cString: strerror(status)))
        }
        spawned = true
        return CleanSpawn(
            pid: pid, standardOutput: FileHandle(fileDescriptor: output.read, closeOnDealloc: true),
            standardError: FileHandle(fileDescriptor: errors.read, closeOnDealloc: true))
    }

    /// One `posix_spawn`; its status (0, or an errno such as ENOENT, EACCES, ENOEXEC).
    private static func spawn(
        _ pid: inout pid_t, _ path: String, arguments: [String], environment: [String: String], actions: inout posix_spawn_file_actions_t,
        attributes: inout posix_spawnattr_t
    ) -> Int32 {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        return posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    }

    /// The path `execvp` would run for `name`.
    static func resolve(_ name: String, path: String) throws -> String {
        if name.contains("/") { return name }
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            if access(candidate, X_OK) == 0, !isDirectory(candidate) { return candidate }
        }
        throw CleanSpawnError.notFound(name: name, path: path)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard trainyard_pipe_cloexec(&fds) == 0 else { throw CleanSpawnError.spawnFailed(executable: "pipe", reason: String(cString: strerror(errno))) }
        return (fds[0], fds[1])
    }

    private static func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else { throw CleanSpawnError.spawnFailed(executable: what, reason: String(cString: strerror(status))) }
    }

    /// Whether the process has ended, without waiting; reaps it once it has.
    func poll() -> CommandTermination? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        // ECHILD: somebody else reaped it; it has ended, how is lost.
        if result == -1, errno == ECHILD { return .exited(255) }
        guard result == pid else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }
}

/// How a spawned process ended.
enum CommandTermination: Sendable, Equatable {
    case exited(Int32)
    case signalled(Int32)
}

enum CleanSpawnError: Error, CustomStringConvertible {
    case emptyCommand
    case notFound(name: String, path: String)
    case spawnFailed(executable: String, reason: String)

    var description: String {
        switch self {
        case .emptyCommand: "the command is empty"
        case .notFound(let name, let path):
            "the command '\(name)' was not found on the job's PATH (\(path))"
                + (name == "torchrun"
                    ? "; distribution torch_distributed starts the entry point with torchrun, which comes with PyTorch: install it on the workers (pip install torch)"
                    : "")
        case .spawnFailed(let executable, let reason): "starting \(executable) failed: \(reason)"
        }
    }
}
