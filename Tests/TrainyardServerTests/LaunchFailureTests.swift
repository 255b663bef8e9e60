import Foundation
import Testing

/// A worker that cannot start is known at once, with a reason that says what to fix: not a launch lease later with a
/// heartbeat message (a fresh clone's `scripts/serve` once built no agent, and the first job failed two minutes
/// later with "host algo-1 stopped heartbeating").
@Suite(.serialized) struct LaunchFailureTests {
    @Test func aMissingAgentFailsTheJobNamingThePathAndHowToBuildIt() async throws {
        let missing = "/nonexistent/build/debug/trainyard-agent"
        try await LiveApp.run(agentExecutable: missing) { app in
            try await app.submit(try WorkerTests.job(app, "no-agent", count: 2, script: "true"))
            let job = try await app.waitForStatus("no-agent", "Failed")
            let reason = job["failure_reason"] as? String ?? ""
            #expect(reason.contains(missing) && reason.contains("does not exist") && reason.contains("TRAINYARD_AGENT_BIN"), "\(reason)")
            #expect(!reason.contains("heartbeat"), "\(reason)")
        }
    }

    @Test func anAgentThatIsNotExecutableFailsTheJobSayingSo() async throws {
        let directory = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = directory + "/trainyard-agent"
        try "not a program".write(toFile: agent, atomically: true, encoding: .utf8)
        try await LiveApp.run(agentExecutable: agent) { app in
            try await app.submit(try WorkerTests.job(app, "agent-not-executable", script: "true"))
            let job = try await app.waitForStatus("agent-not-executable", "Failed")
            let reason = job["failure_reason"] as? String ?? ""
            #expect(reason.contains(agent) && reason.contains("not executable"), "\(reason)")
        }
    }

    @Test func anAgentThatExitsAtOnceFailsTheJobWithItsExitStatusAndLastWords() async throws {
        let directory = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = directory + "/trainyard-agent"
        try "#!/bin/sh\necho 'trainyard-agent: error while loading shared libraries: libFoundation.so' >&2\nexit 127\n"
            .write(toFile: agent, atomically: true, encoding: .utf8)
        chmod(agent, 0o755)
        try await LiveApp.run(agentExecutable: agent) { app in
            try await app.submit(try WorkerTests.job(app, "agent-dies", script: "true"))
            let job = try await app.waitForStatus("agent-dies", "Failed")
            let reason = job["failure_reason"] as? String ?? ""
            #expect(reason.contains(agent) && reason.contains("status 127") && reason.contains("libFoundation.so"), "\(reason)")
            #expect(!reason.contains("heartbeat"), "\(reason)")
        }
    }
}
