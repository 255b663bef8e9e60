import Foundation
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

extension APIImplementation {
    func whoAmI(_ input: Operations.WhoAmI.Input) async throws -> Operations.WhoAmI.Output {
        let principal = try RequestPrincipal.required()
        let locations = try await projectLocations(projectID: principal.projectID, name: principal.projectName)
        return .ok(.init(body: .json(.init(
            keyId: principal.keyID, role: .init(rawValue: principal.role.rawValue) ?? .viewer, project: principal.projectName,
            locations: Self.schema(locations)))))
    }

    func getProjectLocations(_ input: Operations.GetProjectLocations.Input) async throws -> Operations.GetProjectLocations.Output {
        let project = try await readableProject(input.path.name)
        return .ok(.init(body: .json(Self.schema(try await projectLocations(projectID: project.id, name: project.name)))))
    }

    func replaceProjectLocations(_ input: Operations.ReplaceProjectLocations.Input) async throws -> Operations.ReplaceProjectLocations.Output {
        let principal = try principal(allowing: { $0 == .admin }, action: "grant locations")
        guard principal.projectName == ProjectRecord.bootstrapName else {
            throw APIError.forbidden(detail: "only admins of the \(ProjectRecord.bootstrapName) project can grant locations to projects")
        }
        guard case .json(let body) = input.body else { throw APIError.badRequest(detail: "expected a JSON body") }
        guard let project = try await projects.project(named: input.path.name) else {
            throw APIError.notFound(detail: "project \(input.path.name) not found")
        }
        let grants: [LocationGrant]
        switch LocationGrant.parse(body.locations.map { (uri: $0.uri, access: $0.access.rawValue) }) {
        case .success(let parsed): grants = parsed
        case .failure(let failure): throw APIError.unprocessable(detail: "the locations are invalid", errors: failure.violations)
        }
        try await projects.replaceLocationGrants(projectID: project.id, with: grants)
        return .ok(.init(body: .json(Self.schema(try await projectLocations(projectID: project.id, name: project.name)))))
    }

    /// The project `name` as the caller may read it: its own, or any for an admin of the bootstrap project; 404 otherwise.
    func readableProject(_ name: String) async throws -> ProjectRecord {
        let principal = try RequestPrincipal.required()
        let mayRead = principal.projectName == name || (principal.projectName == ProjectRecord.bootstrapName && principal.role == .admin)
        guard mayRead, let project = try await projects.project(named: name) else {
            throw APIError.notFound(detail: "project \(name) not found")
        }
        return project
    }

    /// Where project `name`'s jobs may read and write: its home, the stored grants and those of the setting.
    func projectLocations(projectID: Int64, name: String) async throws -> ProjectLocations {
        let unrestricted = name == ProjectRecord.bootstrapName
        var grants = unrestricted ? [] : try await projects.locationGrants(projectID: projectID)
        for grant in configuredLocationGrants[name] ?? [] where !grants.contains(grant) { grants.append(grant) }
        return ProjectLocations(project: name, defaultBucket: defaultOutputBucket, grants: grants, unrestricted: unrestricted)
    }

    /// Every URI of `spec` outside the caller's project's locations (the stored grants are read only when a URI lies
    /// outside the project's own prefix).
    func locationViolations(_ spec: JobSpec, principal: Principal) async throws -> [FieldViolation] {
        var locations = ProjectLocations(
            project: principal.projectName, defaultBucket: defaultOutputBucket, grants: [],
            unrestricted: principal.projectName == ProjectRecord.bootstrapName)
        guard locations.needsGrants(spec) else { return [] }
        locations = try await projectLocations(projectID: principal.projectID, name: principal.projectName)
        return locations.violations(spec, canonicalPath: Self.canonicalPath)
    }

    /// `path` with every symbolic link of its longest existing part resolved: a link out of a granted root is judged
    /// by where it leads.
    static func canonicalPath(_ path: String) -> String {
        var existing = path
        var rest: [String] = []
        while !existing.isEmpty, existing != "/", !FileManager.default.fileExists(atPath: existing) {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        guard let resolved = realpath(existing, nil) else { return path }
        defer { free(resolved) }
        let base = String(cString: resolved)
        return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.joined(separator: "/")
    }

    static func schema(_ locations: ProjectLocations) -> Components.Schemas.ProjectLocations {
        Components.Schemas.ProjectLocations(
            project: locations.project, defaultLocation: locations.home.description, unrestricted: locations.unrestricted,
            locations: locations.grants.map { .init(uri: $0.uri.description, access: .init(rawValue: $0.access.rawValue) ?? .read) })
    }
}
