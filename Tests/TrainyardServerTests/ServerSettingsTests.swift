import Foundation
import Testing
import TrainyardServer

#if canImport(Glibc)
import Glibc
#endif

/// The settings `trainyard serve` reads are one list: the README's configuration table is that list, every setting the
/// code reads is on it (and nothing on it goes unread), and every `TRAINYARD_*` setting is a `serve` flag too.
@Suite struct ServerSettingsTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `TRAINYARD_*` names quoted in the server's sources (what `serve` reads: TrainyardServer, TrainyardStore and
    /// the serve command), the list itself left out: a name quoted only there is listed, not read.
    static func variablesInSources() throws -> Set<String> {
        var names: Set<String> = []
        let directories = ["Sources/TrainyardServer", "Sources/TrainyardStore"]
        // The webhook URL policy (Core) and the object store settings (read by the CLI's upload too) name their own
        // settings, which the server reads through them.
        var files = [
            "Sources/trainyard-server/ServeCommand.swift", "Sources/TrainyardCore/Webhooks/WebhookURLPolicy.swift",
            "Sources/TrainyardObjectStore/ObjectStoreSettings.swift",
        ]
        for directory in directories {
            let url = repository.appendingPathComponent(directory)
            for case let file as String in FileManager.default.enumerator(atPath: url.path) ?? NSEnumerator()
            where file.hasSuffix(".swift") && file != "ServerSettings.swift" {
                files.append(directory + "/" + file)
            }
        }
        let pattern = try Regex(#""(TRAINYARD_[A-Z0-9_]+)""#)
        for file in files {
            let text = try String(contentsOf: repository.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: pattern) {
                if let name = match.output[1].substring { names.insert(String(name)) }
            }
        }
        return names
    }

    @Test func theReadmeConfigurationTableIsTheListOfSettings() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: "| variable | default | meaning |"), "README.md has no configuration table")
        let table = lines[start...].prefix { $0.hasPrefix("|") }.joined(separator: "\n")
        #expect(
            table == ServerSettings.markdownTable,
            "README.md's configuration table differs from ServerSettings.all (Sources/TrainyardServer/ServerSettings.swift); it should read:\n\(ServerSettings.markdownTable)")
    }

    @Test func everySettingTheServerReadsIsListedAndEveryListedOneIsRead() throws {
        let read = try Self.variablesInSources()
        let listed = Set(ServerSettings.all.flatMap(\.variables).filter { $0.hasPrefix("TRAINYARD_") })
        let retired = Set(ServerSettings.retired)
        #expect(read.subtracting(listed).subtracting(retired).isEmpty, "read but not in ServerSettings.all: \(read.subtracting(listed).subtracting(retired).sorted())")
        #expect(listed.subtracting(read).isEmpty, "in ServerSettings.all but never read: \(listed.subtracting(read).sorted())")
        #expect(retired.isSubset(of: read), "a retired setting must still be refused where it is read")
    }

    /// The configuration `serve` reads from `environment`, as text (every field, nested ones included).
    static func described(_ environment: [String: String]) throws -> String {
        var text = ""
        dump(try ServerConfiguration(environment: environment), to: &text)
        return text
    }

    /// The defaults the README shows are the ones the code applies: setting a variable to its listed default (a single
    /// literal value) reads as the same configuration as leaving it unset. Defaults that depend on something else
    /// (another setting, the machine, a path) are not literals and are left out.
    @Test func settingAVariableToItsListedDefaultChangesNothing() throws {
        let unset = try Self.described([:])
        let literal = try Regex(#"^`([^`<]+)`$"#)
        var checked: [String] = []
        for setting in ServerSettings.all {
            guard let value = setting.defaultValue.firstMatch(of: literal)?.output[1].substring.map(String.init) else { continue }
            for variable in setting.variables {
                let configured: String
                do {
                    configured = try Self.described([variable: value])
                } catch {
                    Issue.record("\(variable)=\(value), its listed default, is refused: \(error)")
                    continue
                }
                #expect(configured == unset, "\(variable)=\(value), its listed default, reads as another configuration than leaving it unset")
                checked.append(variable)
            }
        }
        // Most settings have a literal default; the test would pass vacuously if the table lost its backticks.
        #expect(checked.count >= 25, "\(checked)")
    }

    @Test func flagsSetTheirVariablesAndBadOnesSayWhatIsWrong() throws {
        let environment = try ServerSettings.environment(fromFlags: ["--port", "0", "--max-queued-jobs=50", "--data-dir", "/srv/trainyard"])
        #expect(environment == ["TRAINYARD_PORT": "0", "TRAINYARD_MAX_QUEUED_JOBS": "50", "TRAINYARD_DATA_DIR": "/srv/trainyard"])
        // Every TRAINYARD_* setting has its flag, and help lists it.
        for variable in ServerSettings.all.flatMap(\.variables) where variable.hasPrefix("TRAINYARD_") {
            let flag = try #require(ServerSetting.flag(of: variable))
            #expect(ServerSetting.variable(ofFlag: flag) == variable)
            #expect(ServerSettings.flagHelp.contains("  \(flag) <value>  (\(variable); default "))
        }
        #expect(ServerSetting.flag(of: "AWS_REGION") == nil)

        #expect(throws: ServerSettings.FlagError.self) { try ServerSettings.environment(fromFlags: ["--no-such", "1"]) }
        let attempts: [[String]] = [["--no-such", "1"], ["--port"], ["--port", "--host", "x"], ["8080"]]
        let messages: [String] = attempts.map { flags in
            do {
                _ = try ServerSettings.environment(fromFlags: flags)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(messages[0].hasPrefix("unknown flag '--no-such': each TRAINYARD_* setting is a flag of its name"), "\(messages[0])")
        #expect(messages[1] == "--port needs a value (--port <value> or --port=<value>)")
        #expect(messages[2] == "--port needs a value (--port <value> or --port=<value>)")
        #expect(messages[3] == "unexpected argument '8080': every setting is a flag with its value, e.g. --port 8080")
    }

    @Test func serveTakesItsSettingsAsFlagsOverTheEnvironment() async throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-flags-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer {
            LiveApp.killWorkers(under: parent + "/flagged")
            try? FileManager.default.removeItem(atPath: parent)
        }
        // The environment names one data directory, the flag another: the flag wins.
        let serve = try ServeProcess(
            dataDirectory: parent + "/from-environment",
            environment: ["TRAINYARD_REGION": "us-east-1"],
            arguments: ["--data-dir", parent + "/flagged", "--region=eu-west-1", "--client-profile="])
        defer {
            serve.signal(SIGTERM)
        }
        let port = try await serve.waitForPort()
        let token = try String(contentsOfFile: parent + "/flagged/admin-key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!FileManager.default.fileExists(atPath: parent + "/from-environment"))
        let (status, created) = try await LiveHTTP.request(
            .POST, "http://127.0.0.1:\(port)/v1/jobs", token: token, json: #"{"name":"flagged","instance_type":"ml.m5.large","command":["true"]}"#)
        #expect(status == 201, "\(created)")
        #expect(created.contains("arn:aws:sagemaker:eu-west-1:000000000001:training-job/flagged"), "\(created)")
        serve.signal(SIGTERM)
        #expect(try await serve.waitForExit() == 0)
    }

    @Test func serveRunByNameFromPathFindsTheAgentBesideItsBinary() async throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-byname-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer {
            LiveApp.killWorkers(under: parent + "/data")
            try? FileManager.default.removeItem(atPath: parent)
        }
        // As after scripts/install: `trainyard serve` from PATH, argv[0] a bare name, in a directory without an agent.
        let serve = try ServeProcess(dataDirectory: parent + "/data", environment: ["TRAINYARD_CLIENT_PROFILE": ""], byName: true)
        defer { serve.signal(SIGTERM) }
        let port = try await serve.waitForPort()
        let base = "http://127.0.0.1:\(port)"
        let token = try String(contentsOfFile: parent + "/data/admin-key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let (status, created) = try await LiveHTTP.request(
            .POST, base + "/v1/jobs", token: token, json: #"{"name":"by-name","instance_type":"ml.m5.large","command":["true"]}"#)
        #expect(status == 201, "\(created)")
        try await ServeOutageTests.waitUntil("by-name ended") {
            ["Completed", "Failed"].contains(try await ServeOutageTests.job(base, token: token, name: "by-name")["status"] as? String)
        }
        let job = try await ServeOutageTests.job(base, token: token, name: "by-name")
        #expect(job["status"] as? String == "Completed", "\(job["failure_reason"] ?? "")")
    }

    @Test func anUnknownFlagStopsServeWithItsName() async throws {
        let serve = try ServeProcess(dataDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-badflag-\(UUID().uuidString)").path,
            arguments: ["--max-queued-job", "5"])
        let status = try await serve.waitForExit()
        #expect(status == 2, "\(status): \(serve.log)")  // the CLI's usage error
        #expect(serve.log.contains("unknown flag '--max-queued-job': each TRAINYARD_* setting is a flag of its name"), "\(serve.log)")
    }
}
