import Foundation
import Logging
import TrainyardCore

#if canImport(Glibc)
import Glibc
#endif

/// Samples the user's command every interval, as SageMaker's system monitor does per host: CPU and memory of the
/// command's process group (on local workers several hosts share one machine, so the machine's own figures would mix
/// them), and the GPUs `nvidia-smi` reports, when it is installed: those `CUDA_VISIBLE_DEVICES` gives the host (a
/// Slurm node shared by several jobs has GPUs of each), all of them without it.
struct SystemMonitor: Sendable {
    let processGroup: Int32
    let interval: Double
    let logger: Logger

    /// Samples until cancelled, handing each set of samples to `deliver`.
    func run(deliver: @Sendable ([SystemSample]) -> Void) async {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageBytes = Double(sysconf(Int32(_SC_PAGESIZE)))
        let memoryBytes = Self.memoryTotalBytes()
        let smi = Self.nvidiaSMI()
        let visibleDevices = ProcessInfo.processInfo.environment["CUDA_VISIBLE_DEVICES"]
        var previous: (ticks: Int64, time: ContinuousClock.Instant)?
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
            let (ticks, pages) = Self.groupUsage(processGroup)
            var samples: [SystemSample] = []
            if let previous {
                let seconds = (now - previous.time) / .seconds(1)
                if seconds > 0 {
                    let busy = Double(max(0, ticks - previous.ticks)) / ticksPerSecond
                    samples.append(SystemSample(name: SystemSample.cpuUtilization, value: 100 * busy / seconds, timeMicros: micros))
                }
            }
            if memoryBytes > 0 {
                samples.append(SystemSample(name: SystemSample.memoryUtilization, value: 100 * Double(pages) * pageBytes / memoryBytes, timeMicros: micros))
            }
            if let smi {
                let readings = GPUReading.visible(await Self.readGPUs(smi, logger: logger), cudaVisibleDevices: visibleDevices)
                samples += GPUReading.samples(readings, timeMicros: micros)
            }
            previous = (ticks, now)
            if !samples.isEmpty { deliver(samples) }
            try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    /// CPU ticks and resident pages of every process in `group`.
    static func groupUsage(_ group: Int32) -> (ticks: Int64, pages: Int64) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return (0, 0) }
        var ticks: Int64 = 0
        var pages: Int64 = 0
        for entry in entries where entry.first?.isNumber == true {
            guard let line = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), let stat = ProcessStat.parse(line),
                stat.processGroup == group
            else { continue }
            ticks += stat.cpuTicks
            pages += stat.residentPages
        }
        return (ticks, pages)
    }

    static func memoryTotalBytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kib * 1024
    }

    /// `nvidia-smi` on the PATH, if any.
    static func nvidiaSMI() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/nvidia-smi" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func readGPUs(_ smi: String, logger: Logger) async -> [GPUReading] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: smi)
        process.arguments = ["--query-gpu=\(GPUReading.query)", "--format=csv,noheader,nounits"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            logger.debug("nvidia-smi could not be started", metadata: ["error": "\(error)"])
            return []
        }
        // Read on a thread: a blocking read must not hold a thread of the concurrency pool.
        let reading = output.fileHandleForReading
        let data = await BlockingWork.run { reading.readDataToEndOfFile() }
        process.waitUntilExit()
        return GPUReading.parse(csv: String(decoding: data, as: UTF8.self))
    }
}
