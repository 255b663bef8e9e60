import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Trainyard
import TrainyardCommandLine
import TrainyardServer

/// `trainyard serve`: the API, controllers and (by default) the embedded Postgres cluster. This executable,
/// `trainyard-server`, is what `trainyard serve` runs (the CLI replaces itself with it), so that the client commands
/// carry none of the server's code.
@main
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainyard serve", abstract: "Run the Trainyard service. Every TRAINYARD_* variable is also a flag; flags win.",
        discussion: ServerSettings.flagHelp)

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp("Settings as flags: --data-dir ./state, --port=0, --max-queued-jobs 500 (listed below).", valueName: "--setting value"))
    var settings: [String] = []

    static func main() async {
        await mainExitingTwoOnUsageErrors()
    }

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        do {
            environment.merge(try ServerSettings.environment(fromFlags: settings)) { _, flag in flag }
        } catch {
            throw ValidationError(error.description)
        }
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration(environment: environment)
        } catch {
            throw ValidationError("\(error)")
        }
        let logger = ServerProcess.bootstrapLogging(configuration)
        do {
            let app = try await buildApplication(configuration: configuration, logger: logger)
            Self.writeClientProfile(configuration: configuration, environment: environment, logger: logger)
            try await ServerProcess.run(app, logger: logger)
        } catch {
            logger.critical("trainyard serve failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }

    /// Keeps this server in the per-user client configuration as the profile `TRAINYARD_CLIENT_PROFILE` names
    /// (default `local`; empty: none), with the path of its admin key file, so that `trainyard` client commands reach
    /// it from any directory. Only for a fixed port and the key file this server keeps (not a TRAINYARD_ADMIN_KEY).
    static func writeClientProfile(configuration: ServerConfiguration, environment: [String: String], logger: Logger) {
        let name = environment["TRAINYARD_CLIENT_PROFILE"] ?? "local"
        guard !name.isEmpty, configuration.port != 0, configuration.adminKey == nil else { return }
        let host = ["0.0.0.0", "::", ""].contains(configuration.host) ? "127.0.0.1" : configuration.host
        let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(configuration.port)"
        let keyFile = configuration.absoluteDataDirectory + "/admin-key"
        let path = ClientProfiles.path(environment: environment)
        do {
            var profiles = try ClientProfiles.load(from: path)
            let profile = ClientProfiles.Profile(url: url, apiKeyFile: keyFile)
            guard profiles.profiles[name] != profile || profiles.defaultProfile == nil else { return }
            profiles.set(name, profile, makeDefault: false)
            try profiles.save(to: path)
            logger.info("client profile written: trainyard commands reach this server from any directory", metadata: ["profile": "\(name)", "path": "\(path)"])
        } catch {
            logger.warning("could not write the client profile", metadata: ["profile": "\(name)", "path": "\(path)", "error": "\(error)"])
        }
    }
}
