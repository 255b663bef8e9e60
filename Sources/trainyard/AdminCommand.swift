import ArgumentParser
import Foundation
import Trainyard

/// `trainyard admin …`: fault injection and the pool's capacity (admin keys).
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Reclaim hosts and set the pool's capacity (admin keys only).",
        subcommands: [InterruptHost.self, SetCapacity.self])
}

struct InterruptHost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interrupt", abstract: "Reclaim a running host now, as a spot provider would; its job resumes from its checkpoint.")

    @Argument(help: "The host's id, from `trainyard jobs describe NAME` (attempts, hosts).") var host: String

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            try await client.interruptHost(host)
            print("reclaiming \(host)")
        }
    }
}

struct SetCapacity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capacity", abstract: "Set how many on-demand and/or spot hosts of an instance type the pool runs.")

    @Argument(help: "The instance type, e.g. ml.m5.large.") var instanceType: String
    @Option(name: .customLong("on-demand"), help: "On-demand hosts.") var onDemand: Int?
    @Option(help: "Spot hosts; a cut below what runs reclaims the newest spot hosts.") var spot: Int?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            let type = try await client.setCapacity(instanceType: instanceType, onDemand: onDemand, spot: spot)
            if json { try printJSON(type) } else { print("\(type.name): \(type.capacity.onDemand) on-demand, \(type.capacity.spot) spot") }
        }
    }
}
