import Foundation
import Testing
import TrainyardCore
import TrainyardProvisioning
import TrainyardTestSupport

@testable import TrainyardServer
@testable import TrainyardStore

/// `Reconciler.runOnce`: what the backend says about live hosts becomes the job's state, on a real database with a
/// fake provisioner.
@Suite struct ReconcilerPassTests {
    @Test(arguments: RepositoryKind.allCases)
    func aBackendQueueMakesTheJobPendingWithItsReasonAndAPlacementBringsItBack(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            let (job, hosts) = try await f.launched("queued", hosts: 2)
            f.provisioner.answer { $0.states = [hosts[0]: .pending(reason: "Slurm holds the job pending: Resources (Slurm job 12)")] }
            try await f.reconciler.runOnce(now: ControllerFixture.at(1))
            #expect(try await f.job(job).secondaryStatus == .pending)
            let pending = try await f.jobs.events(jobID: job.id).last { $0.secondaryStatus == .pending }
            #expect(pending?.message == "Slurm holds the job pending: Resources (Slurm job 12)")

            f.provisioner.answer { $0.states = [hosts[0]: .running(node: "node-3"), hosts[1]: .running(node: "node-4")] }
            try await f.reconciler.runOnce(now: ControllerFixture.at(2))
            #expect(try await f.job(job).secondaryStatus == .launchingMLInstances)
            #expect(try await f.host(hosts[0]).providerRef?.hasSuffix("node:node-3") == true)
            #expect(f.provisioner.calls.terminated.isEmpty && f.provisioner.calls.reclaimed.isEmpty)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aHostTheBackendNoLongerHasIsLostAndItsGangTornDown(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            let (job, hosts) = try await f.launched("crashed", hosts: 2)
            try await f.heartbeat(hosts[0], AgentReport(phase: .training), at: 5)
            try await f.heartbeat(hosts[1], AgentReport(phase: .training), at: 5)
            f.provisioner.answer { $0.states = [hosts[1]: .gone(reason: "InternalServerError: Slurm job 12 ended NODE_FAIL before host algo-2 reported")] }
            try await f.reconciler.runOnce(now: ControllerFixture.at(6))

            #expect(try await f.host(hosts[1]).phase == .lost)
            #expect(Set(f.provisioner.calls.terminated.flatMap(\.keys)) == Set(hosts))
            let messages = try await f.jobs.events(jobID: job.id).map(\.message)
            #expect(messages.contains { $0.contains("Slurm job 12 ended NODE_FAIL") }, "\(messages)")
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aReclaimTheBackendAnnouncesStopsTheGangWithinTheSpotNoticeAndIsDeliveredOnce(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            // One reconciler for the passes, as a server has: it remembers what it cancelled.
            let reconciler = f.reconciler
            let (job, hosts) = try await f.launched("preempted", hosts: 2, spot: true, maxWait: 7200)
            try await f.heartbeat(hosts[0], AgentReport(phase: .training), at: 5)
            try await f.heartbeat(hosts[1], AgentReport(phase: .training), at: 5)
            f.provisioner.answer { $0.states = [hosts[0]: .reclaiming(reason: "the simulated spot market took the capacity back")] }
            try await reconciler.runOnce(now: ControllerFixture.at(10))

            #expect(try await f.host(hosts[0]).interrupted)
            #expect(f.provisioner.calls.reclaimed == [[hosts[0]: FakeProvisioner.reference(attemptID: try await f.host(hosts[0]).attemptID, host: "algo-1")]])
            // The whole gang learns it from its heartbeats, with the notice as its grace.
            let directive = try await f.heartbeat(hosts[1], AgentReport(phase: .training), at: 11)
            #expect(directive.action == .stop && directive.graceSeconds == 4)
            let messages = try await f.jobs.events(jobID: job.id).map(\.message)
            #expect(messages.contains { $0.contains("is being reclaimed: the simulated spot market took the capacity back") }, "\(messages)")

            // The backend says it again on the next pass: the attempt is already stopping, so no second notice.
            try await reconciler.runOnce(now: ControllerFixture.at(12))
            #expect(f.provisioner.calls.reclaimed.count == 1)
            #expect(f.provisioner.calls.terminated.isEmpty)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func hostsStillRunningPastTheStopGraceAndTheUploadSlackAreCancelledOnce(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            // One reconciler for the passes, as a server has: it remembers what it cancelled.
            let reconciler = f.reconciler
            let (job, hosts) = try await f.launched("lingering")
            try await f.heartbeat(hosts[0], AgentReport(phase: .training), at: 5)
            _ = try await f.jobs.requestStop(projectID: f.project.id, name: job.name, reason: .user, graceSeconds: 10, now: ControllerFixture.at(10))
            // Stop grace 10 s and slack 15 s: cancelled from t0 + 35.
            try await f.heartbeat(hosts[0], AgentReport(phase: .training), at: 30)
            try await reconciler.runOnce(now: ControllerFixture.at(34.9))
            #expect(f.provisioner.calls.terminated.isEmpty)
            try await f.heartbeat(hosts[0], AgentReport(phase: .uploading), at: 34.95)
            try await reconciler.runOnce(now: ControllerFixture.at(35))
            #expect(f.provisioner.calls.terminated == [[hosts[0]: try #require(try await f.host(hosts[0]).providerRef)]])
            try await reconciler.runOnce(now: ControllerFixture.at(40))
            #expect(f.provisioner.calls.terminated.count == 1)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func referencesTheStoreLacksAreAdoptedFromTheBackend(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            // The server died between the backend's launch and recording its references.
            let (_, hosts) = try await f.launched("orphaned")
            try await f.forgetReference(hosts[0])
            f.provisioner.answer { $0.reconcile = ReconcileReport(adopted: [hosts[0]: "slurm:77"]) }
            try await f.reconciler.runOnce(now: ControllerFixture.at(1))
            #expect(try await f.host(hosts[0]).providerRef == "slurm:77")
        }
    }
}
