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

extension PostgresStore {
    /// The locations granted to project `projectID`, in URI order.
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

    /// Replaces project `projectID`'s grants with `grants`, in one transaction.
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
