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
    public var utilization: Double
    public var memoryUsedMiB: Double
    public var memoryTotalMiB: Double

    public init(index: Int, uuid: String, utilization: Double, memoryUsedMiB: Double, memoryTotalMiB: Double) {
        self.index = index
        self.uuid = uuid
        self.utilization = utilization
        self.memoryUsedMiB = memoryUsedMiB
        self.memoryTotalMiB = memoryTotalMiB
    }

    /// The fields asked of `nvidia-smi --query-gpu=`, in ``parse(csv:)``'s order.
    public static let query = "index,uuid,utilization.gpu,memory.used,memory.total"

    /// One reading per GPU line; a line whose figures are not numbers (`[N/A]`, `[Not Supported]`) is skipped.
    public static func parse(csv: String) -> [GPUReading] {
        csv.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 5, let index = Int(fields[0]), let utilization = Double(fields[2]), let used = Double(fields[3]),
                let total = Double(fields[4])
            else { return nil }
            return GPUReading(index: index, uuid: fields[1], utilization: utilization, memoryUsedMiB: used, memoryTotalMiB: total)
        }
    }

    /// The GPUs a host was given, as CUDA reads `CUDA_VISIBLE_DEVICES` (Slurm's GPU allocation sets it): entries are
    /// indices or UUIDs (`GPU-…`, or a prefix of one), read up to the first that is neither; unset, every GPU; empty or
    /// `-1`, none. When it names GPUs by index only and `nvidia-smi` lists none of them (a device cgroup may number
    /// what it lets through from 0), the GPUs listed are the host's; a UUID is the same everywhere, and one not listed
    /// is not the host's.
    public static func visible(_ readings: [GPUReading], cudaVisibleDevices: String?) -> [GPUReading] {
        guard let variable = cudaVisibleDevices else { return readings }
        var chosen: [GPUReading] = []
        var indices = 0
        var uuids = 0
        for entry in variable.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let index = Int(entry) {
                guard index >= 0 else { break }
                indices += 1
                if let reading = readings.first(where: { $0.index == index }), !chosen.contains(reading) { chosen.append(reading) }
            } else if entry.hasPrefix("GPU-") || entry.hasPrefix("MIG-") {
                uuids += 1
                let matches = readings.filter { $0.uuid.hasPrefix(entry) }
                if matches.count == 1, !chosen.contains(matches[0]) { chosen.append(matches[0]) }
            } else {
                break
            }
        }
        if indices > 0 && uuids == 0 && chosen.isEmpty { return readings }
        return chosen
    }

    /// SageMaker's GPU series for a set of readings: utilisation summed over GPUs, memory as a share of all of it.
    public static func samples(_ readings: [GPUReading], timeMicros: Int64) -> [SystemSample] {
        guard !readings.isEmpty else { return [] }
        let total = readings.reduce(0) { $0 + $1.memoryTotalMiB }
        return [
            SystemSample(name: SystemSample.gpuUtilization, value: readings.reduce(0) { $0 + $1.utilization }, timeMicros: timeMicros),
            SystemSample(
                name: SystemSample.gpuMemoryUtilization, value: total > 0 ? 100 * readings.reduce(0) { $0 + $1.memoryUsedMiB } / total : 0,
                timeMicros: timeMicros),
        ]
    }
}
