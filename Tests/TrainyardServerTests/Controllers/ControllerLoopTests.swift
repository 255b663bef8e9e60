import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import TrainyardCore

@testable import TrainyardServer

/// A controller loop on graceful shutdown lets the pass under way finish and starts no other.
@Suite struct ControllerLoopTests {
    /// What the loop's passes did.
    final class Passes: Sendable {
        let state = Mutex<(started: Int, finished: Int, cancelled: Int)>((0, 0, 0))
        let release = Atomic<Bool>(false)
    }

    /// Runs `loop` in a service group until its first pass starts, shuts the group down gracefully, calls `then`, and
    /// waits for the group to end.
    static func shutDown(_ loop: ControllerLoop, afterAPassOf passes: Passes, then: () -> Void) async throws {
        let group = ServiceGroup(configuration: .init(services: [loop], logger: loop.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while passes.state.withLock({ $0.started }) == 0 {
                guard ContinuousClock.now < deadline else { throw TestFailure("the loop never started a pass") }
                try await Task.sleep(for: .milliseconds(5))
            }
            await group.triggerGracefulShutdown()
            then()
            try await tasks.waitForAll()
        }
    }

    /// A pass stuck on a call that never answers is told in the log, with its controller, while it lasts.
    @Test func aPassThatRunsLongIsLoggedWhileItRuns() async throws {
        let passes = Passes()
        let readiness = Readiness()
        readiness.markReady()
        let logs = InMemoryLogHandler()
        let logger = Logger(label: "trainyard.tests.loop") { _ in logs }
        let loop = ControllerLoop(name: "finalizer", interval: .seconds(60), readiness: readiness, logger: logger, slowPassWarning: .milliseconds(20)) {
            passes.state.withLock { $0.started += 1 }
            while !passes.release.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
            passes.state.withLock { $0.finished += 1 }
        }
        let group = ServiceGroup(configuration: .init(services: [loop], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while !logs.entries.contains(where: { $0.message.description == "controller pass still running" }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            passes.release.store(true, ordering: .releasing)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let warning = try #require(logs.entries.first { $0.message.description == "controller pass still running" })
        #expect(warning.level == .warning && warning.metadata["controller"] == "finalizer")
        #expect(passes.state.withLock { $0.finished } == 1)
    }

    /// A pass that fails is logged with its controller and counted in `/metrics` under that controller's name, and
    /// the loop goes on with its next pass.
    @Test func aFailedPassIsLoggedAndCountedForItsControllerAndTheLoopGoesOn() async throws {
        let passes = Passes()
        let readiness = Readiness()
        readiness.markReady()
        let logs = InMemoryLogHandler()
        let logger = Logger(label: "trainyard.tests.loop") { _ in logs }
        let metrics = ServiceMetrics()
        metrics.declare(controllers: ["webhooks", "finalizer"], projects: [])
        struct Refused: Error {}
        let loop = ControllerLoop(name: "webhooks", interval: .milliseconds(5), readiness: readiness, logger: logger, failures: metrics) {
            let pass = passes.state.withLock { state in
                state.started += 1
                return state.started
            }
            if pass <= 2 { throw Refused() }
            passes.state.withLock { $0.finished += 1 }
        }
        let group = ServiceGroup(configuration: .init(services: [loop], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while passes.state.withLock({ $0.finished }) == 0 {
                guard ContinuousClock.now < deadline else { throw TestFailure("the loop never passed after its failures") }
                try await Task.sleep(for: .milliseconds(5))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(text.contains(#"trainyard_controller_pass_failures_total{controller="webhooks"} 2"#), "\(text)")
        #expect(text.contains(#"trainyard_controller_pass_failures_total{controller="finalizer"} 0"#), "\(text)")
        let failed = logs.entries.filter { $0.message.description == "controller pass failed" }
        #expect(failed.count == 2 && failed.allSatisfy { $0.level == .error && $0.metadata["controller"] == "webhooks" })
    }

    @Test func gracefulShutdownLetsThePassUnderWayFinishAndStartsNoOther() async throws {
        let passes = Passes()
        let readiness = Readiness()
        readiness.markReady()
        let logger = Logger(label: "trainyard.tests.loop")
        let loop = ControllerLoop(name: "test", interval: .milliseconds(10), readiness: readiness, logger: logger) {
            passes.state.withLock { $0.started += 1 }
            do {
                // A pass that takes a while (a merge, a webhook batch): it ends when the test releases it.
                while !passes.release.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
                passes.state.withLock { $0.finished += 1 }
            } catch {
                passes.state.withLock { $0.cancelled += 1 }
                throw error
            }
        }
        // The shutdown begins while the pass runs; the pass then ends on its own.
        try await Self.shutDown(loop, afterAPassOf: passes) { passes.release.store(true, ordering: .releasing) }
        let state = passes.state.withLock { $0 }
        #expect(state.started == 1 && state.finished == 1 && state.cancelled == 0, "\(state)")
    }

    @Test func aLoopWaitingOutItsIntervalEndsAtOnceOnShutdown() async throws {
        let readiness = Readiness()
        readiness.markReady()
        let logger = Logger(label: "trainyard.tests.loop")
        let passes = Passes()
        let loop = ControllerLoop(name: "idle", interval: .seconds(3600), readiness: readiness, logger: logger) {
            passes.state.withLock { $0.started += 1 }
        }
        // Returns although the interval is an hour: the shutdown rang the loop's bell.
        try await Self.shutDown(loop, afterAPassOf: passes) {}
        #expect(passes.state.withLock { $0.started } == 1)
    }
}
