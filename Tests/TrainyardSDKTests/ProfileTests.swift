import Foundation
import Testing
import Trainyard

/// The SDK and the CLI read one configuration file; the environment wins over it.
struct ProfileTests {
    static func configuration() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdk-profiles-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/config.json"
        var profiles = ClientProfiles()
        profiles.set("lab", .init(url: "http://lab.example:8080", apiKey: "LABKEY000001.secret"), makeDefault: true)
        profiles.set("prod", .init(url: "https://prod.example", apiKey: "PRODKEY00001.secret"), makeDefault: false)
        try profiles.save(to: path)
        return path
    }

    @Test func aNamedProfileGivesItsServerAndKey() throws {
        let path = try Self.configuration()
        let client = try TrainyardClient(profile: "prod", environment: ["TRAINYARD_CONFIG": path])
        #expect(client.connection.url.absoluteString == "https://prod.example")
        #expect(client.connection.apiKey == "PRODKEY00001.secret")
        let byDefault = try TrainyardClient(environment: ["TRAINYARD_CONFIG": path])
        #expect(byDefault.connection.url.absoluteString == "http://lab.example:8080")
    }

    @Test func theEnvironmentWinsOverTheProfile() throws {
        let path = try Self.configuration()
        let client = try TrainyardClient(
            profile: "prod", environment: ["TRAINYARD_CONFIG": path, "TRAINYARD_URL": "http://127.0.0.1:9999", "TRAINYARD_API_KEY": "ENVKEY000001.secret"])
        #expect(client.connection.url.absoluteString == "http://127.0.0.1:9999")
        #expect(client.connection.apiKey == "ENVKEY000001.secret")
    }

    @Test func anUnknownProfileIsRefusedNamingTheKnownOnes() throws {
        let path = try Self.configuration()
        #expect {
            try TrainyardClient(profile: "staging", environment: ["TRAINYARD_CONFIG": path])
        } throws: { error in
            "\(error)".contains("there is no profile 'staging'") && "\(error)".contains("(profiles: lab, prod)")
        }
    }
}
