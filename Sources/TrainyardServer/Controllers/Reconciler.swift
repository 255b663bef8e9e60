import Foundation
import Logging
import Synchronization
import TrainyardCore
import TrainyardProvisioning
import TrainyardStore

/// Keeps the store and the backend agreeing: applies what only the provisioner knows (queued with a reason, placed
/// on a node, reclaimed with a notice, preempted, node failed, gone) to live attempts; cancels what is left of a
/// stopped attempt once its grace is over; and now and then compares the backend's jobs with the store, so that no
/// backend job outlives its attempt.
struct Reconciler: Sendable {
    /// Attempts and hosts (the store, or its twin in tests).
    let attempts: any AttemptRepository
    let provisioner: any WorkerPoolProvisioner
    /// Carries out the reclaims a backend announces, as any other reclaim.
    let interruptions: Interruptions
    let settings: WorkerSettings
    let address: ServerAddress
    let logger: Logger
    /// Seconds between comparisons of the backend's jobs with the store (the first on the first pass, i.e. right
    /// after a start).
    var reconcileInterval: Double = 30
    /// Seconds past the stop grace before the backend's job is cancelled outright: time for the agents to upload.
    var cancelSlack: Double = 15
    private let memory = ReconcilerMemory()

    init(
        attempts: any AttemptRepository, provisioner: any WorkerPoolProvisioner, interruptions: Interruptions, settings: WorkerSettings, address: ServerAddress,
        logger: Logger
    ) {
        self.attempts = attempts
        self.provisioner = provisioner
        self.interruptions = interruptions
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
        let live = try await attempts.liveProvisionedHosts(provisioner: provisioner.name)
        guard !live.isEmpty else { return }
        let references = Dictionary(live.compactMap { item in item.host.providerRef.map { (item.host.id, $0) } }, uniquingKeysWith: { a, _ in a })
        let states = try await provisioner.observe(hosts: references)
        let lost = try await attempts.applyProvisionedStates(states, hosts: live.map(\.host), launchLeaseSeconds: settings.launchTimeout, now: now)
        for host in lost {
            logger.warning("host lost: its provisioner says so", metadata: ["host": "\(host.id)"])
        }
        if !lost.isEmpty {
            let lostAttempts = Set(lost.map(\.attemptID))
            await provisioner.terminate(hosts: references.filter { id, _ in live.contains { $0.host.id == id && lostAttempts.contains($0.host.attemptID) } })
        }
        for (hostID, state) in states.sorted(by: { $0.key < $1.key }) {
            if case .reclaiming(let reason) = state { _ = try await interruptions.reclaim(hostID, reason: reason, now: now) }
        }
        await cancelPastGrace(live.filter { host in !lost.contains { $0.attemptID == host.host.attemptID } }, references: references, now: now)
    }

    /// The agents stop their commands through their heartbeats (SIGTERM, grace, SIGKILL, upload); whatever still runs
    /// once the grace and the upload slack are over is cancelled, once per attempt.
    private func cancelPastGrace(_ live: [ProvisionedHost], references: [String: String], now: Date) async {
        let stopping = Dictionary(grouping: live.filter { $0.stopRequestedAt != nil }, by: \.host.attemptID)
        // An attempt no longer stopping has ended: it is never cancelled again.
        memory.withLock { $0.cancelled.formIntersection(stopping.keys) }
        for (attemptID, hosts) in stopping.sorted(by: { $0.key < $1.key }) {
            guard let requested = hosts[0].stopRequestedAt,
                now.timeIntervalSince(requested) >= (hosts[0].stopGraceSeconds ?? 0) + cancelSlack,
                memory.withLock({ $0.cancelled.insert(attemptID).inserted })
            else { continue }
            logger.warning("hosts still running past the stop grace; cancelling them", metadata: ["hosts": "\(hosts.map(\.host.id))"])
            await provisioner.terminate(hosts: references.filter { id, _ in hosts.contains { $0.host.id == id } })
        }
    }

    /// Cancels backend jobs no live attempt owns, and records references the store lacks.
    func reconcile() async throws {
        let attempts = self.attempts
        let report = try await provisioner.reconcile(live: { ids in try await attempts.liveAttemptIDs(among: ids) })
        if !report.adopted.isEmpty { try await attempts.adoptProvisionerReferences(report.adopted) }
        if !report.cancelled.isEmpty { logger.warning("reconciler cancelled orphaned jobs", metadata: ["provisioner.jobs": "\(report.cancelled)"]) }
    }
}

/// What one replica's reconciler remembers between passes: attempts already cancelled past their grace, the last
/// comparison with the backend. Lost on restart, which at worst cancels an attempt twice.
final class ReconcilerMemory: Sendable {
    private let state = Mutex<(cancelled: Set<Int64>, lastReconcile: Date?)>(([], nil))

    func withLock<T>(_ body: (inout (cancelled: Set<Int64>, lastReconcile: Date?)) -> T) -> T {
        state.withLock { body(&$0) }
    }
}
