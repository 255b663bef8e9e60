import Foundation
import Logging
import Synchronization
import TrainyardCore
import TrainyardProvisioning
import TrainyardStore

/// Applies what only the provisioner knows (queued with a reason, placed on a node, preempted, node failed, gone)
/// to live attempts; passes a stop on to the backend (its SIGTERM, then a cancel once the grace is over); and now and
/// then reconciles the backend's jobs with the store, so that no backend job outlives its attempt.
struct ProvisionerWatch: Sendable {
    let store: PostgresStore
    let provisioner: any WorkerPoolProvisioner
    let settings: WorkerSettings
    let address: ServerAddress
    let logger: Logger
    /// Seconds between reconciliations (the first runs on the first pass, i.e. right after a start).
    var reconcileInterval: Double = 30
    /// Seconds past the stop grace before the backend's job is cancelled outright: time for the agents to upload.
    var cancelSlack: Double = 15
    private let memory = WatchMemory()

    init(store: PostgresStore, provisioner: any WorkerPoolProvisioner, settings: WorkerSettings, address: ServerAddress, logger: Logger) {
        self.store = store
        self.provisioner = provisioner
        self.settings = settings
        self.address = address
        self.logger = logger
    }

    func runOnce(now: Date = Date()) async throws {
        guard address.isListening else { return }
        if memory.withLock({ $0.lastReconcile.map { now.timeIntervalSince($0) >= reconcileInterval } ?? true }) {
            try await reconcile()
            memory.withLock { $0.lastReconcile = now }
        }
        let live = try await store.liveProvisionedHosts(provisioner: provisioner.name)
        guard !live.isEmpty else { return }
        let references = Dictionary(live.compactMap { item in item.host.providerRef.map { (item.host.id, $0) } }, uniquingKeysWith: { a, _ in a })
        let states = try await provisioner.observe(hosts: references)
        let lost = try await store.applyProvisionedStates(states, hosts: live.map(\.host), launchLeaseSeconds: settings.launchTimeout, now: now)
        for host in lost {
            logger.warning("host lost: its provisioner says so", metadata: ["job": "\(host.jobID)", "attempt": "\(host.attemptID)", "host": "\(host.id)"])
        }
        if !lost.isEmpty {
            let lostAttempts = Set(lost.map(\.attemptID))
            await provisioner.terminate(hosts: references.filter { id, _ in live.contains { $0.host.id == id && lostAttempts.contains($0.host.attemptID) } })
        }
        try await passOnStops(live, references: references, now: now)
    }

    /// A stop asked of an attempt reaches the backend once as its SIGTERM, and as a cancel once the grace is over.
    private func passOnStops(_ live: [ProvisionedHost], references: [String: String], now: Date) async throws {
        let stopping = Dictionary(grouping: live.filter { $0.stopRequestedAt != nil }, by: \.host.attemptID)
        for (attemptID, hosts) in stopping {
            let refs = references.filter { id, _ in hosts.contains { $0.host.id == id } }
            let (signal, cancel): (Bool, Bool) = memory.withLock { memory in
                let signal = memory.signalled.insert(attemptID).inserted
                guard let requested = hosts[0].stopRequestedAt else { return (signal, false) }
                let due = now.timeIntervalSince(requested) >= (hosts[0].stopGraceSeconds ?? 0) + cancelSlack
                return (signal, due && memory.cancelled.insert(attemptID).inserted)
            }
            // The agents stop their commands through their heartbeats (SIGTERM, grace, SIGKILL, upload). A backend
            // SIGTERM as well killed the agents before they uploaded (the agent cannot catch it safely yet), so the
            // backend only cancels what is left once the grace is over; signalStop stays for backends that can.
            _ = signal
            if cancel {
                logger.warning("hosts still running past the stop grace; cancelling them", metadata: ["attempt": "\(attemptID)"])
                await provisioner.terminate(hosts: refs)
            }
        }
    }

    /// Cancels backend jobs no live attempt owns, and records references the store lacks.
    func reconcile() async throws {
        let store = self.store
        let report = try await provisioner.reconcile(live: { ids in try await store.liveAttemptIDs(among: ids) })
        if !report.adopted.isEmpty { try await store.adoptProvisionerReferences(report.adopted) }
        if !report.cancelled.isEmpty { logger.warning("reconciler cancelled orphaned jobs", metadata: ["provisioner.jobs": "\(report.cancelled)"]) }
    }
}

/// What one replica's watch remembers between passes: attempts already signalled and cancelled, the last
/// reconciliation. Lost on restart, which at worst signals an attempt twice.
final class WatchMemory: Sendable {
    private let state = Mutex<(signalled: Set<Int64>, cancelled: Set<Int64>, lastReconcile: Date?)>(([], [], nil))

    func withLock<T>(_ body: (inout (signalled: Set<Int64>, cancelled: Set<Int64>, lastReconcile: Date?)) -> T) -> T {
        state.withLock { body(&$0) }
    }
}
