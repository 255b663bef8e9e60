public import Foundation

/// The per-user client configuration: named servers (profiles), each with its URL and its key, and which one is the
/// default, as the aws CLI keeps `~/.aws/config` profiles. Kept in `$TRAINYARD_CONFIG`, else
/// `${XDG_CONFIG_HOME:-~/.config}/trainyard/config.json` (mode 0600).
///
/// A local `trainyard serve` writes the profile `local` (its URL and the path of its admin key file), so that the CLI
/// works from any directory; `trainyard login` adds others.
public struct ClientProfiles: Codable, Sendable, Equatable {
    /// One server: where it is and which key to use (the key itself, or the file that holds it).
    public struct Profile: Codable, Sendable, Equatable {
        public var url: String
        public var apiKey: String?
        public var apiKeyFile: String?
        public init(url: String, apiKey: String? = nil, apiKeyFile: String? = nil) {
            self.url = url
            self.apiKey = apiKey
            self.apiKeyFile = apiKeyFile
        }

        enum CodingKeys: String, CodingKey {
            case url
            case apiKey = "api_key"
            case apiKeyFile = "api_key_file"
        }

        /// The key, read from its file when the profile names one.
        public func resolvedKey() throws -> String? {
            if let apiKey { return apiKey }
            guard let apiKeyFile else { return nil }
            guard let text = try? String(contentsOfFile: apiKeyFile, encoding: .utf8) else {
                throw ClientConfigurationError.unreadableKeyFile(apiKeyFile)
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    public var defaultProfile: String?
    public var profiles: [String: Profile]

    public init(defaultProfile: String? = nil, profiles: [String: Profile] = [:]) {
        self.defaultProfile = defaultProfile
        self.profiles = profiles
    }

    enum CodingKeys: String, CodingKey {
        case defaultProfile = "default"
        case profiles
    }

    /// Where the configuration lives for this environment.
    public static func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment["TRAINYARD_CONFIG"], !explicit.isEmpty { return explicit }
        let base =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) as NSString).appendingPathComponent(".config")
        return (base as NSString).appendingPathComponent("trainyard/config.json")
    }

    /// The configuration at `path`; empty when there is none.
    public static func load(from path: String) throws -> ClientProfiles {
        guard let data = FileManager.default.contents(atPath: path) else { return ClientProfiles() }
        do {
            return try JSONDecoder().decode(ClientProfiles.self, from: data)
        } catch {
            throw ClientConfigurationError.unreadableConfiguration(path: path, reason: "\(error)")
        }
    }

    /// Writes the configuration to `path` (mode 0600, replaced whole).
    public func save(to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: temporary, contents: try encoder.encode(self), attributes: [.posixPermissions: 0o600]) else {
            throw ClientConfigurationError.unreadableConfiguration(path: path, reason: "it cannot be written")
        }
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ClientConfigurationError.unreadableConfiguration(path: path, reason: "it cannot be replaced")
        }
    }

    /// Adds or replaces `name`; it becomes the default when asked or when there is none.
    public mutating func set(_ name: String, _ profile: Profile, makeDefault: Bool) {
        profiles[name] = profile
        if makeDefault || defaultProfile.map({ profiles[$0] == nil }) ?? true { defaultProfile = name }
    }
}
