import ArgumentParser
import Foundation
import Trainyard

/// `trainyard whoami`: the caller's key, role and project, and where the project's jobs may read and write.
struct WhoAmICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Show the key in use: its project, role, and the locations the project's jobs may use.")

    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let caller = try await Self.caller()
            if json { try printJSON(caller); return }
            print("project  \(caller.project)\nrole     \(caller.role.rawValue)\nkey      \(caller.keyId)")
            printLocations(caller.locations)
        }
    }

    static func caller() async throws -> CallerIdentity {
        try await TrainyardClient().whoAmI()
    }
}

/// `locations`: a project's own prefix and its grants, one per line.
func printLocations(_ locations: ProjectLocations) {
    if locations.unrestricted {
        print("locations  unrestricted (the bootstrap project reaches every location the service can)")
        return
    }
    printTable(
        ["LOCATION", "ACCESS", "FROM"],
        [[locations.defaultLocation, "read_write", "the project's own prefix"]]
            + locations.locations.map { [$0.uri, $0.access.rawValue, "granted"] })
}

/// `trainyard projects locations NAME`: where a project's jobs may read and write.
struct ProjectLocationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locations", abstract: "Show where a project's jobs may read and write (its own prefix and its grants).")

    @Argument(help: "The project.") var project: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let locations = try await Self.read(project)
            if json { try printJSON(locations) } else { printLocations(locations) }
        }
    }

    static func read(_ project: String) async throws -> ProjectLocations {
        try await TrainyardClient().locations(ofProject: project)
    }

    static func replace(_ project: String, with grants: [LocationGrant]) async throws -> ProjectLocations {
        try await TrainyardClient().replaceLocations(ofProject: project, with: grants)
    }
}

/// `trainyard projects grant NAME URI [--read-only]`: lets a project's jobs use a location (bootstrap admins only).
struct GrantLocationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant",
        abstract: "Let a project's jobs use an S3 prefix or file:// root (admins of the bootstrap project only).",
        discussion: "Read-write by default (inputs, code, output_path, checkpoint_s3_uri); --read-only for inputs and code only. Granting a location again changes its access.")

    @Argument(help: "The project.") var project: String
    @Argument(help: "An S3 prefix (s3://bucket/prefix, s3://bucket for a whole bucket) or a file:// root.") var uri: String
    @Flag(help: "Inputs and code only.") var readOnly = false

    func run() async throws {
        try await runReportingErrors {
            var grants = try await ProjectLocationsCommand.read(project).locations.filter { $0.uri != uri }
            grants.append(.init(uri: uri, access: readOnly ? .read : .readWrite))
            printLocations(try await ProjectLocationsCommand.replace(project, with: grants))
        }
    }
}

/// `trainyard projects revoke NAME URI`: takes a granted location back.
struct RevokeLocationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Take back a location granted to a project (admins of the bootstrap project only).")

    @Argument(help: "The project.") var project: String
    @Argument(help: "The location, as granted.") var uri: String

    func run() async throws {
        try await runReportingErrors {
            let current = try await ProjectLocationsCommand.read(project).locations
            guard current.contains(where: { $0.uri == uri }) else {
                throw CLIError.input("project \(project) has no grant of \(uri); `trainyard projects locations \(project)` lists its grants")
            }
            printLocations(try await ProjectLocationsCommand.replace(project, with: current.filter { $0.uri != uri }))
        }
    }
}
