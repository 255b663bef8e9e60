import ArgumentParser
import Foundation
import Trainyard
import TrainyardAPI

#if canImport(Glibc)
import Glibc
#endif

/// `trainyard jobs logs NAME [-f] [--host algo-2] [--tail 100] [--since 10m]`: a job's log lines with a host prefix
/// (coloured on a terminal).
struct JobLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a job's log lines, oldest first; with -f, follow them until the job ends.")

    @Argument var name: String
    @Flag(name: [.short, .long], help: "Follow new lines until the job has ended (resumes by itself after a dropped connection).")
    var follow = false
    @Option(help: "Only this worker host's lines, e.g. algo-2.") var host: String?
    @Option(help: "Only lines written at or after this time: ISO 8601 (2026-11-25T09:30:00Z) or an age (90s, 10m, 2h, 1d, 1h30m).")
    var since: String?
    @Option(name: [.customShort("n"), .long], help: "Start at the last N lines (1 to 10000), as tail -n does; with -f, then follow.")
    var tail: Int?
    @Flag(help: "Print each line as a JSON object {id, host, time, message}.") var json = false

    func run() async throws {
        try await runReportingErrors {
            var start: Date?
            if let since {
                guard let date = LogSince.parse(since, now: Date()) else {
                    throw CLIError.input("--since \(since) is neither an ISO 8601 date-time such as 2026-11-25T09:30:00Z nor an age such as 10m, 2h or 1d")
                }
                start = date
            }
            let job = TrainingJob(client: try TrainyardClient(), name: name)
            try await LogPrinter(json: json).print(job.logs(host: host, since: start, tail: tail, follow: follow))
        }
    }
}

/// `--since`: a time, or how long ago (`aws logs tail --since 10m`, `docker logs --since 2h`).
enum LogSince {
    /// An ISO 8601 date-time, or an age of whole numbers with units `s`, `m`, `h`, `d` (`90s`, `10m`, `1h30m`)
    /// counted back from `now`; nil for anything else.
    static func parse(_ text: String, now: Date) -> Date? {
        if let date = try? FlexibleDateTranscoder().decode(text) { return date }
        var seconds = 0.0
        var digits = ""
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            let unit: Double
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3_600
            case "d": unit = 86_400
            default: return nil
            }
            guard let value = Double(digits) else { return nil }
            seconds += value * unit
            digits = ""
        }
        guard digits.isEmpty, !text.isEmpty else { return nil }
        return now.addingTimeInterval(-seconds)
    }
}

/// Prints log lines: `algo-1 | message`, the host in a colour of its own when standard output is a terminal (and
/// `NO_COLOR` is not set), or one JSON object per line.
struct LogPrinter: Sendable {
    let json: Bool
    let colour = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    /// Every line of `lines`, each flushed as it comes.
    func print(_ lines: LogLines) async throws {
        for try await line in lines {
            print(WireLine(id: line.id, host: line.host, time: (try? FlexibleDateTranscoder().encode(line.time)) ?? "", message: line.message))
            fflush(nil)
        }
    }

    private func print(_ line: WireLine) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            Swift.print(String(decoding: (try? encoder.encode(line)) ?? Data(), as: UTF8.self))
        } else if colour {
            Swift.print("\u{1B}[\(Self.colourCode(for: line.host))m\(line.host)\u{1B}[0m | \(line.message)")
        } else {
            Swift.print("\(line.host) | \(line.message)")
        }
    }

    /// One of six colours, by host number (algo-1 cyan, algo-2 yellow, …).
    static func colourCode(for host: String) -> Int {
        let codes = [36, 33, 35, 32, 34, 31]
        let number = Int(host.split(separator: "-").last ?? "") ?? 1
        return codes[(max(number, 1) - 1) % codes.count]
    }
}

/// A log line as `--json` prints it.
struct WireLine: Codable, Sendable {
    var id: Int64
    var host: String
    var time: String
    var message: String
}
