import Foundation
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

@Suite struct PostgresStoreAPIKeyTests {
    @Test func aKeyAuthenticatesOnlyWithItsSecretAndOnlyItsHashIsStored() async throws {
        try await TestPostgres.withStore { store in
            let (project, _, _) = try await store.createProject(name: "team")
            let (record, token) = try await store.createAPIKey(project: project, role: .member, name: "ci")
            let principal = try await store.authenticate(token)
            #expect(principal == Principal(keyID: record.id, projectID: project.id, projectName: "team", role: .member))
            let wrong = try #require(APIKeyToken(id: token.id, secret: token.secret + "x"))
            #expect(try await store.authenticate(wrong) == nil)
            let unknown = try #require(APIKeyToken(id: "NOSUCHKEY123", secret: token.secret))
            #expect(try await store.authenticate(unknown) == nil)
            let stored = try await store.client.query("SELECT secret_hash FROM api_keys WHERE id = \(token.id)").decode(String.self).array()
            #expect(stored.count == 1 && !stored[0].contains(token.secret))
        }
    }

    @Test func aDeletedKeyNoLongerAuthenticates() async throws {
        try await TestPostgres.withStore { store in
            let (project, _, _) = try await store.createProject(name: "team")
            let (record, token) = try await store.createAPIKey(project: project, role: .viewer, name: nil)
            #expect(try await store.deleteAPIKey(id: record.id, projectID: project.id + 1) == false)
            #expect(try await store.deleteAPIKey(id: record.id, projectID: project.id))
            #expect(try await store.authenticate(token) == nil)
        }
    }

    @Test func theConfiguredAdminKeyReplacesAnOlderSecretOfTheSameID() async throws {
        try await TestPostgres.withStore { store in
            let project = try await store.ensureBootstrapProject()
            let old = try #require(APIKeyToken.parse("ADMINKEY01.first-secret"))
            let new = try #require(APIKeyToken.parse("ADMINKEY01.second-secret"))
            try await store.installAdminKey(old, project: project)
            try await store.installAdminKey(new, project: project)
            #expect(try await store.authenticate(old) == nil)
            #expect(try await store.authenticate(new)?.role == .admin)
        }
    }

    @Test func projectNamesAreUnique() async throws {
        try await TestPostgres.withStore { store in
            _ = try await store.createProject(name: "team")
            await #expect(throws: StoreError.projectNameTaken("team")) { try await store.createProject(name: "team") }
        }
    }
}
