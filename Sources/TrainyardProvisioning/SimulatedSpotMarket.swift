import Foundation
import Synchronization
import TrainyardCore

/// The local provisioner's spot market: it reclaims spot hosts at the ages Core's ``SpotMarket`` draws, and says so
/// when the server observes its hosts, as a provider's interruption notice reaches a real backend. The server then
/// stops the gang within the spot notice and has the provisioner deliver the notice (SIGTERM to the agents).
///
/// A host's age counts from its launch, or, for hosts launched before this server started (their references say they
/// are spot), from when the market first saw them.
final class SimulatedSpotMarket: Sendable {
    let market: SpotMarket
    /// When each spot host was launched or first seen, by host id.
    private let started = Mutex<[String: Date]>([:])
    /// How long a host nobody asks about is remembered: its reference may not be recorded yet.
    static let unobservedLifetime: Double = 300

    init(_ market: SpotMarket) {
        self.market = market
    }

    /// The field a spot host's reference carries, so that the market knows it again after a restart.
    static let spotField = "spot:1"

    func launched(hostIDs: [String], at now: Date) {
        guard market.isActive else { return }
        started.withLock { started in
            for id in hostIDs { started[id] = now }
        }
    }

    /// Of these live hosts (references keyed by host id), the spot ones whose reclaim time has come by `now`.
    func observe(_ references: [String: String], now: Date) -> [String: ProvisionedHostState] {
        guard market.isActive else { return [:] }
        let spot = references.filter { $0.value.split(separator: " ").contains(Substring(Self.spotField)) }
        let ages: [(id: String, startedAt: Date)] = started.withLock { started in
            for id in spot.keys where started[id] == nil { started[id] = now }
            // Hosts no longer live are forgotten once no launch could still be recording their reference.
            started = started.filter { spot[$0.key] != nil || now.timeIntervalSince($0.value) < Self.unobservedLifetime }
            return spot.keys.compactMap { id in started[id].map { (id, $0) } }
        }
        return Dictionary(
            uniqueKeysWithValues: market.due(ages, now: now).map { ($0, ProvisionedHostState.reclaiming(reason: "the simulated spot market took the capacity back")) })
    }
}
