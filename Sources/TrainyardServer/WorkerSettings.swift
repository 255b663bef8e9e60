import Foundation
import Synchronization
import TrainyardCore
public import TrainyardProvisioning

/// Timing of the worker protocol, from the configuration.
public struct WorkerSettings: Sendable {
    /// Seconds between agent heartbeats (`TRAINYARD_HEARTBEAT_INTERVAL`, default 2).
    public var heartbeatInterval: Double
    /// Seconds a host may stay silent before it is judged lost (`TRAINYARD_HOST_LEASE`, default 20).
    public var hostLease: Double
    /// Seconds between SIGTERM and SIGKILL on stop and max_run (`TRAINYARD_STOP_GRACE`, default 120 as SageMaker).
    public var stopGrace: Double
    /// Seconds an agent keeps trying while the server is unreachable before it stops its command, keeps its spool and
    /// outputs on disk and exits (`TRAINYARD_AGENT_OUTAGE_LIMIT`, default 3600: well past any restart).
    public var agentOutageLimit: Double = 3600
    /// Seconds a launched host has to call in before it is judged lost (`TRAINYARD_LAUNCH_TIMEOUT`, default 120).
    public var launchTimeout: Double
    /// Seconds between the agents' system-metric samples (`TRAINYARD_SYSTEM_METRICS_INTERVAL`, default 5).
    public var systemMetricsInterval: Double
    /// Seconds a reclaimed host has between its notice and being taken away (`TRAINYARD_SPOT_NOTICE`, default 120 as
    /// AWS's two-minute spot notice).
    public var spotNotice: Double
    /// Seconds between checkpoint syncs while a command runs (`TRAINYARD_CHECKPOINT_SYNC_INTERVAL`, default 10).
    public var checkpointSyncInterval: Double
    /// The local provisioner's simulated spot market (`TRAINYARD_SPOT_INTERRUPTION_RATE` per spot host-hour, default
    /// 0: off; `TRAINYARD_SPOT_SEED`, default 1).
    public var spotMarket: SpotMarket
    /// The uids local workers' commands run as when the service runs as root (`TRAINYARD_WORKER_UIDS`, `start-end`,
    /// default 3000000-3999999): each attempt gets `start + attempt id mod count`, its own.
    public var commandUIDs: ClosedRange<UInt32> = 3_000_000...3_999_999
    /// Hours a local host's worker directory is kept after its agent ended, for debugging
    /// (`TRAINYARD_KEEP_WORKER_DIRS_HOURS`, default 0: removed as soon as its outputs are uploaded).
    public var keepWorkerDirectoriesHours: Double = 0
    /// MiB of log lines not yet shipped that an agent's spool holds at most (`TRAINYARD_LOG_SPOOL_MIB`, default 256);
    /// past it lines are dropped, and the job's events say how many.
    public var logSpoolLimitMiB: Double = 256
    /// GiB of disk a host gets when its job has no `volume_size` (`TRAINYARD_DEFAULT_VOLUME_SIZE`, default 30, the
    /// SageMaker SDK's default).
    public var defaultVolumeSizeGiB: Int = 30
    /// GiB kept free on the disk of the data directory, where the embedded PostgreSQL lives
    /// (`TRAINYARD_DISK_RESERVE_GIB`, default 2): no host starts below it, and a running command is stopped before the
    /// disk comes down to it.
    public var diskReserveGiB: Double = 2
    /// How local workers' disks are bounded (`TRAINYARD_WORKER_VOLUMES`): `auto` (default) gives each host a volume of
    /// its own where the service can (root, loop devices), else watches the directories; `watch` always watches.
    public var workerVolumes: WorkerVolumeMode = .auto

    /// ``diskReserveGiB`` in bytes.
    var diskReserveBytes: Int64 { Int64(diskReserveGiB * 1_073_741_824) }
    /// ``logSpoolLimitMiB`` in bytes.
    var logSpoolLimitBytes: Int64 { Int64(logSpoolLimitMiB * 1_048_576) }

    public init(
        heartbeatInterval: Double = 2, hostLease: Double = 20, stopGrace: Double = 120, launchTimeout: Double = 120, systemMetricsInterval: Double = 5,
        spotNotice: Double = 120, checkpointSyncInterval: Double = 10, spotMarket: SpotMarket = SpotMarket(interruptionsPerHostHour: 0, seed: 1)
    ) {
        self.spotNotice = spotNotice
        self.checkpointSyncInterval = checkpointSyncInterval
        self.spotMarket = spotMarket
        self.systemMetricsInterval = systemMetricsInterval
        self.heartbeatInterval = heartbeatInterval
        self.hostLease = hostLease
        self.stopGrace = stopGrace
        self.launchTimeout = launchTimeout
    }
}

/// The server's own URL once it listens (port 0 picks one), for agents to call back, and whether it still listens:
/// hosts are only judged while their heartbeats can arrive.
final class ServerAddress: Sendable {
    private let url = Mutex<String?>(nil)
    private let listening = Atomic<Bool>(false)

    var isListening: Bool { listening.load(ordering: .acquiring) }

    func setListening(_ value: Bool) { listening.store(value, ordering: .releasing) }

    func set(host: String, port: Int) {
        let reachable = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        url.withLock { $0 = "http://\(reachable):\(port)" }
    }

    var value: String? { url.withLock { $0 } }
}
