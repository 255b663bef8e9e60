import Foundation

/// One sample of a host's system metrics, as SageMaker's system monitor names them: `CPUUtilization` (percent, 100
/// per busy core), `MemoryUtilization` (percent of the host's memory), `GPUUtilization` (percent, 100 per busy GPU)
/// and `GPUMemoryUtilization` (percent of the GPUs' memory).
public struct SystemSample: Sendable, Equatable {
    public var name: String
    public var value: Double
    /// Microseconds since 1970.
    public var timeMicros: Int64

    public init(name: String, value: Double, timeMicros: Int64) {
        self.name = name
        self.value = value
        self.timeMicros = timeMicros
    }

    public static let cpuUtilization = "CPUUtilization"
    public static let memoryUtilization = "MemoryUtilization"
    public static let gpuUtilization = "GPUUtilization"
    public static let gpuMemoryUtilization = "GPUMemoryUtilization"
}

/// The parts of `/proc/<pid>/stat` the system monitor adds up over the user's process group.
public struct ProcessStat: Sendable, Equatable {
    public var processGroup: Int32
    /// User plus system CPU time of the process and of its reaped children, in clock ticks.
    public var cpuTicks: Int64
    /// Resident pages.
    public var residentPages: Int64

    public init(processGroup: Int32, cpuTicks: Int64, residentPages: Int64) {
        self.processGroup = processGroup
        self.cpuTicks = cpuTicks
        self.residentPages = residentPages
    }

    /// Parses a `/proc/<pid>/stat` line; the command name (field 2) may hold spaces and parentheses, so fields are
    /// counted from the last `)`.
    public static func parse(_ line: String) -> ProcessStat? {
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        // After the name: state(3) ppid(4) pgrp(5) ... utime(14) stime(15) ... rss(24); fields[0] is field 3.
        // The children's times (cutime, cstime) count too: a short-lived child's CPU time moves into its parent's
        // when it is reaped, and would otherwise vanish from the group's total.
        guard fields.count >= 22, let group = Int32(fields[2]), let user = Int64(fields[11]), let system = Int64(fields[12]),
            let childUser = Int64(fields[13]), let childSystem = Int64(fields[14]), let rss = Int64(fields[21])
        else { return nil }
        return ProcessStat(processGroup: group, cpuTicks: user + system + childUser + childSystem, residentPages: rss)
    }
}

/// One GPU's figures, from `nvidia-smi --query-gpu=index,uuid,utilization.gpu,memory.used,memory.total
/// --format=csv,noheader,nounits` (``GPUReading/query``).
public struct GPUReading: Sendable, Equatable {
    public var index: Int
    public var uuid: String
    /// nil where the GPU does not report it (`[N/A]`, `[Not Supported]`).
    public var utilization: Double?
    public var memoryUsedMiB: Double?
    public var memoryTotalMiB: Double?

    public init(index: Int, uuid: String, utilization: Double?, memoryUsedMiB: Double?, memoryTotalMiB: Double?) {
        self.index = index
        self.uuid = uuid
        self.utilization = utilization
        self.memoryUsedMiB = memoryUsedMiB
        self.memoryTotalMiB = memoryTotalMiB
    }

    /// The fields asked of `nvidia-smi --query-gpu=`, in ``parse(csv:)``'s order.
    public static let query = "index,uuid,utilization.gpu,memory.used,memory.total"

    /// One reading per GPU line, in `nvidia-smi`'s order; a figure that is not a number (`[N/A]`, `[Not Supported]`) is
    /// nil, and the GPU keeps its place.
    public static func parse(csv: String) -> [GPUReading] {
        csv.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 5, let index = Int(fields[0]) else { return nil }
            return GPUReading(
                index: index, uuid: fields[1], utilization: Double(fields[2]), memoryUsedMiB: Double(fields[3]), memoryTotalMiB: Double(fields[4]))
        }
    }

    /// The GPUs a host was given, as CUDA reads `CUDA_VISIBLE_DEVICES` (Slurm's GPU allocation sets it; the rules are
    /// those PyTorch follows to count devices without starting CUDA): unset, every GPU; a list of ordinals (leading
    /// digits of each entry) read up to the first negative or non-numeric one or one past the GPUs there are; or a
    /// list of UUIDs (`GPU-…`, each a unique prefix of one) read up to the first entry that is not one. A repeated
    /// entry makes the list empty. An ordinal is the GPU's place in `nvidia-smi`'s list, which is in PCI bus order (the
    /// order Slurm numbers GPUs in, CUDA's with `CUDA_DEVICE_ORDER=PCI_BUS_ID`), of the GPUs this host can see (a
    /// device cgroup lists only its own).
    public static func visible(_ readings: [GPUReading], cudaVisibleDevices: String?) -> [GPUReading] {
        guard let variable = cudaVisibleDevices else { return readings }
        let entries = variable.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var chosen: [GPUReading] = []
        if let prefix = ["GPU-", "MIG-"].first(where: { variable.hasPrefix($0) }) {
            var seen: Set<String> = []
            for entry in entries {
                guard entry.hasPrefix(prefix) else { break }
                guard seen.insert(entry).inserted else { return [] }
                let matches = readings.filter { $0.uuid.hasPrefix(entry) }
                guard matches.count == 1 else { break }
                chosen.append(matches[0])
            }
            return chosen
        }
        var seen: Set<Int> = []
        for entry in entries {
            guard let ordinal = Int(entry.prefix { $0.isASCII && $0.isNumber }) else { break }
            guard seen.insert(ordinal).inserted else { return [] }
            guard ordinal < readings.count else { break }
            chosen.append(readings[ordinal])
        }
        return chosen
    }

    /// SageMaker's GPU series for a set of readings: utilisation summed over the GPUs that report it, memory as a
    /// share of the memory of those that report both figures; a series no GPU reports is left out.
    public static func samples(_ readings: [GPUReading], timeMicros: Int64) -> [SystemSample] {
        var samples: [SystemSample] = []
        let utilizations = readings.compactMap(\.utilization)
        if !utilizations.isEmpty {
            samples.append(SystemSample(name: SystemSample.gpuUtilization, value: utilizations.reduce(0, +), timeMicros: timeMicros))
        }
        let memory = readings.compactMap { reading in reading.memoryUsedMiB.flatMap { used in reading.memoryTotalMiB.map { (used, $0) } } }
        let total = memory.reduce(0) { $0 + $1.1 }
        if total > 0 {
            samples.append(
                SystemSample(name: SystemSample.gpuMemoryUtilization, value: 100 * memory.reduce(0) { $0 + $1.0 } / total, timeMicros: timeMicros))
        }
        return samples
    }
}
