import CTrainyardSpawn
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a short system command (`ip`) without Foundation's `Process`: its pipes are close-on-exec, so no child
/// started at the same moment elsewhere in the server (a Slurm daemon in a test, an agent) inherits them, and the
/// command is waited for with `waitpid`, not by watching a descriptor such a child could hold open. (Foundation's way
/// hung the caller until the unrelated child exited.) Blocks its thread: call it off the concurrency pool.
enum ShortCommand {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> Result {
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard trainyard_pipe_cloexec(&stdinPipe) == 0, trainyard_pipe_cloexec(&stdoutPipe) == 0, trainyard_pipe_cloexec(&stderrPipe) == 0 else {
            throw ShortCommandError.spawn(executable, errno)
        }
        defer { for fd in stdinPipe + stdoutPipe + stderrPipe where fd >= 0 { close(fd) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw ShortCommandError.spawn(executable, spawned) }
        // The child's ends are the child's now.
        for fd in [stdinPipe[0], stdoutPipe[1], stderrPipe[1]] { close(fd) }
        (stdinPipe[0], stdoutPipe[1], stderrPipe[1]) = (-1, -1, -1)
        if let input {
            let bytes = Array(input.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(stdinPipe[1], $0.baseAddress, $0.count) }
                guard written > 0 else { break }
                offset += written
            }
        }
        close(stdinPipe[1])
        stdinPipe[1] = -1
        // Output is read as it comes, so a talkative command never blocks on a full pipe; the read ends when the
        // command's ends close (only it holds them).
        let output = drain(stdoutPipe[0])
        let errors = drain(stderrPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitStatus, output: output, errors: errors)
    }

    private static func drain(_ descriptor: Int32) -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: data, as: UTF8.self)
    }
}

enum ShortCommandError: Error, CustomStringConvertible {
    case spawn(String, Int32)
    var description: String {
        switch self {
        case .spawn(let executable, let code): "cannot start \(executable): \(String(cString: strerror(code)))"
        }
    }
}
