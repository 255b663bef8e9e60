import Foundation
import Testing
import TrainyardCore

/// The server reads only where it told each agent to upload: an agent report naming another object (another job's
/// model, a file on the server's host) is never copied into the reporting job's output (audit H8).
@Suite(.serialized) struct ReportedArchiveTests {
    @Test func aForgedFinalReportDoesNotCopyAnotherJobsModel() async throws {
        try await LiveApp.run { app in
            // Given a victim job whose model holds its weights.
            try await app.submit(try WorkerTests.job(app, "victim", script: #"echo secret-weights > "$SM_MODEL_DIR/weights.txt""#))
            _ = try await app.waitForStatus("victim", "Completed")
            let victimModel = "s3://models/victim/output/model.tar.gz"
            #expect(try app.unpack(victimModel)["weights.txt"] == "secret-weights\n")

            // And a thief job holding its host's token (as code running beside its agent could read it), which reports
            // its host finished with the victim's model as its own before its agent does.
            try await app.submit(try WorkerTests.job(app, "thief", script: "sleep 120"))
            _ = try await app.waitForSecondary("thief", "Training")
            let pid = try app.agentPID(job: "thief", attempt: 1, host: "algo-1")
            let environ = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data(), as: UTF8.self)
            let token = try #require(environ.split(separator: "\0").first { $0.hasPrefix("TRAINYARD_AGENT_TOKEN=") }?.dropFirst("TRAINYARD_AGENT_TOKEN=".count))
            let forged = #"{"phase":"exited","exit_code":0,"stopped":false,"model_archive":"\#(victimModel)","output_archive":"\#(victimModel)"}"#
            let (status, body) = try await LiveHTTP.request(.POST, app.baseURL + "/v1/agent/heartbeat", token: String(token), json: forged)
            #expect(status == 200, "\(body)")

            // Then the thief's job ends without the victim's weights anywhere in its outputs.
            let ended = try await app.waitFor("thief", timeout: .seconds(60), "an end") { ["Completed", "Failed", "Stopped"].contains($0["status"] as? String ?? "") }
            for file in ["model.tar.gz", "output.tar.gz"] {
                let path = app.objectPath("s3://models/thief/output/\(file)")
                guard FileManager.default.fileExists(atPath: path) else { continue }
                let files = try app.unpack("s3://models/thief/output/\(file)")
                #expect(files["weights.txt"] == nil, "\(file) of the thief holds the victim's model: \(files.keys.sorted()); \(ended["status"] ?? "")")
            }
            // And the ended host's token fetches no assignment and adds no log lines any more.
            let (assignment, assignmentBody) = try await LiveHTTP.request(.GET, app.baseURL + "/v1/agent/assignment", token: String(token))
            #expect(assignment == 403 && assignmentBody.contains("has ended; its token no longer fetches an assignment"), "\(assignment) \(assignmentBody)")
            let (logs, logsBody) = try await LiveHTTP.request(
                .POST, app.baseURL + "/v1/agent/logs", token: String(token), text: "1000\t1790000000000000\tforged line\n")
            #expect(logs == 403 && logsBody.contains("no longer adds log lines"), "\(logs) \(logsBody)")
            // And the victim's model is untouched.
            #expect(try app.unpack(victimModel)["weights.txt"] == "secret-weights\n")
        }
    }
}
