import Synchronization

/// Lets at most `limit` callers run at once and queues the others, first come first served. The agents' routes pass
/// through one: a thousand hosts' heartbeats and log batches then hold at most `limit` of the database's connections
/// between them, and the users' requests and the controllers find the rest. Without it every user request waited
/// behind hundreds of agents' open transactions (bench/scale: describe p99 4.5 s beside 1,000 hosts on 2 cores).
final class AdmissionGate: Sendable {
    let limit: Int

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var running = 0
        var waiting: [Waiter] = []
        var lastID: UInt64 = 0
    }

    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// How many callers run now, and how many wait.
    var load: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waiting.count) } }

    /// Runs `body` once admitted; a caller cancelled while it waits leaves the queue with `CancellationError`.
    func admitted<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async throws {
        let id: UInt64? = state.withLock { state in
            guard state.running >= limit else {
                state.running += 1
                return nil
            }
            state.lastID += 1
            return state.lastID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Decided under the lock: admitted (a place came free meanwhile), cancelled already, or queued.
                let decision: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.running < limit {
                        state.running += 1
                        return .success(())
                    }
                    state.waiting.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let decision { continuation.resume(with: decision) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Hands the place to the first waiter, or frees it.
    private func leave() {
        let next = state.withLock { state -> Waiter? in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.continuation.resume()
    }
}
