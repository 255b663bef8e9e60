import Synchronization

/// Wakes a controller loop early (a LISTEN/NOTIFY wake-up, a local event); its loop also runs on a timer, so a lost
/// ring only delays work until the next tick.
public final class Doorbell: Sendable {
    public init() {}

    private let state = Mutex<(rung: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public func ring() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns once rung (or at once when rung since the last wait), or after `timeout`.
    public func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing() }
            group.addTask {
                if (try? await Task.sleep(for: timeout)) != nil {
                    self.ring()
                } else {
                    // Cancelled: either the ring came first (nothing waits any more; ringing now would make the next
                    // wait return at once) or the whole wait was cancelled (release the waiter, without a ring).
                    self.releaseWaiter()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func releaseWaiter() {
        let waiter = state.withLock { state in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func waitForRing() async {
        await withCheckedContinuation { continuation in
            let ready: Bool = state.withLock { state in
                if state.rung || Task.isCancelled {
                    state.rung = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
