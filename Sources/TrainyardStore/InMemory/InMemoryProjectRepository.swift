import Foundation
import TrainyardCore

/// ``ProjectRepository`` in memory: the twin of ``PostgresStore``'s projects, keys and location grants, for tests
/// that need tenancy without a database. Keys are stored as hashes, as PostgreSQL stores them.
public actor InMemoryProjectRepository: ProjectRepository {
    private struct StoredKey {
        var record: APIKeyRecord
        var hash: String
    }

    private var projects: [Int64: ProjectRecord] = [:]
    private var keys: [String: StoredKey] = [:]
    private var grants: [Int64: [LocationGrant]] = [:]
    private var lastProjectID: Int64 = 0
    /// Makes the keys this twin creates, as ``PostgresStore/keyMint`` does.
    public nonisolated let keyMint: APIKeyMint

    public init(keyMint: APIKeyMint = .ephemeral()) {
        self.keyMint = keyMint
    }

    public func createProject(name: String, firstKeyRole: APIKeyRole, keyName: String?, now: Date) throws -> (ProjectRecord, APIKeyRecord, APIKeyToken) {
        guard !projects.values.contains(where: { $0.name == name }) else { throw StoreError.projectNameTaken(name) }
        let project = insertProject(name: name, now: now)
        let (record, token) = insertKey(project: project, role: firstKeyRole, name: keyName, now: now)
        return (project, record, token)
    }

    public func project(named name: String) -> ProjectRecord? {
        projects.values.first { $0.name == name }
    }

    /// The name of project `id`, if there is one (the job twin's join).
    func name(ofProject id: Int64) -> String? {
        projects[id]?.name
    }

    public func ensureBootstrapProject(now: Date) -> ProjectRecord {
        project(named: ProjectRecord.bootstrapName) ?? insertProject(name: ProjectRecord.bootstrapName, now: now)
    }

    private func insertProject(name: String, now: Date) -> ProjectRecord {
        lastProjectID += 1
        let project = ProjectRecord(id: lastProjectID, name: name, createdAt: now)
        projects[project.id] = project
        return project
    }

    public func createAPIKey(project: ProjectRecord, role: APIKeyRole, name: String?, now: Date) -> (APIKeyRecord, APIKeyToken) {
        insertKey(project: project, role: role, name: name, now: now)
    }

    private func insertKey(project: ProjectRecord, role: APIKeyRole, name: String?, now: Date) -> (APIKeyRecord, APIKeyToken) {
        let (token, key) = keyMint.mint(role: role)
        let record = APIKeyRecord(id: token.id, projectID: project.id, projectName: project.name, role: role, name: name, createdAt: now)
        keys[token.id] = StoredKey(record: record, hash: key.secretHash)
        return (record, token)
    }

    public func installAdminKey(_ token: APIKeyToken, project: ProjectRecord, now: Date) {
        let hash = APIKeyHasher().hash(secret: token.secret)
        if var stored = keys[token.id] {
            // As PostgreSQL's upsert: the key moves to the project as an admin with the new secret; its name, creation
            // and last use stay.
            stored.record.projectID = project.id
            stored.record.projectName = project.name
            stored.record.role = .admin
            stored.hash = hash
            keys[token.id] = stored
        } else {
            let record = APIKeyRecord(id: token.id, projectID: project.id, projectName: project.name, role: .admin, name: "bootstrap admin", createdAt: now)
            keys[token.id] = StoredKey(record: record, hash: hash)
        }
    }

    public func authenticate(_ token: APIKeyToken, now: Date) -> Principal? {
        guard var stored = keys[token.id], APIKeyHasher().verify(secret: token.secret, stored: stored.hash) else { return nil }
        if stored.record.lastUsedAt.map({ now.timeIntervalSince($0) > keyUseRecordingInterval }) ?? true {
            stored.record.lastUsedAt = now
            keys[token.id] = stored
        }
        let record = stored.record
        return Principal(keyID: record.id, projectID: record.projectID, projectName: record.projectName, role: record.role)
    }

    public func apiKeys(projectID: Int64) -> [APIKeyRecord] {
        keys.values.map(\.record).filter { $0.projectID == projectID }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func deleteAPIKey(id: String, projectID: Int64) -> Bool {
        guard keys[id]?.record.projectID == projectID else { return false }
        keys[id] = nil
        return true
    }

    public func locationGrants(projectID: Int64) -> [LocationGrant] {
        // PostgreSQL orders them by URI in the C collation: by code point, which UTF-8's byte order keeps.
        (grants[projectID] ?? []).sorted { $0.uri.description.utf8.lexicographicallyPrecedes($1.uri.description.utf8) }
    }

    public func replaceLocationGrants(projectID: Int64, with grants: [LocationGrant]) {
        self.grants[projectID] = grants
    }
}
