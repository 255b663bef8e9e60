import Foundation
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardServer

/// `DeadlineEnforcer.runOnce`: jobs stop when Core says their limit passed, with the configured grace.
@Suite struct DeadlineEnforcerPassTests {
    @Test(arguments: RepositoryKind.allCases)
    func aRunningJobIsStoppedWithTheStopGraceOnceItsMaxRunHasPassed(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            let (job, hosts) = try await f.launched("bounded", maxRun: 60)
            try await f.heartbeat(hosts[0], AgentReport(phase: .training), at: 5)

            try await f.deadlines.runOnce(now: ControllerFixture.at(64.9))
            #expect(try await f.job(job).status == .inProgress)
            #expect(try await f.heartbeat(hosts[0], AgentReport(phase: .training), at: 64.9).action == .proceed)

            // Reaching max_run is not yet passing it.
            try await f.deadlines.runOnce(now: ControllerFixture.at(65))
            #expect(try await f.job(job).status == .inProgress)
            try await f.deadlines.runOnce(now: ControllerFixture.at(65.5))
            #expect(try await f.job(job).status == .stopping)
            let directive = try await f.heartbeat(hosts[0], AgentReport(phase: .training), at: 66.5)
            // The grace is the configured stop grace (10 s), less what has passed since the stop.
            #expect(directive.action == .stop && directive.graceSeconds == 9)
            #expect(try await f.attempts.attempts(jobID: job.id).last?.stopReason == .maxRuntime)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aSpotJobStillWaitingEndsAtItsMaxWait(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            f.provisioner.answer { $0.capacity = ["ml.m5.large": Capacity(onDemand: 0, spot: 0)] }
            let job = try await f.submit("patient", spot: true, maxRun: 60, maxWait: 90)
            try await f.scheduler.runOnce(now: ControllerFixture.t0)
            try await f.deadlines.runOnce(now: ControllerFixture.at(89))
            #expect(try await f.job(job).secondaryStatus == .pending)
            try await f.deadlines.runOnce(now: ControllerFixture.at(90))
            let ended = try await f.job(job)
            #expect(ended.status == .stopped && ended.secondaryStatus == .maxWaitTimeExceeded)
        }
    }
}
