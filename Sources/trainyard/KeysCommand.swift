import ArgumentParser
import Foundation
import Trainyard

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
            let client = try TrainyardClient()
            let role = try parseChoice(APIKeyRole.self, role, "--role")
            let key = try await client.createAPIKey(role: role, name: name)
            if json { try printJSON(key) } else { print(key.token) }
        }
    }
}

struct ListKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the project's keys (never their secrets).")

    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            let keys = try await client.apiKeys()
            if json { try printJSON(keys); return }
            printTable(
                ["ID", "ROLE", "NAME", "CREATED", "LAST USED"],
                keys.map { [$0.id, $0.role.rawValue, $0.name ?? "", $0.createdAt.formatted(.iso8601), $0.lastUsedAt?.formatted(.iso8601) ?? ""] })
        }
    }
}

struct DeleteKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a key; requests with it fail from then on.")

    @Argument var id: String

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            try await client.deleteAPIKey(id: id)
            print("deleted \(id)")
        }
    }
}
