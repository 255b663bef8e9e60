import Foundation
import Synchronization
import Testing
import TrainyardCore
import TrainyardStore
import TrainyardTestSupport

/// What every ``SchedulingQueue`` does: PostgreSQL's and the in-memory twin. Capacity comes from the caller's
/// ``PoolCapacity`` with the admins' overrides over it; Core's ``GangScheduler`` decides.
@Suite struct SchedulingQueueContractTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func submit(
        _ repositories: TestRepositories, project: Int64, _ name: String, hosts: Int = 1, spot: Bool = false, priority: Int = 0, at offset: Double = 0
    ) async throws -> JobRecord {
        var spec = JobSpec(instanceType: "ml.m5.large", instanceCount: hosts)
        spec.name = name
        spec.command = ["python3", "train.py"]
        spec.useSpotInstances = spot
        spec.priority = priority
        if spot { spec.maxWait = 7200 }
        guard case .created(let job, _) = try await repositories.jobs.createJob(
            projectID: project, name: name, spec: spec, idempotencyKey: nil, requestHash: nil, note: nil, now: start.addingTimeInterval(offset))
        else { throw ContractFailure("\(#function): the store answered otherwise") }
        return job
    }

    static func pool(onDemand: Int, spot: Int = 0) -> PoolCapacity {
        .perType { $0 == "ml.m5.large" ? Capacity(onDemand: onDemand, spot: spot) : Capacity(onDemand: 0, spot: 0) }
    }

    static func pass(_ repositories: TestRepositories, _ capacity: PoolCapacity, at offset: Double = 1) async throws -> [LaunchPlan] {
        try await repositories.queue.schedule(capacity: capacity, provisioner: "test", launchLeaseSeconds: 60, now: start.addingTimeInterval(offset))
    }

    static func state(_ repositories: TestRepositories, _ job: JobRecord) async throws -> (SecondaryStatus, String?) {
        let current = try #require(try await repositories.jobs.job(id: job.id))
        let events = try await repositories.jobs.events(jobID: job.id)
        return (current.secondaryStatus, events.last { $0.secondaryStatus == current.secondaryStatus }?.message)
    }

    @Test(arguments: RepositoryKind.allCases)
    func aGangGetsAllItsHostsAtOnceOrWaitsWithTheSchedulersMessage(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let team = try await r.projects.createProject(name: "team").0.id
            let wide = try await Self.submit(r, project: team, "wide", hosts: 2)
            let wider = try await Self.submit(r, project: team, "wider", hosts: 2, at: 1)
            let small = try await Self.submit(r, project: team, "small", hosts: 1, at: 2)

            let plans = try await Self.pass(r, Self.pool(onDemand: 3))
            #expect(plans.map(\.jobName) == ["wide"])
            let plan = try #require(plans.first)
            #expect(plan.attemptNumber == 1 && plan.projectName == "team" && plan.instanceType == "ml.m5.large" && !plan.spot)
            #expect(plan.hosts.map(\.name) == ["algo-1", "algo-2"])
            for launch in plan.hosts {
                let host = try #require(try await r.attempts.authenticateAgent(launch.token))
                #expect(host.id == launch.id && host.jobID == wide.id && host.phase == .launching)
            }
            #expect(try await Self.state(r, wide).0 == .launchingMLInstances)
            let (widerStatus, widerMessage) = try await Self.state(r, wider)
            #expect(widerStatus == .pending && widerMessage == "Waiting for 2 on-demand ml.m5.large host(s): 1 of 3 free")
            // Strict order: the small job would fit, but it waits behind the earlier one.
            let (smallStatus, smallMessage) = try await Self.state(r, small)
            #expect(smallStatus == .pending && smallMessage == "Waiting behind an earlier job for 1 on-demand ml.m5.large host(s)")

            // A second pass grants nothing more and keeps the first messages.
            #expect(try await Self.pass(r, Self.pool(onDemand: 3), at: 2).isEmpty)
            #expect(try await r.jobs.events(jobID: wider.id).filter { $0.secondaryStatus == .pending }.count == 1)
        }
    }

    /// Slurm's queue shows every pending job with its reason: so does this one, past the first jobs a pass decides,
    /// a bounded number a pass. Two projects pick the same names.
    @Test(arguments: RepositoryKind.allCases)
    func everyJobBehindAPoolThatWaitsIsToldItWaitsABoundedNumberAPass(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let team = try await r.projects.createProject(name: "team").0.id
            let lab = try await r.projects.createProject(name: "lab").0.id
            let running = try await Self.submit(r, project: team, "running")
            var sweep: [JobRecord] = []
            for index in 0..<7 {
                sweep.append(try await Self.submit(r, project: team, "sweep-\(index)", at: 1 + Double(index)))
                sweep.append(try await Self.submit(r, project: lab, "sweep-\(index)", at: 1.5 + Double(index)))
            }
            func pass(_ offset: Double) async throws -> [LaunchPlan] {
                try await r.queue.schedule(
                    capacity: Self.pool(onDemand: 1), provisioner: "test", launchLeaseSeconds: 60, now: Self.start.addingTimeInterval(offset), limit: 1,
                    readOverrides: { _ in })
            }
            func pending() async throws -> [JobRecord] {
                var waiting: [JobRecord] = []
                for job in sweep where try await Self.state(r, job).0 == .pending { waiting.append(job) }
                return waiting
            }

            // The pool's first job gets the host: nothing waits yet, so the queue behind it is left for the next pass.
            #expect(try await pass(10).map(\.jobID) == [running.id])
            #expect(try await pending().isEmpty)
            // Its host is taken now: the pool is full, and ten of its queue (ten times the pass's limit) are told they wait.
            #expect(try await pass(11).isEmpty)
            #expect(try await pending().map(\.id) == sweep.prefix(10).map(\.id))
            #expect(try await pass(12).isEmpty)
            #expect(try await pending().map(\.id) == sweep.map(\.id))
            for job in [sweep[0], sweep[1], sweep[13]] {
                let (status, message) = try await Self.state(r, job)
                #expect(status == .pending && message == "Waiting for 1 on-demand ml.m5.large host(s): 0 of 1 free", "\(job.projectID) \(job.name)")
            }
            // Told once each.
            for job in sweep {
                #expect(try await r.jobs.events(jobID: job.id).filter { $0.secondaryStatus == .pending }.count == 1)
            }
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func priorityComesBeforeSubmissionOrder(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let team = try await r.projects.createProject(name: "team").0.id
            let early = try await Self.submit(r, project: team, "early")
            let urgent = try await Self.submit(r, project: team, "urgent", priority: 10, at: 5)
            let plans = try await Self.pass(r, Self.pool(onDemand: 1), at: 6)
            #expect(plans.map(\.jobID) == [urgent.id])
            #expect(try await Self.state(r, early).0 == .pending)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func twoProjectsThatPickTheSameJobNameEachGetTheirOwnGang(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let team = try await r.projects.createProject(name: "team").0.id
            let other = try await r.projects.createProject(name: "other").0.id
            let ours = try await Self.submit(r, project: team, "train", hosts: 2)
            let theirs = try await Self.submit(r, project: other, "train", hosts: 2)

            let plans = try await Self.pass(r, Self.pool(onDemand: 4))
            #expect(Set(plans.map(\.jobID)) == [ours.id, theirs.id])
            #expect(Set(plans.flatMap(\.hosts).map(\.id)).count == 4)
            for plan in plans {
                for launch in plan.hosts {
                    let host = try #require(try await r.attempts.authenticateAgent(launch.token))
                    let assignment = try #require(try await r.attempts.assignment(for: host))
                    #expect(assignment.job.id == plan.jobID && assignment.job.projectName == plan.projectName)
                    #expect(assignment.hostNames == ["algo-1", "algo-2"] && assignment.attemptNumber == 1)
                }
            }
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func anAdminsOverrideGovernsThePassAndACutNamesTheNewestSpotHostsBeyondIt(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let team = try await r.projects.createProject(name: "team").0.id
            #expect(try await r.queue.setCapacity(instanceType: "ml.m5.large", onDemand: 1, spot: nil, now: Self.start).isEmpty)
            #expect(try await r.queue.capacityOverrides() == ["ml.m5.large": CapacityOverride(onDemand: 1, spot: nil)])
            let first = try await Self.submit(r, project: team, "first")
            let second = try await Self.submit(r, project: team, "second", at: 1)
            let older = try await Self.submit(r, project: team, "older-spot", spot: true, at: 2)

            let seen = OverridesSeen()
            let plans = try await r.queue.schedule(
                capacity: Self.pool(onDemand: 8, spot: 2), provisioner: "test", launchLeaseSeconds: 60, now: Self.start.addingTimeInterval(4), limit: 100,
                readOverrides: { seen.set($0) })
            #expect(seen.value == ["ml.m5.large": CapacityOverride(onDemand: 1, spot: nil)])
            #expect(Set(plans.map(\.jobID)) == [first.id, older.id])
            #expect(try await Self.state(r, second).0 == .pending)
            let newer = try await Self.submit(r, project: team, "newer-spot", spot: true, at: 5)
            #expect(try await Self.pass(r, Self.pool(onDemand: 8, spot: 2), at: 6).map(\.jobID) == [newer.id])
            let olderHost = try #require(plans.first { $0.jobID == older.id }?.hosts.first)

            // The spot figure is cut to 1: the newest live spot host stays, the ones beyond it are named. The on-demand
            // figure stays as it was.
            let beyond = try await r.queue.setCapacity(instanceType: "ml.m5.large", onDemand: nil, spot: 1, now: Self.start.addingTimeInterval(7))
            #expect(beyond.map(\.id) == [olderHost.id])
            #expect(try await r.queue.capacityOverrides() == ["ml.m5.large": CapacityOverride(onDemand: 1, spot: 1)])
        }
    }

    /// What `/metrics` reports of the queue and the pool. Two projects pick the same names: every job is counted.
    @Test(arguments: RepositoryKind.allCases)
    func theQueueStateCountsEveryJobTheWaitingPerPoolAndTheHostsHoldingCapacity(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let team = try await r.projects.createProject(name: "team").0.id
            let lab = try await r.projects.createProject(name: "lab").0.id
            #expect(try await r.queue.queueState() == QueueState())
            let running = try await Self.submit(r, project: team, "run", hosts: 2)
            _ = try await Self.submit(r, project: lab, "run", hosts: 2, at: 1)
            _ = try await Self.submit(r, project: team, "later", at: 2)
            _ = try await Self.submit(r, project: lab, "spot", spot: true, at: 3)

            // Two on-demand hosts: the first gang starts, the others wait; the spot job starts on the spot pool.
            let plans = try await Self.pass(r, Self.pool(onDemand: 2, spot: 1), at: 4)
            #expect(Set(plans.map(\.jobName)) == ["run", "spot"] && plans.contains { $0.jobID == running.id })
            let state = try await r.queue.queueState()
            #expect(state.jobs == [QueueState.StatusKey(.inProgress, .launchingMLInstances): 2, QueueState.StatusKey(.inProgress, .pending): 2])
            let onDemand = GangScheduler.Pool(instanceType: "ml.m5.large", spot: false)
            let spot = GangScheduler.Pool(instanceType: "ml.m5.large", spot: true)
            #expect(state.waiting == [onDemand: QueueState.Waiting(count: 2, oldestSubmittedAt: Self.start.addingTimeInterval(1))])
            #expect(state.inUse == [onDemand: 2, spot: 1])
            #expect(state.hosts == [.launching: 3])
            // One project's view: its own jobs counted and waiting, the pool's hosts whoever holds them.
            let labs = try await r.queue.queueState(project: lab, now: Date())
            #expect(labs.jobs == [QueueState.StatusKey(.inProgress, .launchingMLInstances): 1, QueueState.StatusKey(.inProgress, .pending): 1])
            #expect(labs.waiting == [onDemand: QueueState.Waiting(count: 1, oldestSubmittedAt: Self.start.addingTimeInterval(1))])
            #expect(labs.inUse == state.inUse && labs.warm == state.warm)
            let teams = try await r.queue.queueState(project: team, now: Date())
            #expect(teams.waiting == [onDemand: QueueState.Waiting(count: 1, oldestSubmittedAt: Self.start.addingTimeInterval(2))])

            // A stopped job leaves the queue and is counted as stopped.
            _ = try await r.jobs.requestStop(projectID: lab, name: "run", reason: .user, graceSeconds: 10, now: Self.start.addingTimeInterval(5))
            let after = try await r.queue.queueState()
            #expect(after.waiting == [onDemand: QueueState.Waiting(count: 1, oldestSubmittedAt: Self.start.addingTimeInterval(2))])
            #expect(after.jobs[QueueState.StatusKey(.stopped, .stopped)] == 1 && after.jobs[QueueState.StatusKey(.inProgress, .pending)] == 1)
        }
    }
}

/// What a pass's `readOverrides` was given.
final class OverridesSeen: Sendable {
    private let state = Mutex<[String: CapacityOverride]?>(nil)
    func set(_ value: [String: CapacityOverride]) { state.withLock { $0 = value } }
    var value: [String: CapacityOverride]? { state.withLock { $0 } }
}

/// A contract test that met something else than it expected.
struct ContractFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
