import Crypto
import Logging
public import Foundation
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

extension APIImplementation {
    func createJob(_ input: Operations.CreateJob.Input) async throws -> Operations.CreateJob.Output {
        let principal = try principal(allowing: \.canWriteJobs, action: "create jobs")
        guard case .json(let body) = input.body else { throw APIError.badRequest(detail: "expected a JSON body") }
        let idempotencyKey = RawRequestHeaders.value(.idempotencyKey, decoded: input.headers.idempotencyKey)
        var headerViolations: [FieldViolation] = []
        if let key = idempotencyKey, !Self.isIdempotencyKey(key) {
            let rule = key.isEmpty || key.unicodeScalars.count > 255 ? "length" : "pattern"
            headerViolations.append(
                FieldViolation(
                    field: "Idempotency-Key", rule: rule, message: "Idempotency-Key must be 1 to 255 visible ASCII characters (spaces only between them)"))
        }
        switch try await submit(JobSpec(body), principal: principal, idempotencyKey: idempotencyKey, headerViolations: headerViolations) {
        case .created(let job, let events):
            let description = JobSpecMapping.description(
                of: job, events: events, attempts: [], capacity: capacity.current.capacity(of: job.spec.instanceType), arn: arns.arn(of: job), now: Date())
            return .created(.init(body: .json(description)))
        case .replayed(let job):
            return .created(.init(body: .json(try await description(of: job))))
        case .idempotencyKeyReused(let existing):
            throw APIError.unprocessable(
                detail: "Idempotency-Key was already used for job \(existing) with a different body",
                errors: [FieldViolation(field: "Idempotency-Key", rule: "idempotency_key_reused", message: "this key was used with a different body (job \(existing)); use a new key")])
        case .nameTaken(let name):
            throw APIError.conflict(detail: "a training job named \(name) already exists in this project; choose another name")
        }
    }

    /// What a submission came to.
    enum Submission {
        /// A new job, with the events it was created with (its `created` event and any note).
        case created(JobRecord, events: [JobEventRecord])
        /// A retry with the same idempotency key and body: the job the first request created.
        case replayed(JobRecord)
        /// The idempotency key was used for job `existing` with another body.
        case idempotencyKeyReused(existing: String)
        /// The project has a job of this name.
        case nameTaken(String)
    }

    /// Submits `spec` for `principal`'s project: the one way into the queue, for `/v1/jobs` and the SageMaker endpoint
    /// alike. Checks the spec (``JobSpecValidator``, the priority policy, the project's locations, the queue limit) and
    /// throws ``APIError`` for what the caller must change; `headerViolations` are the caller's own, reported with the
    /// spec's.
    func submit(_ given: JobSpec, principal: Principal, idempotencyKey: String?, headerViolations: [FieldViolation] = []) async throws -> Submission {
        if let refusal = provisioner.refusal(forProject: principal.projectName) { throw APIError.forbidden(detail: refusal) }
        var spec = given
        var violations = JobSpecValidator(catalog: catalog, provisioner: provisioner, capacity: capacity.current).validate(spec)
        let serviceAdmin = principal.role == .admin && principal.projectName == ProjectRecord.bootstrapName
        if let violation = PriorityPolicy.violation(spec.priority, role: principal.role, serviceAdmin: serviceAdmin) { violations.append(violation) }
        violations += headerViolations
        if violations.isEmpty { violations = try await locationViolations(spec, principal: principal) }
        guard violations.isEmpty else {
            throw APIError.unprocessable(detail: "the job spec has \(violations.count) invalid field(s)", errors: violations)
        }
        // The body as the user meant it, before defaults: the same key with an equal body is a retry. Only a request
        // with a key can be retried, so only its body is hashed.
        let requestHash = try idempotencyKey.map { _ in
            Hex.lowercase(SHA256.hash(data: try JobSpecMapping.canonicalJSON(spec)))
        }
        // A soft bound (concurrent submissions may pass it by a few): enough to keep one project from filling the
        // shared queue, without serialising every submission of a project.
        let queued = try await queuedJobs.queued(projectID: principal.projectID, limit: limits.queuedJobsPerProject) {
            try await jobs.queuedJobCount(projectID: principal.projectID, upTo: limits.queuedJobsPerProject)
        }
        if queued >= limits.queuedJobsPerProject {
            throw APIError.tooManyRequests(
                detail: "project \(principal.projectName) already has \(queued) jobs waiting to run, its limit (TRAINYARD_MAX_QUEUED_JOBS is "
                    + "\(limits.queuedJobsPerProject)); submit again once some have started, or stop some",
                retryAfterSeconds: RequestLimits.queueFullRetryAfterSeconds)
        }
        if spec.outputPath == nil { spec.outputPath = "s3://\(defaultOutputBucket)/\(principal.projectName)" }
        let generated = spec.name == nil
        // An image a provisioner without containers will not use: the job says so from the start, in an event and in
        // its description.
        let note = provisioner.unusedImageReason(for: spec).map { JobNote(type: JobSpecMapping.imageNotUsedEvent, message: $0) }
        var creation: JobCreation
        var tries = 0
        repeat {
            // A generated name can, rarely, clash with one generated in the same millisecond: draw again.
            spec.name = generated ? JobName.generate(now: Date()) : spec.name
            creation = try await jobs.createJob(
                projectID: principal.projectID, name: spec.name ?? "", spec: spec, idempotencyKey: idempotencyKey,
                requestHash: requestHash, note: note)
            tries += 1
        } while generated && creation == .nameTaken(spec.name ?? "") && tries < 5
        switch creation {
        case .created(let job, let webhookDeliveries):
            logger.info(
                "job submitted",
                metadata: [
                    "job": .string(job.name), "project": .string(principal.projectName), "instance_type": .string(job.spec.instanceType),
                    "hosts": .stringConvertible(job.spec.instanceCount),
                ])
            wakeUps.scheduling.ring()
            if webhookDeliveries > 0 { wakeUps.webhooks.ring() }
            // A job just written has its `created` event (and note) and no attempt: no need to read them back.
            let created = JobEventRecord(
                id: 0, time: job.createdAt, type: .created, status: job.status, secondaryStatus: job.secondaryStatus, message: JobState.submittedMessage)
            let noted = note.map { JobEventRecord(id: 0, time: job.createdAt, type: $0.type, status: nil, secondaryStatus: nil, message: $0.message) }
            return .created(job, events: [created] + (noted.map { [$0] } ?? []))
        case .replayed(let job):
            return .replayed(job)
        case .idempotencyKeyReused(let existing):
            return .idempotencyKeyReused(existing: existing)
        case .nameTaken(let name):
            return .nameTaken(name)
        }
    }

    func describeJob(_ input: Operations.DescribeJob.Input) async throws -> Operations.DescribeJob.Output {
        let principal = try RequestPrincipal.required()
        let job = try await requireJob(projectID: principal.projectID, name: input.path.name)
        return .ok(.init(body: .json(try await description(of: job))))
    }

    func updateJob(_ input: Operations.UpdateJob.Input) async throws -> Operations.UpdateJob.Output {
        let principal = try principal(allowing: \.canWriteJobs, action: "update jobs")
        guard case .json(let body) = input.body else { throw APIError.badRequest(detail: "expected a JSON body") }
        let job = try await requireJob(projectID: principal.projectID, name: input.path.name)
        let violations = keepAliveViolations(of: job, setTo: body.keepAlivePeriod)
        guard violations.isEmpty else {
            throw APIError.unprocessable(detail: "the update has \(violations.count) invalid field(s)", errors: violations)
        }
        guard try await jobs.updateJob(projectID: principal.projectID, name: job.name, keepAlivePeriod: body.keepAlivePeriod) else {
            throw APIError.notFound(detail: "training job \(job.name) not found")
        }
        logger.info(
            "job keep-alive changed",
            metadata: ["job": .string(job.name), "project": .string(principal.projectName), "keep_alive_period": "\(body.keepAlivePeriod)"])
        return .ok(.init(body: .json(try await description(of: try await requireJob(projectID: principal.projectID, name: job.name)))))
    }

    /// What is wrong with `period` as `job`'s `keep_alive_period`, by the rules it was submitted under (the range, the
    /// provisioner's warm pools): `PATCH /v1/jobs/{name}` and SageMaker's `UpdateTrainingJob` alike.
    func keepAliveViolations(of job: JobRecord, setTo period: Int) -> [FieldViolation] {
        var spec = job.spec
        spec.keepAlivePeriod = period
        return JobSpecValidator(catalog: catalog, provisioner: provisioner, capacity: capacity.current).validate(spec)
            .filter { $0.field == "keep_alive_period" }
    }

    func stopJob(_ input: Operations.StopJob.Input) async throws -> Operations.StopJob.Output {
        let principal = try principal(allowing: \.canWriteJobs, action: "stop jobs")
        let job = try await requireJob(projectID: principal.projectID, name: input.path.name)
        if job.status.isTerminal {
            throw APIError.conflict(detail: "training job \(job.name) already ended with status \(job.status.rawValue)")
        }
        do {
            // Without live hosts the job stops at once; otherwise it is Stopping until its hosts have stopped and uploaded.
            let stopping = try await jobs.requestStop(projectID: principal.projectID, name: job.name, reason: .user, graceSeconds: stopGrace)
            logger.info("job stop requested", metadata: ["job": .string(job.name), "project": .string(principal.projectName)])
            return .accepted(.init(body: .json(try await description(of: stopping))))
        } catch StoreError.transitionRefused(.alreadyStopping) {
            return .accepted(.init(body: .json(try await description(of: job))))
        } catch StoreError.transitionRefused(let error) {
            throw APIError.conflict(detail: "training job \(job.name) cannot be stopped now: \(error)")
        } catch StoreError.contended(let why) {
            throw APIError.conflict(detail: "training job \(job.name) cannot be stopped now: \(why)")
        }
    }

    func listJobEvents(_ input: Operations.ListJobEvents.Input) async throws -> Operations.ListJobEvents.Output {
        let principal = try RequestPrincipal.required()
        let job = try await requireJob(projectID: principal.projectID, name: input.path.name)
        let events = try await jobs.events(jobID: job.id).map { event in
            Components.Schemas.JobEvent(
                id: event.id, time: event.time, _type: event.type.rawValue,
                status: .init(rawValue: (event.status ?? job.status).rawValue) ?? .inProgress,
                secondaryStatus: .init(rawValue: (event.secondaryStatus ?? job.secondaryStatus).rawValue) ?? .starting,
                message: event.message)
        }
        return .ok(.init(body: .json(.init(events: events))))
    }

    func listJobs(_ input: Operations.ListJobs.Input) async throws -> Operations.ListJobs.Output {
        let principal = try RequestPrincipal.required()
        let query = try JobListRequest.query(from: input.query)
        let page: JobPage
        do {
            page = try await jobs.listJobs(projectID: principal.projectID, query: query)
        } catch StoreError.unknownCursor {
            throw JobListRequest.unknownToken
        }
        let summaries = page.jobs.map { job in
            Components.Schemas.JobSummary(
                name: job.name, arn: arns.arn(of: job), status: .init(rawValue: job.status.rawValue) ?? .inProgress,
                secondaryStatus: .init(rawValue: job.secondaryStatus.rawValue) ?? .starting, creationTime: job.createdAt,
                lastModifiedTime: job.lastModifiedAt, trainingEndTime: job.trainingEndTime, instanceType: job.spec.instanceType,
                instanceCount: job.spec.instanceCount, useSpotInstances: job.spec.useSpotInstances,
                warmPoolStatus: job.warmPool.map { JobSpecMapping.warmPool($0, now: Date()) })
        }
        let token = page.lastID.map { JobListRequest.token(after: $0, query: query) }
        return .ok(.init(body: .json(.init(jobs: summaries, nextToken: token))))
    }

    /// The spec's `Idempotency-Key`: 1 to 255 visible ASCII characters, spaces only between them (a header's edges are
    /// trimmed on the way, and a byte outside ASCII does not come through as itself).
    static func isIdempotencyKey(_ key: String) -> Bool {
        let scalars = key.unicodeScalars
        guard (1...255).contains(scalars.count), let first = scalars.first, let last = scalars.last else { return false }
        return first != " " && last != " " && scalars.allSatisfy { (0x20...0x7E).contains($0.value) }
    }

    func requireJob(projectID: Int64, name: String) async throws -> JobRecord {
        guard let job = try await jobs.job(projectID: projectID, name: name) else {
            throw APIError.notFound(detail: "training job \(name) not found")
        }
        return job
    }

    func description(of job: JobRecord) async throws -> Components.Schemas.JobDescription {
        let details = try await details(of: job)
        return JobSpecMapping.description(
            of: job, events: details.events, attempts: details.attempts, finalMetrics: details.finalMetrics, capacity: details.capacity,
            arn: arns.arn(of: job), now: Date())
    }

    /// What a job's description needs beside its record, for `/v1` and SageMaker's Describe alike.
    func details(of job: JobRecord) async throws -> (events: [JobEventRecord], attempts: [AttemptRecord], finalMetrics: [FinalMetricRecord], capacity: Capacity) {
        (
            try await jobs.events(jobID: job.id), try await attempts.attempts(jobID: job.id), try await logs.finalMetrics(jobID: job.id),
            capacity.current.capacity(of: job.spec.instanceType)
        )
    }
}
