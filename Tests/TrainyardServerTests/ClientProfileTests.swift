import Foundation
import Testing
import TrainyardTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The CLI finds its server from any directory: `trainyard serve` writes a profile for itself, `trainyard login` keeps
/// others, and every failure says what to do. Each test has a home directory of its own, as a new user has.
@Suite(.serialized) struct ClientProfileTests {
    static func home() throws -> String {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-home-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home + "/elsewhere", withIntermediateDirectories: true)
        return home
    }

    @Test func serveWritesALocalProfileSoTheCLIWorksFromAnyDirectory() async throws {
        let home = try Self.home()
        let data = try LiveApp.dataDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: home)
            try? FileManager.default.removeItem(atPath: data)
        }
        let port = try TestPorts.block(count: 1)
        let serve = try ServeProcess(dataDirectory: data, environment: ["TRAINYARD_PORT": "\(port)", "HOME": home])
        defer {
            serve.signal(SIGTERM)
            serve.process.waitUntilExit()
        }
        _ = try await serve.waitForPort()
        let configuration = try String(contentsOfFile: home + "/.config/trainyard/config.json", encoding: .utf8)
        #expect(configuration.contains("http://127.0.0.1:\(port)") && configuration.contains(data + "/admin-key"), "\(configuration)")
        let mode = try FileManager.default.attributesOfItem(atPath: home + "/.config/trainyard/config.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // A new shell in another directory, with none of the test's settings: the profile is all it has.
        let listed = try await runTrainyard(["jobs", "list"], in: home + "/elsewhere", environment: ["HOME": home], isolated: true, mergingErrors: true)
        #expect(listed.status == 0, "\(listed.output)")
        #expect(listed.output.contains("NAME"), "\(listed.output)")
        let profiles = try await runTrainyard(["profiles"], in: home + "/elsewhere", environment: ["HOME": home], isolated: true)
        #expect(profiles.output.contains("*\tlocal\thttp://127.0.0.1:\(port)"), "\(profiles.output)")

        // A `--source-dir` from there lands in the server's own filesystem store (the profile records its data
        // directory), and the job runs the uploaded script.
        try FileManager.default.createDirectory(atPath: home + "/elsewhere/src", withIntermediateDirectories: true)
        try "print('trained from elsewhere', flush=True)\n".write(toFile: home + "/elsewhere/src/train.py", atomically: true, encoding: .utf8)
        let submitted = try await runTrainyard(
            ["jobs", "submit", "--name", "from-elsewhere", "--instance-type", "ml.m5.large", "--source-dir", "src", "--entry-point", "train.py", "--wait"],
            in: home + "/elsewhere", environment: ["HOME": home], isolated: true, mergingErrors: true, timeout: .seconds(180))
        #expect(submitted.status == 0, "\(submitted.output)\n\(serve.log.suffix(4000))")
        let logs = try await runTrainyard(["jobs", "logs", "from-elsewhere"], in: home + "/elsewhere", environment: ["HOME": home], isolated: true)
        #expect(logs.output.contains("trained from elsewhere"), "\(logs.output)")
    }

    @Test func loginKeepsACheckedKeyAsAProfileAndRefusesAWrongOne() async throws {
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try await LiveApp.run { app in
            let elsewhere = home + "/elsewhere"
            // A wrong key is refused by the server and not kept.
            let wrong = try await runTrainyard(
                ["login", app.baseURL, "--profile", "work"], in: elsewhere, environment: ["HOME": home, "TRAINYARD_API_KEY": "WRONGKEY01.nope"],
                isolated: true, mergingErrors: true)
            #expect(wrong.status == 4, "\(wrong.output)")
            #expect(!FileManager.default.fileExists(atPath: home + "/.config/trainyard/config.json"))

            // The right key from a file: kept as the profile (the first one is the default).
            let keyFile = home + "/key"
            try app.token.write(toFile: keyFile, atomically: true, encoding: .utf8)
            let login = try await runTrainyard(
                ["login", app.baseURL, "--profile", "work", "--api-key-file", keyFile], in: elsewhere, environment: ["HOME": home], isolated: true,
                mergingErrors: true)
            #expect(login.status == 0, "\(login.output)")
            #expect(login.output.contains("profile 'work' (the default)"), "\(login.output)")
            try await app.submit(try WorkerTests.job(app, "seen-through-profile", script: "true"))
            let listed = try await runTrainyard(["jobs", "list"], in: elsewhere, environment: ["HOME": home], isolated: true, mergingErrors: true)
            #expect(listed.status == 0 && listed.output.contains("seen-through-profile"), "\(listed.output)")

            // A profile that does not exist is named, with the ones that do.
            let unknown = try await runTrainyard(
                ["jobs", "list"], in: elsewhere, environment: ["HOME": home, "TRAINYARD_PROFILE": "prod"], isolated: true, mergingErrors: true)
            #expect(unknown.status != 0)
            #expect(unknown.output.contains("there is no profile 'prod'") && unknown.output.contains("(profiles: work)"), "\(unknown.output)")

            // logout forgets it.
            let logout = try await runTrainyard(["logout", "--profile", "work"], in: elsewhere, environment: ["HOME": home], isolated: true)
            #expect(logout.status == 0)
            let none = try await runTrainyard(["profiles"], in: elsewhere, environment: ["HOME": home], isolated: true)
            #expect(none.output.contains("no profiles"), "\(none.output)")
        }
    }
}
