import Synchronization

/// Whether start-up (migrations, bootstrap key) finished and the embedded database is not being restarted after a
/// crash; `/readyz` also asks the database. The controllers hold their passes while not ready.
final class Readiness: Sendable {
    private let started = Atomic<Bool>(false)
    private let recovering = Atomic<Bool>(false)

    var isReady: Bool { started.load(ordering: .acquiring) && !isRecovering }

    /// Whether the embedded database exited and is being restarted.
    var isRecovering: Bool { recovering.load(ordering: .acquiring) }

    /// Start-up is done.
    func markReady() { started.store(true, ordering: .releasing) }

    /// The embedded database exited: not ready until ``markRecovered()``.
    func markRecovering() { recovering.store(true, ordering: .releasing) }

    /// The embedded database is back and the hosts' leases were renewed.
    func markRecovered() { recovering.store(false, ordering: .releasing) }
}
