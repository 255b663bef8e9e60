import Foundation
import Trainyard

// bench/sdk's driver: one timed transfer through the SDK, as a user's program makes it, printed as one JSON line
// (seconds, bytes, the process's CPU seconds and peak RSS).
//
//   trainyard-bench-sdk upload   URL KEY ARCHIVE JOB [SHA256]   uploadSourceArchive (PUT /v1/jobs/JOB/source), given
//                                                                the archive's SHA-256 as curl is given its Content-Digest
//   trainyard-bench-sdk download URL KEY JOB FILE        download(.model) checked against its SHA-256
//   trainyard-bench-sdk follow   URL KEY JOB             every line of an ended job through logs(follow: true)

func peakRSSKilobytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 4, let url = URL(string: arguments[1]) else {
    FileHandle.standardError.write(Data("usage: trainyard-bench-sdk upload|download|follow URL KEY …\n".utf8))
    exit(2)
}
let client = TrainyardClient(connection: TrainyardConnection(url: url, apiKey: arguments[2], timeoutSeconds: 3600))
let started = ContinuousClock.now
var bytes: Int64 = 0
var lines = 0
do {
    switch arguments[0] {
    case "upload" where arguments.count == 5 || arguments.count == 6:
        bytes = try await client.uploadSourceArchive(URL(fileURLWithPath: arguments[3]), jobName: arguments[4], sha256: arguments.count == 6 ? arguments[5] : nil).sizeBytes
    case "download" where arguments.count == 5:
        bytes = try await client.download(.model, of: arguments[3], to: URL(fileURLWithPath: arguments[4])).sizeBytes
    case "follow":
        for try await line in TrainingJob(client: client, name: arguments[3]).logs(follow: true) {
            lines += 1
            bytes += Int64(line.message.utf8.count)
        }
    default:
        FileHandle.standardError.write(Data("unknown command or arguments: \(arguments.joined(separator: " "))\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
let elapsed = ContinuousClock.now - started
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(#"{"seconds": \#(seconds), "bytes": \#(bytes), "lines": \#(lines), "cpu_seconds": \#(cpuSeconds()), "peak_rss_kb": \#(peakRSSKilobytes())}"#)
