import Foundation
import Testing
import TrainyardCore
import TrainyardStore
import TrainyardTestSupport

/// What every ``JobRepository`` does: PostgreSQL's and the in-memory twin.
@Suite struct JobRepositoryContractTests {
    static func spec(_ name: String) -> JobSpec {
        var spec = JobSpec(instanceType: "ml.m5.large")
        spec.name = name
        spec.command = ["python3", "train.py"]
        return spec
    }

    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @discardableResult
    static func submit(
        _ jobs: any JobRepository, project: Int64, _ name: String, at offset: TimeInterval = 0, key: String? = nil, hash: String? = nil, note: JobNote? = nil
    ) async throws -> JobCreation {
        try await jobs.createJob(
            projectID: project, name: name, spec: spec(name), idempotencyKey: key, requestHash: hash, note: note, now: start.addingTimeInterval(offset))
    }

    static func created(_ creation: JobCreation) throws -> JobRecord {
        guard case .created(let job, _) = creation else { throw Unexpected(creation) }
        return job
    }

    struct Unexpected: Error {
        var creation: JobCreation
        init(_ creation: JobCreation) { self.creation = creation }
    }

    @Test(arguments: RepositoryKind.allCases)
    func tagsAndTheSageMakerRequestChangeAndAnEndedJobIsDeletedInItsProjectOnly(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { repositories in
            let jobs = repositories.jobs
            let (team, _, _) = try await repositories.projects.createProject(name: "team")
            let (other, _, _) = try await repositories.projects.createProject(name: "other")
            try await Self.submit(jobs, project: team.id, "train")
            try await Self.submit(jobs, project: other.id, "train")

            #expect(try await jobs.replaceTags(projectID: team.id, name: "train", tags: ["team": "b"]))
            #expect(try await jobs.job(projectID: team.id, name: "train")?.spec.tags == ["team": "b"])
            #expect(try await jobs.job(projectID: other.id, name: "train")?.spec.tags == [:])
            #expect(try await !jobs.replaceTags(projectID: team.id, name: "missing", tags: [:]))
            let request = JSONValue.object(["TrainingJobName": .string("train"), "ProfilerConfig": .object(["DisableProfiler": .bool(true)])])
            #expect(try await jobs.updateJob(projectID: team.id, name: "train", keepAlivePeriod: 600, sageMakerRequest: request))
            let updated = try await jobs.job(projectID: team.id, name: "train")
            #expect(updated?.spec.sageMakerRequest == request && updated?.spec.keepAlivePeriod == 600 && updated?.spec.tags == ["team": "b"])

            #expect(try await jobs.deleteJob(projectID: team.id, name: "train") == .notEnded(.inProgress))
            _ = try await jobs.requestStop(projectID: team.id, name: "train", reason: .user, graceSeconds: 1, now: Self.start.addingTimeInterval(100))
            // Listed by when they last changed: the stop changed it, the other project's job is never listed.
            var changed = JobListQuery(limit: 10)
            changed.modifiedAfter = Self.start.addingTimeInterval(50)
            #expect(try await jobs.listJobs(projectID: team.id, query: changed).jobs.map(\.name) == ["train"])
            changed.modifiedAfter = nil
            changed.modifiedBefore = Self.start.addingTimeInterval(50)
            #expect(try await jobs.listJobs(projectID: team.id, query: changed).jobs.isEmpty)
            #expect(try await jobs.deleteJob(projectID: team.id, name: "train") == .deleted)
            #expect(try await jobs.job(projectID: team.id, name: "train") == nil)
            #expect(try await jobs.deleteJob(projectID: team.id, name: "train") == .notFound)
            // The other project's job of the same name stays; the name is free again in this one.
            #expect(try await jobs.job(projectID: other.id, name: "train")?.status == .inProgress)
            #expect(try Self.created(try await Self.submit(jobs, project: team.id, "train")).spec.tags == [:])
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aSubmittedJobIsStartingWithItsEventAndItsProjectsDeliveries(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { repositories in
            let (team, _, _) = try await repositories.projects.createProject(name: "team")
            let (other, _, _) = try await repositories.projects.createProject(name: "other")
            _ = try await repositories.webhooks.createWebhook(projectID: team.id, url: "http://192.0.2.1/a", events: ["*"], secret: "s")
            _ = try await repositories.webhooks.createWebhook(projectID: team.id, url: "http://192.0.2.1/b", events: ["job.created"], secret: "s")
            _ = try await repositories.webhooks.createWebhook(projectID: team.id, url: "http://192.0.2.1/c", events: ["job.failed"], secret: "s")
            _ = try await repositories.webhooks.createWebhook(projectID: other.id, url: "http://192.0.2.1/d", events: ["*"], secret: "s")

            let creation = try await Self.submit(repositories.jobs, project: team.id, "train")
            guard case .created(let job, let deliveries) = creation else { throw Unexpected(creation) }
            #expect(deliveries == 2)
            #expect(job.name == "train" && job.projectID == team.id && job.projectName == "team" && job.spec == Self.spec("train"))
            #expect(job.status == .inProgress && job.secondaryStatus == .starting && job.failureReason == nil && job.interruptions == 0)
            #expect(job.createdAt == Self.start && job.lastModifiedAt == Self.start && job.trainingStartTime == nil && job.modelArtifacts == nil)
            #expect(try await repositories.jobs.job(projectID: team.id, name: "train") == job)
            #expect(try await repositories.jobs.job(id: job.id) == job)
            #expect(try await repositories.jobs.job(projectID: other.id, name: "train") == nil)
            let events = try await repositories.jobs.events(jobID: job.id)
            #expect(events.map(\.type) == [.created])
            #expect(events.first?.status == .inProgress && events.first?.secondaryStatus == .starting && events.first?.message == JobState.submittedMessage)
            #expect(events.first?.time == Self.start)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aNameIsTakenInItsProjectOnly(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { repositories in
            let (team, _, _) = try await repositories.projects.createProject(name: "team")
            let (other, _, _) = try await repositories.projects.createProject(name: "other")
            let ours = try Self.created(try await Self.submit(repositories.jobs, project: team.id, "train"))
            #expect(try await Self.submit(repositories.jobs, project: team.id, "train", at: 1) == .nameTaken("train"))
            let theirs = try Self.created(try await Self.submit(repositories.jobs, project: other.id, "train", at: 2))
            #expect(ours.id != theirs.id && theirs.projectName == "other")
            #expect(try await repositories.jobs.job(projectID: team.id, name: "train")?.id == ours.id)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func anIdempotencyKeyReplaysTheSameRequestAndRefusesAnother(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { repositories in
            let (team, _, _) = try await repositories.projects.createProject(name: "team")
            let (other, _, _) = try await repositories.projects.createProject(name: "other")
            let first = try Self.created(try await Self.submit(repositories.jobs, project: team.id, "train", key: "k-1", hash: "h-1"))
            #expect(try await Self.submit(repositories.jobs, project: team.id, "train", at: 5, key: "k-1", hash: "h-1") == .replayed(first))
            // A replay answers the first job whatever the retry's name.
            #expect(try await Self.submit(repositories.jobs, project: team.id, "renamed", at: 5, key: "k-1", hash: "h-1") == .replayed(first))
            #expect(try await Self.submit(repositories.jobs, project: team.id, "other-job", key: "k-1", hash: "h-2") == .idempotencyKeyReused(existingJob: "train"))
            // Keys are the project's own.
            _ = try Self.created(try await Self.submit(repositories.jobs, project: other.id, "train", key: "k-1", hash: "h-1"))
            #expect(try await repositories.jobs.job(projectID: team.id, name: "other-job") == nil)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aJobsNotesFollowItsEventsInOrder(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { repositories in
            let (team, _, _) = try await repositories.projects.createProject(name: "team")
            let note = JobNote(type: .hostInterrupted, message: "submitted with a note")
            let job = try Self.created(try await Self.submit(repositories.jobs, project: team.id, "train", note: note))
            try await repositories.jobs.noteJob(jobID: job.id, type: .hostLost, message: "a later note", now: Self.start.addingTimeInterval(10))
            let events = try await repositories.jobs.events(jobID: job.id)
            #expect(events.map(\.type) == [.created, .hostInterrupted, .hostLost])
            #expect(events.map(\.message) == [JobState.submittedMessage, "submitted with a note", "a later note"])
            #expect(events[1].status == nil && events[2].secondaryStatus == nil)
            #expect(events.map(\.id) == events.map(\.id).sorted())
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func listsFilterSortAndPageWithinTheProject(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { repositories in
            let (team, _, _) = try await repositories.projects.createProject(name: "team")
            let (other, _, _) = try await repositories.projects.createProject(name: "other")
            for (offset, name) in ["bert-base", "ResNet_50", "bert-large", "vit-100%", "t5"].enumerated() {
                try await Self.submit(repositories.jobs, project: team.id, name, at: TimeInterval(offset))
            }
            let theirs = try Self.created(try await Self.submit(repositories.jobs, project: other.id, "bert-base", at: 9))
            _ = try await repositories.jobs.requestStop(projectID: team.id, name: "t5", reason: .user, graceSeconds: 0, now: Self.start.addingTimeInterval(20))
            let jobs = repositories.jobs
            func names(_ query: JobListQuery) async throws -> [String] { try await jobs.listJobs(projectID: team.id, query: query).jobs.map(\.name) }

            #expect(try await names(JobListQuery(limit: 10)) == ["t5", "vit-100%", "bert-large", "ResNet_50", "bert-base"])
            #expect(try await names(JobListQuery(sortBy: .name, ascending: true, limit: 10)) == ["ResNet_50", "bert-base", "bert-large", "t5", "vit-100%"])
            #expect(try await names(JobListQuery(sortBy: .status, ascending: true, limit: 10)) == ["bert-base", "ResNet_50", "bert-large", "vit-100%", "t5"])
            #expect(try await names(JobListQuery(status: .stopped, limit: 10)) == ["t5"])
            // A name fragment matches without regard to case, and its % and _ are plain characters.
            #expect(try await names(JobListQuery(nameContains: "BERT", limit: 10)) == ["bert-large", "bert-base"])
            #expect(try await names(JobListQuery(nameContains: "0%", limit: 10)) == ["vit-100%"])
            #expect(try await names(JobListQuery(nameContains: "b_rt", limit: 10)) == [])
            #expect(try await names(JobListQuery(nameContains: "t_5", limit: 10)) == ["ResNet_50"])
            #expect(try await names(JobListQuery(nameContains: "", limit: 10)).count == 5)
            #expect(
                try await names(JobListQuery(createdAfter: Self.start, createdBefore: Self.start.addingTimeInterval(3), limit: 10)) == [
                    "bert-large", "ResNet_50",
                ])

            // Pages continue after their last job, and say when there is no more.
            var seen: [String] = []
            var after: Int64?
            var pages = 0
            repeat {
                let page = try await jobs.listJobs(projectID: team.id, query: JobListQuery(sortBy: .name, ascending: false, limit: 2, after: after))
                seen += page.jobs.map(\.name)
                after = page.lastID
                pages += 1
            } while after != nil && pages < 10
            #expect(seen == ["vit-100%", "t5", "bert-large", "bert-base", "ResNet_50"] && pages == 3)
            // Another project's job is no cursor.
            await #expect(throws: StoreError.unknownCursor) { try await jobs.listJobs(projectID: team.id, query: JobListQuery(after: theirs.id)) }
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aQueuedJobStopsAtOnceAndASecondStopIsRefused(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { repositories in
            let (team, _, _) = try await repositories.projects.createProject(name: "team")
            let (other, _, _) = try await repositories.projects.createProject(name: "other")
            let hook = try #require(try await repositories.webhooks.createWebhook(projectID: team.id, url: "http://192.0.2.1/", events: ["job.stopped"], secret: "s"))
            let job = try Self.created(try await Self.submit(repositories.jobs, project: team.id, "train"))
            try await Self.submit(repositories.jobs, project: other.id, "train")
            #expect(try await repositories.jobs.queuedJobCount(projectID: team.id, upTo: 10) == 1)

            let at = Self.start.addingTimeInterval(30)
            let stopped = try await repositories.jobs.requestStop(projectID: team.id, name: "train", reason: .user, graceSeconds: 5, now: at)
            #expect(stopped.id == job.id && stopped.status == .stopped && stopped.secondaryStatus == .stopped && stopped.lastModifiedAt == at)
            #expect(try await repositories.jobs.job(id: job.id) == stopped)
            let events = try await repositories.jobs.events(jobID: job.id)
            #expect(events.map(\.type) == [.created, .statusChanged, .statusChanged])
            #expect(events.dropFirst().map(\.secondaryStatus) == [.stopping, .stopped])
            #expect(try await repositories.webhooks.webhookDeliveries(subscriptionID: hook.id).map(\.eventType) == ["job.stopped"])
            #expect(try await repositories.jobs.queuedJobCount(projectID: team.id, upTo: 10) == 0)
            // The other project's job of the same name waits on.
            #expect(try await repositories.jobs.job(projectID: other.id, name: "train")?.status == .inProgress)
            #expect(try await repositories.jobs.queuedJobCount(projectID: other.id, upTo: 10) == 1)

            await #expect(throws: StoreError.self) { try await repositories.jobs.requestStop(projectID: team.id, name: "train", reason: .user, graceSeconds: 5) }
            #expect(try await repositories.jobs.events(jobID: job.id).count == 3)
            await #expect(throws: StoreError.jobNotFound("nope")) {
                try await repositories.jobs.requestStop(projectID: team.id, name: "nope", reason: .user, graceSeconds: 5)
            }
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func theQueuedCountStopsAtItsBound(_ kind: RepositoryKind) async throws {
        try await kind.withRepositories { repositories in
            let (team, _, _) = try await repositories.projects.createProject(name: "team")
            for index in 0..<5 { try await Self.submit(repositories.jobs, project: team.id, "job-\(index)") }
            #expect(try await repositories.jobs.queuedJobCount(projectID: team.id, upTo: 3) == 3)
            #expect(try await repositories.jobs.queuedJobCount(projectID: team.id) == 5)
        }
    }
}
