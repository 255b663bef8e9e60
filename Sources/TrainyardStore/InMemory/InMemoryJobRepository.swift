import Foundation
import TrainyardCore

/// ``JobRepository``, ``AttemptRepository`` and ``SchedulingQueue`` in memory: the twin of ``PostgresStore``'s jobs,
/// their attempts and hosts, and the scheduling queue, for tests without a database. Its projects are an
/// ``InMemoryProjectRepository``'s and the deliveries its transitions announce go to an ``InMemoryWebhookRepository``'s
/// outbox. A job's life is decided by Core's ``JobAggregate`` and ``GangScheduler``, as in the store; the effects are
/// carried out by one writer (``persist(_:state:jobID:attemptID:now:)``), as the store's effect writer does.
public actor InMemoryJobRepository: JobRepository {
    struct StoredJob {
        var record: JobRecord
        var idempotencyKey: String?
        var requestHash: String?
        var deadline: Date?
        var trainedSeconds: Double = 0
        var retriesUsed = 0
        var events: [JobEventRecord] = []
    }

    struct StoredAttempt {
        /// The attempt without its hosts (they are in ``hosts``).
        var record: AttemptRecord
        var provisioner: String
        var finalizerUntil: Date?
        var stopRequestedAt: Date?
        var stopGraceSeconds: Double?
    }

    struct StoredHost {
        var record: HostRecord
        var tokenHash: String
        var leaseExpiresAt: Date
        var logDrops: LogSpoolDrops?
    }

    let projects: InMemoryProjectRepository
    let webhooks: InMemoryWebhookRepository
    var jobs: [Int64: StoredJob] = [:]
    var attempts: [Int64: StoredAttempt] = [:]
    var hosts: [String: StoredHost] = [:]
    var overrides: [String: CapacityOverride] = [:]
    private var lastJobID: Int64 = 0
    var lastAttemptID: Int64 = 0
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
            deadline: JobLimits(spec: spec, createdAt: now).deadline(trainedSeconds: 0, trainingSince: nil, waits: .submitted(at: now)))
        stored.events.append(event(time: now, type: .created, status: state.status, secondaryStatus: state.secondaryStatus, message: JobState.submittedMessage))
        if let note { stored.events.append(event(time: now, type: note.type, status: nil, secondaryStatus: nil, message: note.message)) }
        jobs[record.id] = stored
        let payload = WebhookPayload(
            type: .jobCreated, jobName: name, status: state.status, secondaryStatus: state.secondaryStatus, message: JobState.submittedMessage, time: now)
        let deliveries = await webhooks.enqueue(projectID: projectID, jobID: record.id, payloads: [payload], now: now)
        return .created(record, webhookDeliveries: deliveries)
    }

    func event(time: Date, type: JobEventType, status: JobStatus?, secondaryStatus: SecondaryStatus?, message: String) -> JobEventRecord {
        lastEventID += 1
        return JobEventRecord(id: lastEventID, time: time, type: type, status: status, secondaryStatus: secondaryStatus, message: message)
    }

    /// Appends a notable event (no transition) to job `jobID`'s events.
    func appendNote(jobID: Int64, type: JobEventType, message: String, now: Date) {
        guard jobs[jobID] != nil else { return }
        jobs[jobID]?.events.append(event(time: now, type: type, status: nil, secondaryStatus: nil, message: message))
    }

    public func job(projectID: Int64, name: String) -> JobRecord? {
        jobs.values.first { $0.record.projectID == projectID && $0.record.name == name }?.record
    }

    public func job(id: Int64) -> JobRecord? {
        jobs[id]?.record
    }

    private func jobID(projectID: Int64, name: String) -> Int64? {
        jobs.values.first { $0.record.projectID == projectID && $0.record.name == name }?.record.id
    }

    public func replaceTags(projectID: Int64, name: String, tags: [String: String]) -> Bool {
        guard let id = jobID(projectID: projectID, name: name) else { return false }
        jobs[id]?.record.spec.tags = tags
        return true
    }

    public func updateJob(projectID: Int64, name: String, keepAlivePeriod: Int, sageMakerRequest: JSONValue?, now: Date) -> Bool {
        guard let id = jobID(projectID: projectID, name: name) else { return false }
        if let sageMakerRequest { jobs[id]?.record.spec.sageMakerRequest = sageMakerRequest }
        jobs[id]?.record.spec.keepAlivePeriod = keepAlivePeriod
        if let pool = jobs[id]?.record.warmPool { jobs[id]?.record.warmPool = pool.asOf(now).updated(keepAlivePeriod: keepAlivePeriod, now: now) }
        if let modified = jobs[id]?.record.lastModifiedAt { jobs[id]?.record.lastModifiedAt = max(modified, now) }
        return true
    }

    public func deleteJob(projectID: Int64, name: String) -> JobDeletion {
        guard let id = jobID(projectID: projectID, name: name), let job = jobs[id]?.record else { return .notFound }
        let finalizing = attempts.values.contains { $0.record.jobID == id && $0.record.state != .ended }
        guard job.status.isTerminal, !finalizing else { return .notEnded(job.status) }
        guard job.warmPool?.asOf(Date()).status != .available else { return .warmPoolAvailable }
        jobs[id] = nil
        for (attemptID, attempt) in attempts where attempt.record.jobID == id { attempts[attemptID] = nil }
        for (hostID, host) in hosts where host.record.jobID == id { hosts[hostID] = nil }
        return .deleted
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
                && (query.modifiedAfter.map { job.lastModifiedAt > $0 } ?? true) && (query.modifiedBefore.map { job.lastModifiedAt < $0 } ?? true)
                && (query.warmPoolStatus.map { job.warmPool?.asOf(Date()).status == $0 } ?? true)
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
        appendNote(jobID: jobID, type: type, message: message, now: now)
    }

    public func queuedJobCount(projectID: Int64, upTo limit: Int) -> Int {
        min(limit, jobs.values.count { job in
            job.record.projectID == projectID && job.record.status == .inProgress && [.starting, .pending].contains(job.record.secondaryStatus)
        })
    }

    public func requestStop(projectID: Int64, name: String, reason: StopReason, graceSeconds: Double, now: Date) async throws -> JobRecord {
        guard let job = jobs.values.first(where: { $0.record.projectID == projectID && $0.record.name == name })?.record else {
            throw StoreError.jobNotFound(name)
        }
        let live = attempts.values.first { $0.record.jobID == job.id && $0.record.state == .running }?.record.id
        guard var aggregate = aggregate(jobID: job.id, attemptID: live) else { throw StoreError.jobNotFound(name) }
        let effects = aggregate.handle(.stopRequested(reason, graceSeconds: graceSeconds), now: now)
        // The caller asked for this stop: a refusal is its answer (and changes nothing).
        if let refusal = effects.lazy.compactMap(\.refusal).first { throw StoreError.transitionRefused(refusal) }
        await persist(effects, state: aggregate.state, jobID: job.id, attemptID: live, now: now)
        return jobs[job.id]?.record ?? job
    }

    // MARK: The lifecycle, as the store runs it

    /// Job `jobID` and its attempt `attemptID` as the lifecycle sees them (``PostgresStore``'s `lockAggregate`); nil
    /// when there is no such job.
    func aggregate(jobID: Int64, attemptID: Int64?) -> JobAggregate? {
        guard let stored = jobs[jobID] else { return nil }
        let job = stored.record
        let attempt = attemptID.flatMap { attempts[$0] }.flatMap { $0.record.jobID == jobID ? $0 : nil }
        return JobAggregate(
            state: job.state, attempt: attempt?.record.state, hostPhases: attempt.map { hosts(ofAttempt: $0.record.id).map(\.phase) } ?? [],
            stopReason: attempt?.record.stopReason, limits: JobLimits(spec: job.spec, createdAt: job.createdAt), trainedSeconds: stored.trainedSeconds,
            trainingSince: attempt?.record.trainingStartedAt, deadline: stored.deadline, stopRequestedAt: attempt?.stopRequestedAt,
            stopGraceSeconds: attempt?.stopGraceSeconds,
            waits: job.spec.maxPending == nil
                ? nil
                : CapacityWaits.of(
                    createdAt: job.createdAt,
                    attempts: attempts.values.map(\.record).filter { $0.jobID == jobID }.map { ($0.startedAt, $0.endedAt) }),
            keepAlivePeriod: job.spec.keepAlivePeriod, onWarmPool: job.warmPool?.status == .inUse)
    }

    /// The hosts of an attempt, in ordinal order.
    func hosts(ofAttempt attemptID: Int64) -> [HostRecord] {
        hosts.values.map(\.record).filter { $0.attemptID == attemptID }.sorted { $0.ordinal < $1.ordinal }
    }

    /// Runs `input` through Core for job `jobID` and its attempt `attemptID`, and carries out the effects. Answers
    /// them and the aggregate as it now stands; nil when there is no such job.
    @discardableResult
    func run(_ input: LifecycleInput, jobID: Int64, attemptID: Int64?, now: Date) async -> (effects: [LifecycleEffect], aggregate: JobAggregate)? {
        guard var aggregate = aggregate(jobID: jobID, attemptID: attemptID) else { return nil }
        let effects = aggregate.handle(input, now: now)
        await persist(effects, state: aggregate.state, jobID: jobID, attemptID: attemptID, now: now)
        return (effects, aggregate)
    }

    /// The effect writer: carries out `effects` (leaving the job in `state`) as the store's does, the deliveries its
    /// transitions announce going to the webhook twin. Wake-ups have no one to wake here.
    func persist(_ effects: [LifecycleEffect], state: JobState, jobID: Int64, attemptID: Int64?, now: Date) async {
        guard var stored = jobs[jobID] else { return }
        var transitions: [JobTransition] = []
        for effect in effects {
            switch effect {
            case .record(let transition):
                transitions.append(transition)
                stored.events.append(
                    event(
                        time: transition.time, type: .statusChanged, status: transition.toStatus, secondaryStatus: transition.toSecondaryStatus,
                        message: transition.message))
            case .startTrainingClock:
                // (Read first: an optional-chained assignment holds the dictionary while its right side runs.)
                guard let attemptID, let attempt = attempts[attemptID], attempt.record.trainingStartedAt == nil else { continue }
                attempts[attemptID]?.record.trainingStartedAt = now
            case .markAttemptEnding:
                guard let attemptID else { continue }
                attempts[attemptID]?.record.state = .ending
            case .stopAttempt(let reason, let grace):
                guard let attemptID, var attempt = attempts[attemptID] else { continue }
                attempt.record.stopReason = reason
                attempt.stopRequestedAt = attempt.stopRequestedAt ?? now
                attempt.stopGraceSeconds = attempt.stopGraceSeconds ?? grace
                attempts[attemptID] = attempt
            case .endAttempt(let reason):
                guard let attemptID, var attempt = attempts[attemptID] else { continue }
                attempt.record.state = .ended
                attempt.record.endedAt = now
                attempt.record.endReason = reason
                attempts[attemptID] = attempt
            case .countTrainingTime(let seconds): stored.trainedSeconds += seconds
            case .setDeadline(let deadline): stored.deadline = deadline
            case .countRetry: stored.retriesUsed += 1
            case .countInterruption: stored.record.interruptions += 1
            case .keepWarmPool(let pool): stored.record.warmPool = pool
            case .wake, .direct, .unchanged, .refused: continue
            }
        }
        if !transitions.isEmpty {
            stored.record.status = state.status
            stored.record.secondaryStatus = state.secondaryStatus
            stored.record.failureReason = state.failureReason
            stored.record.lastModifiedAt = now
            if state.secondaryStatus == .training, stored.record.trainingStartTime == nil { stored.record.trainingStartTime = now }
            if state.status.isTerminal, stored.record.trainingStartTime != nil, stored.record.trainingEndTime == nil { stored.record.trainingEndTime = now }
        }
        jobs[jobID] = stored
        guard !transitions.isEmpty else { return }
        let record = stored.record
        await webhooks.enqueue(projectID: record.projectID, jobID: jobID, payloads: WebhookPayload.announcing(transitions, jobName: record.name, state: state), now: now)
    }
}
