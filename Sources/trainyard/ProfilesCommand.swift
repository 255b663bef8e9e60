import ArgumentParser
import Foundation
import Trainyard

/// `trainyard login URL`: checks a key against a server and keeps both as a named profile in the per-user
/// configuration, so that client commands work from any directory (`TRAINYARD_PROFILE` picks another profile).
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Keep a server's URL and API key as a profile, after checking the key.",
        discussion: """
            The key is read from TRAINYARD_API_KEY, --api-key-file, or standard input (one line). Profiles live in \
            $TRAINYARD_CONFIG, else ${XDG_CONFIG_HOME:-~/.config}/trainyard/config.json (mode 0600); a local \
            `trainyard serve` writes the profile 'local' itself. TRAINYARD_PROFILE=NAME picks a profile for one command.
            """)

    @Argument(help: "The server's URL, e.g. https://trainyard.example.com.") var url: String
    @Option(help: "The profile's name.") var profile = "default"
    @Option(help: "Keep the path of a file holding the key instead of the key itself.") var apiKeyFile: String?
    @Flag(help: "Make this the default profile (the first profile always is).") var makeDefault = false

    func run() async throws {
        try await runReportingErrors {
            let environment = ProcessInfo.processInfo.environment
            var stored = ClientProfiles.Profile(url: url)
            let key: String
            if let apiKeyFile {
                let absolute = URL(fileURLWithPath: apiKeyFile).standardizedFileURL.path
                stored.apiKeyFile = absolute
                guard let read = try stored.resolvedKey(), !read.isEmpty else { throw CLIError.input("\(absolute) holds no key") }
                key = read
            } else if let fromEnvironment = environment["TRAINYARD_API_KEY"], !fromEnvironment.isEmpty {
                key = fromEnvironment
                stored.apiKey = key
            } else {
                if isatty(STDIN_FILENO) != 0 { FileHandle.standardError.write(Data("API key for \(url): ".utf8)) }
                guard let line = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces), !line.isEmpty else {
                    throw CLIError.input("no API key given: pass it on standard input, in TRAINYARD_API_KEY, or with --api-key-file")
                }
                key = line
                stored.apiKey = key
            }
            guard let serverURL = URL(string: url), serverURL.scheme == "http" || serverURL.scheme == "https" else {
                throw CLIError.input("\(url) is not an http:// or https:// URL")
            }
            // A key the server refuses is not kept: list one job, which any role of any project may.
            _ = try await TrainyardClient(connection: TrainyardConnection(url: serverURL, apiKey: key)).listJobs(JobQuery(pageSize: 1))
            let path = ClientProfiles.path(environment: environment)
            var profiles = try ClientProfiles.load(from: path)
            profiles.set(profile, stored, makeDefault: makeDefault)
            try profiles.save(to: path)
            let isDefault = profiles.defaultProfile == profile
            print("logged in to \(url) as profile '\(profile)'\(isDefault ? " (the default)" : "; use it with TRAINYARD_PROFILE=\(profile)") in \(path)")
        }
    }
}

/// `trainyard logout`: forgets a profile.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Forget a profile.")

    @Option(help: "The profile to forget.") var profile = "default"

    func run() async throws {
        try await runReportingErrors {
            let path = ClientProfiles.path()
            var profiles = try ClientProfiles.load(from: path)
            guard profiles.profiles.removeValue(forKey: profile) != nil else {
                throw CLIError.input("there is no profile '\(profile)' in \(path)")
            }
            if profiles.defaultProfile == profile { profiles.defaultProfile = profiles.profiles.keys.sorted().first }
            try profiles.save(to: path)
            print("forgot profile '\(profile)'")
        }
    }
}

/// `trainyard profiles`: the kept servers, and which is the default.
struct ProfilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles", abstract: "List the kept servers (trainyard login adds one); --use NAME makes one the default.")

    @Option(help: "Make this profile the default.") var use: String?

    func run() async throws {
        try await runReportingErrors {
            let path = ClientProfiles.path()
            var profiles = try ClientProfiles.load(from: path)
            if let use {
                guard profiles.profiles[use] != nil else { throw CLIError.input("there is no profile '\(use)' in \(path)") }
                profiles.defaultProfile = use
                try profiles.save(to: path)
            }
            guard !profiles.profiles.isEmpty else {
                print("no profiles in \(path); `trainyard login URL` adds one, and a local `trainyard serve` adds 'local'")
                return
            }
            print(["", "PROFILE", "URL", "KEY"].joined(separator: "\t"))
            for (name, profile) in profiles.profiles.sorted(by: { $0.key < $1.key }) {
                let key = profile.apiKeyFile.map { "file \($0)" } ?? profile.apiKey.map { "id \($0.split(separator: ".").first ?? "")" } ?? "-"
                print([profiles.defaultProfile == name ? "*" : "", name, profile.url, key].joined(separator: "\t"))
            }
        }
    }
}
