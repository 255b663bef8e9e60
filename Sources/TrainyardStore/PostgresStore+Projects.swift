import Foundation
import PostgresNIO
import TrainyardCore

extension PostgresStore: ProjectRepository {
    public func createProject(name: String, firstKeyRole: APIKeyRole, keyName: String?, now: Date) async throws -> (
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

    public func project(named name: String) async throws -> ProjectRecord? {
        let rows = try await client.query("SELECT id, name, created_at FROM projects WHERE name = \(name)", logger: logger)
        for try await (id, name, created) in rows.decode((Int64, String, Date).self) {
            return ProjectRecord(id: id, name: name, createdAt: created)
        }
        return nil
    }

    public func ensureBootstrapProject(now: Date) async throws -> ProjectRecord {
        try await client.query(
            "INSERT INTO projects (name, created_at) VALUES (\(ProjectRecord.bootstrapName), \(now)) ON CONFLICT (name) DO NOTHING", logger: logger)
        guard let project = try await project(named: ProjectRecord.bootstrapName) else {
            throw StoreError.projectNameTaken(ProjectRecord.bootstrapName)
        }
        return project
    }
}

extension PostgresStore {
    public func locationGrants(projectID: Int64) async throws -> [LocationGrant] {
        let rows = try await client.query(
            "SELECT uri, access FROM project_locations WHERE project_id = \(projectID) ORDER BY uri", logger: logger)
        var grants: [LocationGrant] = []
        for try await (uri, access) in rows.decode((String, String).self) {
            // Rows are written only through replaceLocationGrants, which parses them; a row that no longer parses (a
            // rule tightened since) grants nothing.
            guard let parsed = ObjectURI(uri), let access = LocationGrant.Access(rawValue: access) else { continue }
            grants.append(LocationGrant(uri: parsed, access: access))
        }
        return grants
    }

    /// In one transaction.
    public func replaceLocationGrants(projectID: Int64, with grants: [LocationGrant]) async throws {
        try await client.transaction(logger: logger) { connection in
            try await connection.query("DELETE FROM project_locations WHERE project_id = \(projectID)", logger: logger)
            for grant in grants {
                try await connection.query(
                    "INSERT INTO project_locations (project_id, uri, access) VALUES (\(projectID), \(grant.uri.description), \(grant.access.rawValue))",
                    logger: logger)
            }
        }
    }
}
