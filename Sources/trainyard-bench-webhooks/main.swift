import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// bench/webhooks' tools: a receiver that records when each webhook arrived, and the baseline sender.
@main
struct BenchWebhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainyard-bench-webhooks", abstract: "The receiver and the baseline sender of bench/webhooks.", subcommands: [Receive.self, Post.self])
}

/// Answers 200 to every POST and, once `--expect` requests arrived (or at SIGTERM/SIGINT), writes one line per request:
/// `<arrival unix seconds> <webhook-id> <the body's data.time or -> <data.job_name or ->`.
struct Receive: AsyncParsableCommand {
    @Option var port: Int
    @Option var out: String
    @Option var expect: Int = .max

    func run() async throws {
        let lines = Mutex<[String]>([])
        let done = AsyncStream<Void>.makeStream()
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let arrival = Date().timeIntervalSince1970
            let body = try await request.body.collect(upTo: 1 << 20)
            let id = request.headers.first { $0.name.canonicalName == "webhook-id" }?.value ?? "-"
            var time = "-"
            var job = "-"
            if let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                let data = object["data"] as? [String: Any]
            {
                time = data["time"] as? String ?? "-"
                job = data["job_name"] as? String ?? "-"
            }
            let count = lines.withLock {
                $0.append(String(format: "%.6f %@ %@ %@", arrival, id, time, job))
                return $0.count
            }
            if count == expect { done.continuation.yield() }
            return Response(status: .ok)
        }
        var logger = Logger(label: "bench.receiver")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                for await _ in done.stream { break }
                await group.triggerGracefulShutdown()
            }
            try await tasks.next()
            tasks.cancelAll()
        }
        try (lines.withLock { $0 }.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
    }
}

/// The baseline: POSTs every body of `--bodies` (one JSON per line) to `--url` with `--concurrency` requests in
/// flight, through AsyncHTTPClient as the server's sender does; prints the seconds it took.
struct Post: AsyncParsableCommand {
    @Option var url: String
    @Option var bodies: String
    @Option var concurrency: Int = 64

    func run() async throws {
        let all = try String(contentsOfFile: bodies, encoding: .utf8).split(separator: "\n").map(String.init)
        let next = Cursor()
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let index = next.value.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard index < all.count else { return }
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.headers.add(name: "webhook-id", value: "baseline-\(index)")
                        request.body = .bytes(ByteBuffer(string: all[index]))
                        // A connection the receiver closed is tried again, as the server's sender would (up to 3 times).
                        for attempt in 1...3 {
                            do {
                                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                                _ = try await response.body.collect(upTo: 1 << 20)
                                break
                            } catch where attempt < 3 {
                                continue
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        print(String(format: "%.6f", (ContinuousClock.now - started) / .seconds(1)))
    }
}

final class Cursor: Sendable {
    let value = Atomic<Int>(0)
}
