import Foundation
import MetricsTestKit
import Testing
import TrainyardCore
import TrainyardProvisioning
import TrainyardTestSupport

@testable import TrainyardServer

/// `Scheduler.runOnce`: what a pass asks of the provisioner and records, on a real database with a fake provisioner.
@Suite struct SchedulerPassTests {
    @Test(arguments: RepositoryKind.allCases)
    func aQueuedJobIsLaunchedAsOneGangWhoseReferencesAreRecorded(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            let job = try await f.submit("train", hosts: 2)
            try await f.scheduler.runOnce(now: ControllerFixture.t0)

            let launches = f.provisioner.calls.launched
            #expect(launches.count == 1)
            let request = try #require(launches.first)
            #expect(request.jobName == "train" && request.projectName == "team" && request.attemptNumber == 1)
            #expect(request.instanceType == "ml.m5.large" && !request.spot)
            #expect(request.serverURL == "http://127.0.0.1:8080")
            #expect(request.hosts.map(\.name) == ["algo-1", "algo-2"])
            #expect(Set(request.hosts.map(\.token)).count == 2 && request.hosts.allSatisfy { $0.token.count >= 32 })
            for host in request.hosts {
                #expect(try await f.host(host.id).providerRef == FakeProvisioner.reference(attemptID: request.attemptID, host: host.name))
            }
            #expect(try await f.job(job).secondaryStatus == .launchingMLInstances)

            // A second pass finds nothing queued.
            try await f.scheduler.runOnce(now: ControllerFixture.at(1))
            #expect(f.provisioner.calls.launched.count == 1)
        }
    }

    /// An operator sees how long the scheduler holds its lock: each pass's duration, as a timer.
    @Test(arguments: RepositoryKind.allCases)
    func eachPassRecordsItsDuration(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            let metrics = TestMetrics()
            var scheduler = f.scheduler
            scheduler.metrics = metrics
            _ = try await f.submit("train")
            try await scheduler.runOnce(now: ControllerFixture.t0)
            try await scheduler.runOnce(now: ControllerFixture.at(1))

            let passes = try metrics.expectTimer("trainyard_scheduler_pass_duration_seconds").values
            #expect(passes.count == 2)
            #expect(passes.allSatisfy { $0 > 0 && $0 < 60_000_000_000 }, "\(passes) ns")
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aLaunchTheProvisionerRefusesLosesItsHostsAtOnceWithTheProvisionersReason(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            f.provisioner.answer { $0.launchFailure = "sbatch: error: invalid partition specified: gpu" }
            let job = try await f.submit("refused")
            try await f.scheduler.runOnce(now: ControllerFixture.t0)

            let request = try #require(f.provisioner.calls.launched.first)
            let host = try await f.host(request.hosts[0].id)
            #expect(host.phase == .lost)
            #expect(host.providerRef == nil)
            let messages = try await f.jobs.events(jobID: job.id).map(\.message)
            #expect(
                messages.contains { $0.contains("InternalServerError: starting the hosts failed: sbatch: error: invalid partition specified: gpu") },
                "\(messages)")
            // Nothing was started, so nothing is torn down.
            #expect(f.provisioner.calls.terminated.isEmpty)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func theProvisionersOwnCapacityWinsOverTheCatalogs(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            f.provisioner.answer { $0.capacity = ["ml.m5.large": Capacity(onDemand: 1, spot: 0)] }
            let job = try await f.submit("wide", hosts: 2)
            try await f.scheduler.runOnce(now: ControllerFixture.t0)

            #expect(f.provisioner.calls.launched.isEmpty)
            #expect(try await f.job(job).secondaryStatus == .pending)
            let pending = try await f.jobs.events(jobID: job.id).last { $0.secondaryStatus == .pending }
            #expect(pending?.message.contains("ml.m5.large") == true, "\(String(describing: pending))")
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func nothingIsLaunchedBeforeTheServerHasAnAddressForItsAgents(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            let job = try await f.submit("early")
            let scheduler = Scheduler(
                queue: f.queue, attempts: f.attempts, catalog: .standard, capacity: CapacityView(catalog: .standard), provisioner: f.provisioner, settings: f.settings, address: ServerAddress(), logger: f.logger)
            try await scheduler.runOnce(now: ControllerFixture.t0)
            #expect(f.provisioner.calls.launched.isEmpty)
            #expect(try await f.job(job).secondaryStatus == .starting)
        }
    }
}
