import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `trainyard serve`: the service is its own executable, `trainyard-server`, built and installed beside this one, so
/// that the client commands (started once per job by the shell loops that script a sweep) carry none of the server's
/// code. `TrainyardCommand.main` hands `serve` and everything after it to that executable before any parsing, so that
/// `trainyard serve --help` prints the server's settings; this command lists `serve` in `trainyard --help`.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Trainyard service (trainyard-server). Every TRAINYARD_* variable is also a flag; `trainyard serve --help` lists them.")

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Settings as flags: --data-dir ./state, --port=0.", valueName: "--setting value"))
    var settings: [String] = []

    func run() {
        ServerExecutable.replaceProcess(arguments: settings)
    }
}

/// Where `trainyard-server` is, and running it in this process's place (same pid, so a supervisor's or a script's
/// signals reach the server).
enum ServerExecutable {
    static let name = "trainyard-server"

    /// `trainyard-server` beside the running executable, else on `PATH`. The running executable is the kernel's
    /// `/proc/self/exe`: run through a link on `PATH` (after `scripts/install`), that is the build directory, where
    /// `trainyard-server` was built with it.
    static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        var candidates: [String] = []
        if let running = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((running as NSString).deletingLastPathComponent + "/" + name)
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":") where !directory.isEmpty {
            candidates.append(directory + "/" + name)
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Replaces this process with `trainyard-server arguments…`; when that cannot be done, says why and exits 1.
    static func replaceProcess(arguments: [String]) -> Never {
        guard let path = locate() else {
            let running = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            fail("trainyard serve runs \(name), which is neither beside \(running) nor on PATH: build it (`swift build --product \(name)`; "
                + "scripts/serve and scripts/install do) or put it on PATH")
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        fail("cannot run \(path): \(String(cString: strerror(errno)))")
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(1)
    }
}
