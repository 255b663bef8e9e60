import Synchronization
import TrainyardCore

/// This replica's view of the pool's capacity (Core's ``PoolCapacity``): the capacity file, what the provisioner
/// reported, and the admins' overrides as last read: at start, at every scheduler pass, and at once after this
/// replica's own `PUT /v1/admin/capacity`. Submissions are judged and descriptions written against it.
final class CapacityView: Sendable {
    private let state: Mutex<PoolCapacity>

    init(catalog: InstanceCatalog) {
        state = Mutex(PoolCapacity(catalog: catalog))
    }

    /// The pool as last seen.
    var current: PoolCapacity { state.withLock { $0 } }

    /// The provisioner's count (nil: it keeps none).
    func update(reported: [String: Capacity]?) {
        state.withLock { $0.reported = reported }
    }

    /// The admins' overrides as stored.
    func update(overrides: [String: CapacityOverride]) {
        state.withLock { $0.overrides = overrides }
    }
}
