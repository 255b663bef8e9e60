import Foundation
import Testing
import TrainyardCore
import TrainyardStore
import TrainyardTestSupport

/// What every ``AttemptRepository`` does: PostgreSQL's and the in-memory twin. Hosts report as their agents would;
/// the clock is the test's.
@Suite struct AttemptRepositoryContractTests {
    typealias Queue = SchedulingQueueContractTests
    static let start = Queue.start

    static func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    /// A job of `hosts` hosts of project "team", granted at t+1; answers it and its hosts' ids.
    static func running(
        _ r: TestRepositories, _ name: String = "train", hosts: Int = 2, spot: Bool = false, project: String = "team"
    ) async throws -> (JobRecord, [String]) {
        let projectID: Int64
        if let existing = try await r.projects.project(named: project) { projectID = existing.id } else { projectID = try await r.projects.createProject(name: project).0.id }
        let job = try await Queue.submit(r, project: projectID, name, hosts: hosts, spot: spot)
        let plans = try await Queue.pass(r, Queue.pool(onDemand: 8, spot: 8))
        let plan = try #require(plans.first { $0.jobID == job.id })
        return (job, plan.hosts.map(\.id))
    }

    @discardableResult
    static func report(_ r: TestRepositories, _ host: String, _ report: AgentReport, at seconds: Double) async throws -> AgentDirective {
        try await r.attempts.recordHeartbeat(
            hostID: host, report: report, leaseSeconds: 30, heartbeatSeconds: 2, spotNoticeSeconds: 5, now: at(seconds))
    }

    /// Job `name` of a new project "team", created at the start with `limits` set on its spec.
    static func limitedJob(_ r: TestRepositories, _ name: String, _ limits: (inout JobSpec) -> Void) async throws -> JobRecord {
        let team = try await r.projects.createProject(name: "team").0.id
        var spec = JobSpec(instanceType: "ml.m5.large")
        spec.name = name
        spec.command = ["python3", "train.py"]
        limits(&spec)
        guard case .created(let job, _) = try await r.jobs.createJob(
            projectID: team, name: name, spec: spec, idempotencyKey: nil, requestHash: nil, note: nil, now: start)
        else { throw ContractFailure("the store did not create \(name)") }
        return job
    }

    static func job(_ r: TestRepositories, _ job: JobRecord) async throws -> JobRecord {
        try #require(try await r.jobs.job(id: job.id))
    }

    /// The training of attempts still running, by project, for `/metrics`: two projects with jobs of one name, each
    /// its own; one project's view has its own alone; an attempt not yet training adds nothing.
    @Test(arguments: RepositoryKind.allCases)
    func theQueueStateSumsTheTrainingSoFarOfOpenAttemptsByProject(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let (_, teamHosts) = try await Self.running(r, project: "team")
            let (_, labHosts) = try await Self.running(r, project: "lab")
            for host in teamHosts { try await Self.report(r, host, AgentReport(phase: .training), at: 3) }
            for host in labHosts { try await Self.report(r, host, AgentReport(phase: .training), at: 5) }
            _ = try await Self.running(r, "waits", project: "lab")
            let state = try await r.queue.queueState(project: nil, now: Self.at(20))
            #expect(state.trainingInProgress == ["team": 17, "lab": 15], "\(state.trainingInProgress)")
            let lab = try #require(try await r.projects.project(named: "lab"))
            #expect(try await r.queue.queueState(project: lab.id, now: Self.at(20)).trainingInProgress == ["lab": 15])
            #expect(try await r.queue.queueState(project: nil, now: Self.at(1)).trainingInProgress == ["team": 0, "lab": 0], "not before it began")
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func heartbeatsWalkTheJobToTrainingAndAGangThatExitedIsFinalizedToCompleted(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let (job, hosts) = try await Self.running(r)
            try await Self.report(r, hosts[0], AgentReport(phase: .training), at: 2)
            // The job follows its slowest host.
            #expect(try await Self.job(r, job).secondaryStatus == .launchingMLInstances)
            let directive = try await Self.report(r, hosts[1], AgentReport(phase: .training), at: 3)
            #expect(directive.action == .proceed && directive.heartbeatIntervalSeconds == 2)
            let training = try await Self.job(r, job)
            #expect(training.secondaryStatus == .training && training.trainingStartTime == Self.at(3))
            // A report of an earlier phase moves nothing back.
            try await Self.report(r, hosts[0], AgentReport(phase: .downloading), at: 4)
            #expect(try await r.attempts.host(id: hosts[0])?.phase == .training)

            for (index, host) in hosts.enumerated() {
                try await Self.report(
                    r, host, AgentReport(phase: .exited, exitCode: 0, modelArchive: "s3://trainyard/team/train/attempt-1/algo-\(index + 1)/model.tar.gz"),
                    at: 10)
            }
            let work = try #require(try await r.attempts.claimFinishedAttempt(leaseSeconds: 600, now: Self.at(11)))
            #expect(work.outcome == .completed && work.job.id == job.id && work.attempt.number == 1)
            #expect(work.attempt.hosts.map(\.phase) == [.exited, .exited] && work.attempt.hosts.map(\.name) == ["algo-1", "algo-2"])
            // Claimed: no one else takes it until the claim runs out, or is given back.
            #expect(try await r.attempts.claimFinishedAttempt(leaseSeconds: 600, now: Self.at(12)) == nil)
            try await r.attempts.releaseFinishedAttemptClaim(attemptID: work.attempt.id)
            let taken = try #require(try await r.attempts.claimFinishedAttempt(leaseSeconds: 600, now: Self.at(13)))
            #expect(taken.attempt.id == work.attempt.id)
            // Given back to be tried again from a time (after a failure): not before it, from it on.
            try await r.attempts.releaseFinishedAttemptClaim(attemptID: work.attempt.id, retryAt: Self.at(13.5))
            #expect(try await r.attempts.claimFinishedAttempt(leaseSeconds: 600, now: Self.at(13.4)) == nil)
            let again = try #require(try await r.attempts.claimFinishedAttempt(leaseSeconds: 600, now: Self.at(13.6)))
            #expect(again.attempt.id == work.attempt.id)

            let model = UploadedArtifact(uri: "s3://trainyard/team/train/output/model.tar.gz", sizeBytes: 42, sha256: String(repeating: "a", count: 64))
            try await r.attempts.finishAttempt(again, model: model, output: nil, now: Self.at(14))
            let done = try await Self.job(r, job)
            #expect(done.status == .completed && done.modelArtifacts == model.uri && done.model == model)
            #expect(done.trainingEndTime == Self.at(14))
            let attempt = try #require(try await r.attempts.attempts(jobID: job.id).first)
            #expect(attempt.state == .ended && attempt.trainingStartedAt == Self.at(3) && attempt.endedAt == Self.at(14))
            // An ended host is told to stop.
            #expect(try await Self.report(r, hosts[0], AgentReport(phase: .training), at: 15).action == .stop)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func onlyTheRightSecretAuthenticatesAHost(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let team = try await r.projects.createProject(name: "team").0.id
            _ = try await Queue.submit(r, project: team, "train")
            let launch = try #require(try await Queue.pass(r, Queue.pool(onDemand: 1)).first?.hosts.first)
            #expect(try await r.attempts.authenticateAgent(launch.token)?.id == launch.id)
            #expect(try await r.attempts.authenticateAgent(launch.id + ".not-the-secret") == nil)
            #expect(try await r.attempts.authenticateAgent("no-such-host.secret") == nil)
            #expect(try await r.attempts.authenticateAgent("no-dot-at-all") == nil)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aHostWhoseLeaseRanOutIsLostAndItsGangIsToldToStop(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let (job, hosts) = try await Self.running(r)
            try await Self.report(r, hosts[0], AgentReport(phase: .training), at: 2)
            try await Self.report(r, hosts[1], AgentReport(phase: .training), at: 2)
            try await Self.report(r, hosts[1], AgentReport(phase: .training), at: 20)
            // algo-1's lease (30 s from t+2) runs until t+32.
            #expect(try await r.attempts.reapExpiredHosts(now: Self.at(31.9)).isEmpty)
            let lost = try await r.attempts.reapExpiredHosts(now: Self.at(32.1))
            #expect(lost.map(\.id) == [hosts[0]])
            let host = try #require(try await r.attempts.host(id: hosts[0]))
            #expect(host.phase == .lost && host.failureReason?.contains("stopped heartbeating; its lease expired") == true)
            #expect(try await r.jobs.events(jobID: job.id).contains { $0.type == .hostLost && $0.message == host.failureReason })
            #expect(try await Self.report(r, hosts[1], AgentReport(phase: .training), at: 33).action == .stop)
            #expect(try await Self.report(r, hosts[0], AgentReport(phase: .training), at: 33).action == .stop)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aReclaimedSpotHostStopsItsGangWithinTheNoticeAndTheJobResumesOnANewAttempt(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let (job, hosts) = try await Self.running(r, spot: true)
            for host in hosts { try await Self.report(r, host, AgentReport(phase: .training), at: 2) }

            guard case .interrupted(let reclaimed) = try await r.attempts.interruptHost(id: hosts[1], noticeSeconds: 5, reason: "a test", now: Self.at(10))
            else { throw ContractFailure("\(#function): the store answered otherwise") }
            #expect(reclaimed.interrupted && reclaimed.id == hosts[1])
            guard case .notRunning = try await r.attempts.interruptHost(id: hosts[1], noticeSeconds: 5, reason: "again", now: Self.at(11)) else {
                throw ContractFailure("\(#function): the store answered otherwise")
            }
            #expect(try await r.attempts.interruptHost(id: "no-such-host", noticeSeconds: 5, reason: "x", now: Self.at(11)) == .notFound)
            let events = try await r.jobs.events(jobID: job.id)
            #expect(events.contains { $0.type == .hostInterrupted && $0.message.contains("is being reclaimed: a test; the gang syncs its checkpoints within 5 s") })
            let directive = try await Self.report(r, hosts[0], AgentReport(phase: .training), at: 12)
            #expect(directive.action == .stop && directive.graceSeconds == 3)

            for host in hosts { try await Self.report(r, host, AgentReport(phase: .exited, exitCode: 143, stopped: true), at: 14) }
            let work = try #require(try await r.attempts.claimFinishedAttempt(leaseSeconds: 600, now: Self.at(15)))
            guard case .interrupted = work.outcome else { throw ContractFailure("\(#function): the store answered otherwise") }
            try await r.attempts.finishAttempt(work, model: nil, output: nil, now: Self.at(16))
            let resumed = try await Self.job(r, job)
            #expect(resumed.status == .inProgress && resumed.interruptions == 1)
            let plans = try await Queue.pass(r, Queue.pool(onDemand: 8, spot: 8), at: 17)
            #expect(plans.first { $0.jobID == job.id }?.attemptNumber == 2)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aPassedMaxRunStopsTheJobWithTheGraceAndNamesTheLimit(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let job = try await Self.limitedJob(r, "bounded") { $0.maxRun = 60 }
            let host = try #require(try await Queue.pass(r, Queue.pool(onDemand: 1)).first?.hosts.first?.id)
            try await Self.report(r, host, AgentReport(phase: .training), at: 2)
            #expect(try await r.attempts.enforceDeadlines(graceSeconds: 10, now: Self.at(61), limit: 100).isEmpty)
            let stops = try await r.attempts.enforceDeadlines(graceSeconds: 10, now: Self.at(62.5), limit: 100)
            #expect(stops == [DeadlineStop(job: "bounded", project: "team", limit: .maxRun)])
            #expect(try await Self.job(r, job).status == .stopping)
            let directive = try await Self.report(r, host, AgentReport(phase: .training), at: 63)
            #expect(directive.action == .stop && directive.graceSeconds == 9.5)
        }
    }

    /// `max_pending` counts the waits for capacity, summed: 5 s before the first attempt, none while it holds its host
    /// however long, and again from the interrupted attempt's end; the store loads the attempts' times for Core to judge.
    @Test(arguments: RepositoryKind.allCases)
    func maxPendingStopsAJobThatWaitedThatLongForCapacitySummedOverItsWaits(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let job = try await Self.limitedJob(r, "patient") {
                $0.useSpotInstances = true
                $0.maxPending = 20
            }
            // 5 s without capacity, then a host
            _ = try await Queue.pass(r, Queue.pool(onDemand: 0, spot: 0), at: 1)
            let host = try #require(try await Queue.pass(r, Queue.pool(onDemand: 0, spot: 1), at: 5).first?.hosts.first?.id)
            try await Self.report(r, host, AgentReport(phase: .training), at: 6)
            // holding its host does not count
            #expect(try await r.attempts.enforceDeadlines(graceSeconds: 10, now: Self.at(40), limit: 100).isEmpty)
            // reclaimed at 41, its attempt ended at 43: the job waits again, with 15 s left
            guard case .interrupted = try await r.attempts.interruptHost(id: host, noticeSeconds: 1, reason: "a test", now: Self.at(41)) else {
                throw ContractFailure("\(#function): the store answered otherwise")
            }
            try await Self.report(r, host, AgentReport(phase: .exited, exitCode: 143, stopped: true), at: 42)
            let work = try #require(try await r.attempts.claimFinishedAttempt(leaseSeconds: 600, now: Self.at(43)))
            try await r.attempts.finishAttempt(work, model: nil, output: nil, now: Self.at(43))
            _ = try await Queue.pass(r, Queue.pool(onDemand: 0, spot: 0), at: 44)
            #expect(try await Self.job(r, job).secondaryStatus == .pending)
            #expect(try await r.attempts.enforceDeadlines(graceSeconds: 10, now: Self.at(57.9), limit: 100).isEmpty)
            let stops = try await r.attempts.enforceDeadlines(graceSeconds: 10, now: Self.at(58.1), limit: 100)
            #expect(stops == [DeadlineStop(job: "patient", project: "team", limit: .maxPending)])
            let ended = try await Self.job(r, job)
            #expect(ended.status == .stopped && ended.secondaryStatus == .stopped)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func droppedLogLinesAreToldOnceInTheJobsEvents(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let (job, hosts) = try await Self.running(r, hosts: 1)
            let drops = LogSpoolDrops(cappedLines: 3, cappedBytes: 300, capBytes: 1024)
            try await Self.report(r, hosts[0], AgentReport(phase: .training, logDrops: drops), at: 2)
            try await Self.report(r, hosts[0], AgentReport(phase: .training, logDrops: drops), at: 4)
            let told = try await r.jobs.events(jobID: job.id).filter { $0.type == LogSpoolDrops.eventType }
            #expect(told.count == 1 && told[0].message.contains("algo-1"), "\(told)")
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func theBackendsWordMovesTheJobAndALaunchItRefusedLosesTheHosts(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { r in
            let (job, hosts) = try await Self.running(r, "held")
            for host in hosts { try await r.attempts.setProvisionerReference(hostID: host, reference: "slurm:\(host)") }
            let live = try await r.attempts.liveProvisionedHosts(provisioner: "test")
            #expect(live.map(\.host.id) == hosts && live.allSatisfy { $0.stopRequestedAt == nil })
            #expect(try await r.attempts.liveProvisionedHosts(provisioner: "other").isEmpty)

            let queued = Dictionary(uniqueKeysWithValues: hosts.map { ($0, ProvisionedHostState.pending(reason: "Priority")) })
            #expect(try await r.attempts.applyProvisionedStates(queued, hosts: live.map(\.host), launchLeaseSeconds: 60, now: Self.at(2)).isEmpty)
            #expect(try await Self.job(r, job).secondaryStatus == .pending)
            let placed = Dictionary(uniqueKeysWithValues: hosts.map { ($0, ProvisionedHostState.running(node: "n1")) })
            _ = try await r.attempts.applyProvisionedStates(placed, hosts: live.map(\.host), launchLeaseSeconds: 60, now: Self.at(3))
            #expect(try await Self.job(r, job).secondaryStatus == .launchingMLInstances)
            #expect(try await r.attempts.host(id: hosts[0])?.providerRef == "slurm:\(hosts[0]) node:n1")

            let attemptID = live[0].host.attemptID
            #expect(try await r.attempts.liveAttemptIDs(among: [attemptID, 999_999]) == [attemptID])
            let lost = try await r.attempts.failLaunch(hostIDs: hosts, reason: "InternalServerError: starting the hosts failed: no", now: Self.at(4))
            // The first host's loss stops its gang; the second is lost too (it never started).
            #expect(Set(lost.map(\.id)) == Set(hosts))
            #expect(try await r.attempts.host(id: hosts[1])?.failureReason == "InternalServerError: starting the hosts failed: no")
        }
    }
}
