import Synchronization

/// Whether start-up (migrations, bootstrap key) finished; `/readyz` also asks the database.
final class Readiness: Sendable {
    private let ready = Atomic<Bool>(false)

    var isReady: Bool { ready.load(ordering: .acquiring) }

    func markReady() { ready.store(true, ordering: .releasing) }
}
