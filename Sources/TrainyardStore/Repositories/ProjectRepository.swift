import Foundation
import TrainyardCore

/// Projects (the unit of tenancy), their API keys and the object-store locations granted to them.
///
/// ``PostgresStore`` is the service's implementation; ``InMemoryProjectRepository`` is its twin for fast tests. Both
/// pass `ProjectRepositoryContractTests`.
public protocol ProjectRepository: Sendable {
    /// Creates a project with a first key of `firstKeyRole`; answers the key's one-time token. Throws
    /// ``StoreError/projectNameTaken(_:)`` when a project of that name exists.
    func createProject(name: String, firstKeyRole: APIKeyRole, keyName: String?, now: Date) async throws -> (ProjectRecord, APIKeyRecord, APIKeyToken)
    /// The project named `name`, if any.
    func project(named name: String) async throws -> ProjectRecord?
    /// Makes sure the bootstrap project (``ProjectRecord/bootstrapName``) exists and returns it.
    func ensureBootstrapProject(now: Date) async throws -> ProjectRecord

    /// Creates a key of `role` in `project`; the token (with its secret) is returned once and never stored.
    func createAPIKey(project: ProjectRecord, role: APIKeyRole, name: String?, now: Date) async throws -> (APIKeyRecord, APIKeyToken)
    /// Installs `token` as an admin key of `project` (the operator's `TRAINYARD_ADMIN_KEY`): created when missing, its
    /// hash replaced when the secret changed, so the environment stays the source of truth.
    func installAdminKey(_ token: APIKeyToken, project: ProjectRecord, now: Date) async throws
    /// Checks a bearer token: the principal when the key exists and its secret matches, else nil. Marks the key used.
    func authenticate(_ token: APIKeyToken, now: Date) async throws -> Principal?
    /// The keys of a project, oldest first.
    func apiKeys(projectID: Int64) async throws -> [APIKeyRecord]
    /// Deletes a key of the project; false when the project has no such key.
    func deleteAPIKey(id: String, projectID: Int64) async throws -> Bool

    /// The locations granted to project `projectID`, in URI order.
    func locationGrants(projectID: Int64) async throws -> [LocationGrant]
    /// Replaces project `projectID`'s grants with `grants`, all at once.
    func replaceLocationGrants(projectID: Int64, with grants: [LocationGrant]) async throws
}

extension ProjectRecord {
    /// The project that holds the bootstrap admin key; its admins may create other projects and run the service.
    public static let bootstrapName = "default"

    /// Whether this is the bootstrap project.
    public var isBootstrap: Bool { name == Self.bootstrapName }
}

extension ProjectRepository {
    public func createProject(name: String, firstKeyRole: APIKeyRole = .admin, keyName: String? = nil) async throws -> (
        ProjectRecord, APIKeyRecord, APIKeyToken
    ) {
        try await createProject(name: name, firstKeyRole: firstKeyRole, keyName: keyName, now: Date())
    }

    public func ensureBootstrapProject() async throws -> ProjectRecord {
        try await ensureBootstrapProject(now: Date())
    }

    public func createAPIKey(project: ProjectRecord, role: APIKeyRole, name: String?) async throws -> (APIKeyRecord, APIKeyToken) {
        try await createAPIKey(project: project, role: role, name: name, now: Date())
    }

    public func installAdminKey(_ token: APIKeyToken, project: ProjectRecord) async throws {
        try await installAdminKey(token, project: project, now: Date())
    }

    public func authenticate(_ token: APIKeyToken) async throws -> Principal? {
        try await authenticate(token, now: Date())
    }
}

/// How often a key's `last_used_at` is written: a key used again sooner keeps the earlier time, so that a busy key
/// does not cost a write per request.
let keyUseRecordingInterval: TimeInterval = 60
