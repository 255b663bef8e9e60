import Synchronization

/// Runs the same kind of work for many concurrent callers as few calls of `flush`: group commit in the process.
///
/// A caller's input waits only while `maxConcurrentFlushes` flushes are already running; when one ends it takes
/// everything that queued meanwhile (up to `maxBatch`). So a lone caller pays no delay, and under load each flush
/// (one statement, one commit) carries as many inputs as arrived during the previous one. There is no timer.
final class Batcher<Input: Sendable, Output: Sendable>: Sendable {
    /// Answers one result per input, in order.
    typealias Flush = @Sendable ([Input]) async -> [Result<Output, any Error>]

    private struct Waiter: Sendable {
        let input: Input
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State: Sendable {
        var waiting: [Waiter] = []
        var flushing = 0
    }

    let maxBatch: Int
    let maxConcurrentFlushes: Int
    private let flush: Flush
    private let state = Mutex(State())

    init(maxBatch: Int, maxConcurrentFlushes: Int, flush: @escaping Flush) {
        precondition(maxBatch > 0 && maxConcurrentFlushes > 0)
        self.maxBatch = maxBatch
        self.maxConcurrentFlushes = maxConcurrentFlushes
        self.flush = flush
    }

    /// Inputs queued for the next flush (for tests and diagnostics).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// `input`'s result, once a flush that carried it has ended.
    func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let batch: [Waiter]? = state.withLock { state in
                state.waiting.append(Waiter(input: input, continuation: continuation))
                guard state.flushing < maxConcurrentFlushes else { return nil }
                state.flushing += 1
                return take(from: &state)
            }
            if let batch { Task { await drain(startingWith: batch) } }
        }
    }

    /// Flushes `batch`, then whatever queued meanwhile, until nothing waits.
    private func drain(startingWith first: [Waiter]) async {
        var batch = first
        while true {
            let results = await flush(batch.map(\.input))
            for (index, waiter) in batch.enumerated() {
                waiter.continuation.resume(
                    with: index < results.count ? results[index] : .failure(BatchError.missingResult(expected: batch.count, got: results.count)))
            }
            let next: [Waiter]? = state.withLock { state in
                guard !state.waiting.isEmpty else {
                    state.flushing -= 1
                    return nil
                }
                return take(from: &state)
            }
            guard let next else { return }
            batch = next
        }
    }

    private func take(from state: inout State) -> [Waiter] {
        let count = min(maxBatch, state.waiting.count)
        let batch = Array(state.waiting.prefix(count))
        state.waiting.removeFirst(count)
        return batch
    }
}

/// A flush that answered fewer results than it was given inputs: a bug in the flush, reported to the callers it left out.
enum BatchError: Error, CustomStringConvertible {
    case missingResult(expected: Int, got: Int)

    var description: String {
        switch self {
        case .missingResult(let expected, let got): "internal error: a batched write answered \(got) results for \(expected) inputs"
        }
    }
}
