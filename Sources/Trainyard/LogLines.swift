public import Foundation
public import OpenAPIRuntime
import TrainyardAPI

/// A job's log lines, oldest first, read as the caller asks for them (one page or one event at a time, never ahead):
/// the lines stored so far, or with `follow` every line until the job has ended, resumed after a dropped connection or
/// a restarting server with `Last-Event-ID`, so that no line is lost or repeated.
public struct LogLines: AsyncSequence, Sendable {
    public typealias Element = LogLine
    let client: TrainyardClient
    let name: String
    let host: String?
    let since: Date?
    /// Start at the last this many lines instead of the first.
    var tail: Int? = nil
    let follow: Bool

    /// A follow holds its connection open as long as the job runs: no deadline, and its own resumption instead of the
    /// per-call retries.
    static let streamTimeout: Duration = .seconds(7 * 86_400)

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        let dates = FlexibleDateTranscoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            try dates.decode(try decoder.singleValueContainer().decode(String.self))
        }
        return decoder
    }()

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(lines: self) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let lines: LogLines
        // Pages.
        var page: [LogLine] = []
        var pageIndex = 0
        var nextToken: String?
        var started = false
        // The stream: its body, read a chunk at a time, and the events of the last chunk not returned yet.
        var body: HTTPBody.AsyncIterator?
        var parser = LogEventParser()
        var ready: [LogEventParser.Event] = []
        var readyIndex = 0
        /// The id of the last event returned: `Last-Event-ID` of a reconnection.
        var lastEvent: LogEventParser.EventID?
        var outage = Outage()
        var ended = false

        init(lines: LogLines) {
            self.lines = lines
        }

        public mutating func next() async throws -> LogLine? {
            try await next(isolation: nil)
        }

        /// The next line, on the caller's executor (a `for try await` loop passes its own; both readers below are
        /// `nonisolated(nonsending)`, so they run there too): a line already received is returned without leaving it, so
        /// a loop on the main actor does not hop to the global executor and back for every line (two thread wake-ups a
        /// line, two thirds of a follow's CPU in bench/sdk); only reading the next chunk or page does.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> LogLine? {
            lines.follow ? try await nextStreamed() : try await nextPaged()
        }

        /// The next event of the chunk last received, if one is left.
        private mutating func takeReady() -> LogLine? {
            guard readyIndex < ready.count else { return nil }
            let event = ready[readyIndex]
            readyIndex += 1
            lastEvent = event.id ?? .number(event.line.id)
            return event.line
        }

        nonisolated(nonsending) mutating func nextPaged() async throws -> LogLine? {
            while pageIndex == page.count {
                if started && nextToken == nil { return nil }
                // The tail says where the first page starts; each page's token where the next does.
                let answer = try await lines.client.logPage(
                    of: lines.name, host: lines.host, since: lines.since, tail: started ? nil : lines.tail, nextToken: nextToken)
                started = true
                page = answer.lines
                pageIndex = 0
                nextToken = answer.nextToken
            }
            defer { pageIndex += 1 }
            return page[pageIndex]
        }

        nonisolated(nonsending) mutating func nextStreamed() async throws -> LogLine? {
            while !ended {
                if let line = takeReady() { return line }
                do {
                    if body == nil {
                        let stream = lines.client.connection.makeClient(timeout: LogLines.streamTimeout, retries: false)
                        // A reconnection resumes after the last line returned (the server then leaves the tail aside).
                        let (name, host, since, tail, lastID) = (lines.name, lines.host, lines.since, lines.tail, lastEvent?.text)
                        let answer = try await lines.client.call {
                            try await stream.getJobLogs(
                                path: .init(name: name), query: .init(host: host, since: since, tail: tail, follow: true),
                                headers: .init(lastEventID: lastID)
                            ).ok.body.textEventStream
                        }
                        outage.answered()
                        parser = LogEventParser()
                        body = answer.makeAsyncIterator()
                    }
                    guard let chunk = try await body?.next(isolation: #isolation) else {
                        // The stream ends when the job has ended and its last line was sent, and also when the server
                        // shuts down or a proxy cuts it: only the first ends the follow.
                        body = nil
                        if try await lines.client.describeJob(lines.name).status.hasEnded {
                            ended = true
                            return nil
                        }
                        try await outage.wait(after: TrainyardError.unavailable(Problem(title: "stream ended", status: 503)), pause: .milliseconds(200))
                        continue
                    }
                    ready = try parser.feed(chunk)
                    readyIndex = 0
                } catch let error as TrainyardError {
                    // An answer that refuses the follow (an unknown job, a revoked key) ends it; no answer is waited out.
                    guard error.isTransient else { throw error }
                    body = nil
                    try await outage.wait(after: error, pause: .seconds(1))
                } catch is CancellationError {
                    throw CancellationError()
                } catch is DecodingError {
                    throw TrainyardError.unexpectedResponse(status: 200, body: "a log event that is not a log line")
                } catch {
                    // The stream broke in the middle (the server went away): resume after the last line returned.
                    body = nil
                    try await outage.wait(after: error, pause: .seconds(1))
                }
            }
            return nil
        }
    }
}
