import Foundation
import TrainyardCore

/// A project: the unit of tenancy that owns keys and jobs.
public struct ProjectRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var createdAt: Date
}

/// A stored API key, without its secret.
public struct APIKeyRecord: Sendable, Equatable {
    public var id: String
    public var projectID: Int64
    public var projectName: String
    public var role: APIKeyRole
    public var name: String?
    public var createdAt: Date
    public var lastUsedAt: Date?
}

/// Who made a request, once its key checked out.
public struct Principal: Sendable, Equatable {
    public var keyID: String
    public var projectID: Int64
    public var projectName: String
    public var role: APIKeyRole

    public init(keyID: String, projectID: Int64, projectName: String, role: APIKeyRole) {
        self.keyID = keyID
        self.projectID = projectID
        self.projectName = projectName
        self.role = role
    }
}

/// A training job as stored.
public struct JobRecord: Sendable, Equatable {
    public var id: Int64
    public var projectID: Int64
    public var projectName: String
    public var name: String
    public var spec: JobSpec
    public var status: JobStatus
    public var secondaryStatus: SecondaryStatus
    public var failureReason: String?
    public var createdAt: Date
    public var lastModifiedAt: Date
    public var trainingStartTime: Date?
    public var trainingEndTime: Date?
    /// The merged model's URI once uploaded.
    public var modelArtifacts: String?
    /// How many attempts ended by a spot interruption.
    public var interruptions: Int = 0
    /// `model.tar.gz` with its size and SHA-256, once the finalizer uploaded it.
    public var model: UploadedArtifact?
    /// `output.tar.gz` with its size and SHA-256, once the finalizer uploaded it.
    public var output: UploadedArtifact?
    /// The pool the job runs on or left behind (`keep_alive_period` > 0), once it has one.
    public var warmPool: WarmPool?

    /// The state the Core state machine works on.
    public var state: JobState {
        JobState(status: status, secondaryStatus: secondaryStatus, failureReason: failureReason, interruptions: interruptions)
    }
}

/// An archive the finalizer uploaded: where, how many bytes, and the SHA-256 (lowercase hex) of those bytes.
public struct UploadedArtifact: Sendable, Equatable {
    public var uri: String
    public var sizeBytes: Int64
    public var sha256: String

    public init(uri: String, sizeBytes: Int64, sha256: String) {
        self.uri = uri
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
    }
}

/// One entry of a job's event log.
public struct JobEventRecord: Sendable, Equatable {
    public var id: Int64
    public var time: Date
    public var type: JobEventType
    public var status: JobStatus?
    public var secondaryStatus: SecondaryStatus?
    public var message: String

    public init(id: Int64, time: Date, type: JobEventType, status: JobStatus?, secondaryStatus: SecondaryStatus?, message: String) {
        self.id = id
        self.time = time
        self.type = type
        self.status = status
        self.secondaryStatus = secondaryStatus
        self.message = message
    }
}

/// An event without a status that a job is created with, after its `created` event.
public struct JobNote: Sendable, Equatable {
    /// The event's type, such as ``JobEventType/imageNotUsed``.
    public var type: JobEventType
    public var message: String

    public init(type: JobEventType, message: String) {
        self.type = type
        self.message = message
    }
}

/// What creating a job came to.
public enum JobCreation: Sendable, Equatable {
    /// A new job was written, with this many `job.created` webhook deliveries.
    case created(JobRecord, webhookDeliveries: Int)
    /// The same `Idempotency-Key` with the same body: the job of the first request.
    case replayed(JobRecord)
    /// The same `Idempotency-Key` with a different body.
    case idempotencyKeyReused(existingJob: String)
    /// The project already has a job of that name.
    case nameTaken(String)
}

/// Filters, order and page of a job list.
public struct JobListQuery: Sendable, Equatable {
    /// Sort keys of a list.
    public enum SortKey: String, Sendable { case creationTime = "creation_time", name, status }

    public var status: JobStatus?
    public var nameContains: String?
    public var createdAfter: Date?
    public var createdBefore: Date?
    /// Jobs last changed after (or before) these times (SageMaker's `LastModifiedTimeAfter`, `LastModifiedTimeBefore`).
    public var modifiedAfter: Date?
    public var modifiedBefore: Date?
    /// Jobs whose warm pool is in this state (SageMaker's `WarmPoolStatusEquals`), as ``WarmPool/asOf(_:)`` shows it.
    public var warmPoolStatus: WarmPoolStatus?
    public var sortBy: SortKey
    public var ascending: Bool
    public var limit: Int
    /// The id of the last job of the previous page (from its `next_token`).
    public var after: Int64?

    public init(
        status: JobStatus? = nil, nameContains: String? = nil, createdAfter: Date? = nil, createdBefore: Date? = nil,
        sortBy: SortKey = .creationTime, ascending: Bool = false, limit: Int = 10, after: Int64? = nil
    ) {
        self.status = status
        self.nameContains = nameContains
        self.createdAfter = createdAfter
        self.createdBefore = createdBefore
        self.sortBy = sortBy
        self.ascending = ascending
        self.limit = limit
        self.after = after
    }
}

/// A page of jobs; `lastID` is set when more may follow.
public struct JobPage: Sendable, Equatable {
    public var jobs: [JobRecord]
    public var lastID: Int64?
}

/// Errors of the store that a caller can act on.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case jobNotFound(String)
    case transitionRefused(JobTransitionError)
    case projectNameTaken(String)
    case corruptSpec(job: String)
    /// A page cursor that names no job of the caller's project (a forged or foreign `next_token`).
    case unknownCursor
    /// A stored value the code does not know (a row written by a newer server, or by hand).
    case corrupt(String)
    /// Others kept changing what the request was about to change; trying again later may succeed.
    case contended(String)

    public var description: String {
        switch self {
        case .jobNotFound(let name): "training job \(name) not found"
        case .transitionRefused(let error): "\(error)"
        case .projectNameTaken(let name): "a project named \(name) already exists"
        case .corruptSpec(let job): "the stored spec of job \(job) cannot be read"
        case .unknownCursor: "the page cursor names no job of this project"
        case .corrupt(let what): "a stored \(what) cannot be read"
        case .contended(let what): what
        }
    }
}
