import Foundation
import TrainyardCore
import TrainyardSageMaker
import TrainyardStore

/// SageMaker's training-job operations on Trainyard's jobs: the same submission path, repositories and lifecycle as
/// `/v1/jobs`, in AWS's shapes and errors.
struct TrainingJobOperations: Sendable {
    let api: APIImplementation

    func perform(_ operation: String, target: String, _ call: SageMakerCall) async throws -> JSONValue {
        guard ServiceModel.sageMaker.operations[operation] != nil else { throw AWSError.unknownOperation(target) }
        let report = SageMakerEndpoint.sageMakerValidator.validate(call.input, operation: operation)
        if let first = report.serializationErrors.first { throw AWSError.serialization(first) }
        var violations = report.violations
        if operation == "CreateTrainingJob" { violations += TrainingJobRequest.crossFieldViolations(call.input) }
        guard violations.isEmpty else { throw AWSError.validation(violations: violations) }
        switch operation {
        case "CreateTrainingJob": return try await create(call)
        case "DescribeTrainingJob": return try await describe(call)
        case "ListTrainingJobs": return try await list(call)
        case "StopTrainingJob": return try await stop(call)
        case "UpdateTrainingJob": return try await update(call)
        case "DeleteTrainingJob": return try await delete(call)
        case "AddTags", "ListTags", "DeleteTags": return try await tags(operation, call)
        default: throw AWSError.unknownOperation(target)
        }
    }

    /// The caller's role must allow `action`; AWS says AccessDeniedException.
    private func requireWriter(_ call: SageMakerCall, action: String) throws {
        guard call.principal.role.canWriteJobs else {
            throw AWSError(type: "AccessDeniedException", message: "a \(call.principal.role.rawValue) key cannot \(action)")
        }
    }

    private func create(_ call: SageMakerCall) async throws -> JSONValue {
        try requireWriter(call, action: "create training jobs")
        let unsupported = TrainingJobRequest.unsupported(call.input)
        guard unsupported.isEmpty else { throw AWSError.validation(unsupported.joined(separator: "; ")) }
        var spec = TrainingJobRequest.spec(call.input, provisioner: api.provisioner)
        spec.sageMakerRequest = call.input
        spec.sageMakerRegion = call.region
        let submission: APIImplementation.Submission
        do {
            submission = try await api.submit(spec, principal: call.principal, idempotencyKey: nil)
        } catch let error as APIError {
            throw Self.awsError(error)
        }
        switch submission {
        case .created(let job, _), .replayed(let job):
            return .object(["TrainingJobArn": .string(api.arns.arn(of: job))])
        case .nameTaken(let name), .idempotencyKeyReused(let name):
            throw AWSError(
                type: "ResourceInUse",
                message: "Training job names must be unique within an AWS account and region, and a training job with this name already exists (\(call.arn(ofJob: name)))")
        }
    }

    private func describe(_ call: SageMakerCall) async throws -> JSONValue {
        guard let job = try await job(call) else { throw AWSError.notFound }
        let details = try await api.details(of: job)
        return TrainingJobDescription.describe(
            job, arn: api.arns.arn(of: job), events: details.events, attempts: details.attempts, finalMetrics: details.finalMetrics,
            capacity: details.capacity, now: Date())
    }

    private func list(_ call: SageMakerCall) async throws -> JSONValue {
        let input = call.input
        // No training plans here: a filter on them would match nothing ever, which reads as "none yet".
        if input["TrainingPlanArnEquals"] != nil {
            throw AWSError.validation("TrainingPlanArnEquals is not supported: Trainyard has no training plans")
        }
        let sortBy: JobListQuery.SortKey =
            switch input["SortBy"]?.stringValue {
            case "Name": .name
            case "Status": .status
            default: .creationTime
            }
        var query = JobListQuery(
            status: input["StatusEquals"]?.stringValue.flatMap(JobStatus.init(rawValue:)), nameContains: input["NameContains"]?.stringValue,
            createdAfter: input["CreationTimeAfter"].flatMap(SageMakerTime.date), createdBefore: input["CreationTimeBefore"].flatMap(SageMakerTime.date),
            // Newest first unless asked otherwise, as the operation's documentation describes its results.
            sortBy: sortBy, ascending: input["SortOrder"]?.stringValue == "Ascending", limit: input["MaxResults"]?.intValue ?? 10)
        query.modifiedAfter = input["LastModifiedTimeAfter"].flatMap(SageMakerTime.date)
        query.modifiedBefore = input["LastModifiedTimeBefore"].flatMap(SageMakerTime.date)
        query.warmPoolStatus = input["WarmPoolStatusEquals"]?.stringValue.flatMap(WarmPoolStatus.init(rawValue:))
        let page: JobPage
        do {
            if let token = input["NextToken"]?.stringValue, !token.isEmpty { query.after = try JobListRequest.lastID(from: token, query: query) }
            page = try await api.jobs.listJobs(projectID: call.principal.projectID, query: query)
        } catch is APIError, StoreError.unknownCursor {
            throw AWSError.validation("NextToken is not a token this listing returned (with the same SortBy and SortOrder)")
        }
        var body: [String: JSONValue] = ["TrainingJobSummaries": .array(page.jobs.map { TrainingJobDescription.summary($0, arn: api.arns.arn(of: $0)) })]
        // Only when more follow: the SDKs loop while a token comes back.
        if let last = page.lastID { body["NextToken"] = .string(JobListRequest.token(after: last, query: query)) }
        return .object(body)
    }

    private func stop(_ call: SageMakerCall) async throws -> JSONValue {
        try requireWriter(call, action: "stop training jobs")
        guard let job = try await job(call) else { throw Self.noSuchJob(call.input["TrainingJobName"]?.stringValue ?? "") }
        if job.status.isTerminal {
            throw AWSError.validation("The request was rejected because the training job is in status \(job.status.rawValue).")
        }
        do {
            _ = try await api.jobs.requestStop(projectID: call.principal.projectID, name: job.name, reason: .user, graceSeconds: api.stopGrace)
        } catch StoreError.transitionRefused(.alreadyStopping) {
            // Stopping already: the same answer as the first call.
        } catch StoreError.transitionRefused(let error) {
            throw AWSError.validation("The request was rejected because the training job cannot be stopped now: \(error)")
        } catch StoreError.contended(let why) {
            throw AWSError(type: "ThrottlingException", message: "training job \(job.name) is being changed by another request (\(why)); retry")
        }
        return .object([:])
    }

    private func update(_ call: SageMakerCall) async throws -> JSONValue {
        try requireWriter(call, action: "update training jobs")
        guard let job = try await job(call) else { throw Self.noSuchJob(call.input["TrainingJobName"]?.stringValue ?? "") }
        let input = call.input
        var refused: [String] = []
        if let rules = input["ProfilerRuleConfigurations"]?.arrayValue, !rules.isEmpty {
            refused.append("ProfilerRuleConfigurations is not supported: Trainyard runs no Profiler rule jobs")
        }
        if input["RemoteDebugConfig"]?["EnableRemoteDebug"]?.boolValue == true { refused.append("RemoteDebugConfig.EnableRemoteDebug = true is not supported") }
        let keepAlivePeriod = input["ResourceConfig"]?["KeepAlivePeriodInSeconds"]?.intValue ?? job.spec.keepAlivePeriod
        refused += api.keepAliveViolations(of: job, setTo: keepAlivePeriod).map(TrainingJobRequest.message(for:))
        guard refused.isEmpty else { throw AWSError.validation(refused.joined(separator: "; ")) }
        // The stored request, as updated: Describe echoes the new settings.
        var request = job.spec.sageMakerRequest?.objectValue ?? TrainingJobDescription.echoedMembers(of: job)
        request["TrainingJobName"] = .string(job.name)
        if let keepAlive = input["ResourceConfig"]?["KeepAlivePeriodInSeconds"] {
            var resources = request["ResourceConfig"]?.objectValue ?? [:]
            resources["KeepAlivePeriodInSeconds"] = keepAlive
            request["ResourceConfig"] = .object(resources)
        }
        if let profiler = input["ProfilerConfig"]?.objectValue {
            request["ProfilerConfig"] = .object((request["ProfilerConfig"]?.objectValue ?? [:]).merging(profiler) { $1 })
        }
        for member in ["ProfilerRuleConfigurations", "RemoteDebugConfig"] where input[member] != nil { request[member] = input[member] }
        guard try await api.jobs.updateJob(
            projectID: call.principal.projectID, name: job.name, keepAlivePeriod: keepAlivePeriod, sageMakerRequest: .object(request))
        else { throw Self.noSuchJob(job.name) }
        return .object(["TrainingJobArn": .string(api.arns.arn(of: job))])
    }

    private func delete(_ call: SageMakerCall) async throws -> JSONValue {
        try requireWriter(call, action: "delete training jobs")
        let name = call.input["TrainingJobName"]?.stringValue ?? ""
        switch try await api.jobs.deleteJob(projectID: call.principal.projectID, name: name) {
        case .deleted:
            return .object([:])
        case .notFound:
            throw Self.noSuchJob(name)
        case .notEnded(let status):
            throw AWSError(
                type: "ResourceInUse",
                message: "Training job \(name) is in status \(status.rawValue) (or its outputs are still being uploaded); only a Completed, Failed or Stopped job can be deleted")
        case .warmPoolAvailable:
            throw AWSError(
                type: "ResourceInUse",
                message: "Training job \(name) keeps an Available warm pool; end it first with UpdateTrainingJob "
                    + "ResourceConfig.KeepAlivePeriodInSeconds = 0, then delete the job")
        }
    }

    /// `AddTags`, `ListTags`, `DeleteTags` on a training job's ARN of the caller's project.
    private func tags(_ operation: String, _ call: SageMakerCall) async throws -> JSONValue {
        let arnText = call.input["ResourceArn"]?.stringValue ?? ""
        // Another project's ARN (another account) is as absent as a missing job.
        guard let arn = TrainingJobARN(arnText), arn.account == SageMakerAccount.id(ofProject: call.principal.projectID),
            let job = try await api.jobs.job(projectID: call.principal.projectID, name: arn.name)
        else { throw AWSError.validation("Resource \(arnText) does not exist (Trainyard tags training jobs only).") }
        var tags = job.spec.tags
        switch operation {
        case "ListTags":
            return .object(["Tags": .array(tags.sorted { $0.key < $1.key }.map { .object(["Key": .string($0.key), "Value": .string($0.value)]) })])
        case "AddTags":
            try requireWriter(call, action: "tag training jobs")
            let added = call.input["Tags"]?.arrayValue ?? []
            for tag in added {
                guard let key = tag["Key"]?.stringValue else { continue }
                if key.lowercased().hasPrefix("aws:") { throw AWSError.validation("Tag keys starting with 'aws:' are reserved for AWS use: \(key)") }
                tags[key] = tag["Value"]?.stringValue ?? ""
            }
            if tags.count > 50 { throw AWSError(type: "ResourceLimitExceeded", message: "A training job may have at most 50 tags; it would have \(tags.count)") }
            _ = try await api.jobs.replaceTags(projectID: call.principal.projectID, name: job.name, tags: tags)
            return .object(["Tags": .array(added)])
        default:
            try requireWriter(call, action: "untag training jobs")
            for key in call.input["TagKeys"]?.arrayValue?.compactMap(\.stringValue) ?? [] { tags[key] = nil }
            _ = try await api.jobs.replaceTags(projectID: call.principal.projectID, name: job.name, tags: tags)
            return .object([:])
        }
    }

    /// The caller's project's job the request names, if any.
    private func job(_ call: SageMakerCall) async throws -> JobRecord? {
        guard let name = call.input["TrainingJobName"]?.stringValue else { return nil }
        return try await api.jobs.job(projectID: call.principal.projectID, name: name)
    }

    /// Stop, Update and Delete of a job the project does not have: the modeled `ResourceNotFound`.
    static func noSuchJob(_ name: String) -> AWSError { .resourceNotFound("Training job \(name) does not exist.") }

    /// A submission refused by the shared path, in AWS's terms.
    static func awsError(_ error: APIError) -> AWSError {
        switch error {
        case .unprocessable(_, let errors): .validation(violations: errors.map(TrainingJobRequest.message(for:)))
        case .forbidden(let detail): AWSError(type: "AccessDeniedException", message: detail)
        case .tooManyRequests(let detail, _): AWSError(type: "ResourceLimitExceeded", message: detail)
        case .conflict(let detail): AWSError(type: "ResourceInUse", message: detail)
        case .notFound(let detail): .resourceNotFound(detail)
        case .unavailable(let detail): AWSError(type: "ServiceUnavailable", message: detail, status: 503)
        case .badRequest(let detail, _), .unauthorized(let detail), .payloadTooLarge(let detail), .methodNotAllowed(let detail, _),
            .rangeNotSatisfiable(let detail, _):
            .validation(detail)
        }
    }
}
