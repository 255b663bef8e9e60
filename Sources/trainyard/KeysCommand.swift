import ArgumentParser
import Foundation
import Trainyard
import TrainyardAPI

/// `trainyard keys …`: API keys of the caller's project (admin).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage the API keys of your project (admin keys only).",
        subcommands: [CreateKey.self, ListKeys.self, DeleteKey.self])
}

struct CreateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key; its token is printed once.")

    @Option(help: "admin, member or viewer.") var role: String = "member"
    @Option(help: "A label for the key.") var name: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            let role = try parseChoice(Components.Schemas.APIKeyRole.self, role, "--role")
            switch try await client.createAPIKey(body: .json(.init(role: role, name: name))) {
            case .created(let created):
                let key = try created.body.json
                if json { try printJSON(key) } else { print(key.token) }
            case .badRequest(let response): try fail(response)
            case .unauthorized(let response): try fail(response)
            case .forbidden(let response): try fail(response)
            case .unprocessableContent(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}

struct ListKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the project's keys (never their secrets).")

    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.listAPIKeys() {
            case .ok(let ok):
                let keys = try ok.body.json.apiKeys
                if json { try printJSON(keys); return }
                printTable(
                    ["ID", "ROLE", "NAME", "CREATED", "LAST USED"],
                    keys.map { [$0.id, $0.role.rawValue, $0.name ?? "", $0.createdAt.formatted(.iso8601), $0.lastUsedAt?.formatted(.iso8601) ?? ""] })
            case .unauthorized(let response): try fail(response)
            case .forbidden(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}

struct DeleteKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a key; requests with it fail from then on.")

    @Argument var id: String

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.deleteAPIKey(path: .init(id: id)) {
            case .noContent: print("deleted \(id)")
            case .badRequest(let response): try fail(response)
            case .unauthorized(let response): try fail(response)
            case .forbidden(let response): try fail(response)
            case .notFound(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}
