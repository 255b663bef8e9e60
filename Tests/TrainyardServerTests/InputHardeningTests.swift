import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

/// Bad input fails closed, with a clear error, and changes nothing (issue 16, item 6). Each case is written as
/// another tenant (or a viewer) would try it.
@Suite struct InputHardeningTests {
    static let job = simple("small")

    /// A job any project may submit (no locations).
    static func simple(_ name: String) -> String {
        #"{"name":"\#(name)","instance_type":"ml.m5.large","command":["true"]}"#
    }

    // MARK: bodies

    /// A viewer (who may not even create jobs) streams 10 MiB at POST /v1/jobs, once declared and once chunked: the
    /// server answers 413 without holding the body, and keeps answering.
    @Test func aViewersTenMebibyteBodyIsRefusedWith413DeclaredOrChunked() async throws {
        try await LiveApp.run { app in
            let (created, key) = try await app.request(.POST, "/v1/api-keys", json: #"{"role":"viewer"}"#)
            #expect(created == 201)
            let viewer = try #require(key["token"] as? String)
            let padding = String(repeating: "a", count: 10 << 20)
            let body = ByteBuffer(string: #"{"name":"x","instance_type":"ml.m5.large","command":["true"],"tags":{"pad":"\#(padding)"}}"#)
            for chunked in [false, true] {
                let (status, headers, answer) = try await Self.postJob(body, to: app, token: viewer, chunked: chunked, pieceSize: 64 << 10)
                #expect(status == 413, "chunked \(chunked): \(status) \(answer.prefix(200))")
                #expect(headers.first(name: "Content-Type") == "application/problem+json")
                #expect(answer.contains("the body of POST /v1/jobs may be at most 1 MiB; this one is larger"), "\(answer.prefix(300))")
            }
            #expect(try await LiveHTTP.request(.GET, app.baseURL + "/healthz").0 == 200)
            // Nothing was created, and an ordinary job still is.
            #expect((try await app.request(.GET, "/v1/jobs").1["jobs"] as? [Any])?.isEmpty == true)
            #expect(try await app.request(.POST, "/v1/jobs", json: Self.job).0 == 201)
        }
    }

    /// Other routes take far less: a 100 KiB webhook body is refused.
    @Test func aLargeBodyOnAnotherRouteIsRefusedWith413() async throws {
        try await TestApp.run { client in
            let response = try await client.call(
                .post, "/v1/webhooks", json: #"{"url":"http://192.0.2.1/\#(String(repeating: "a", count: 100 << 10))","events":["*"]}"#)
            #expect(response.status.code == 413)
            #expect(try response.object()["detail"] as? String == "the body of POST /v1/webhooks may be at most 64 KiB; this one is larger")
        }
    }

    /// 10,000 nested arrays where a command belongs: a 400 that says why, before any decoder recurses into them.
    @Test func deeplyNestedJSONIsA400ThatNamesTheDepth() async throws {
        try await TestApp.run { client in
            let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
            let response = try await client.call(.post, "/v1/jobs", json: #"{"name":"deep","instance_type":"ml.m5.large","command":\#(deep)}"#)
            #expect(response.status == .badRequest)
            #expect(
                try response.object()["detail"] as? String
                    == "the JSON body nests arrays or objects deeper than 64 levels; no request needs that")
            // Brackets inside strings are text, not nesting.
            let text = String(repeating: "[", count: 1000)
            let fine = try await client.call(
                .post, "/v1/jobs", json: #"{"name":"brackets","instance_type":"ml.m5.large","command":["true"],"hyperparameters":{"x":"\#(text)"}}"#)
            #expect(fine.status == .created)
        }
    }

    /// Over a real socket, declared (read whole, then gauged) and chunked (gauged as it streams in): the same 400.
    @Test func deeplyNestedJSONIsA400DeclaredOrChunked() async throws {
        try await LiveApp.run { app in
            let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
            let body = ByteBuffer(string: #"{"name":"deep","instance_type":"ml.m5.large","command":\#(deep)}"#)
            for chunked in [false, true] {
                let (status, _, answer) = try await Self.postJob(body, to: app, token: app.token, chunked: chunked, pieceSize: 1000)
                #expect(status == 400, "chunked \(chunked): \(status) \(answer.prefix(200))")
                #expect(answer.contains("the JSON body nests arrays or objects deeper than 64 levels"), "chunked \(chunked): \(answer.prefix(300))")
            }
            #expect((try await app.request(.GET, "/v1/jobs").1["jobs"] as? [Any])?.isEmpty == true)
        }
    }

    /// POST /v1/jobs over a real socket with `body`, its length declared or sent chunked in pieces of `pieceSize`.
    static func postJob(_ body: ByteBuffer, to app: LiveApp, token: String, chunked: Bool, pieceSize: Int) async throws -> (UInt, HTTPHeaders, String) {
        var request = HTTPClientRequest(url: app.baseURL + "/v1/jobs")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        if chunked {
            let pieces = stride(from: 0, to: body.readableBytes, by: pieceSize).map {
                body.getSlice(at: $0, length: min(pieceSize, body.readableBytes - $0))!
            }
            request.body = .stream(AsyncStream { continuation in
                for piece in pieces { continuation.yield(piece) }
                continuation.finish()
            }, length: .unknown)
        } else {
            request.body = .bytes(body)
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        return (response.status.code, response.headers, String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    // MARK: metric regexes

    @Test func catastrophicMetricRegexesAreRefusedAtSubmission() async throws {
        try await TestApp.run { client in
            let regexes = [#"^(a|a)*$"#, #"(a+)+$"#, #"loss=((\\d+\\.?)*)x"#, #"(\\w+) \\1"#]
            let definitions = regexes.enumerated().map { #"{"name":"m\#($0.offset)","regex":"\#($0.element)"}"# }.joined(separator: ",")
            let response = try await client.call(
                .post, "/v1/jobs", json: #"{"name":"redos","instance_type":"ml.m5.large","command":["true"],"metric_definitions":[\#(definitions)]}"#)
            #expect(response.status.code == 422)
            #expect(try response.violations() == (0..<4).map { FieldRule(field: "metric_definitions[\($0)].regex", rule: "regex") })
            let messages = try response.messages().split(separator: "\n")
            #expect(messages.first?.hasPrefix("The metric regex repeats a group that itself contains a quantifier or an alternation") == true)
            #expect(messages.last?.hasPrefix("The metric regex uses a backreference") == true)
            #expect(try await client.call(.get, "/v1/jobs/redos").status == .notFound)
        }
    }

    /// A regex that passes the check but is polynomial (`.*` eight times) meets lines made for it: the job's extraction
    /// is stopped with an event saying so, its lines are stored, and heartbeats go on (the job completes rather than
    /// losing its host).
    @Test func aSlowMetricRegexDoesNotStallTheServer() async throws {
        try await LiveApp.run { app in
            let script = """
                line=$(head -c 16000 /dev/zero | tr '\\0' a)
                for i in 1 2 3 4 5 6; do echo "$line"; done
                echo "after the slow lines"
                sleep 2
                """
            let extra = #","metric_definitions":[{"name":"slow","regex":".*.*.*.*.*.*.*.*x=([0-9]+)"}]"#
            try await app.submit(try WorkerTests.job(app, "slow-regex", script: script, extra: extra))
            let job = try await app.waitForStatus("slow-regex", "Completed", timeout: .seconds(120))
            #expect(job["failure_reason"] == nil)
            let lines = try await app.request(.GET, "/v1/jobs/slow-regex/logs").1["lines"] as? [[String: Any]] ?? []
            #expect(lines.contains { $0["message"] as? String == "after the slow lines" })
            let events = try await app.request(.GET, "/v1/jobs/slow-regex/events").1["events"] as? [[String: Any]] ?? []
            let stopped = events.first { $0["type"] as? String == "metric_extraction_stopped" }
            #expect(
                (stopped?["message"] as? String)?.hasPrefix(
                    "Metric extraction stopped: the metric_definitions regexes took longer than 250 ms on one batch of log lines.") == true,
                "\(events)")
        }
    }

    // MARK: odd input

    @Test func nulAndInvalidUTF8InPathsAndQueriesAre400() async throws {
        try await TestApp.run { client in
            #expect(try await client.call(.post, "/v1/jobs", json: Self.job).status == .created)
            let cases: [(String, String)] = [
                ("/v1/jobs/%00", "the path holds a NUL character (%00), which no name can contain"),
                ("/v1/jobs/small%00/logs", "the path holds a NUL character (%00), which no name can contain"),
                ("/v1/jobs?name_contains=%00", "query parameter name_contains holds a NUL character (%00), which no value can contain"),
                ("/v1/jobs/small/logs?host=algo%001", "query parameter host holds a NUL character (%00), which no value can contain"),
                ("/v1/jobs/%FF%FE", "the path has a percent-escape that is not UTF-8: %FF%FE"),
                ("/v1/jobs?name_contains=%C3%28", "query parameter name_contains has a percent-escape that is not UTF-8"),
            ]
            for (uri, detail) in cases {
                let response = try await client.call(.get, uri)
                #expect(response.status == .badRequest, "\(uri): \(response.status) \(String(buffer: response.body))")
                #expect(try response.object()["detail"] as? String == detail, "\(uri)")
            }
        }
    }

    @Test func aProjectNameWithATrailingNewlineIsRefused() async throws {
        try await TestApp.run { client in
            let response = try await client.call(.post, "/v1/projects", json: #"{"name":"team\n"}"#)
            #expect(response.status.code == 422)
            #expect(try response.violations() == [FieldRule(field: "name", rule: "pattern")])
            #expect(try response.messages().hasPrefix("name must be 1 to 63 lowercase letters or digits"))
        }
    }

    @Test func aMethodAPathDoesNotHaveIs405WithAllow() async throws {
        try await TestApp.run { client in
            let put = try await client.call(.put, "/v1/jobs", json: Self.job)
            #expect(put.status.code == 405)
            #expect(put.headers[.allow] == "GET, POST")
            #expect(put.headers[.contentType] == "application/problem+json")
            #expect(try put.object()["detail"] as? String == "/v1/jobs does not answer PUT; it answers GET, POST")
            let delete = try await client.call(.delete, "/v1/jobs/small")
            #expect(delete.status.code == 405)
            #expect(delete.headers[.allow] == "GET, PATCH")
            // A path no route has is still a 404.
            #expect(try await client.call(.get, "/v1/nothing-here").status == .notFound)
        }
    }

    // MARK: paging tokens

    /// Project a forges a next_token around project b's job id: the listing refuses it rather than comparing a's jobs
    /// with b's (which would tell where b's job name sorts).
    @Test func aNextTokenAroundAnotherProjectsJobIsRefused() async throws {
        try await TestApp.run { client in
            let a = try await client.project("tenant-a")
            let b = try await client.project("tenant-b")
            for name in ["apple", "zebra"] { #expect(try await client.call(.post, "/v1/jobs", token: a, json: Self.simple(name)).status == .created) }
            for name in ["secret-one", "secret-two"] { #expect(try await client.call(.post, "/v1/jobs", token: b, json: Self.simple(name)).status == .created) }
            let page = try await client.call(.get, "/v1/jobs?sort_by=name&sort_order=ascending&max_results=1", token: b).object()
            let theirs = try #require(page["next_token"] as? String)
            let response = try await client.call(.get, "/v1/jobs?sort_by=name&sort_order=ascending&max_results=10&next_token=\(theirs)", token: a)
            #expect(response.status == .unprocessableContent)
            let problem = try response.object()
            #expect(problem["detail"] as? String == "next_token is not a token this listing returned")
            #expect((problem["errors"] as? [[String: Any]])?.first?["rule"] as? String == "token")
            #expect((problem["errors"] as? [[String: Any]])?.first?["field"] as? String == "next_token")
            // a's own tokens still work.
            let own = try await client.call(.get, "/v1/jobs?sort_by=name&sort_order=ascending&max_results=1", token: a).object()
            let next = try #require(own["next_token"] as? String)
            let second = try await client.call(.get, "/v1/jobs?sort_by=name&sort_order=ascending&max_results=1&next_token=\(next)", token: a).object()
            #expect((second["jobs"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["zebra"])
        }
    }

    // MARK: priority

    @Test func priorityIsBoundedByTheCallersRole() async throws {
        try await TestApp.run { client in
            let admin = try await client.project("team")
            let member = try await client.key(role: "member", token: admin)
            func submit(_ name: String, _ priority: Int, _ token: String) async throws -> TestResponse {
                try await client.call(
                    .post, "/v1/jobs", token: token,
                    json: #"{"name":"\#(name)","instance_type":"ml.m5.large","command":["true"],"priority":\#(priority)}"#)
            }
            let raised = try await submit("member-high", 50, member)
            #expect(raised.status.code == 422)
            #expect(try raised.violations() == [FieldRule(field: "priority", rule: "range")])
            #expect(
                try raised.messages()
                    == "priority 50 is above what a member key may set (-1000…0): priority orders the queue every project shares; ask a service admin for more")
            #expect(try await submit("member-low", -10, member).status == .created)
            #expect(try await submit("admin-100", 100, admin).status == .created)
            let over = try await submit("admin-101", 101, admin)
            #expect(over.status.code == 422)
            #expect(try over.messages().hasPrefix("priority 101 is above what a project admin key may set (-1000…100)"))
            #expect(try await submit("service-1000", 1000, TestApp.adminToken).status == .created)
        }
    }

    // MARK: per-project limits

    @Test func the101stWebhookOfAProjectIs429WithRetryAfter() async throws {
        try await TestApp.run { client in
            let team = try await client.project("hooks")
            for index in 0..<100 {
                let created = try await client.call(.post, "/v1/webhooks", token: team, json: #"{"url":"http://93.184.216.34/hook/\#(index)","events":["*"]}"#)
                #expect(created.status == .created)
            }
            let refused = try await client.call(.post, "/v1/webhooks", token: team, json: #"{"url":"http://93.184.216.34/hook/extra","events":["*"]}"#)
            #expect(refused.status.code == 429)
            #expect(refused.headers[.retryAfter] == "30")
            #expect(
                try refused.object()["detail"] as? String
                    == "project hooks already has 100 webhook subscriptions, its limit (TRAINYARD_MAX_WEBHOOKS); delete one it no longer needs (one subscription may list several event types)")
            #expect((try await client.call(.get, "/v1/webhooks", token: team).object()["webhooks"] as? [Any])?.count == 100)
            // Another project is not held by this one's count.
            #expect(try await client.call(.post, "/v1/webhooks", json: #"{"url":"http://93.184.216.34/hook/other","events":["*"]}"#).status == .created)
        }
    }

    /// One key opens log streams until refused: the 11th is a 429; closing one frees its slot.
    @Test func aKeyHoldsAtMostTenLogStreams() async throws {
        try await LiveApp.run { app in
            try await app.submit(try WorkerTests.job(app, "chatty", script: "sleep 60"))
            // The shared client opens at most 8 connections to a host; these streams need 12.
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
            let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            defer { _ = http.shutdown() }
            func follow() async throws -> HTTPClientResponse {
                var request = HTTPClientRequest(url: app.baseURL + "/v1/jobs/chatty/logs?follow=true")
                request.headers.add(name: "Authorization", value: "Bearer \(app.token)")
                return try await http.execute(request, timeout: .seconds(90))
            }
            var open: [HTTPClientResponse] = []
            for _ in 0..<10 {
                let response = try await follow()
                #expect(response.status.code == 200)
                open.append(response)
            }
            let refused = try await follow()
            #expect(refused.status.code == 429)
            #expect(refused.headers.first(name: "Retry-After") == "30")
            let detail = String(buffer: try await refused.body.collect(upTo: 1 << 16))
            #expect(detail.contains("this API key already holds 10 log streams (follow=true) open on this server, its limit (TRAINYARD_MAX_LOG_FOLLOWERS)"))
            // Stopping the job ends every stream; their slots are free again.
            #expect(try await app.request(.POST, "/v1/jobs/chatty/stop").0 == 202)
            for response in open { _ = try await response.body.collect(upTo: 1 << 20) }
            open.removeAll()
            let deadline = ContinuousClock.now + .seconds(30)
            var again = try await follow()
            while again.status.code == 429, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                again = try await follow()
            }
            #expect(again.status.code == 200)
            _ = try await again.body.collect(upTo: 1 << 20)
        }
    }

    // MARK: bounded pages

    @Test func aMetricsPageOutsideItsBoundsIsRefused() async throws {
        try await TestApp.run { client in
            #expect(try await client.call(.post, "/v1/jobs", json: Self.job).status == .created)
            let response = try await client.call(.get, "/v1/jobs/small/metrics?max_results=0&next_token=forged")
            #expect(response.status.code == 422)
            #expect(try response.violations() == [FieldRule(field: "max_results", rule: "range"), FieldRule(field: "next_token", rule: "token")])
            #expect(try response.messages() == "max_results must be between 1 and 10000\nnext_token is not a token this API gave out")
            let page = try await client.call(.get, "/v1/jobs/small/metrics?max_results=5").object()
            #expect((page["metrics"] as? [Any])?.isEmpty == true)
            #expect(page["next_token"] == nil)
        }
    }
}
