import Synchronization

/// Counts the log streams (`follow=true`) each API key holds open on this server, so that one key cannot hold
/// thousands of them (each one polls the database on every log batch of its job).
final class FollowerSlots: Sendable {
    private let open = Mutex<[String: Int]>([:])

    /// A held slot; released when the stream that holds it is gone.
    final class Slot: Sendable {
        let slots: FollowerSlots
        let key: String

        init(slots: FollowerSlots, key: String) {
            self.slots = slots
            self.key = key
        }

        deinit { slots.release(key) }
    }

    /// A slot for `key`, or nil when it already holds `limit`.
    func acquire(key: String, limit: Int) -> Slot? {
        let granted = open.withLock { open in
            guard open[key, default: 0] < limit else { return false }
            open[key, default: 0] += 1
            return true
        }
        return granted ? Slot(slots: self, key: key) : nil
    }

    /// How many streams `key` holds open.
    func count(key: String) -> Int {
        open.withLock { $0[key, default: 0] }
    }

    private func release(_ key: String) {
        open.withLock { open in
            open[key, default: 1] -= 1
            if open[key] == 0 { open[key] = nil }
        }
    }
}
