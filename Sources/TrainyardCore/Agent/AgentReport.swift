import Foundation

/// What an agent tells the server on every heartbeat: its phase, and once the command ended, how.
///
/// Reports are idempotent: the server applies a phase only forward, so a retried report changes nothing twice.
public struct AgentReport: Sendable, Equatable {
    public var phase: HostPhase
    /// The command's exit code, once it exited normally.
    public var exitCode: Int32?
    /// The signal that ended the command, when one did.
    public var signal: Int32?
    /// Why the command failed, in SageMaker's wording (`output/failure`, or exit code and last stderr lines).
    public var failureReason: String?
    /// Whether the command ended because the server asked the agent to stop it.
    public var stopped: Bool
    /// Object-store URI of this host's `model/` archive, once uploaded.
    public var modelArchive: String?
    /// Object-store URI of this host's `output/data/` archive, once uploaded.
    public var outputArchive: String?
    /// System-metric samples taken since the last acknowledged report (a retried report repeats them; the server
    /// keeps one point per metric, host and time).
    public var samples: [SystemSample]?
    /// Set once the host got a reclaim notice (SIGTERM from its provider, a spot interruption): the server ends the
    /// attempt `Interrupted` and resumes the job from its checkpoint.
    public var interrupted: Bool?
    /// When the host's last checkpoint sync completed (its manifest written).
    public var checkpointSyncedAt: Date?
    /// The log lines the host's spool dropped so far, once it dropped any (totals; the server notes what is new).
    public var logDrops: LogSpoolDrops?

    public init(
        phase: HostPhase, exitCode: Int32? = nil, signal: Int32? = nil, failureReason: String? = nil, stopped: Bool = false,
        modelArchive: String? = nil, outputArchive: String? = nil, samples: [SystemSample]? = nil, interrupted: Bool? = nil,
        checkpointSyncedAt: Date? = nil, logDrops: LogSpoolDrops? = nil
    ) {
        self.logDrops = logDrops
        self.interrupted = interrupted
        self.checkpointSyncedAt = checkpointSyncedAt
        self.samples = samples
        self.phase = phase
        self.exitCode = exitCode
        self.signal = signal
        self.failureReason = failureReason
        self.stopped = stopped
        self.modelArchive = modelArchive
        self.outputArchive = outputArchive
    }
}

/// The server's answer to a heartbeat: go on, or stop the command within a grace period.
public struct AgentDirective: Sendable, Equatable {
    /// What the agent must do.
    public enum Action: String, Sendable {
        /// Keep going.
        case proceed
        /// SIGTERM the command's process group, SIGKILL it after `graceSeconds`, then upload and report.
        case stop
    }

    public var action: Action
    /// Seconds between SIGTERM and SIGKILL when stopping.
    public var graceSeconds: Double
    /// Seconds until the next heartbeat is due.
    public var heartbeatIntervalSeconds: Double

    public init(action: Action, graceSeconds: Double, heartbeatIntervalSeconds: Double) {
        self.action = action
        self.graceSeconds = graceSeconds
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
    }
}

/// Where an agent reaches the object store: a filesystem root (the default store), or an S3 endpoint whose requests
/// the server signs one by one (`POST /v1/agent/s3-signatures`), within the host's job's locations. No credential of
/// the service is ever in it.
public struct ObjectStoreDescriptor: Sendable, Equatable {
    /// Who signs an S3 store's requests.
    public enum Signer: String, Sendable, Equatable {
        /// The server, for the host's token, call by call (``S3SignatureRequest``).
        case server
    }

    /// Which store: the filesystem's or an S3-compatible server.
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        case file
        case s3
        /// A kind this build does not know (a newer server's): the agent refuses it by name rather than failing to read
        /// its whole assignment.
        case unsupported(String)

        public init(rawValue: String) {
            switch rawValue {
            case "file": self = .file
            case "s3": self = .s3
            default: self = .unsupported(rawValue)
            }
        }

        public var rawValue: String {
            switch self {
            case .file: "file"
            case .s3: "s3"
            case .unsupported(let kind): kind
            }
        }

        public var description: String { rawValue }
    }

    /// `file` for the filesystem store, `s3` for an S3-compatible server.
    public var kind: Kind
    /// The filesystem store's root directory (`<data dir>/objects`): `s3://bucket/key` is `<root>/bucket/key`.
    public var root: String?
    /// S3: `http(s)://host[:port]`.
    public var endpoint: String?
    /// S3: the signing region.
    public var region: String?
    /// S3: `path` or `virtual`.
    public var addressing: String?
    /// S3: who signs the requests (always the server).
    public var signedBy: Signer?

    public init(kind: Kind, root: String?) {
        self.kind = kind
        self.root = root
    }

    /// An S3 store's descriptor: where it is, and that the server signs.
    public static func s3(endpoint: String, region: String, addressing: String) -> ObjectStoreDescriptor {
        var descriptor = ObjectStoreDescriptor(kind: .s3, root: nil)
        descriptor.endpoint = endpoint
        descriptor.region = region
        descriptor.addressing = addressing
        descriptor.signedBy = .server
        return descriptor
    }
}

extension AgentReport {
    /// Whether this report can change nothing but the host's lease and its checkpoint time when the host is already in
    /// `phase`: no end, no reclaim notice, no archive, no dropped lines. A steady heartbeat, the great majority of
    /// them; the store answers it without running the lifecycle.
    public var isSteady: Bool {
        phase != .exited && interrupted != true && (logDrops?.isEmpty ?? true) && modelArchive == nil && outputArchive == nil
    }

    /// The longest failure reason stored (a real agent sends at most SageMaker's 1,024 characters).
    public static let maximumFailureReasonBytes = 4096
    /// The longest archive URI or sample name stored.
    public static let maximumFieldBytes = 2048

    /// The report with every text made storable (``StorableText``): what a crafted agent sends must not make the
    /// database refuse the report (a NUL does), nor store without bound.
    public func storable() -> AgentReport {
        var report = self
        report.failureReason = failureReason.map { StorableText.sanitize($0, maximumBytes: Self.maximumFailureReasonBytes) }
        report.modelArchive = modelArchive.map { StorableText.sanitize($0, maximumBytes: Self.maximumFieldBytes) }
        report.outputArchive = outputArchive.map { StorableText.sanitize($0, maximumBytes: Self.maximumFieldBytes) }
        report.samples = samples?.map { sample in
            var sample = sample
            sample.name = StorableText.sanitize(sample.name, maximumBytes: Self.maximumFieldBytes)
            return sample
        }
        return report
    }
}
