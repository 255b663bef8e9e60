import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct AuthTests {
    static let job = #"{"instance_type":"ml.m5.large","command":["python3","train.py"],"name":"auth-job"}"#

    @Test func healthAndReadinessNeedNoKey() async throws {
        try await TestApp.run { client in
            #expect(try await client.call(.get, "/healthz", token: nil).status == .ok)
            let ready = try await client.call(.get, "/readyz", token: nil)
            #expect(ready.status == .ok)
            #expect(try ready.object()["status"] as? String == "ready")
        }
    }

    @Test(arguments: [nil, "garbage", "Bearer", "Bearer NOTATOKEN", "Bearer TESTADMIN0001.wrong-secret", "Bearer UNKNOWNKEY01.bootstrap-secret"])
    func aMissingOrWrongKeyIsUnauthorised(header: String?) async throws {
        try await TestApp.run { client in
            var headers = HTTPFields()
            if let header { headers[.authorization] = header }
            let response = try await client.execute(uri: "/v1/jobs", method: .get, headers: headers)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(try response.object()["status"] as? Int == 401)
        }
    }

    @Test func aViewerReadsButCannotCreateOrStopJobs() async throws {
        try await TestApp.run { client in
            let viewer = try await client.key(role: "viewer", token: TestApp.adminToken)
            let member = try await client.key(role: "member", token: TestApp.adminToken)
            #expect(try await client.call(.post, "/v1/jobs", token: viewer, json: Self.job).status == .forbidden)
            #expect(try await client.call(.post, "/v1/jobs", token: member, json: Self.job).status == .created)
            #expect(try await client.call(.get, "/v1/jobs/auth-job", token: viewer).status == .ok)
            #expect(try await client.call(.get, "/v1/jobs", token: viewer).status == .ok)
            #expect(try await client.call(.post, "/v1/jobs/auth-job/stop", token: viewer).status == .forbidden)
            #expect(try await client.call(.post, "/v1/jobs/auth-job/stop", token: member).status == .accepted)
        }
    }

    @Test func onlyAdminsManageKeys() async throws {
        try await TestApp.run { client in
            let member = try await client.key(role: "member", token: TestApp.adminToken)
            #expect(try await client.call(.post, "/v1/api-keys", token: member, json: #"{"role":"admin"}"#).status == .forbidden)
            #expect(try await client.call(.get, "/v1/api-keys", token: member).status == .forbidden)
            let list = try await client.call(.get, "/v1/api-keys")
            let keys = try list.object()["api_keys"] as? [[String: Any]] ?? []
            #expect(keys.count == 2)
            #expect(!String(buffer: list.body).contains("bootstrap-secret"))
        }
    }

    @Test func anotherProjectsJobIsNotFound() async throws {
        try await TestApp.run { client in
            #expect(try await client.call(.post, "/v1/jobs", json: Self.job).status == .created)
            let other = try await client.project("other-team")
            for (method, path) in [(HTTPRequest.Method.get, "/v1/jobs/auth-job"), (.post, "/v1/jobs/auth-job/stop"), (.get, "/v1/jobs/auth-job/events")] {
                let response = try await client.call(method, path, token: other)
                #expect(response.status == .notFound, "\(method) \(path)")
            }
            let list = try await client.call(.get, "/v1/jobs", token: other)
            #expect((try list.object()["jobs"] as? [Any])?.isEmpty == true)
            // The other project may use the same name.
            #expect(try await client.call(.post, "/v1/jobs", token: other, json: Self.job).status == .created)
        }
    }

    @Test func onlyBootstrapAdminsCreateProjectsAndTheNewKeyWorks() async throws {
        try await TestApp.run { client in
            let teamAdmin = try await client.project("team")
            #expect(try await client.call(.get, "/v1/jobs", token: teamAdmin).status == .ok)
            #expect(try await client.call(.post, "/v1/projects", token: teamAdmin, json: #"{"name":"sneaky"}"#).status == .forbidden)
            #expect(try await client.call(.post, "/v1/projects", json: #"{"name":"team"}"#).status == .conflict)
            let bad = try await client.call(.post, "/v1/projects", json: #"{"name":"Not_Valid"}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(try bad.violations() == [FieldRule(field: "name", rule: "pattern")])
        }
    }

    @Test func aDeletedKeyStopsWorking() async throws {
        try await TestApp.run { client in
            let member = try await client.key(role: "member", token: TestApp.adminToken)
            let id = String(member.split(separator: ".")[0])
            #expect(try await client.call(.delete, "/v1/api-keys/\(id)").status == .noContent)
            #expect(try await client.call(.get, "/v1/jobs", token: member).status == .unauthorized)
            #expect(try await client.call(.delete, "/v1/api-keys/\(id)").status == .notFound)
        }
    }
}
