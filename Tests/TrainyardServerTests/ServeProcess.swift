import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// The real `trainyard serve` binary run as a child process, as a user runs it.
final class ServeProcess: @unchecked Sendable {
    // Safe: `process` is set once in init and only read afterwards; Process itself is thread-safe for these calls.
    let process: Process
    let logPath: String
    let dataDirectory: String

    /// The build directory of this test bundle, where `trainyard`, `trainyard-server` and `trainyard-agent` are.
    static var directory: String { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path }

    /// The `trainyard` executable built beside this test bundle.
    static var binary: String { directory + "/trainyard" }

    /// Runs `trainyard serve` with `arguments` (its flags) after it, and `extra` over the environment. `byName`: as a
    /// user runs it after `scripts/install`, by its bare name from a `PATH` directory that holds a link to the binary,
    /// in a working directory of its own.
    init(dataDirectory: String, environment extra: [String: String] = [:], arguments: [String] = [], byName: Bool = false) throws {
        self.dataDirectory = dataDirectory
        logPath = dataDirectory + "-serve-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process = Process()
        var environment = ProcessInfo.processInfo.environment
        if byName {
            let bin = dataDirectory + "-bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: bin + "/trainyard", withDestinationPath: Self.binary)
            environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", #"exec trainyard serve "$@""#, "sh"] + arguments
            process.currentDirectoryURL = URL(fileURLWithPath: (dataDirectory as NSString).deletingLastPathComponent)
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = ["serve"] + arguments
        }
        environment["TRAINYARD_DATA_DIR"] = dataDirectory
        environment["TRAINYARD_PORT"] = "0"
        // A serve on a fixed port writes its client profile: into a configuration of the test's own, never the
        // profile of whoever runs the tests (it pointed their CLI at a test's deleted server). A test that gives HOME
        // or XDG_CONFIG_HOME says where.
        environment["XDG_CONFIG_HOME"] = dataDirectory + "-config"
        if extra["HOME"] != nil { environment["XDG_CONFIG_HOME"] = nil }
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The port from the "listening on" log line, once the server listens.
    func waitForPort(deadline: Duration = .seconds(90)) async throws -> Int {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if let range = log.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let line = log[range]
                if let port = Int(line.split(separator: ":").last ?? "") { return port }
            }
            guard process.isRunning else { throw TestFailure("trainyard serve exited early:\n\(log)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("trainyard serve did not listen within \(deadline):\n\(log)")
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit; its status. Foundation learns of a child's exit late when another child of this
    /// test process (a Slurm daemon, another server) started at the same moment inherited the descriptor it watches, so
    /// an exited, not yet reaped server (a zombie) counts too, with the exit code the kernel keeps for it.
    func waitForExit(deadline: Duration = .seconds(60)) async throws -> Int32 {
        let end = ContinuousClock.now + deadline
        while process.isRunning {
            if let status = Self.zombieExitCode(process.processIdentifier) { return status }
            guard ContinuousClock.now < end else { throw TestFailure("trainyard serve did not exit within \(deadline)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// The exit status of process `pid` if it has exited and not been reaped yet (state Z; field 52 of its stat, Linux
    /// 3.5 and later, holds the wait status).
    static func zombieExitCode(_ pid: pid_t) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.first == "Z", fields.count >= 50, let status = Int32(fields[49].trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return nil
        }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// The pid written in the cluster's `postmaster.pid`, if the file exists.
    var postmasterPID: pid_t? {
        let file = dataDirectory + "/postgres/data/postmaster.pid"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), let line = text.split(separator: "\n").first else { return nil }
        return pid_t(line)
    }
}

/// A small HTTP helper for live servers.
enum LiveHTTP {
    static func request(_ method: HTTPMethod, _ url: String, token: String? = nil, json: String? = nil, text: String? = nil) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (body, type) in [(json, "application/json"), (text, "text/plain")] {
            guard let body else { continue }
            request.headers.add(name: "Content-Type", value: type)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), String(buffer: body))
    }
}
