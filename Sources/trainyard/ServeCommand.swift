import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Trainyard
import TrainyardServer

/// `trainyard serve`: the API, controllers and (by default) the embedded Postgres cluster.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the Trainyard service. Every flag has a TRAINYARD_* variable; flags win.")

    @Option(help: "Data directory (TRAINYARD_DATA_DIR, default ./.trainyard).") var dataDir: String?
    @Option(help: "Listen address (TRAINYARD_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Listen port (TRAINYARD_PORT, default 8080).") var port: Int?
    @Option(help: "External Postgres URL (TRAINYARD_DATABASE_URL); default: the embedded cluster.") var databaseURL: String?
    @Option(help: "Bootstrap admin key <id>.<secret> (TRAINYARD_ADMIN_KEY).") var adminKey: String?
    @Option(help: "Capacity file (TRAINYARD_CAPACITY).") var capacity: String?
    @Option(help: "Log level (TRAINYARD_LOG_LEVEL, default info).") var logLevel: String?

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        let flags: [(String, String?)] = [
            ("TRAINYARD_DATA_DIR", dataDir), ("TRAINYARD_HOST", host), ("TRAINYARD_PORT", port.map(String.init)),
            ("TRAINYARD_DATABASE_URL", databaseURL), ("TRAINYARD_ADMIN_KEY", adminKey), ("TRAINYARD_CAPACITY", capacity),
            ("TRAINYARD_LOG_LEVEL", logLevel),
        ]
        for (key, value) in flags { if let value { environment[key] = value } }
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
