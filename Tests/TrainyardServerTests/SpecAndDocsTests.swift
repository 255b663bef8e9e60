import Foundation
import Testing
import TrainyardServer

/// The API description and the README stay true.
@Suite struct SpecAndDocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theOpenAPISpecValidatesAsOpenAPI31() throws {
        // openapi-spec-validator (PyPI) is an independent OpenAPI 3.1 validator; .ci/run installs it.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import sys, yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open(sys.argv[1]))); print('valid')",
            Self.root.appendingPathComponent("openapi/trainyard.yaml").path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("valid"))
    }

    @Test func theReadmeConfigurationTableListsEverySetting() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        for key in ServerConfiguration.environmentKeys {
            #expect(readme.contains("`\(key)`"), "README.md does not document \(key)")
        }
    }

    /// docker-compose.yml (never run here: no Docker engine) sets only settings the server knows, with values it
    /// accepts, and points the object store at the compose file's own S3 service.
    @Test func theComposeFileConfiguresTheServerWithSettingsItAccepts() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Compose's ${VAR:-default} is replaced by its default, as `docker compose` does with VAR unset.
        process.arguments = [
            "python3", "-c",
            """
            import sys, yaml, json, re
            compose = yaml.safe_load(open(sys.argv[1]))
            env = compose['services']['trainyard']['environment']
            subst = lambda v: re.sub(r'\\$\\{[A-Z_]+:-([^}]*)\\}', lambda m: m.group(1), str(v))
            print(json.dumps({'environment': {k: subst(v) for k, v in env.items()}, 'services': sorted(compose['services'])}))
            """,
            Self.root.appendingPathComponent("docker-compose.yml").path,
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let environment = try #require(parsed["environment"] as? [String: String])
        #expect(parsed["services"] as? [String] == ["postgres", "s3", "trainyard"])
        for key in environment.keys {
            #expect(ServerConfiguration.environmentKeys.contains(key), "docker-compose.yml sets \(key), which the server does not read")
        }
        let configuration = try ServerConfiguration(environment: environment)
        #expect(configuration.databaseURL?.hasPrefix("postgres://") == true)
        #expect(environment["TRAINYARD_OBJECT_STORE"]?.hasPrefix("s3://") == true)
        #expect(environment["TRAINYARD_S3_ENDPOINT"] == "http://s3:9000")
        #expect(configuration.host == "0.0.0.0")
    }
}
