import Foundation
import Logging
import ServiceLifecycle
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

/// A job's log as Server-Sent Events, from a line id on: each event is one line (`id:` its id, `data:` the line as
/// JSON). The sequence pulls: a batch is read from the store only when the client took the previous one, so a slow
/// client holds at most one batch in memory. With nothing new, it sleeps on its doorbell (rung by the `trainyard_logs`
/// and `trainyard_jobs` notifications) and sends a keep-alive comment every ``keepAlive``; it ends once the job has
/// ended and its last line was sent.
struct LogEventStream: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>

    static let keepAlive: Duration = .seconds(15)
    static let batchLines = 1000
    /// Message bytes read per batch: what one follower holds in memory at most, besides one line.
    static let batchBytes = 1 << 20

    let jobs: any JobRepository
    let logs: any LogRepository
    let followers: LogFollowers
    let jobID: Int64
    let jobName: String
    let host: String?
    let since: Date?
    let afterID: Int64
    /// The caller's slot among its key's open streams, held as long as the stream is.
    var slot: FollowerSlots.Slot? = nil

    func makeAsyncIterator() -> Iterator {
        // Registered before the first read, so that no ring between that read and the first wait is lost.
        Iterator(stream: self, registration: Registration(followers: followers, jobID: jobID, jobName: jobName), cursor: afterID)
    }

    /// Removes the follower once the iterator is gone (the stream ended, or the client went away).
    final class Registration: Sendable {
        let followers: LogFollowers
        let token: Int
        let doorbell: Doorbell

        init(followers: LogFollowers, jobID: Int64, jobName: String) {
            self.followers = followers
            (token, doorbell) = followers.add(jobID: jobID, jobName: jobName)
        }

        deinit { followers.remove(token) }
    }

    struct Iterator: AsyncIteratorProtocol {
        let stream: LogEventStream
        let registration: Registration
        var cursor: Int64
        var jobEnded = false
        var finished = false

        mutating func next() async throws -> ArraySlice<UInt8>? {
            guard !finished else { return nil }
            while true {
                let lines = try await stream.logs.logPage(
                    jobID: stream.jobID, afterID: cursor, host: stream.host, since: stream.since, limit: LogEventStream.batchLines,
                    byteBudget: LogEventStream.batchBytes
                ).lines
                if let last = lines.last {
                    cursor = last.id
                    return ArraySlice(try LogEventStream.encode(lines))
                }
                if jobEnded {
                    finished = true
                    return nil
                }
                // Every host stores its last line before it reports its end, so once the job has ended one more read
                // finds whatever is left.
                if let job = try await stream.jobs.job(id: stream.jobID), job.status.isTerminal {
                    jobEnded = true
                    continue
                }
                // A server shutting down ends its streams at once (the client resumes with Last-Event-ID on the next
                // server, or this one once it is back) instead of holding its shutdown until the job ends.
                if Task.isShuttingDownGracefully {
                    finished = true
                    return nil
                }
                let started = ContinuousClock.now
                let doorbell = registration.doorbell
                await withGracefulShutdownHandler {
                    await doorbell.wait(upTo: LogEventStream.keepAlive)
                } onGracefulShutdown: {
                    doorbell.ring()
                }
                try Task.checkCancellation()
                if Task.isShuttingDownGracefully {
                    finished = true
                    return nil
                }
                if ContinuousClock.now - started >= LogEventStream.keepAlive { return ArraySlice(": keep-alive\n\n".utf8) }
            }
        }
    }

    static func encode(_ lines: [LogLineRecord]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let transcoder = FlexibleDateTranscoder()
        var bytes: [UInt8] = []
        for line in lines {
            let data = try encoder.encode(LogLineWire(id: line.id, host: line.host, time: try transcoder.encode(line.time), message: line.message))
            bytes.append(contentsOf: "id: \(line.id)\ndata: ".utf8)
            bytes.append(contentsOf: data)
            bytes.append(contentsOf: "\n\n".utf8)
        }
        return bytes
    }
}

/// A log line as JSON with the API's date format.
struct LogLineWire: Encodable {
    var id: Int64
    var host: String
    var time: String
    var message: String
}
