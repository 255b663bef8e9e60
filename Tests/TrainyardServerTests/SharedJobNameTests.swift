import Foundation
import Testing
import TrainyardCore

/// Job names are unique per project only: two projects' jobs of one name run side by side, and neither stops the
/// scheduler for anyone.
@Suite(.serialized) struct SharedJobNameTests {
    /// `GET /v1/jobs/{name}` with `token`, polled until `status`.
    static func waitForStatus(_ app: LiveApp, token: String, _ name: String, _ status: String, timeout: Duration = .seconds(60)) async throws
        -> [String: Any]
    {
        var last: [String: Any] = [:]
        try await eventually("\(name) \(status)", timeout: timeout) {
            let body = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs/\(name)", token: token).1
            last = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
            return last["status"] as? String == status
        }
        return last
    }

    static func hostIDs(_ job: [String: Any]) -> [String] {
        (job["attempts"] as? [[String: Any]] ?? []).flatMap { $0["hosts"] as? [[String: Any]] ?? [] }.compactMap { $0["id"] as? String }
    }

    @Test func anotherProjectsJobOfACommonNameIsScheduledAndSoAreLaterJobs() async throws {
        try await LiveApp.run { app in
            // Given project a (the bootstrap project) ran `mnist` to completion.
            try await app.submit(try WorkerTests.job(app, "mnist", script: "echo trained by a"))
            let first = try await app.waitForStatus("mnist", "Completed")
            let (status, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"team-b"}"#)
            #expect(status == 201)
            let tokenB = try #require((created["api_key"] as? [String: Any])?["token"] as? String)

            // When project b submits its own `mnist` (its code in a directory the service admin granted it, its output
            // in its own prefix), and project a another job after it.
            let code = try WorkerTests.job(app, "mnist", script: "echo trained by b")
            let codeRoot = app.dataDirectory + "/code-mnist"
            let (granted, _) = try await app.request(.PUT, "/v1/projects/team-b/locations", json: #"{"locations":[{"uri":"file://\#(codeRoot)","access":"read"}]}"#)
            #expect(granted == 200)
            let spec = code.replacingOccurrences(of: #""output_path":"s3://models/","#, with: "")
            let (submitted, answer) = try await LiveHTTP.request(.POST, app.baseURL + "/v1/jobs", token: tokenB, json: spec)
            #expect(submitted == 201, "\(answer)")
            try await app.submit(try WorkerTests.job(app, "after", script: "echo later"))

            // Then both are scheduled and complete, on hosts of their own.
            let second = try await Self.waitForStatus(app, token: tokenB, "mnist", "Completed")
            let later = try await app.waitForStatus("after", "Completed")
            let ids = Self.hostIDs(first) + Self.hostIDs(second) + Self.hostIDs(later)
            #expect(ids.count == 3 && Set(ids).count == 3, "\(ids)")
            #expect(try await app.allLogLines("mnist").map { $0["message"] as? String } == ["trained by a"])
            let linesB = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs/mnist/logs", token: tokenB).1
            #expect(linesB.contains("trained by b") && !linesB.contains("trained by a"))
            // Each project's model is in its own prefix.
            #expect(FileManager.default.fileExists(atPath: app.objectPath("s3://trainyard/team-b/mnist/output/model.tar.gz")))
            #expect(FileManager.default.fileExists(atPath: app.objectPath("s3://models/mnist/output/model.tar.gz")))
        }
    }
}
