import Foundation
import TrainyardCore

/// ``JobRepository`` in memory: the twin of ``PostgresStore``'s jobs, for tests without a database. Its projects are
/// an ``InMemoryProjectRepository``'s and the deliveries its transitions announce go to an
/// ``InMemoryWebhookRepository``'s outbox. A job's life is decided by Core's ``JobAggregate``, as in the store; the
/// twin grants no hosts, so its jobs wait in the queue until they are stopped.
public actor InMemoryJobRepository: JobRepository {
    private struct StoredJob {
        var record: JobRecord
        var idempotencyKey: String?
        var requestHash: String?
        var deadline: Date?
        var trainedSeconds: Double = 0
        var events: [JobEventRecord] = []
    }

    private let projects: InMemoryProjectRepository
    private let webhooks: InMemoryWebhookRepository
    private var jobs: [Int64: StoredJob] = [:]
    private var lastJobID: Int64 = 0
    private var lastEventID: Int64 = 0

    public init(projects: InMemoryProjectRepository, webhooks: InMemoryWebhookRepository) {
        self.projects = projects
        self.webhooks = webhooks
    }

    public func createJob(
        projectID: Int64, name: String, spec: JobSpec, idempotencyKey: String?, requestHash: String?, note: JobNote?, now: Date
    ) async throws -> JobCreation {
        // The project's name first: after this await, the checks and the insert run without a suspension between them.
        guard let projectName = await projects.name(ofProject: projectID) else { throw StoreError.corrupt("project \(projectID) of job \(name)") }
        if let idempotencyKey, let requestHash,
            let stored = jobs.values.first(where: { $0.record.projectID == projectID && $0.idempotencyKey == idempotencyKey })
        {
            return stored.requestHash == requestHash ? .replayed(stored.record) : .idempotencyKeyReused(existingJob: stored.record.name)
        }
        guard !jobs.values.contains(where: { $0.record.projectID == projectID && $0.record.name == name }) else { return .nameTaken(name) }
        lastJobID += 1
        let state = JobState.submitted()
        let record = JobRecord(
            id: lastJobID, projectID: projectID, projectName: projectName, name: name, spec: spec, status: state.status,
            secondaryStatus: state.secondaryStatus, failureReason: nil, createdAt: now, lastModifiedAt: now, trainingStartTime: nil,
            trainingEndTime: nil, modelArtifacts: nil)
        var stored = StoredJob(
            record: record, idempotencyKey: idempotencyKey, requestHash: requestHash,
            deadline: JobLimits(spec: spec, createdAt: now).deadline(trainedSeconds: 0, trainingSince: nil))
        stored.events.append(event(time: now, type: .created, status: state.status, secondaryStatus: state.secondaryStatus, message: JobState.submittedMessage))
        if let note { stored.events.append(event(time: now, type: note.type, status: nil, secondaryStatus: nil, message: note.message)) }
        jobs[record.id] = stored
        let payload = WebhookPayload(
            type: .jobCreated, jobName: name, status: state.status, secondaryStatus: state.secondaryStatus, message: JobState.submittedMessage, time: now)
        let deliveries = await webhooks.enqueue(projectID: projectID, jobID: record.id, payloads: [payload], now: now)
        return .created(record, webhookDeliveries: deliveries)
    }

    private func event(time: Date, type: JobEventType, status: JobStatus?, secondaryStatus: SecondaryStatus?, message: String) -> JobEventRecord {
        lastEventID += 1
        return JobEventRecord(id: lastEventID, time: time, type: type, status: status, secondaryStatus: secondaryStatus, message: message)
    }

    public func job(projectID: Int64, name: String) -> JobRecord? {
        jobs.values.first { $0.record.projectID == projectID && $0.record.name == name }?.record
    }

    public func job(id: Int64) -> JobRecord? {
        jobs[id]?.record
    }

    public func listJobs(projectID: Int64, query: JobListQuery) throws -> JobPage {
        let own = jobs.values.map(\.record).filter { $0.projectID == projectID }
        var cursor: JobRecord?
        if let after = query.after {
            guard let found = own.first(where: { $0.id == after }) else { throw StoreError.unknownCursor }
            cursor = found
        }
        let fragment = query.nameContains.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        let matching = own.filter { job in
            (query.status.map { job.status == $0 } ?? true) && (fragment.map { job.name.lowercased().contains($0) } ?? true)
                && (query.createdAfter.map { job.createdAt > $0 } ?? true) && (query.createdBefore.map { job.createdAt < $0 } ?? true)
        }
        let ascending = query.ascending
        let sorted = matching.filter { job in
            cursor.map { ascending ? Self.precedes($0, job, by: query.sortBy) : Self.precedes(job, $0, by: query.sortBy) } ?? true
        }.sorted { ascending ? Self.precedes($0, $1, by: query.sortBy) : Self.precedes($1, $0, by: query.sortBy) }
        let page = Array(sorted.prefix(query.limit))
        return JobPage(jobs: page, lastID: sorted.count > query.limit ? page.last?.id : nil)
    }

    /// The list's order, as the store's keyset: creation time then id; the name (unique in a project); the status
    /// then creation time then id. Text compares by code point, as PostgreSQL's C collation.
    private static func precedes(_ a: JobRecord, _ b: JobRecord, by key: JobListQuery.SortKey) -> Bool {
        func text(_ x: String, _ y: String) -> Bool { x.utf8.lexicographicallyPrecedes(y.utf8) }
        switch key {
        case .creationTime: return (a.createdAt, a.id) < (b.createdAt, b.id)
        case .name: return text(a.name, b.name)
        case .status:
            if a.status != b.status { return text(a.status.rawValue, b.status.rawValue) }
            return (a.createdAt, a.id) < (b.createdAt, b.id)
        }
    }

    public func events(jobID: Int64) -> [JobEventRecord] {
        jobs[jobID]?.events ?? []
    }

    public func noteJob(jobID: Int64, type: JobEventType, message: String, now: Date) {
        guard jobs[jobID] != nil else { return }
        jobs[jobID]?.events.append(event(time: now, type: type, status: nil, secondaryStatus: nil, message: message))
    }

    public func queuedJobCount(projectID: Int64, upTo limit: Int) -> Int {
        min(limit, jobs.values.count { job in
            job.record.projectID == projectID && job.record.status == .inProgress && [.starting, .pending].contains(job.record.secondaryStatus)
        })
    }

    public func requestStop(projectID: Int64, name: String, reason: StopReason, graceSeconds: Double, now: Date) async throws -> JobRecord {
        guard var stored = jobs.values.first(where: { $0.record.projectID == projectID && $0.record.name == name }) else {
            throw StoreError.jobNotFound(name)
        }
        let job = stored.record
        var aggregate = JobAggregate(
            state: JobState(status: job.status, secondaryStatus: job.secondaryStatus, failureReason: job.failureReason, interruptions: job.interruptions),
            limits: JobLimits(spec: job.spec, createdAt: job.createdAt), trainedSeconds: stored.trainedSeconds, deadline: stored.deadline)
        let effects = aggregate.handle(.stopRequested(reason, graceSeconds: graceSeconds), now: now)
        if let refusal = effects.lazy.compactMap(\.refusal).first { throw StoreError.transitionRefused(refusal) }
        // The effect writer, for a job without attempts: the attempt's effects have nothing to act on, as in the store.
        var transitions: [JobTransition] = []
        for effect in effects {
            switch effect {
            case .record(let transition):
                transitions.append(transition)
                stored.events.append(
                    event(
                        time: transition.time, type: .statusChanged, status: transition.toStatus, secondaryStatus: transition.toSecondaryStatus,
                        message: transition.message))
            case .setDeadline(let deadline): stored.deadline = deadline
            case .countTrainingTime(let seconds): stored.trainedSeconds += seconds
            case .countInterruption: stored.record.interruptions += 1
            case .startTrainingClock, .markAttemptEnding, .stopAttempt, .endAttempt, .countRetry, .wake, .direct, .unchanged, .refused: continue
            }
        }
        if !transitions.isEmpty {
            let state = aggregate.state
            stored.record.status = state.status
            stored.record.secondaryStatus = state.secondaryStatus
            stored.record.failureReason = state.failureReason
            stored.record.lastModifiedAt = now
            if state.status.isTerminal, stored.record.trainingStartTime != nil, stored.record.trainingEndTime == nil { stored.record.trainingEndTime = now }
        }
        jobs[job.id] = stored
        await webhooks.enqueue(projectID: projectID, jobID: job.id, payloads: WebhookPayload.announcing(transitions, jobName: job.name, state: aggregate.state), now: now)
        return jobs[job.id]?.record ?? stored.record
    }
}
