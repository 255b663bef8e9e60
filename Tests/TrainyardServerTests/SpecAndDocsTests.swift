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
}
