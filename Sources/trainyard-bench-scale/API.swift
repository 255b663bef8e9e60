import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The routes the users of bench/scale call.
enum Route: String, CaseIterable, Sendable {
    case submit
    case list
    case describe
}

/// Latencies (ms) and errors per route of one phase of users.
struct UserRun: Sendable {
    var latencies: [Route: [Double]] = [:]
    var errors: [Route: Int] = [:]
}

/// Trainyard's public API as bench/scale's users call it.
struct API: Sendable {
    let http: HTTPClient
    let url: String
    let key: String
    let instanceType: String
    static let counter = Ticket()

    func body(_ name: String, instanceType: String? = nil) -> String {
        #"{"name":"\#(name)","instance_type":"\#(instanceType ?? self.instanceType)","instance_count":1,"command":["python3","train.py"],"output_path":"s3://models/"}"#
    }

    /// The instance type the users submit: another pool, whose few hosts keep their jobs queued (users' jobs starting
    /// hosts of the measured pool would change the load being measured).
    static let usersInstanceType = "ml.c5.xlarge"

    /// One call; answers its status.
    func call(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> Int {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(60))
        _ = try await response.body.collect(upTo: 16 << 20)
        return Int(response.status.code)
    }

    func submit(_ name: String) async throws {
        let status = try await call(.POST, "/v1/jobs", body: body(name))
        guard status == 201 else { throw APIFailure("submitting \(name) answered \(status)") }
    }

    /// Submits `prefix-1` … `prefix-count`, `concurrency` at a time.
    func submitMany(prefix: String, count: Int, concurrency: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let next = Ticket()
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let index = next.take()
                        guard index <= count else { return }
                        try await submit("\(prefix)-\(index)")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// `users` concurrent users for `seconds`, each calling submit, list and describe in turn (describe: one of
    /// `describe`, at random), a call every `interval` seconds (or as soon as the last answered); the latency of each.
    func users(_ users: Int, every interval: Double, for seconds: Double, describe: [String]) async throws -> UserRun {
        let end = ContinuousClock.now + .seconds(seconds)
        return try await withThrowingTaskGroup(of: UserRun.self) { group in
            for user in 0..<users {
                group.addTask {
                    var run = UserRun()
                    var turn = user
                    while ContinuousClock.now < end {
                        let route = Route.allCases[turn % Route.allCases.count]
                        turn += 1
                        let started = ContinuousClock.now
                        let status: Int
                        switch route {
                        case .submit:
                            status = try await call(.POST, "/v1/jobs", body: body("user-\(Self.counter.take())", instanceType: Self.usersInstanceType))
                        case .list: status = try await call(.GET, "/v1/jobs?max_results=50")
                        case .describe: status = try await call(.GET, "/v1/jobs/\(describe.randomElement() ?? "probe-0")")
                        }
                        let elapsed = ContinuousClock.now - started
                        run.latencies[route, default: []].append(elapsed.milliseconds)
                        if !(200..<300).contains(status) { run.errors[route, default: 0] += 1 }
                        try await Task.sleep(until: started + .seconds(interval), clock: .continuous)
                    }
                    return run
                }
            }
            var all = UserRun()
            for try await run in group {
                for (route, values) in run.latencies { all.latencies[route, default: []] += values }
                for (route, count) in run.errors { all.errors[route, default: 0] += count }
            }
            return all
        }
    }
}

struct APIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Hands out 1, 2, 3… to concurrent callers.
final class Ticket: Sendable {
    private let next = Atomic<Int>(1)
    func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
}
