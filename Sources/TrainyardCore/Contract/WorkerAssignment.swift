/// What the server hands one worker host of one attempt: everything the agent needs to lay
/// out the SageMaker training-container contract and run the job there.
///
/// JSON keys are snake_case (`job_name`, `host_name`, `memory_gib`, …); a missing
/// `master_port` reads as `7777`.
public struct WorkerAssignment: Sendable, Equatable {
    /// The job's name (`TRAINING_JOB_NAME`).
    public var jobName: String
    /// The job's ARN (`TRAINING_JOB_ARN`).
    public var jobARN: String
    /// The attempt number, from 1.
    public var attempt: Int
    /// This host's name, for example `algo-2`.
    public var hostName: String
    /// Every host of the attempt, `algo-1` … `algo-N`, in order.
    public var hosts: [String]
    /// The catalog instance type of every host, for example `ml.g5.2xlarge`.
    public var instanceType: String
    /// Virtual CPUs of this host (`SM_NUM_CPUS`).
    public var vcpus: Int
    /// GPUs of this host (`SM_NUM_GPUS`).
    public var gpus: Int
    /// Memory of this host in GiB.
    public var memoryGiB: Double
    /// The region reported to the job (`AWS_REGION`).
    public var region: String
    /// The job's spec.
    public var spec: JobSpec
    /// Seconds between the agent's heartbeats.
    public var heartbeatIntervalSeconds: Double
    /// Seconds between SIGTERM and SIGKILL when the attempt is stopped.
    public var stopGraceSeconds: Double
    /// The rendezvous port on the first host (`SM_MASTER_PORT`, `MASTER_PORT`).
    public var masterPort: Int
    /// The object-store URI this attempt's per-host archives go under, for example
    /// `s3://models/job/attempts/1`.
    public var outputPrefix: String
    /// Seconds a reclaimed host has between its notice (SIGTERM) and being taken away (a spot interruption's notice
    /// period; AWS gives two minutes).
    public var spotNoticeSeconds: Double
    /// Seconds between checkpoint syncs while the command runs (a final sync follows its end).
    public var checkpointSyncIntervalSeconds: Double

    /// Creates an assignment.
    public init(
        jobName: String,
        jobARN: String,
        attempt: Int,
        hostName: String,
        hosts: [String],
        instanceType: String,
        vcpus: Int,
        gpus: Int,
        memoryGiB: Double,
        region: String,
        spec: JobSpec,
        heartbeatIntervalSeconds: Double,
        stopGraceSeconds: Double,
        masterPort: Int = 7777,
        outputPrefix: String,
        spotNoticeSeconds: Double = 120,
        checkpointSyncIntervalSeconds: Double = 10
    ) {
        self.spotNoticeSeconds = spotNoticeSeconds
        self.checkpointSyncIntervalSeconds = checkpointSyncIntervalSeconds
        self.jobName = jobName
        self.jobARN = jobARN
        self.attempt = attempt
        self.hostName = hostName
        self.hosts = hosts
        self.instanceType = instanceType
        self.vcpus = vcpus
        self.gpus = gpus
        self.memoryGiB = memoryGiB
        self.region = region
        self.spec = spec
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        self.stopGraceSeconds = stopGraceSeconds
        self.masterPort = masterPort
        self.outputPrefix = outputPrefix
    }

    /// The 0-based position of ``hostName`` in ``hosts``; `nil` when it is not there.
    public var hostIndex: Int? { hosts.firstIndex(of: hostName) }
}
