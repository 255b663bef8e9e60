/// The shape of one instance type: what a single host of that type offers a job.
public struct InstanceTypeShape: Sendable, Hashable, Codable {
    /// The SageMaker name, for example `ml.p4d.24xlarge`.
    public var name: String
    /// Virtual CPUs per host.
    public var vcpus: Int
    /// NVIDIA GPUs per host.
    public var gpus: Int
    /// Other accelerators per host (AWS Trainium chips); `0` for everything else.
    public var accelerators: Int
    /// Memory per host in GiB.
    public var memoryGiB: Double

    /// Creates a shape.
    public init(name: String, vcpus: Int, gpus: Int, accelerators: Int = 0, memoryGiB: Double) {
        self.name = name
        self.vcpus = vcpus
        self.gpus = gpus
        self.accelerators = accelerators
        self.memoryGiB = memoryGiB
    }

    private enum CodingKeys: String, CodingKey {
        case name
        case vcpus
        case gpus
        case accelerators
        case memoryGiB = "memory_gib"
    }

    /// Decodes a shape; a missing `accelerators` reads as `0`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.name = try container.decode(String.self, forKey: .name)
        self.vcpus = try container.decode(Int.self, forKey: .vcpus)
        self.gpus = try container.decode(Int.self, forKey: .gpus)
        self.accelerators = try container.decodeIfPresent(Int.self, forKey: .accelerators) ?? 0
        self.memoryGiB = try container.decode(Double.self, forKey: .memoryGiB)
    }
}
