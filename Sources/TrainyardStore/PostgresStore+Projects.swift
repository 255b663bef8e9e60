import Foundation
import PostgresNIO
import TrainyardCore

extension PostgresStore {
    /// The project that holds the bootstrap admin key; its admins may create other projects.
    public static let bootstrapProject = "default"

    /// Creates a project with a first key of `role`; answers the key's one-time token.
    public func createProject(name: String, firstKeyRole: APIKeyRole = .admin, keyName: String? = nil, now: Date = Date()) async throws -> (
        ProjectRecord, APIKeyRecord, APIKeyToken
    ) {
        do {
            return try await client.transaction(logger: logger) { connection in
                let rows = try await connection.query(
                    "INSERT INTO projects (name, created_at) VALUES (\(name), \(now)) RETURNING id", logger: logger)
                var projectID: Int64 = 0
                for try await id in rows.decode(Int64.self) { projectID = id }
                let project = ProjectRecord(id: projectID, name: name, createdAt: now)
                let (record, token) = try await insertKey(on: connection, project: project, role: firstKeyRole, name: keyName, now: now)
                return (project, record, token)
            }
        } catch where Self.isUniqueViolation(error, constraint: "projects_name_key") {
            throw StoreError.projectNameTaken(name)
        }
    }

    /// The project named `name`, if any.
    public func project(named name: String) async throws -> ProjectRecord? {
        let rows = try await client.query("SELECT id, name, created_at FROM projects WHERE name = \(name)", logger: logger)
        for try await (id, name, created) in rows.decode((Int64, String, Date).self) {
            return ProjectRecord(id: id, name: name, createdAt: created)
        }
        return nil
    }

    /// Makes sure the bootstrap project exists and returns it.
    public func ensureBootstrapProject(now: Date = Date()) async throws -> ProjectRecord {
        try await client.query(
            "INSERT INTO projects (name, created_at) VALUES (\(Self.bootstrapProject), \(now)) ON CONFLICT (name) DO NOTHING", logger: logger)
        guard let project = try await project(named: Self.bootstrapProject) else {
            throw StoreError.projectNameTaken(Self.bootstrapProject)
        }
        return project
    }
}
