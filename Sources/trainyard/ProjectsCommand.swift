import ArgumentParser
import Foundation
import Trainyard

/// `trainyard projects create NAME`: a new project and its first admin key (bootstrap admins only); `locations`, `grant`
/// and `revoke`: where a project's jobs may read and write.
struct ProjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "projects", abstract: "Manage projects.", subcommands: [CreateProject.self, ProjectLocationsCommand.self, GrantLocationCommand.self, RevokeLocationCommand.self])
}

struct CreateProject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a project; prints its first admin key's token once.")

    @Argument var name: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            let project = try await client.createProject(name: name)
            if json { try printJSON(project) } else { print(project.apiKey.token) }
        }
    }
}

/// `trainyard instance-types`: the catalog with capacity.
struct InstanceTypesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "instance-types", abstract: "List instance types and their capacity.")

    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            let types = try await client.instanceTypes()
            if json { try printJSON(types); return }
            printTable(
                ["NAME", "VCPUS", "GPUS", "MEMORY GIB", "ON-DEMAND", "SPOT"],
                types.map { [$0.name, "\($0.vcpus)", "\($0.gpus)", "\($0.memoryGib)", "\($0.capacity.onDemand)", "\($0.capacity.spot)"] })
        }
    }
}
