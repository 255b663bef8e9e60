import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Trainyard
import TrainyardTestSupport

/// One Server-Sent Event as a test client reads it.
struct SSEEvent: Sendable, Equatable {
    var id: String?
    var data: String

    /// The line the event carries, as JSON.
    var line: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:] }
}

extension LiveApp {
    /// Every stored line of a job, page by page (`next_token`), oldest first.
    func allLogLines(_ name: String, query: String = "") async throws -> [[String: Any]] {
        var lines: [[String: Any]] = []
        var token: String?
        repeat {
            let path = "/v1/jobs/\(name)/logs?limit=10000\(query)" + (token.map { "&next_token=\($0)" } ?? "")
            let (status, body) = try await LiveHTTP.request(.GET, baseURL + path, token: self.token)
            guard status == 200, let page = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
                throw TestFailure("logs answered \(status): \(body.prefix(300))")
            }
            lines += page["lines"] as? [[String: Any]] ?? []
            token = page["next_token"] as? String
        } while token != nil
        return lines
    }

    /// Follows a job's log over SSE (from `lastEventID` when given) until `enough` says so or the server ends the
    /// stream; answers the events and whether the server ended it.
    func followLogs(
        _ name: String, lastEventID: String? = nil, query: String = "", timeout: Duration = .seconds(90), until enough: ([SSEEvent]) -> Bool = { _ in false }
    ) async throws -> (events: [SSEEvent], ended: Bool) {
        var request = HTTPClientRequest(url: baseURL + "/v1/jobs/\(name)/logs?follow=true" + query)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        guard response.status == .ok, response.headers["Content-Type"].first?.hasPrefix("text/event-stream") == true else {
            throw TestFailure("follow answered \(response.status) \(response.headers["Content-Type"])")
        }
        let deadline = ContinuousClock.now + timeout
        var events: [SSEEvent] = []
        var pending = ""
        for try await chunk in response.body {
            pending += String(buffer: chunk)
            while let end = pending.range(of: "\n\n") {
                let block = pending[..<end.lowerBound]
                pending = String(pending[end.upperBound...])
                var event = SSEEvent(id: nil, data: "")
                var hasData = false
                for field in block.split(separator: "\n") {
                    if field.hasPrefix("id: ") { event.id = String(field.dropFirst(4)) }
                    if field.hasPrefix("data: ") {
                        event.data = String(field.dropFirst(6))
                        hasData = true
                    }
                }
                if hasData { events.append(event) }
            }
            if enough(events) { return (events, false) }
            if ContinuousClock.now > deadline { throw TestFailure("the log stream of \(name) did not end within \(timeout)") }
        }
        return (events, true)
    }
}

/// Logs and metrics end to end: real agents print, ship and are followed through the real server.
@Suite(.serialized) struct LogTests {
    /// The messages of `lines` by host, in the order given.
    static func byHost(_ lines: [[String: Any]]) -> [String: [String]] {
        var hosts: [String: [String]] = [:]
        for line in lines { hosts[line["host"] as? String ?? "?", default: []].append(line["message"] as? String ?? "") }
        return hosts
    }

    @Test func everyLineOfTwoChattyHostsIsStoredOnceInOrder() async throws {
        // A lease longer than the 3 s of the fast settings: this test is about lines, and on two shared cores a busy
        // suite has stalled a chatty host's heartbeats past 3 s.
        var workers = LiveApp.fastWorkers
        workers.hostLease = 15
        try await LiveApp.run(workers: workers) { app in
            let count = 50_000
            try await app.submit(try WorkerTests.job(app, "chatty", count: 2, script: "seq 1 \(count) | sed \"s/^/$SM_CURRENT_HOST /\""))
            try await app.waitForStatus("chatty", "Completed", timeout: .seconds(120))
            let lines = try await app.allLogLines("chatty")
            #expect(lines.count == 2 * count)
            let ids = lines.compactMap { $0["id"] as? Int }
            #expect(ids == ids.sorted() && Set(ids).count == ids.count)
            let hosts = Self.byHost(lines)
            for host in ["algo-1", "algo-2"] {
                #expect(hosts[host] == (1...count).map { "\(host) \($0)" }, "\(host)'s lines are not 1…\(count) once each, in order")
            }
            // One host only, through the filter.
            #expect(try await app.allLogLines("chatty", query: "&host=algo-2").count == count)
        }
    }

    @Test func awkwardOutputIsKeptAndTheLastWordsOfAStoppedCommandArrive() async throws {
        // A grace a loaded machine cannot overrun before the trap has printed its last words.
        try await LiveApp.run(workers: PythonSignalTests.patientWorkers) { app in
            let script = """
                head -c 40000 /dev/zero | tr '\\0' x; echo
                printf 'bad \\377 byte\\n'
                echo "to stderr" >&2
                trap 'echo "caught TERM"; printf "last words"; exit 0' TERM
                echo ready
                while true; do sleep 0.1; done
                """
            try await app.submit(try WorkerTests.job(app, "awkward", script: script))
            let deadline = ContinuousClock.now + .seconds(60)
            while try await !app.allLogLines("awkward").contains(where: { $0["message"] as? String == "ready" }) {
                guard ContinuousClock.now < deadline else { throw TestFailure("the job never printed ready") }
                try await Task.sleep(for: .milliseconds(100))
            }
            let (status, _) = try await app.request(.POST, "/v1/jobs/awkward/stop")
            #expect(status == 202)
            try await app.waitForStatus("awkward", "Stopped")
            let messages = try await app.allLogLines("awkward").map { $0["message"] as? String ?? "" }
            // A 40,000-byte line in pieces of at most 16 KiB; invalid UTF-8 replaced; stderr beside stdout; what the
            // command printed on its way out, an unterminated last line included.
            let pieces = messages.filter { !$0.isEmpty && $0.allSatisfy { $0 == "x" } }
            #expect(pieces.map(\.count) == [16384, 16384, 7232])
            #expect(messages.contains("bad \u{FFFD} byte"))
            #expect(messages.contains("to stderr"))
            // (stdout's order is kept; stderr lines, like the shell's "Terminated", may come in between.)
            let workers = app.dataDirectory + "/workers"
            let agentLogs = ((try? FileManager.default.contentsOfDirectory(atPath: workers)) ?? []).compactMap {
                try? String(contentsOfFile: "\(workers)/\($0)/agent.log", encoding: .utf8)
            }
            let caught = try #require(messages.firstIndex(of: "caught TERM"), "agent log:\n\(agentLogs.joined(separator: "\n"))")
            #expect(messages[caught...].contains("last words"))
        }
    }

    @Test func followStreamsWhileRunningResumesWithoutAGapAndEndsWithTheJob() async throws {
        try await LiveApp.run { app in
            let ticks = 40
            try await app.submit(try WorkerTests.job(app, "ticker", count: 2, script: "for i in $(seq 1 \(ticks)); do echo \"tick $i\"; sleep 0.1; done"))
            // Lines arrive while the job runs...
            let first = try await app.followLogs("ticker") { $0.count >= 10 }
            #expect(!first.ended)
            #expect(try await app.describe("ticker")["status"] as? String == "InProgress")
            // ...and after a dropped connection the stream resumes after the last line seen, until the job has ended.
            let rest = try await app.followLogs("ticker", lastEventID: first.events.last?.id)
            #expect(rest.ended)
            #expect(["Completed"].contains(try await app.describe("ticker")["status"] as? String ?? ""))
            let events = first.events + rest.events
            let ids = events.compactMap { $0.id.flatMap(Int.init) }
            #expect(ids.count == events.count && ids == ids.sorted() && Set(ids).count == ids.count, "ids repeat or go back: \(ids)")
            #expect(events.allSatisfy { ($0.line["id"] as? Int).map(String.init) == $0.id })
            let hosts = Self.byHost(events.map(\.line))
            for host in ["algo-1", "algo-2"] {
                #expect(hosts[host] == (1...ticks).map { "tick \($0)" }, "\(host) has a gap or a duplicate")
            }
            // A follow of an ended job sends what is stored and ends.
            let replay = try await app.followLogs("ticker")
            #expect(replay.ended && replay.events.count == 2 * ticks)
            // A follow after a page (its next_token, as the dashboard's page streams after the lines it shows) sends
            // only the lines after it.
            let (_, page) = try await app.request(.GET, "/v1/jobs/ticker/logs?limit=30")
            let token = try #require(page["next_token"] as? String)
            let after = try await app.followLogs("ticker", query: "&next_token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
            #expect(after.ended && after.events.map(\.id) == Array(replay.events.dropFirst(30)).map(\.id))
        }
    }

    @Test func aServerRestartDuringAChattyJobLosesNoLine() async throws {
        try await LiveApp.restartable { database, directory, port in
            let count = 3000
            // Bursts of 100 lines every 0.2 s: about 6 s of output, across the restart.
            let script = "i=0; while [ $i -lt \(count) ]; do i=$((i+1)); echo \"line $i\"; [ $((i % 100)) -eq 0 ] && sleep 0.2; done; true"
            try await LiveApp.run(database: database, dataDirectory: directory, port: port) { app in
                try await app.submit(try WorkerTests.job(app, "restarted", count: 2, script: script))
                let deadline = ContinuousClock.now + .seconds(60)
                while try await app.allLogLines("restarted").count < 200 {
                    guard ContinuousClock.now < deadline else { throw TestFailure("no lines before the restart") }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            try await Task.sleep(for: .seconds(1))
            try await LiveApp.run(database: database, dataDirectory: directory, port: port) { app in
                try await app.waitForStatus("restarted", "Completed", timeout: .seconds(90))
                let hosts = Self.byHost(try await app.allLogLines("restarted"))
                for host in ["algo-1", "algo-2"] {
                    #expect(hosts[host] == (1...count).map { "line \($0)" }, "\(host) lost or repeated lines across the restart")
                }
            }
        }
    }

    @Test func metricDefinitionsAndSystemMetricsBecomeSeries() async throws {
        try await LiveApp.run { app in
            let script = """
                for epoch in 1 2 3; do
                  echo "epoch $epoch train_loss=0.$((10 - epoch)) acc: $((epoch * 30))%"
                  end=$(($(date +%s) + 2)); while [ $(date +%s) -lt $end ]; do :; done
                done
                """
            let extra = #","metric_definitions":[{"name":"train:loss","regex":"train_loss=([0-9.]+)"},{"name":"accuracy","regex":"acc: ([0-9]+)%"}]"#
            try await app.submit(try WorkerTests.job(app, "metrics", count: 2, script: script, extra: extra))
            let job = try await app.waitForStatus("metrics", "Completed", timeout: .seconds(90))
            let final = job["final_metric_data_list"] as? [[String: Any]] ?? []
            #expect(final.compactMap { $0["metric_name"] as? String }.sorted() == ["accuracy", "train:loss"])
            #expect(final.first { $0["metric_name"] as? String == "train:loss" }?["value"] as? Double == 0.7)
            #expect(final.first { $0["metric_name"] as? String == "accuracy" }?["value"] as? Double == 90)

            let (status, body) = try await app.request(.GET, "/v1/jobs/metrics/metrics")
            #expect(status == 200)
            let series = body["metrics"] as? [[String: Any]] ?? []
            func points(_ name: String, _ host: String) -> [Double] {
                let found = series.first { $0["name"] as? String == name && $0["host"] as? String == host }
                return (found?["points"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? Double }
            }
            #expect(points("train:loss", "algo-1") == [0.9, 0.8, 0.7])
            #expect(points("accuracy", "algo-2") == [30, 60, 90])
            // The busy loop shows in the command's CPU; memory is sampled too.
            for host in ["algo-1", "algo-2"] {
                #expect(points("CPUUtilization", host).contains { $0 > 5 }, "\(host) CPU: \(points("CPUUtilization", host))")
                #expect(!points("MemoryUtilization", host).isEmpty)
            }
            #expect(series.filter { $0["kind"] as? String == "system" }.count >= 4)
        }
    }

    /// `tail`: the last lines of a job (or of one host), as a page that goes on with what came after, as a stream that
    /// sends them and follows (a reconnection resumes after its last line instead), through the SDK and the CLI.
    @Test func theLastLinesComeAsAPageAStreamAndThroughTheSDKAndTheCLI() async throws {
        try await LiveApp.run { app in
            // a Python trainer as users write one, flushing each line
            let script = """
                python3 - <<'EOF'
                import os, sys
                host = os.environ["SM_CURRENT_HOST"]
                for i in range(1, 21):
                    print(f"{host} line {i}", flush=True)
                EOF
                """
            try await app.submit(try WorkerTests.job(app, "tailed", count: 2, script: script))
            try await app.waitForStatus("tailed", "Completed", timeout: .seconds(120))
            let all = try await app.allLogLines("tailed")
            #expect(all.count == 40)
            let ids = { (lines: [[String: Any]]) in lines.compactMap { $0["id"] as? Int } }
            let messages = { (lines: [[String: Any]]) in lines.compactMap { $0["message"] as? String } }

            // a page of the last five, of every host, oldest first
            let (status, page) = try await app.request(.GET, "/v1/jobs/tailed/logs?tail=5")
            #expect(status == 200)
            #expect(ids(page["lines"] as? [[String: Any]] ?? []) == ids(Array(all.suffix(5))))
            // one host's last three
            let (_, hostPage) = try await app.request(.GET, "/v1/jobs/tailed/logs?tail=3&host=algo-2")
            #expect(messages(hostPage["lines"] as? [[String: Any]] ?? []) == ["algo-2 line 18", "algo-2 line 19", "algo-2 line 20"])
            // a page smaller than the tail goes on where it stopped
            #expect(ids(try await app.allLogLines("tailed", query: "&tail=5&limit=2")) == ids(Array(all.suffix(5))))

            // a stream of the last four, which ends with the ended job
            let streamed = try await app.followLogs("tailed", query: "&tail=4")
            #expect(streamed.ended && streamed.events.compactMap { $0.id.flatMap(Int.init) } == ids(Array(all.suffix(4))))
            // a reconnection (Last-Event-ID, the same URL) resumes after its last line, not at the tail again
            let resumedAfter = try #require(ids(all)[33])
            let resumed = try await app.followLogs("tailed", lastEventID: String(resumedAfter), query: "&tail=2")
            #expect(resumed.events.compactMap { $0.id.flatMap(Int.init) } == Array(ids(all)[34...]))

            // a next page asked with the tail's query and a token goes on after its page, whatever the tail
            let (_, first) = try await app.request(.GET, "/v1/jobs/tailed/logs?limit=10")
            let token = try #require(first["next_token"] as? String).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let (_, next) = try await app.request(.GET, "/v1/jobs/tailed/logs?tail=3&limit=10&next_token=\(token)")
            #expect(ids(next["lines"] as? [[String: Any]] ?? []) == Array(ids(all)[10..<20]))
            // refused: out of range
            let (tooMany, rangeProblem) = try await app.request(.GET, "/v1/jobs/tailed/logs?tail=10001")
            #expect(tooMany == 422)
            let errors = rangeProblem["errors"] as? [[String: Any]] ?? []
            #expect(errors.map { "\($0["field"] ?? "") \($0["rule"] ?? "")" } == ["tail range"], "\(rangeProblem)")
            #expect(errors.first?["message"] as? String == "tail must be between 1 and 10000")

            // the SDK
            let client = TrainyardClient(connection: TrainyardConnection(url: URL(string: app.baseURL)!, apiKey: app.token))
            let job = TrainingJob(client: client, name: "tailed")
            var paged: [String] = []
            for try await line in job.logs(host: "algo-1", tail: 2) { paged.append(line.message) }
            #expect(paged == ["algo-1 line 19", "algo-1 line 20"])
            var followed: [Int64] = []
            for try await line in job.logs(tail: 3, follow: true) { followed.append(line.id) }
            #expect(followed.map(Int.init) == ids(Array(all.suffix(3))))

            // the CLI: -n/--tail, an age for --since, and what it says to a --since it cannot read
            let lastTwo = try await runCLI(app, ["jobs", "logs", "tailed", "-n", "2", "--host", "algo-1"])
            #expect(lastTwo.status == 0 && lastTwo.output == "algo-1 | algo-1 line 19\nalgo-1 | algo-1 line 20\n", "\(lastTwo.output)")
            let followedTail = try await runCLI(app, ["jobs", "logs", "tailed", "--tail", "3", "--follow"])
            #expect(followedTail.output.split(separator: "\n").count == 3, "\(followedTail.output)")
            let lastHour = try await runCLI(app, ["jobs", "logs", "tailed", "--since", "1h"])
            #expect(lastHour.output.split(separator: "\n").count == 40)
            let fromNow = try await runCLI(app, ["jobs", "logs", "tailed", "--since", "0s"])
            #expect(fromNow.status == 0 && fromNow.output.isEmpty, "\(fromNow.output)")
            let environment = ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": app.token, "NO_COLOR": "1"]
            let unreadable = try await runTrainyard(
                ["jobs", "logs", "tailed", "--since", "yesterday"], in: app.dataDirectory, environment: environment, mergingErrors: true)
            #expect(unreadable.status == 3)
            #expect(
                unreadable.output.contains(
                    "--since yesterday is neither an ISO 8601 date-time such as 2026-11-25T09:30:00Z nor an age such as 10m, 2h or 1d"),
                "\(unreadable.output)")
            let badTail = try await runTrainyard(["jobs", "logs", "tailed", "--tail", "0"], in: app.dataDirectory, environment: environment, mergingErrors: true)
            #expect(badTail.status == 3 && badTail.output.contains("tail must be between 1 and 10000"), "\(badTail.output)")
        }
    }

    @Test func aBadLogQueryNamesEveryWrongField() async throws {
        try await LiveApp.run { app in
            try await app.submit(try WorkerTests.job(app, "quiet", script: "true"))
            let (status, problem) = try await app.request(.GET, "/v1/jobs/quiet/logs?limit=0&next_token=bogus")
            #expect(status == 422)
            let fields = (problem["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
            #expect(fields == ["limit", "next_token"])
            #expect(try await app.request(.GET, "/v1/jobs/nobody/logs").0 == 404)
            #expect(try await app.request(.GET, "/v1/jobs/nobody/metrics").0 == 404)
        }
    }
}

/// Runs the `trainyard` CLI against a live app; answers its exit status and standard output.
func runCLI(_ app: LiveApp, _ arguments: [String], timeout: Duration = .seconds(90)) async throws -> (status: Int32, output: String) {
    try await runTrainyard(
        arguments, in: app.dataDirectory, environment: ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": app.token, "NO_COLOR": "1"],
        timeout: timeout)
}

/// Runs the `trainyard` binary in `directory` with `extra` added to this process's environment; answers its exit
/// status and its standard output (with its standard error in the same stream when `mergingErrors`, else dropped).
/// With `isolated`, the environment's own TRAINYARD_* and AWS_* settings are left out first.
func runTrainyard(
    _ arguments: [String], in directory: String, environment extra: [String: String], isolated: Bool = false, mergingErrors: Bool = false,
    timeout: Duration = .seconds(90), executable: String = ServeProcess.binary
) async throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var environment = ProcessInfo.processInfo.environment
    if isolated {
        for key in environment.keys where key.hasPrefix("TRAINYARD_") || key.hasPrefix("AWS_") { environment[key] = nil }
    }
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let output = directory + "/cli-\(UUID().uuidString).out"
    _ = FileManager.default.createFile(atPath: output, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    process.standardOutput = handle
    process.standardError = mergingErrors ? handle : FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        guard ContinuousClock.now < deadline else {
            process.terminate()
            throw TestFailure("trainyard \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    return (process.terminationStatus, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
}

@Suite(.serialized) struct LogFollowAcrossReplicasAndCLITests {
    @Test func aFollowerOnAnotherReplicaSeesTheLinesAsTheyAreStored() async throws {
        try await LiveApp.restartable { database, directory, _ in
            // Two replicas on one database (and one data directory, as the filesystem object store needs): the job
            // runs (and ships its lines) on the first, the client follows the second, which learns of new lines only
            // through Postgres notifications.
            try await LiveApp.run(database: database, dataDirectory: directory) { first in
                try await LiveApp.run(database: database, dataDirectory: directory) { second in
                    let ticks = 30
                    try await first.submit(try WorkerTests.job(first, "replicated", script: "for i in $(seq 1 \(ticks)); do echo \"tick $i\"; sleep 0.1; done"))
                    let followed = try await second.followLogs("replicated")
                    #expect(followed.ended)
                    #expect(followed.events.map { $0.line["message"] as? String ?? "" } == (1...ticks).map { "tick \($0)" })
                    #expect(try await second.describe("replicated")["status"] as? String == "Completed")
                }
            }
        }
    }

    /// `trainyard jobs wait` that has reached its server keeps asking while the server restarts, then prints the
    /// outcome; it does not die with the first refused connection.
    @Test func aWaitThatReachedItsServerOutlivesTheServersRestart() async throws {
        try await LiveApp.restartable { database, directory, port in
            let output = directory + "/wait.out"
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let waiter = Process()
            waiter.executableURL = URL(fileURLWithPath: ServeProcess.binary)
            waiter.arguments = ["jobs", "wait", "patient"]
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TRAINYARD_") && !$0.key.hasPrefix("AWS_") }
            environment["TRAINYARD_URL"] = "http://127.0.0.1:\(port)"
            environment["TRAINYARD_API_KEY"] = TestApp.adminToken
            waiter.environment = environment
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            waiter.standardOutput = handle
            waiter.standardError = handle
            defer { if waiter.isRunning { waiter.terminate() } }
            @Sendable func printed() -> String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

            try await LiveApp.run(database: database, dataDirectory: directory, port: port) { app in
                try await app.submit(try WorkerTests.job(app, "patient", script: "sleep 8; echo done"))
                try waiter.run()
                let deadline = ContinuousClock.now + .seconds(60)
                while !printed().contains("Training") {
                    guard ContinuousClock.now < deadline, waiter.isRunning else { throw TestFailure("the wait never saw Training: \(printed())") }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            // The server is gone: the wait asks on.
            #expect(waiter.isRunning, "\(printed())")
            try await LiveApp.run(database: database, dataDirectory: directory, port: port) { _ in
                let deadline = ContinuousClock.now + .seconds(90)
                while waiter.isRunning {
                    guard ContinuousClock.now < deadline else { throw TestFailure("the wait did not end: \(printed())") }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(waiter.terminationStatus == 0, "\(printed())")
            #expect(printed().contains("patient Completed"), "\(printed())")
            #expect(!printed().contains("error"), "\(printed())")
        }
    }

    @Test func theCLIPrintsAndFollowsLogsWithTheHostInFront() async throws {
        try await LiveApp.run { app in
            // submit --wait --logs: the lines as they come, the transitions, and the job's outcome as the exit status.
            // The first host to fail stops the other, so each host fails only once both have printed their lines: the
            // hosts meet over TCP first (they share no file system), as on a loaded machine one host can start a second late.
            let port = try TestPorts.block(count: 1)
            let code = app.objectPath("s3://models/cli-logs-code")
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try """
                #!/bin/sh
                for i in 1 2 3; do echo "hello $i"; sleep 0.2; done
                python3 - <<'EOF'
                import os, socket, time
                port = int(os.environ["RENDEZVOUS_PORT"])
                if os.environ["SM_CURRENT_HOST"] == "algo-1":
                    s = socket.socket()
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("0.0.0.0", port))
                    s.listen(1)
                    s.settimeout(60)
                    s.accept()
                else:
                    deadline = time.time() + 60
                    while time.time() < deadline:
                        try:
                            socket.create_connection(("algo-1", port), timeout=1)
                            break
                        except OSError:
                            time.sleep(0.1)
                EOF
                exit 4
                """.write(toFile: code + "/run.sh", atomically: true, encoding: .utf8)
            let (status, output) = try await runCLI(app, [
                "jobs", "submit", "--name", "cli-logs", "--instance-type", "ml.m5.large", "--instance-count", "2", "--wait", "--logs",
                "--source-dir", "s3://models/cli-logs-code", "--entry-point", "run.sh", "--env", "RENDEZVOUS_PORT=\(port)",
            ])
            #expect(status == 10)
            let lines = output.split(separator: "\n").map(String.init)
            for host in ["algo-1", "algo-2"] {
                #expect(lines.filter { $0.hasPrefix("\(host) | ") } == (1...3).map { "\(host) | hello \($0)" })
            }
            #expect(lines.contains { $0.contains("Training") })

            // jobs logs: every line, or one host's; --json for scripts
            let all = try await runCLI(app, ["jobs", "logs", "cli-logs"])
            #expect(all.status == 0 && all.output.split(separator: "\n").count == 6)
            let one = try await runCLI(app, ["jobs", "logs", "cli-logs", "--host", "algo-2", "--follow"])
            #expect(one.output == "algo-2 | hello 1\nalgo-2 | hello 2\nalgo-2 | hello 3\n")
            let json = try await runCLI(app, ["jobs", "logs", "cli-logs", "--host", "algo-1", "--json"])
            let first = try JSONSerialization.jsonObject(with: Data((json.output.split(separator: "\n").first ?? "").utf8)) as? [String: Any]
            #expect(first?["host"] as? String == "algo-1" && first?["message"] as? String == "hello 1")
            #expect(try await runCLI(app, ["jobs", "logs", "nobody"]).status == 5)
        }
    }
}
