import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Trainyard
import TrainyardServer

/// `GET /metrics` as Prometheus scrapes it, after real jobs ran on real workers, and `X-Request-Id` on every answer.
@Suite(.serialized) struct MonitoringTests {
    static func get(_ url: String, token: String?, headers: [(String, String)] = []) async throws -> (Int, HTTPHeaders, String) {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), response.headers, String(buffer: body))
    }

    static func scrape(_ app: LiveApp) async throws -> PrometheusText {
        let (status, headers, page) = try await get(app.baseURL + "/metrics", token: app.token)
        guard status == 200 else { throw TestFailure("GET /metrics answered \(status): \(page)") }
        #expect(headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
        return try PrometheusText(page)
    }

    /// A Python trainer that prints what users print (a NUL, bytes that are not UTF-8, a long line) and, when `holds`,
    /// keeps its host until it is stopped (its SIGTERM handler saves and leaves).
    static func trainer(holds: Bool) -> String {
        """
        import signal, sys, time
        def on_sigterm(signum, frame):
            print("stopping", flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, on_sigterm)
        print("epoch 0 loss=0.9", flush=True)
        sys.stdout.write("nul \\x00 inside\\n")
        sys.stdout.buffer.write(b"bytes \\xff\\xfe not utf-8\\n")
        print("long " + "x" * 5000, flush=True)
        while \(holds ? "True" : "False"):
            time.sleep(0.05)
        print("done", flush=True)
        """
    }

    @Test(.timeLimit(.minutes(3))) func aScrapeFollowsTheTextFormatAndCountsWhatRan() async throws {
        try await WebhookReceiver.run { receiver, url in
            try await LiveApp.run(capacity: #"{"instance_types": {"ml.m5.large": {"on_demand": 1, "spot": 0}}}"#) { app in
                // a quiet service's page already has the goodput families a dashboard queries
                let fresh = try await Self.scrape(app)
                #expect(fresh.value("trainyard_goodput_training_seconds_total", ["project": "default"]) == 0)
                #expect(fresh.value("trainyard_goodput_faults_total", ["project": "default", "class": "spot_reclaim"]) == 0)
                #expect(fresh.value("trainyard_goodput_training_in_progress_seconds", ["project": "default"]) == 0)
                // a receiver that fails once, then answers
                receiver.answer(with: [503])
                let hook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: url, events: #"["job.created"]"#)
                receiver.trust(hook.secret)
                let spec = { (name: String, holds: Bool) throws -> String in
                    let code = app.dataDirectory + "/code-\(name)"
                    try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
                    try Self.trainer(holds: holds).write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
                    return #"{"name":"\#(name)","instance_type":"ml.m5.large","entry_point":"train.py","source_dir":"file://\#(code)"}"#
                }
                // given: one job holding the pool's only host, one waiting behind it
                try await app.submit(try spec("holds", true))
                try await app.waitForSecondary("holds", "Training", timeout: .seconds(60))
                try await app.submit(try spec("waits", false))
                try await app.waitForSecondary("waits", "Pending", timeout: .seconds(30))

                // then a scrape shows the queue, the capacity held, the hosts and the jobs by status
                let busy = try await Self.scrape(app)
                let pool = ["instance_type": "ml.m5.large", "market": "on_demand"]
                #expect(busy.value("trainyard_queue_depth", pool) == 1)
                #expect((busy.value("trainyard_queue_oldest_age_seconds", pool) ?? -1) >= 0)
                #expect(busy.value("trainyard_capacity_in_use", pool) == 1 && busy.value("trainyard_capacity_free", pool) == 0)
                #expect(busy.value("trainyard_hosts", ["state": "training"]) == 1)
                #expect(busy.value("trainyard_jobs", ["status": "InProgress", "secondary_status": "Training"]) == 1)
                #expect(busy.value("trainyard_jobs", ["status": "InProgress", "secondary_status": "Pending"]) == 1)
                #expect(busy.types["trainyard_jobs"] == "gauge" && busy.help["trainyard_jobs"] != nil)
                // the running attempt's training so far, before it ends and is counted
                #expect((busy.value("trainyard_goodput_training_in_progress_seconds", ["project": "default"]) ?? 0) > 0, "\(busy.samples)")
                #expect(busy.value("trainyard_goodput_training_seconds_total", ["project": "default"]) == 0)

                // when the first is stopped and the second runs to its end
                let (stopped, _) = try await app.request(.POST, "/v1/jobs/holds/stop")
                #expect(stopped == 202)
                try await app.waitForStatus("holds", "Stopped", timeout: .seconds(60))
                try await app.waitForStatus("waits", "Completed", timeout: .seconds(60))
                try await eventually("both created events delivered") { receiver.received.filter { $0.answered == 200 }.count >= 2 }

                // then the queue is empty, the pool free, the ended jobs counted, and what happened on the way counted
                let done = try await Self.scrape(app)
                #expect(done.value("trainyard_queue_depth", pool) == 0 && done.value("trainyard_queue_oldest_age_seconds", pool) == 0)
                #expect(done.value("trainyard_capacity_in_use", pool) == 0 && done.value("trainyard_capacity_free", pool) == 1)
                #expect(done.value("trainyard_jobs", ["status": "Completed", "secondary_status": "Completed"]) == 1)
                #expect(done.value("trainyard_jobs", ["status": "Stopped", "secondary_status": "Stopped"]) == 1)
                #expect(done.value("trainyard_http_requests_total", ["route": "/v1/jobs/{name}/stop", "method": "POST", "status": "202"]) == 1)
                #expect(done.value("trainyard_jobs", ["status": "InProgress", "secondary_status": "Pending"]) == 0, "a state left is 0, not stale")
                #expect(done.value("trainyard_http_requests_total", ["route": "/v1/jobs", "method": "POST", "status": "201"]) == 2)
                #expect(done.value("trainyard_http_request_duration_seconds_count", ["route": "/v1/jobs", "method": "POST"]) == 2)
                #expect((done.value("trainyard_http_requests_total", ["route": "/v1/jobs/{name}", "method": "GET", "status": "200"]) ?? 0) > 0)
                #expect((done.value("trainyard_http_requests_total", ["route": "/v1/agent/logs", "method": "POST", "status": "200"]) ?? 0) > 0)
                // (every line stored is counted once, with its bytes)
                var stored = 0
                for name in ["holds", "waits"] {
                    stored += ((try await app.request(.GET, "/v1/jobs/\(name)/logs")).1["lines"] as? [Any] ?? []).count
                }
                #expect(stored >= 8 && done.value("trainyard_log_lines_ingested_total") == Double(stored), "\(stored) lines stored")
                #expect((done.value("trainyard_log_bytes_ingested_total") ?? 0) >= 10_000)
                #expect(done.value("trainyard_webhook_deliveries_total", ["outcome": "failed"]) == 1)
                #expect((done.value("trainyard_webhook_deliveries_total", ["outcome": "delivered"]) ?? 0) >= 2)
                #expect((done.value("trainyard_webhook_delivery_duration_seconds_count", ["outcome": "delivered"]) ?? 0) >= 2)
                #expect((done.value("trainyard_scheduler_pass_duration_seconds_count") ?? 0) > 0)
                #expect(done.value("trainyard_controller_pass_failures_total", ["controller": "scheduler"]) == 0)
                #expect((done.value("trainyard_database_connections", ["state": "max"]) ?? 0) > 0)
                #expect((done.value("trainyard_database_connections", ["state": "active"]) ?? 0) >= 1)
                // (goodput by project: the stop is a fault of its class, both attempts' training is counted, nothing lost)
                try await eventually("both attempts counted") {
                    try await Self.scrape(app).value("trainyard_goodput_faults_total", ["project": "default", "class": "stop"]) == 1
                }
                let counted = try await Self.scrape(app)
                #expect(counted.value("trainyard_goodput_faults_total", ["project": "default", "class": "spot_reclaim"]) == 0)
                #expect((counted.value("trainyard_goodput_training_seconds_total", ["project": "default"]) ?? 0) > 0)
                #expect(counted.value("trainyard_goodput_lost_seconds_total", ["project": "default"]) == 0)
                // (uptime: each job's run covers its training; one attempt each, so nothing was down between)
                let trained = counted.value("trainyard_goodput_training_seconds_total", ["project": "default"]) ?? 0
                let run = counted.value("trainyard_goodput_run_seconds_total", ["project": "default"]) ?? 0
                #expect(run > 0 && abs(run - trained) < 0.001, "run \(run) s, training \(trained) s")
                #expect(counted.value("trainyard_goodput_training_in_progress_seconds", ["project": "default"]) == 0, "nothing runs now")
                for family in ServiceMetricsFamilies.all {
                    #expect(counted.types[family] != nil, "\(family) is exposed")
                }

                // and every query of the Grafana dashboard names a metric this page exposes, by labels it carries
                let queries = try GrafanaDashboard.queries()
                #expect(queries.count >= 15)
                for query in queries {
                    for metric in GrafanaDashboard.metrics(in: query) {
                        let family = PrometheusText.family(of: metric, types: counted.types)
                        #expect(counted.types[family] != nil, "\(query) names \(metric), which /metrics does not expose")
                        // (each query reads one family: what it groups by is that family's labels)
                        let carried = Set(counted.samples.filter { PrometheusText.family(of: $0.name, types: counted.types) == family }.flatMap(\.labels.keys))
                        for label in GrafanaDashboard.groupingLabels(in: query) {
                            #expect(carried.contains(label), "\(query): \(metric) has no label \(label)")
                        }
                    }
                }
            }
        }
    }

    @Test func onlyTheServicesAdminsReadItUnlessTheSettingOpensIt() async throws {
        try await LiveApp.run { app in
            let (none, _, noneBody) = try await Self.get(app.baseURL + "/metrics", token: nil)
            #expect(none == 401 && noneBody.contains("missing Authorization header"), "\(noneBody)")
            // an admin of another project reads only its own project: not the service's figures
            let (_, project) = try await app.request(.POST, "/v1/projects", json: #"{"name":"lab"}"#)
            let labKey = try #require((project["api_key"] as? [String: Any])?["token"] as? String, "\(project)")
            let (other, _, otherBody) = try await Self.get(app.baseURL + "/metrics", token: labKey)
            #expect(other == 403 && otherBody.contains("set TRAINYARD_METRICS_PUBLIC=true"), "\(otherBody)")
            // (the SDK reads it with the service's admin key, and says what the other key may not)
            let page = try await SDKTests.client(app).serviceMetrics()
            #expect(try PrometheusText(page).types["trainyard_database_connections"] == "gauge")
            await #expect(throws: TrainyardError.self) { try await SDKTests.client(app, token: labKey).serviceMetrics() }
        }
        try await LiveApp.run(metricsPublic: true) { app in
            let (status, _, page) = try await Self.get(app.baseURL + "/metrics", token: nil)
            #expect(status == 200)
            _ = try PrometheusText(page)
            // (the setting opens /metrics, nothing else)
            let (jobs, _, _) = try await Self.get(app.baseURL + "/v1/jobs", token: nil)
            #expect(jobs == 401)
        }
    }

    @Test func everyAnswerCarriesARequestIdAndASaneOneSentIsKept() async throws {
        try await LiveApp.run { app in
            let (_, made, _) = try await Self.get(app.baseURL + "/v1/jobs", token: app.token)
            let id = try #require(made.first(name: "X-Request-Id"))
            #expect(id.count == 36)
            let (_, again, _) = try await Self.get(app.baseURL + "/v1/jobs", token: app.token)
            #expect(again.first(name: "X-Request-Id") != id)
            let (_, kept, _) = try await Self.get(app.baseURL + "/v1/jobs", token: app.token, headers: [("X-Request-Id", "lb-7f3a.42_x")])
            #expect(kept.first(name: "X-Request-Id") == "lb-7f3a.42_x")
            // (a value that could forge a log line is replaced)
            let (_, replaced, _) = try await Self.get(app.baseURL + "/v1/jobs", token: app.token, headers: [("X-Request-Id", "a b\"c")])
            #expect(replaced.first(name: "X-Request-Id")?.count == 36)
            // problems and unknown paths carry one too
            let (missing, problem, _) = try await Self.get(app.baseURL + "/v1/nowhere", token: app.token)
            #expect(missing == 404 && problem.first(name: "X-Request-Id") != nil)
        }
    }

    /// Goodput by project keeps two projects apart when they pick the same job name: each project's training and run
    /// counters are its own job's, as its description says.
    @Test(.timeLimit(.minutes(3))) func twoProjectsWithTheSameJobNameHaveTheirOwnGoodput() async throws {
        try await LiveApp.run { app in
            let (_, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"lab"}"#)
            let labKey = try #require((created["api_key"] as? [String: Any])?["token"] as? String)
            let job = #"{"name":"same","instance_type":"ml.m5.large","command":["python3","-c","import time; time.sleep(1.5); print('ok')"]}"#
            try await app.submit(job)
            let (labStatus, _) = try await LiveHTTP.request(.POST, app.baseURL + "/v1/jobs", token: labKey, json: job)
            #expect(labStatus == 201)
            _ = try await app.waitForStatus("same", "Completed")
            func described(_ token: String) async throws -> [String: Any] {
                let body = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs/same", token: token).1
                return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            }
            try await eventually("the lab's job ended") { try await described(labKey)["status"] as? String == "Completed" }
            try await eventually("both projects counted") {
                let page = try await Self.scrape(app)
                return page.value("trainyard_goodput_run_seconds_total", ["project": "lab"]) ?? 0 > 0
                    && page.value("trainyard_goodput_run_seconds_total", ["project": "default"]) ?? 0 > 0
            }
            let page = try await Self.scrape(app)
            for (project, token) in [("default", app.token), ("lab", labKey)] {
                let goodput = try #require(try await described(token)["goodput"] as? [String: Any])
                let training = try #require(goodput["training_seconds"] as? Double)
                let counted = page.value("trainyard_goodput_training_seconds_total", ["project": project]) ?? -1
                // (the description rounds to tenths)
                #expect(abs(counted - training) <= 0.06, "\(project): counted \(counted) s, described \(training) s")
                #expect(training >= 1.4, "\(project) trained \(training) s")
            }
        }
    }

    /// As `trainyard serve` logs: the access line and every line written while the request was handled carry the id
    /// the answer gave; `TRAINYARD_METRICS_PUBLIC` opens `/metrics` to a scraper with no key.
    @Test func theServersLogLinesOfARequestCarryItsId() async throws {
        let dataDir = try ServeRestartTests.privateDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: (dataDir as NSString).deletingLastPathComponent) }
        let key = "OPERATORKEY1.s3cret-value"
        let serve = try ServeProcess(dataDirectory: dataDir, environment: ["TRAINYARD_ADMIN_KEY": key, "TRAINYARD_METRICS_PUBLIC": "true"])
        let port = try await serve.waitForPort()
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/jobs")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Request-Id", value: "trace-4711")
        request.body = .bytes(ByteBuffer(string: #"{"name":"traced","instance_type":"ml.m5.large","command":["true"]}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        #expect(response.status.code == 201 && response.headers.first(name: "X-Request-Id") == "trace-4711")
        try await eventually("the access line") { serve.log.contains("request=trace-4711") && serve.log.contains("route=/v1/jobs") }
        let lines = serve.log.split(separator: "\n")
        let submitted = try #require(lines.first { $0.contains("job submitted") && $0.contains("job=traced") }, "\(serve.log.suffix(2000))")
        #expect(submitted.contains("request=trace-4711"))
        let access = try #require(lines.first { $0.contains("route=/v1/jobs") && $0.contains("request=trace-4711") })
        #expect(access.contains("status=201") && access.contains("method=POST"))
        let (status, _, page) = try await Self.get("http://127.0.0.1:\(port)/metrics", token: nil)
        let metrics = try PrometheusText(page)
        #expect(status == 200 && (metrics.value("trainyard_jobs") ?? 0) >= 1)
        // The job ends before the server does: a worker's agent outlives its server by design (it reconnects after a
        // restart), and this one would go on retrying after the test.
        try await eventually("the job ended", timeout: .seconds(60)) {
            let body = try await Self.get("http://127.0.0.1:\(port)/v1/jobs/traced", token: key).2
            return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["status"] as? String == "Completed"
        }
        serve.signal(SIGTERM)
        #expect(try await serve.waitForExit() == 0)
    }
}

/// `deploy/grafana/trainyard.json`, as Grafana reads it.
enum GrafanaDashboard {
    static var path: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/grafana/trainyard.json").path
    }

    /// Every panel's PromQL.
    static func queries() throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = dashboard["panels"] as? [[String: Any]] ?? []
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    /// The metric names a query reads: `trainyard_…` identifiers.
    static func metrics(in query: String) -> [String] {
        let pattern = try! Regex("trainyard_[a-z_]+")
        return query.matches(of: pattern).map { String(query[$0.range]) }
    }

    /// The labels of its `by (…)` clauses.
    static func groupingLabels(in query: String) -> [String] {
        let pattern = try! Regex(#"by \(([a-z_, ]+)\)"#)
        return query.matches(of: pattern).flatMap { match in
            String(query[match.range]).dropFirst(4).dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }
}

/// Every family `/metrics` names in the spec, as the dashboards query them.
enum ServiceMetricsFamilies {
    static let all = [
        "trainyard_http_requests_total", "trainyard_http_request_duration_seconds", "trainyard_jobs", "trainyard_queue_depth",
        "trainyard_queue_oldest_age_seconds", "trainyard_scheduler_pass_duration_seconds", "trainyard_hosts", "trainyard_capacity_in_use",
        "trainyard_capacity_warm", "trainyard_capacity_free", "trainyard_log_lines_ingested_total", "trainyard_log_bytes_ingested_total", "trainyard_webhook_deliveries_total",
        "trainyard_webhook_delivery_duration_seconds", "trainyard_database_connections", "trainyard_controller_pass_failures_total",
        "trainyard_goodput_training_seconds_total", "trainyard_goodput_lost_seconds_total", "trainyard_goodput_faults_total",
        "trainyard_goodput_recoveries_total", "trainyard_goodput_recovery_seconds_total", "trainyard_goodput_run_seconds_total",
        "trainyard_goodput_training_in_progress_seconds",
    ]
}
