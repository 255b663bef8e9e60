import Foundation
import Testing
import TrainyardCore
import TrainyardStore
import TrainyardTestSupport

/// What every ``ProjectRepository`` does: PostgreSQL's and the in-memory twin.
@Suite struct ProjectRepositoryContractTests {
    @Test(arguments: RepositoryKind.allCases)
    func aProjectsFirstKeyAuthenticatesOnlyWithItsSecret(_ kind: RepositoryKind) async throws {
        try await kind.withProjectRepository { projects in
            let (project, key, token) = try await projects.createProject(name: "team", firstKeyRole: .admin, keyName: "first")
            #expect(project.name == "team" && key.projectID == project.id && key.role == .admin && key.name == "first")
            #expect(try await projects.authenticate(token) == Principal(keyID: key.id, projectID: project.id, projectName: "team", role: .admin))
            let wrong = try #require(APIKeyToken(id: token.id, secret: token.secret + "x"))
            #expect(try await projects.authenticate(wrong) == nil)
            let unknown = try #require(APIKeyToken(id: "NOSUCHKEY123", secret: token.secret))
            #expect(try await projects.authenticate(unknown) == nil)
            let found = try #require(try await projects.project(named: "team"))
            #expect(found.id == project.id && found.name == "team" && abs(found.createdAt.timeIntervalSince(project.createdAt)) < 0.001)
            #expect(try await projects.project(named: "other") == nil)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func projectNamesAreUnique(_ kind: RepositoryKind) async throws {
        try await kind.withProjectRepository { projects in
            _ = try await projects.createProject(name: "team")
            await #expect(throws: StoreError.projectNameTaken("team")) { try await projects.createProject(name: "team") }
            #expect(try await projects.createProject(name: "team-2").0.name == "team-2")
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func keysAreListedOldestFirstWithTheirLastUse(_ kind: RepositoryKind) async throws {
        try await kind.withProjectRepository { projects in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let (project, first, _) = try await projects.createProject(name: "team", firstKeyRole: .admin, keyName: nil, now: start)
            let (viewer, viewerToken) = try await projects.createAPIKey(project: project, role: .viewer, name: "dashboard", now: start + 10)
            let (other, _, _) = try await projects.createProject(name: "other", firstKeyRole: .member, keyName: nil, now: start + 20)
            _ = try await projects.authenticate(viewerToken, now: start + 30)
            // Used again within the minute: the first use stands (no write per request).
            _ = try await projects.authenticate(viewerToken, now: start + 40)
            let listed = try await projects.apiKeys(projectID: project.id)
            #expect(listed.map(\.id) == [first.id, viewer.id])
            #expect(listed.map(\.role) == [.admin, .viewer])
            #expect(listed[1].name == "dashboard" && listed[1].projectName == "team")
            #expect(listed[0].lastUsedAt == nil)
            #expect(listed[1].lastUsedAt.map { abs($0.timeIntervalSince(start + 30)) < 0.001 } == true)
            _ = try await projects.authenticate(viewerToken, now: start + 100)
            #expect(try await projects.apiKeys(projectID: project.id)[1].lastUsedAt.map { abs($0.timeIntervalSince(start + 100)) < 0.001 } == true)
            #expect(try await projects.apiKeys(projectID: other.id).map(\.role) == [.member])
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aKeyIsDeletedOnlyThroughItsOwnProject(_ kind: RepositoryKind) async throws {
        try await kind.withProjectRepository { projects in
            let (team, _, _) = try await projects.createProject(name: "team")
            let (other, _, _) = try await projects.createProject(name: "other")
            let (record, token) = try await projects.createAPIKey(project: team, role: .member, name: nil)
            #expect(try await projects.deleteAPIKey(id: record.id, projectID: other.id) == false)
            #expect(try await projects.authenticate(token)?.role == .member)
            #expect(try await projects.deleteAPIKey(id: record.id, projectID: team.id))
            #expect(try await projects.authenticate(token) == nil)
            #expect(try await projects.deleteAPIKey(id: record.id, projectID: team.id) == false)
            #expect(try await projects.apiKeys(projectID: team.id).contains { $0.id == record.id } == false)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func theConfiguredAdminKeyIsInstalledOnceAndReplacedWhenItsSecretChanges(_ kind: RepositoryKind) async throws {
        try await kind.withProjectRepository { projects in
            let bootstrap = try await projects.ensureBootstrapProject()
            #expect(bootstrap.isBootstrap)
            #expect(try await projects.ensureBootstrapProject() == bootstrap)
            let old = try #require(APIKeyToken.parse("ADMINKEY01.first-secret"))
            let new = try #require(APIKeyToken.parse("ADMINKEY01.second-secret"))
            try await projects.installAdminKey(old, project: bootstrap)
            try await projects.installAdminKey(old, project: bootstrap)
            #expect(try await projects.authenticate(old) == Principal(keyID: "ADMINKEY01", projectID: bootstrap.id, projectName: "default", role: .admin))
            try await projects.installAdminKey(new, project: bootstrap)
            #expect(try await projects.authenticate(old) == nil)
            #expect(try await projects.authenticate(new)?.role == .admin)
            #expect(try await projects.apiKeys(projectID: bootstrap.id).map(\.id) == ["ADMINKEY01"])
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func twoProjectsKeepTheirOwnLocationGrants(_ kind: RepositoryKind) async throws {
        try await kind.withProjectRepository { projects in
            let (team, _, _) = try await projects.createProject(name: "team")
            let (other, _, _) = try await projects.createProject(name: "other")
            let grants = try #require(try? LocationGrant.parse([(uri: "s3://zeta/data", access: "read"), (uri: "s3://alpha/out", access: "read_write")]).get())
            try await projects.replaceLocationGrants(projectID: team.id, with: grants)
            #expect(try await projects.locationGrants(projectID: team.id).map(\.uri.description) == ["s3://alpha/out", "s3://zeta/data"])
            #expect(try await projects.locationGrants(projectID: other.id).isEmpty)
            let replacement = try #require(try? LocationGrant.parse([(uri: "s3://shared/in", access: "read")]).get())
            try await projects.replaceLocationGrants(projectID: team.id, with: replacement)
            #expect(try await projects.locationGrants(projectID: team.id) == replacement)
            try await projects.replaceLocationGrants(projectID: team.id, with: [])
            #expect(try await projects.locationGrants(projectID: team.id).isEmpty)
        }
    }
}
