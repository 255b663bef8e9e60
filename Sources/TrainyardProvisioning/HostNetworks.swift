import Foundation
import Logging
import TrainyardCore

/// Creates and removes the networks of local jobs (``JobNetwork``) with iproute2: a bridge per attempt, a network
/// namespace per host joined to it. Needs root; ``available()`` says whether this machine can.
struct HostNetworks: Sendable {
    static let ip = "/usr/sbin/ip"
    let logger: Logger
    /// `ip` runs here, one call at a time, never on the concurrency pool: making or removing a namespace can take a
    /// while on a busy kernel (the rtnl lock), and a blocked pool thread would hold up heartbeats.
    static let queue = DispatchQueue(label: "trainyard.host-networks")

    /// Runs `body` on ``queue`` and answers its result.
    func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Self.queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Whether namespaces and bridges can be made here: root, iproute2, and a trial namespace that works. Tried once
    /// per process: making a namespace can take seconds on a busy kernel, and every server start would pay it.
    static let isAvailable: Bool = available()

    static func available() -> Bool {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: ip) else { return false }
        let trial = "\(JobNetwork.namespacePrefix)probe-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { _ = try? run(["netns", "del", trial]) }
        return (try? run(["netns", "add", trial])) != nil && (try? run(["-n", trial, "link", "set", "lo", "up"])) != nil
    }

    /// The path a namespace is entered by (`nsenter --net=`).
    static func path(ofNamespace name: String) -> String { "/run/netns/\(name)" }

    /// Makes one namespace per host, then the attempt's bridge joining them (so a bridge exists only beside its
    /// namespaces); on failure removes what it made and throws.
    func create(_ network: JobNetwork) throws {
        guard network.isNameable else { throw HostNetworkError.unnameable(attemptID: network.attemptID, hosts: network.hostNames.count) }
        let ordinals = 1...max(network.hostNames.count, 1)
        var hostSide = ordinals.map { "netns add \(network.namespace(ordinal: $0))" }
        hostSide += ["link add \(network.bridge) type bridge", "link set \(network.bridge) up"]
        for ordinal in ordinals {
            hostSide += [
                "link add \(network.bridgePort(ordinal: ordinal)) type veth peer name eth0 netns \(network.namespace(ordinal: ordinal))",
                "link set \(network.bridgePort(ordinal: ordinal)) master \(network.bridge) up",
            ]
        }
        do {
            try Self.run(["-batch", "-"], input: hostSide.joined(separator: "\n") + "\n")
            for ordinal in ordinals {
                let inside = ["addr add \(network.address(ordinal: ordinal))/16 dev eth0", "link set eth0 up", "link set lo up"]
                try Self.run(["-n", network.namespace(ordinal: ordinal), "-batch", "-"], input: inside.joined(separator: "\n") + "\n")
            }
        } catch {
            remove(network)
            throw error
        }
    }

    /// Removes an attempt's bridge, then its namespaces (their veth pairs go with them); what is already gone is no
    /// error. The namespaces are the network's hosts', or, for a network known only by its attempt (after a restart),
    /// those of `listed` (``existingNamespaces()``) that are its.
    func remove(_ network: JobNetwork, among listed: [String] = []) {
        let namespaces = network.hostNames.isEmpty
            ? listed.filter { JobNetwork.attemptID(ofNamespace: $0, instance: network.instance) == network.attemptID }
            : (1...network.hostNames.count).map(network.namespace(ordinal:))
        delete(["link", "del", network.bridge], what: "bridge")
        for namespace in namespaces { delete(["netns", "del", namespace], what: "network namespace") }
    }

    /// Runs a deletion; a thing already gone is no error, any other failure is logged.
    private func delete(_ arguments: [String], what: String) {
        do { try Self.run(arguments) } catch HostNetworkError.ip(_, let message)
            where message.contains("Cannot find device") || message.contains("No such file") {
        } catch {
            logger.warning("could not remove a job's \(what)", metadata: ["name": "\(arguments.last ?? "")", "error": "\(error)"])
        }
    }

    /// Trainyard's network namespaces that exist now.
    func existingNamespaces() -> [String] {
        ((try? Self.run(["netns", "list"])) ?? "").split(separator: "\n").compactMap { line in
            line.split(separator: " ").first.map(String.init)
        }.filter { $0.hasPrefix(JobNetwork.namespacePrefix) }
    }

    /// Runs `ip` with `arguments`; answers its output, throws its error output on failure.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil) throws -> String {
        let result = try ShortCommand.run(ip, arguments, input: input)
        guard result.status == 0 else { throw HostNetworkError.ip(arguments: arguments, message: result.errors) }
        return result.output
    }
}

/// Why a job's network could not be made.
enum HostNetworkError: Error, CustomStringConvertible {
    case ip(arguments: [String], message: String)
    case unnameable(attemptID: Int64, hosts: Int)

    var description: String {
        switch self {
        case .ip(let arguments, let message):
            "InternalServerError: could not make the job's network (ip \(arguments.joined(separator: " "))): \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .unnameable(let attemptID, let hosts):
            "InternalServerError: attempt \(attemptID) with \(hosts) hosts cannot have a network of its own (at most \(JobNetwork.maximumHosts) hosts)"
        }
    }
}
