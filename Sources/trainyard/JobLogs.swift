import ArgumentParser
import Foundation
import OpenAPIRuntime
import Trainyard
import TrainyardAPI

#if canImport(Glibc)
import Glibc
#endif

/// `trainyard jobs logs NAME [-f] [--host algo-2]`: a job's log lines with a host prefix (coloured on a terminal).
struct JobLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a job's log lines, oldest first; with -f, follow them until the job ends.")

    @Argument var name: String
    @Flag(name: [.short, .long], help: "Follow new lines until the job has ended (resumes by itself after a dropped connection).")
    var follow = false
    @Option(help: "Only this worker host's lines, e.g. algo-2.") var host: String?
    @Option(help: "Only lines written at or after this ISO 8601 time.") var since: String?
    @Flag(help: "Print each line as a JSON object {id, host, time, message}.") var json = false

    func run() async throws {
        try await runReportingErrors {
            var start: Date?
            if let since {
                guard let date = try? FlexibleDateTranscoder().decode(since) else {
                    throw CLIError.input("--since \(since) is not an ISO 8601 date-time such as 2026-11-25T09:30:00Z")
                }
                start = date
            }
            let printer = LogPrinter(client: try TrainyardConnection.fromEnvironment().makeClient(), name: name, host: host, since: start, json: json)
            if follow { try await printer.follow() } else { try await printer.printAll() }
        }
    }
}

/// Prints log lines: `algo-1 | message`, the host in a colour of its own when standard output is a terminal (and
/// `NO_COLOR` is not set), or one JSON object per line.
struct LogPrinter: Sendable {
    let client: Client
    let name: String
    let host: String?
    let since: Date?
    let json: Bool
    let colour = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    /// Every page, following `next_token`.
    func printAll() async throws {
        var token: String?
        repeat {
            let page = try await self.page(token: token)
            for line in page.lines { print(line) }
            fflush(nil)
            token = page.nextToken
        } while token != nil
    }

    /// Follows the SSE stream until the job has ended; after a dropped connection it reconnects with `Last-Event-ID`,
    /// so no line is printed twice or skipped.
    func follow() async throws {
        var lastID: String?
        var window = ReconnectWindow()
        while true {
            do {
                let response = try await client.getJobLogs(
                    path: .init(name: name), query: .init(host: host, since: since, follow: true), headers: .init(lastEventID: lastID))
                let body: HTTPBody
                switch response {
                case .ok(let ok): body = try ok.body.textEventStream
                case .badRequest(let response): try fail(response)
                case .unauthorized(let response): try fail(response)
                case .notFound(let response): try fail(response)
                case .unprocessableContent(let response): try fail(response)
                case .tooManyRequests(let response): try fail(response)
                case .undocumented(let status, _): throw CLIError.unexpected(status: status)
                }
                window.answered()
                for try await event in body.asDecodedServerSentEvents() {
                    guard let data = event.data else { continue }
                    let line = try JSONDecoder().decode(WireLine.self, from: Data(data.utf8))
                    print(line)
                    fflush(nil)
                    lastID = event.id ?? String(line.id)
                }
                return
            } catch let error as CLIError {
                throw error
            } catch {
                try await window.retry(after: error, pause: .seconds(1))
            }
        }
    }

    private func page(token: String?) async throws -> Components.Schemas.LogPage {
        switch try await client.getJobLogs(path: .init(name: name), query: .init(host: host, since: since, nextToken: token)) {
        case .ok(let ok): return try ok.body.json
        case .badRequest(let response): try fail(response)
        case .unauthorized(let response): try fail(response)
        case .notFound(let response): try fail(response)
        case .unprocessableContent(let response): try fail(response)
        case .tooManyRequests(let response): try fail(response)
        case .undocumented(let status, _): throw CLIError.unexpected(status: status)
        }
    }

    private func print(_ line: Components.Schemas.LogLine) {
        print(WireLine(id: line.id, host: line.host, time: (try? FlexibleDateTranscoder().encode(line.time)) ?? "", message: line.message))
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

/// A log line as the SSE `data:` carries it.
struct WireLine: Codable, Sendable {
    var id: Int64
    var host: String
    var time: String
    var message: String
}
