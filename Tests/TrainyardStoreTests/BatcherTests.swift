import Synchronization
import Testing

@testable import TrainyardStore

/// The in-process group commit: a flush for a lone caller at once, everything that queued meanwhile in the next one.
@Suite struct BatcherTests {
    /// A flush that records its batches and, while `held`, waits until released.
    final class Recorder: Sendable {
        let batches = Mutex<[[Int]]>([])
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let held = Mutex(false)

        func flush(_ inputs: [Int]) async -> [Result<Int, any Error>] {
            batches.withLock { $0.append(inputs) }
            if held.withLock({ $0 }) { await withCheckedContinuation { continuation in gate.withLock { $0 = continuation } } }
            return inputs.map { .success($0 * 10) }
        }

        /// Waits (with a deadline) until a flush is parked at the gate, then lets it go.
        func release() async throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while true {
                if let continuation = gate.withLock({ gate -> CheckedContinuation<Void, Never>? in defer { gate = nil }; return gate }) {
                    continuation.resume()
                    return
                }
                guard ContinuousClock.now < deadline else { throw TestFailure("no flush reached the gate") }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    struct TestFailure: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    @Test func aLoneCallerIsFlushedAtOnceWithItsOwnResult() async throws {
        let recorder = Recorder()
        let batcher = Batcher<Int, Int>(maxBatch: 10, maxConcurrentFlushes: 1) { await recorder.flush($0) }
        #expect(try await batcher.submit(4) == 40)
        #expect(try await batcher.submit(5) == 50)
        #expect(recorder.batches.withLock { $0 } == [[4], [5]])
    }

    @Test func callersArrivingDuringAFlushShareTheNextOneInOrderUpToTheLimit() async throws {
        let recorder = Recorder()
        recorder.held.withLock { $0 = true }
        let batcher = Batcher<Int, Int>(maxBatch: 3, maxConcurrentFlushes: 1) { await recorder.flush($0) }
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            group.addTask { (0, try await batcher.submit(0)) }
            // The first flush is held; these five queue behind it.
            try await until { recorder.batches.withLock { $0.count } == 1 }
            for value in 1...5 {
                group.addTask { (value, try await batcher.submit(value)) }
            }
            try await until { batcher.waitingCount == 5 }
            try await recorder.release()  // [0]
            try await recorder.release()  // three of the five
            try await recorder.release()  // the other two
            var results: [Int: Int] = [:]
            for try await (value, result) in group { results[value] = result }
            #expect(results == [0: 0, 1: 10, 2: 20, 3: 30, 4: 40, 5: 50])
        }
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.map(\.count) == [1, 3, 2])
        // Each batch keeps arrival order.
        #expect(batches.dropFirst().allSatisfy { $0 == $0.sorted() })
        #expect(Set(batches.joined()) == Set(0...5))
    }

    @Test func aFlushThatAnswersTooFewResultsFailsTheCallersItLeftOut() async throws {
        let batcher = Batcher<Int, Int>(maxBatch: 10, maxConcurrentFlushes: 1) { inputs in
            Array(inputs.map { Result<Int, any Error>.success($0) }.prefix(0))
        }
        await #expect(throws: BatchError.self) { try await batcher.submit(1) }
        // The batcher is not stuck after it: the next caller is flushed too.
        await #expect(throws: BatchError.self) { try await batcher.submit(2) }
    }

    @Test func oneCallersErrorIsItsOwn() async throws {
        struct Refused: Error {}
        let batcher = Batcher<Int, Int>(maxBatch: 10, maxConcurrentFlushes: 2) { inputs in
            inputs.map { $0 < 0 ? .failure(Refused()) : .success($0) }
        }
        await #expect(throws: Refused.self) { try await batcher.submit(-1) }
        #expect(try await batcher.submit(7) == 7)
    }

    func until(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("condition not met in 10 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
