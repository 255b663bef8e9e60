public import Foundation
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

extension APIImplementation {
    func createProject(_ input: Operations.CreateProject.Input) async throws -> Operations.CreateProject.Output {
        let principal = try principal(allowing: { $0 == .admin }, action: "create projects")
        guard principal.projectName == ProjectRecord.bootstrapName else {
            throw APIError.forbidden(detail: "only admins of the \(ProjectRecord.bootstrapName) project can create projects")
        }
        guard case .json(let body) = input.body else { throw APIError.badRequest(detail: "expected a JSON body") }
        let violations = ProjectName.violations(body.name)
        guard violations.isEmpty else { throw APIError.unprocessable(detail: "the project is invalid", errors: violations) }
        do {
            let (project, key, token) = try await projects.createProject(name: body.name)
            return .created(.init(body: .json(.init(name: project.name, apiKey: Self.createdKey(key, token: token)))))
        } catch StoreError.projectNameTaken(let name) {
            throw APIError.conflict(detail: "a project named \(name) already exists")
        }
    }

    func createAPIKey(_ input: Operations.CreateAPIKey.Input) async throws -> Operations.CreateAPIKey.Output {
        let principal = try principal(allowing: \.canManageKeys, action: "create API keys")
        guard case .json(let body) = input.body else { throw APIError.badRequest(detail: "expected a JSON body") }
        if let name = body.name, name.unicodeScalars.count > 64 || name.unicodeScalars.contains("\u{0}") {
            let rule = name.unicodeScalars.count > 64 ? "length" : "no_nul"
            throw APIError.unprocessable(
                detail: "the key is invalid", errors: [FieldViolation(field: "name", rule: rule, message: "name must be at most 64 characters, without NUL")])
        }
        guard let role = APIKeyRole(rawValue: body.role.rawValue), let project = try await projects.project(named: principal.projectName) else {
            throw APIError.badRequest(detail: "unknown role \(body.role.rawValue)", field: "role")
        }
        let (key, token) = try await projects.createAPIKey(project: project, role: role, name: body.name)
        return .created(.init(body: .json(Self.createdKey(key, token: token))))
    }

    func listAPIKeys(_ input: Operations.ListAPIKeys.Input) async throws -> Operations.ListAPIKeys.Output {
        let principal = try principal(allowing: \.canManageKeys, action: "list API keys")
        let keys = try await projects.apiKeys(projectID: principal.projectID).map { key in
            Components.Schemas.APIKeySummary(
                id: key.id, role: .init(rawValue: key.role.rawValue) ?? .viewer, name: key.name, createdAt: key.createdAt, lastUsedAt: key.lastUsedAt)
        }
        return .ok(.init(body: .json(.init(apiKeys: keys))))
    }

    func deleteAPIKey(_ input: Operations.DeleteAPIKey.Input) async throws -> Operations.DeleteAPIKey.Output {
        let principal = try principal(allowing: \.canManageKeys, action: "delete API keys")
        guard try await projects.deleteAPIKey(id: input.path.id, projectID: principal.projectID) else {
            throw APIError.notFound(detail: "API key \(input.path.id) not found in this project")
        }
        return .noContent(.init())
    }

    static func createdKey(_ key: APIKeyRecord, token: APIKeyToken) -> Components.Schemas.CreatedAPIKey {
        Components.Schemas.CreatedAPIKey(
            id: key.id, secret: token.secret, token: token.stringValue, role: .init(rawValue: key.role.rawValue) ?? .viewer, name: key.name,
            createdAt: key.createdAt)
    }
}

/// The rule for project names: lowercase letters and digits, single hyphens between them, 1 to 63 characters.
/// Matched as a whole (`\A…\z`): with `^…$`, ICU's `$` also matches before a final newline, and `"team\n"` passed.
enum ProjectName {
    static let pattern = FullMatchPattern("[a-z0-9](-?[a-z0-9]){0,62}")

    static func violations(_ name: String) -> [FieldViolation] {
        // The pattern alone allows 125 characters (63 letters or digits with hyphens between them).
        let valid = (pattern?.matches(name) ?? false) && name.unicodeScalars.count <= 63
        return valid ? [] : [
            FieldViolation(
                field: "name", rule: "pattern",
                message: "name must be 1 to 63 lowercase letters or digits, with single hyphens between them (^[a-z0-9](-?[a-z0-9]){0,62}$)")
        ]
    }
}
