import ArgumentParser
import Foundation
import Trainyard
import TrainyardAPI

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
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.createProject(body: .json(.init(name: name))) {
            case .created(let created):
                let project = try created.body.json
                if json { try printJSON(project) } else { print(project.apiKey.token) }
            case .badRequest(let response): try fail(response)
            case .unauthorized(let response): try fail(response)
            case .forbidden(let response): try fail(response)
            case .conflict(let response): try fail(response)
            case .unprocessableContent(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}

/// `trainyard instance-types`: the catalog with capacity.
struct InstanceTypesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "instance-types", abstract: "List instance types and their capacity.")

    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.listInstanceTypes() {
            case .ok(let ok):
                let types = try ok.body.json.instanceTypes
                if json { try printJSON(types); return }
                printTable(
                    ["NAME", "VCPUS", "GPUS", "MEMORY GIB", "ON-DEMAND", "SPOT"],
                    types.map { [$0.name, "\($0.vcpus)", "\($0.gpus)", "\($0.memoryGib)", "\($0.capacity.onDemand)", "\($0.capacity.spot)"] })
            case .unauthorized(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}
