/// How a multi-host job's processes find each other (the rendezvous environment).
///
/// JSON: `{"torch_distributed": {"enabled": true}}` or
/// `{"mpi": {"enabled": true, "processes_per_host": 8}}`, as in the SageMaker Python SDK.
public struct Distribution: Sendable, Equatable, Codable {
    /// Launch with `torchrun` (`torch_distributed.enabled`).
    public var torchDistributedEnabled: Bool
    /// Launch with MPI (`mpi.enabled`).
    public var mpiEnabled: Bool
    /// MPI processes per host (`mpi.processes_per_host`); one per GPU when absent.
    public var mpiProcessesPerHost: Int?

    /// Creates a distribution setting.
    public init(torchDistributedEnabled: Bool = false, mpiEnabled: Bool = false, mpiProcessesPerHost: Int? = nil) {
        self.torchDistributedEnabled = torchDistributedEnabled
        self.mpiEnabled = mpiEnabled
        self.mpiProcessesPerHost = mpiProcessesPerHost
    }

    private enum CodingKeys: String, CodingKey {
        case torchDistributed = "torch_distributed"
        case mpi
    }

    private enum EnabledKeys: String, CodingKey {
        case enabled
        case processesPerHost = "processes_per_host"
    }

    /// Decodes the SDK's nested shape; missing parts read as disabled.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var torch = false
        var mpi = false
        var processes: Int?
        if container.contains(.torchDistributed), try !container.decodeNil(forKey: .torchDistributed) {
            let nested = try container.nestedContainer(keyedBy: EnabledKeys.self, forKey: .torchDistributed)
            torch = try nested.decodeIfPresent(Bool.self, forKey: .enabled) ?? false
        }
        if container.contains(.mpi), try !container.decodeNil(forKey: .mpi) {
            let nested = try container.nestedContainer(keyedBy: EnabledKeys.self, forKey: .mpi)
            mpi = try nested.decodeIfPresent(Bool.self, forKey: .enabled) ?? false
            processes = try nested.decodeIfPresent(Int.self, forKey: .processesPerHost)
        }
        self.init(torchDistributedEnabled: torch, mpiEnabled: mpi, mpiProcessesPerHost: processes)
    }

    /// Encodes only the parts that are set.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if torchDistributedEnabled {
            var nested = container.nestedContainer(keyedBy: EnabledKeys.self, forKey: .torchDistributed)
            try nested.encode(true, forKey: .enabled)
        }
        if mpiEnabled || mpiProcessesPerHost != nil {
            var nested = container.nestedContainer(keyedBy: EnabledKeys.self, forKey: .mpi)
            try nested.encode(mpiEnabled, forKey: .enabled)
            try nested.encodeIfPresent(mpiProcessesPerHost, forKey: .processesPerHost)
        }
    }
}
