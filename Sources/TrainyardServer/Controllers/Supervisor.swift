import Foundation
import Logging
import TrainyardProvisioning
import TrainyardStore

/// Judges hosts whose heartbeats stopped (their lease ran out) and jobs whose deadline came (`max_run`, `max_wait`).
struct Supervisor: Sendable {
    let store: PostgresStore
    let provisioner: any WorkerPoolProvisioner
    let settings: WorkerSettings
    let address: ServerAddress
    let logger: Logger

    func runOnce(now: Date = Date()) async throws {
        // While the server does not listen, silence proves nothing.
        guard address.isListening else { return }
        let lost = try await store.reapExpiredHosts(now: now)
        if !lost.isEmpty {
            for host in lost {
                logger.warning("host lost: its heartbeats stopped", metadata: ["host": "\(host.id)"])
            }
            await provisioner.terminate(hosts: Dictionary(uniqueKeysWithValues: lost.compactMap { host in host.providerRef.map { (host.id, $0) } }))
        }
        for stop in try await store.enforceDeadlines(graceSeconds: settings.stopGrace, now: now) {
            let what = switch stop.limit {
            case .maxRun: "job ran past max_run; stopping it"
            case .maxWait: "job waited and ran past max_wait; stopping it"
            }
            logger.info("\(what)", metadata: ["job": "\(stop.job)", "project": "\(stop.project)"])
        }
        if settings.spotMarket.isActive {
            let hosts = try await store.liveSpotHosts()
            let due = Set(settings.spotMarket.due(hosts.map { ($0.id, $0.startedAt) }, now: now))
            let reclaimed = try await Interruptions(store: store, provisioner: provisioner, noticeSeconds: settings.spotNotice, logger: logger)
                .reclaim(hosts.filter { due.contains($0.id) }, reason: "the simulated spot market took the capacity back")
            if reclaimed > 0 { logger.info("spot market reclaimed hosts", metadata: ["hosts": "\(reclaimed)"]) }
        }
    }
}
