import Foundation
import Synchronization
import Testing

@testable import TrainyardServer

/// The gate in front of the agents' routes: never more than its limit at once, the others in arrival order, and a
/// waiter that gives up leaves its place to the next.
@Suite struct AdmissionGateTests {
    /// A latch the test opens.
    final class Latch: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        func open() {
            let waiters = state.withLock { state in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        func wait() async {
            await withCheckedContinuation { continuation in
                let opened = state.withLock { state in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if opened { continuation.resume() }
            }
        }
    }

    /// What the callers saw: the order they ran in, and the most that ran at once.
    final class Seen: Sendable {
        let order = Mutex<[Int]>([])
        let most = Mutex(0)
    }

    @Test func atMostTheLimitRunAtOnceAndEveryOneRuns() async throws {
        let gate = AdmissionGate(limit: 2)
        let latch = Latch()
        let seen = Seen()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<6 {
                group.addTask {
                    try await gate.admitted {
                        seen.order.withLock { $0.append(index) }
                        seen.most.withLock { $0 = max($0, gate.load.running) }
                        if index < 2 { await latch.wait() }
                    }
                }
                // Each arrives after the one before.
                try await eventually("caller \(index) ran or waits") { seen.order.withLock { $0.count } + gate.load.waiting == index + 1 }
            }
            #expect(gate.load.running == 2 && gate.load.waiting == 4)
            latch.open()
            try await group.waitForAll()
        }
        #expect(seen.order.withLock { $0.sorted() } == [0, 1, 2, 3, 4, 5])
        #expect(seen.most.withLock { $0 } == 2)
        #expect(gate.load.running == 0 && gate.load.waiting == 0)
    }

    @Test func waitersAreAdmittedInArrivalOrder() async throws {
        let gate = AdmissionGate(limit: 1)
        let latch = Latch()
        let seen = Seen()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<5 {
                group.addTask {
                    try await gate.admitted {
                        seen.order.withLock { $0.append(index) }
                        if index == 0 { await latch.wait() }
                    }
                }
                try await eventually("caller \(index) ran or waits") { seen.order.withLock { $0.count } + gate.load.waiting == index + 1 }
            }
            latch.open()
            try await group.waitForAll()
        }
        // One place: each waiter runs once the one before it has left.
        #expect(seen.order.withLock { $0 } == [0, 1, 2, 3, 4])
    }

    @Test func aCancelledWaiterLeavesTheQueueAndItsPlaceGoesToTheNext() async throws {
        let gate = AdmissionGate(limit: 1)
        let latch = Latch()
        let holder = Task { try await gate.admitted { await latch.wait() } }
        try await eventually("the holder runs") { gate.load.running == 1 }
        let quitter = Task { try await gate.admitted { "ran" } }
        try await eventually("the quitter waits") { gate.load.waiting == 1 }
        quitter.cancel()
        await #expect(throws: CancellationError.self) { try await quitter.value }
        #expect(gate.load.running == 1 && gate.load.waiting == 0)
        let next = Task { try await gate.admitted { "next ran" } }
        try await eventually("the next waits") { gate.load.waiting == 1 }
        latch.open()
        try await holder.value
        #expect(try await next.value == "next ran")
        #expect(gate.load.running == 0 && gate.load.waiting == 0)
    }
}
