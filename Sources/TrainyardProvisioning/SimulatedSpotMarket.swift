import Foundation
import Synchronization
import TrainyardCore

/// The local provisioner's spot market: it reclaims spot hosts at the ages Core's ``SpotMarket`` draws, and says so
/// when the server observes its hosts, as a provider's interruption notice reaches a real backend. The server then
/// stops the gang within the spot notice and has the provisioner deliver the notice (SIGTERM to the agents).
///
/// A host's age counts from when the market first sees it: the reconciler's first pass after its launch, or, for a
/// host launched before this server started, its first pass after the start (the host's reference says it is spot).
final class SimulatedSpotMarket: Sendable {
    let market: SpotMarket
    /// When each live spot host was first seen, by host id.
    private let firstSeen = Mutex<[String: Date]>([:])

    init(_ market: SpotMarket) {
        self.market = market
    }

    /// Of these live hosts (references keyed by host id), the spot ones whose reclaim time has come by `now`.
    func observe(_ references: [String: String], now: Date) -> [String: ProvisionedHostState] {
        guard market.isActive else { return [:] }
        let spot = references.compactMap { id, text in LocalHostReference(text)?.spot == true ? id : nil }
        let ages: [(id: String, startedAt: Date)] = firstSeen.withLock { firstSeen in
            // Hosts no longer live are forgotten; new ones start their clock now.
            firstSeen = Dictionary(uniqueKeysWithValues: spot.map { ($0, firstSeen[$0] ?? now) })
            return firstSeen.map { (id: $0.key, startedAt: $0.value) }
        }
        return Dictionary(
            uniqueKeysWithValues: market.due(ages, now: now).map { ($0, ProvisionedHostState.reclaiming(reason: "the simulated spot market took the capacity back")) })
    }
}
