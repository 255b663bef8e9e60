import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TrainyardServer

/// The dashboard's pages over HTTP, as a browser fetches them: sign-in and its cookie, a project's jobs and no other's,
/// a job's page (its log lines escaped, its chart, its goodput, its archive), the stop form and its forgery token, and
/// the API read with the session's cookie. DashboardBrowserTests drives the same pages in Chromium.
@Suite(.serialized) struct DashboardPageTests {
    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var bytes: [UInt8]
    }

    /// A client that shows redirects instead of following them, as the tests look at each answer.
    static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(redirectConfiguration: .disallow))

    static func call(
        _ app: LiveApp, _ method: HTTPMethod, _ path: String, cookie: String? = nil, form: [String: String]? = nil, json: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: app.baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let cookie { request.headers.add(name: "Cookie", value: "trainyard_session=\(cookie)") }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            request.body = .bytes(ByteBuffer(string: body))
        }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 32 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: body), bytes: Array(buffer: body))
    }

    /// The form token the page carries.
    static func csrf(in page: String) throws -> String {
        let marker = #"name="csrf" value=""#
        let start = try #require(page.range(of: marker)?.upperBound)
        return String(page[start...].prefix { $0 != "\"" })
    }

    static let trainer = #"""
        import os, sys, time
        for step in range(5):
            print(f"step {step} loss={1.0 / (step + 1):.3f}", flush=True)
        print("<script>alert('x')</script> & <b>bold</b>", flush=True)
        open(os.path.join(os.environ["SM_MODEL_DIR"], "weights.bin"), "wb").write(os.urandom(4096))
        """#

    @Test func signInShowsTheProjectsJobsAndAJobsPageWithItsLogsChartGoodputAndArchive() async throws {
        try await LiveApp.run { app in
            // without a session the pages send to sign-in; a wrong key is refused and says why
            let anonymous = try await Self.call(app, .GET, "/")
            #expect(anonymous.status == 303 && anonymous.headers.first(name: "Location") == "/sign-in")
            let wrong = try await Self.call(app, .POST, "/sign-in", form: ["key": "NOTAKEY.secret"])
            #expect(wrong.status == 401 && wrong.body.contains("That key is unknown, revoked, or not a key"), "\(wrong.body)")

            // another site's page cannot sign a visitor in with a key of its own
            for header in [["Origin": "http://evil.example"], ["Sec-Fetch-Site": "cross-site"]] {
                let forged = try await Self.call(app, .POST, "/sign-in", form: ["key": app.token], headers: header)
                #expect(forged.status == 403 && forged.body.contains("this form was sent from another site's page"), "\(header): \(forged.body)")
                #expect(forged.headers.first(name: "Set-Cookie") == nil)
            }
            #expect(try await Self.call(app, .POST, "/sign-in", form: ["key": app.token], headers: ["Sec-Fetch-Site": "same-site"]).status == 403)
            // a browser's own form is let in: its Sec-Fetch-Site says so (whatever a proxy made of Host), or, from an
            // older browser, its Origin matches the address (or a proxy's X-Forwarded-Host)
            let host = String(app.baseURL.dropFirst("http://".count))
            for header in [
                ["Origin": "http://\(host)", "Sec-Fetch-Site": "same-origin"], ["Origin": "https://trainyard.example", "Sec-Fetch-Site": "same-origin"],
                ["Sec-Fetch-Site": "none"], ["Origin": "http://\(host.uppercased())"],
                ["Origin": "https://trainyard.example", "X-Forwarded-Host": "trainyard.example:443, \(host)"],
            ] {
                let allowed = try await Self.call(app, .POST, "/sign-in", form: ["key": app.token], headers: header)
                #expect(allowed.status == 303, "\(header): \(allowed.body)")
            }

            // signing in sets a cookie that scripts cannot read and other sites cannot send
            let signedIn = try await Self.call(app, .POST, "/sign-in", form: ["key": app.token])
            #expect(signedIn.status == 303 && signedIn.headers.first(name: "Location") == "/")
            let cookie = try #require(signedIn.headers.first(name: "Set-Cookie"))
            #expect(cookie.hasPrefix("trainyard_session=\(app.token);") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))

            // a job with a metric definition, printing what users print
            let code = app.dataDirectory + "/code-page"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try Self.trainer.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
            try await app.submit(
                #"{"name":"paged","instance_type":"ml.m5.large","entry_point":"train.py","source_dir":"file://\#(code)","metric_definitions":[{"name":"loss","regex":"loss=([0-9.]+)"}],"keep_alive_period":600}"#
            )
            let done = try await app.waitForStatus("paged", "Completed", timeout: .seconds(60))

            // the list shows it, linked
            let list = try await Self.call(app, .GET, "/", cookie: app.token)
            #expect(list.status == 200 && list.headers.first(name: "Content-Type") == "text/html; charset=utf-8")
            #expect(list.body.contains(#"<tr data-job="paged"><td><a href="/jobs/paged">paged</a></td><td class="status Completed">Completed</td>"#), "\(list.body)")
            #expect(list.headers.first(name: "X-Frame-Options") == "DENY")
            let filtered = try await Self.call(app, .GET, "/?status=Failed", cookie: app.token)
            #expect(!filtered.body.contains(#"data-job="paged""#) && filtered.body.contains("No jobs match these filters."))
            // (a day either side of now, so that a run at midnight UTC sees the same)
            let yesterday = Date().addingTimeInterval(-86_400).formatted(.iso8601.year().month().day())
            let tomorrow = Date().addingTimeInterval(86_400).formatted(.iso8601.year().month().day())
            for (query, shown) in [
                ("name=age", true), ("name=other", false), ("after=\(yesterday)", true), ("after=2999-01-01", false), ("before=\(tomorrow)", true),
                ("before=2000-01-01", false), ("status=Completed&name=pag&after=\(yesterday)&before=\(tomorrow)", true), ("name=pag+ed", false),
            ] {
                let page = try await Self.call(app, .GET, "/?" + query, cookie: app.token)
                #expect(page.status == 200 && page.body.contains(#"data-job="paged""#) == shown, "\(query)")
            }
            // a filter the list cannot take is said, and nothing is listed as if it applied
            let invalid = try await Self.call(app, .GET, "/?status=Done&after=yesterday", cookie: app.token)
            #expect(invalid.status == 422 && !invalid.body.contains(#"data-job="paged""#), "\(invalid.body)")
            #expect(invalid.body.contains("status must be one of InProgress, Completed, Failed, Stopping, Stopped"), "\(invalid.body)")
            #expect(invalid.body.contains("Created from must be a date, YYYY-MM-DD (got yesterday)"), "\(invalid.body)")
            #expect(invalid.body.contains("const firstPage = false"), "the page's script stays valid")
            let backwards = try await Self.call(app, .GET, "/?after=2026-12-05&before=2026-12-01", cookie: app.token)
            #expect(backwards.status == 422 && backwards.body.contains("Created from (2026-12-05) must not be after to (2026-12-01)"), "\(backwards.body)")
            #expect(!backwards.body.contains(#"data-job="paged""#))

            // its page: status, log lines escaped, a chart of its points, goodput, the archive with its digest
            let page = try await Self.call(app, .GET, "/jobs/paged", cookie: app.token)
            #expect(page.status == 200)
            #expect(page.body.contains(#"<span id="status" class="status Completed">Completed</span>"#))
            #expect(page.body.contains("algo-1 | step 4 loss=0.200"))
            #expect(page.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;") || page.body.contains("&lt;script&gt;alert("), "\(page.body)")
            #expect(!page.body.contains("<script>alert("))
            #expect(page.body.contains(#"aria-label="loss · algo-1""#) && page.body.contains(#"data-points="5""#), "\(page.body)")
            #expect(page.body.contains(#"<table id="goodput">"#) && page.body.contains("spot reclaim 0, host lost 0, user error 0, stop 0"))
            // a job that never recovered has no mean recovery time (the section said "in nil s on average")
            #expect(page.body.contains("<tr><th>Recovered</th><td>0</td></tr>"), "\(page.body)")
            #expect(!page.body.contains("nil"), "\(page.body)")
            #expect(page.body.contains(#"<tr><th>Warm pool</th><td id="warm-pool">Available until 20"#), "\(page.body)")
            let sha = try #require((done["model_artifacts"] as? [String: Any])?["sha256"] as? String)
            #expect(page.body.contains("<code>\(sha)</code>") && page.body.contains(#"href="/jobs/paged/artifacts/model""#))
            #expect(!page.body.contains(#"id="stop""#), "an ended job has no stop button")
            // its timeline, attempts with hosts, and events
            for row in ["<tr><td>Starting</td>", "<tr><td>Training</td>", "<tr><td>Completed</td>"] {
                #expect(page.body.contains(row), "timeline row \(row)")
            }
            #expect(page.body.contains(#"<tr><td>1</td><td>algo-1</td><td>exited</td><td>no</td>"#), "\(page.body)")
            #expect(page.body.contains("<td>created</td>") && page.body.contains("<td>status_changed</td>"), "events: \(page.body)")
            let archive = try await Self.call(app, .GET, "/jobs/paged/artifacts/model", cookie: app.token)
            #expect(archive.status == 200 && archive.headers.first(name: "Content-Disposition") == #"attachment; filename="model.tar.gz""#)
            #expect(SHA256.hash(data: archive.bytes).map { String(format: "%02x", $0) }.joined() == sha)

            // the page's scripts read the API with the cookie, and only read
            let read = try await Self.call(app, .GET, "/v1/jobs/paged", cookie: app.token)
            #expect(read.status == 200 && read.body.contains(#""name":"paged""#))
            let write = try await Self.call(app, .POST, "/v1/jobs", cookie: app.token, json: #"{"instance_type":"ml.m5.large","command":["true"]}"#)
            #expect(write.status == 401 && write.body.contains("a dashboard session reads only"), "\(write.body)")

            // signing out forgets the key
            let out = try await Self.call(app, .POST, "/sign-out", cookie: app.token, form: ["csrf": try Self.csrf(in: list.body)])
            #expect(out.status == 303 && (out.headers.first(name: "Set-Cookie") ?? "").contains("Max-Age=0"))
        }
    }

    @Test func theStopFormNeedsTheSessionsTokenAndAnotherProjectSeesNoneOfIt() async throws {
        try await LiveApp.run(capacity: #"{"instance_types": {"ml.m5.large": {"on_demand": 2, "spot": 0}}}"#) { app in
            let (_, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"lab"}"#)
            let labKey = try #require((created["api_key"] as? [String: Any])?["token"] as? String)
            try await app.submit(try WorkerTests.job(app, "shared", script: "sleep 300"))
            try await app.waitForSecondary("shared", "Training")
            // the other project picks the same name
            let (labStatus, _) = try await LiveHTTP.request(
                .POST, app.baseURL + "/v1/jobs", token: labKey, json: #"{"name":"shared","instance_type":"ml.m5.large","command":["true"]}"#)
            #expect(labStatus == 201)
            try await eventually("the lab's job ended") {
                let (_, body) = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs/shared", token: labKey)
                return body.contains(#""status":"Completed""#)
            }

            // each sees its own job of that name, and nothing of the other's
            let ours = try await Self.call(app, .GET, "/jobs/shared", cookie: app.token)
            let theirs = try await Self.call(app, .GET, "/jobs/shared", cookie: labKey)
            #expect(ours.body.contains(#"class="status InProgress""#) && theirs.body.contains(#"class="status Completed""#))
            #expect(theirs.body.contains(#"<b id="project">lab</b>"#) && !theirs.body.contains("sleep"))
            let labList = try await Self.call(app, .GET, "/", cookie: labKey)
            #expect(labList.body.components(separatedBy: "data-job=").count == 2, "one job: the lab's")

            // the running job's page shows its hosts' utilisation; the capacity page shows its host in use
            // (the heatmap appears with the first sample, which may carry one of the two series only)
            var heat = ""
            try await eventually("a heatmap of its samples, both series") {
                heat = try await Self.call(app, .GET, "/jobs/shared", cookie: app.token).body
                return heat.contains(#"<svg class="heatmap""#) && heat.contains("algo-1 CPUUtilization") && heat.contains("algo-1 MemoryUtilization")
            }
            #expect(heat.contains(#"<svg class="heatmap""#))
            // ours also waits with a gang of two behind it: the capacity page counts that job for us, not for the lab
            try await app.submit(#"{"name":"gang","instance_type":"ml.m5.large","instance_count":2,"command":["true"]}"#)
            try await app.waitForSecondary("gang", "Pending")
            func capacityRow(_ key: String) async throws -> String {
                let capacity = try await Self.call(app, .GET, "/capacity", cookie: key)
                return try #require(capacity.body.components(separatedBy: "\n").first { $0.contains(#"data-pool="ml.m5.large on-demand""#) }, "\(capacity.body)")
            }
            let row = try await capacityRow(app.token)
            #expect(row.contains(#"<td class="in-use">1</td>"#) && row.contains(#"<td class="queued">1</td>"#), "\(row)")
            let labRow = try await capacityRow(labKey)
            #expect(labRow.contains(#"<td class="in-use">1</td>"#) && labRow.contains(#"<td class="queued">0</td>"#), "the lab sees the pool, not our queue: \(labRow)")
            _ = try await app.request(.POST, "/v1/jobs/gang/stop")

            // a stop without the session's token is refused and changes nothing; another project's token is not it
            let page = ours.body
            let refused = try await Self.call(app, .POST, "/jobs/shared/stop", cookie: app.token, form: ["csrf": "0000"])
            #expect(refused.status == 403 && refused.body.contains("the form's token does not match this session"), "\(refused.body)")
            let foreign = try await Self.call(app, .POST, "/jobs/shared/stop", cookie: app.token, form: ["csrf": try Self.csrf(in: theirs.body)])
            #expect(foreign.status == 403)
            #expect(try await app.describe("shared")["status"] as? String == "InProgress")

            // with it, the job stops
            let stopped = try await Self.call(app, .POST, "/jobs/shared/stop", cookie: app.token, form: ["csrf": try Self.csrf(in: page)])
            #expect(stopped.status == 303 && stopped.headers.first(name: "Location") == "/jobs/shared")
            try await app.waitForStatus("shared", "Stopped")

            // a job of another project is not found, as through the API
            let (_, _) = try await LiveHTTP.request(
                .POST, app.baseURL + "/v1/jobs", token: labKey, json: #"{"name":"lab-only","instance_type":"ml.m5.large","command":["true"]}"#)
            let missing = try await Self.call(app, .GET, "/jobs/lab-only", cookie: app.token)
            #expect(missing.status == 404 && missing.body.contains("training job lab-only not found"), "\(missing.body)")
        }
    }

    /// A log longer than a page, read without JavaScript: the page opens at its end, pages back and forth by links,
    /// shows one host's lines, and searches the whole log whatever the case; another project's job of the same name
    /// shares none of it.
    @Test func aLongLogIsReadInPagesByHostAndBySearchWithoutJavaScript() async throws {
        try await LiveApp.run { app in
            let trainer = #"""
                import os, sys
                host = os.environ["SM_CURRENT_HOST"]
                for step in range(2500):
                    print(f"{host} step {step}", flush=False)
                    if host == "algo-2" and step == 1234:
                        print("Loss is NaN at step 1234", flush=False)
                sys.stdout.flush()
                """#
            let code = app.dataDirectory + "/code-long"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try trainer.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
            try await app.submit(#"{"name":"long","instance_type":"ml.m5.large","instance_count":2,"entry_point":"train.py","source_dir":"file://\#(code)"}"#)
            try await app.waitForStatus("long", "Completed", timeout: .seconds(90))
            let (_, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"lab"}"#)
            let labKey = try #require((created["api_key"] as? [String: Any])?["token"] as? String)
            let (labStatus, _) = try await LiveHTTP.request(
                .POST, app.baseURL + "/v1/jobs", token: labKey, json: #"{"name":"long","instance_type":"ml.m5.large","command":["echo","lab nan line"]}"#)
            #expect(labStatus == 201)

            func link(_ id: String, in page: String) -> String? {
                guard let marker = page.range(of: #"" id="\#(id)""#) else { return nil }
                let before = page[..<marker.lowerBound]
                guard let start = before.range(of: #"href=""#, options: .backwards) else { return nil }
                return String(before[start.upperBound...]).replacingOccurrences(of: "&amp;", with: "&")
            }
            func lines(_ page: String) -> [String] {
                page.components(separatedBy: "\n").compactMap { line in
                    guard let host = line.range(of: #"<span data-id=""#), let open = line.range(of: #"">"#, range: host.upperBound..<line.endIndex) else {
                        return nil
                    }
                    return String(line[open.upperBound...])
                }
            }

            // the end of the log: the last 2,000 lines of 5,001, the newest at the bottom, earlier ones a link away
            let end = try await Self.call(app, .GET, "/jobs/long", cookie: app.token).body
            #expect(lines(end).count == 2_000 && (lines(end).last ?? "").hasSuffix(" step 2499"), "\(lines(end).suffix(3))")
            #expect(!end.contains(#"id="later""#) && end.contains(#"const live = true"#))
            let earlierPath = try #require(link("earlier", in: end), "\(end.suffix(3000))")
            #expect(earlierPath.hasPrefix("/jobs/long?before="))
            let earlier = try await Self.call(app, .GET, earlierPath, cookie: app.token).body
            #expect(lines(earlier).count == 2_000 && earlier.contains(#"const live = false"#) && earlier.contains(#"id="later""#))
            #expect(Set(lines(earlier)).isDisjoint(with: lines(end)), "the earlier page ends where the end's begins")

            // one host: its 2,500 lines are the last 2,000 and, a page back, its first 500; the next page leads back
            let host = try await Self.call(app, .GET, "/jobs/long?host=algo-1", cookie: app.token).body
            #expect(lines(host).count == 2_000 && lines(host).allSatisfy { $0.hasPrefix("algo-1 | ") } && lines(host).first == "algo-1 | algo-1 step 500")
            #expect(host.contains("<option selected>algo-1</option>"))
            let first = try await Self.call(app, .GET, try #require(link("earlier", in: host)), cookie: app.token).body
            #expect(lines(first).count == 500 && lines(first).first == "algo-1 | algo-1 step 0" && !first.contains(#"id="earlier""#))
            let back = try await Self.call(app, .GET, try #require(link("later", in: first)), cookie: app.token).body
            #expect(lines(back) == lines(host))
            // past the log's end: nothing yet, the way back, and the stream after it
            let past = try await Self.call(app, .GET, "/jobs/long?after=999999999", cookie: app.token).body
            #expect(lines(past).isEmpty && past.contains("No later lines yet.") && link("earlier", in: past) == "/jobs/long?before=1000000000#logs")
            #expect(past.contains("const live = true"))

            // a search of the whole log, whatever its case (a browser's form sends a space as +); nothing found is said
            let found = try await Self.call(app, .GET, "/jobs/long?search=nan", cookie: app.token).body
            #expect(lines(found) == ["algo-2 | Loss is NaN at step 1234"], "\(lines(found))")
            let phrase = try await Self.call(app, .GET, "/jobs/long?host=&search=LOSS+is+nan#logs", cookie: app.token).body
            #expect(lines(phrase) == ["algo-2 | Loss is NaN at step 1234"] && phrase.contains(#"value="LOSS is nan""#), "\(lines(phrase))")
            #expect(found.contains(#"value="nan""#) && !found.contains(#"id="earlier""#) && found.contains(#"id="every-line""#))
            let none = try await Self.call(app, .GET, "/jobs/long?host=algo-1&search=NaN", cookie: app.token).body
            #expect(lines(none).isEmpty && none.contains("No line here matches."))

            // the lab's job of the same name has its own line only
            try await eventually("the lab's job printed") {
                lines(try await Self.call(app, .GET, "/jobs/long?search=nan", cookie: labKey).body) == ["algo-1 | lab nan line"]
            }
            let lab = try await Self.call(app, .GET, "/jobs/long", cookie: labKey).body
            #expect(lines(lab) == ["algo-1 | lab nan line"] && !lab.contains("Loss is NaN"))
        }
    }

    @Test func theWebhooksPageShowsEachDeliverysTriesAndRedeliversOne() async throws {
        try await WebhookReceiver.run { receiver, url in
            try await LiveApp.run { app in
                receiver.answer(with: [503])
                let hook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: url, events: #"["job.created"]"#)
                receiver.trust(hook.secret)
                try await app.submit(#"{"name":"hooked","instance_type":"ml.m5.large","command":["true"]}"#)
                try await eventually("delivered after a 503") { receiver.received.count >= 2 }

                let list = try await Self.call(app, .GET, "/webhooks", cookie: app.token)
                #expect(
                    list.body.contains(#"<tr data-webhook="\#(hook.id)"><td><a href="/webhooks/\#(hook.id)">\#(url)</a></td><td>job.created</td><td>active</td><td>"#),
                    "\(list.body)")
                #expect(!list.body.contains("nil"), "an enabled subscription has no reason: \(list.body)")
                var page = try await Self.call(app, .GET, "/webhooks/\(hook.id)", cookie: app.token).body
                try await eventually("the log shows it delivered") {
                    page = try await Self.call(app, .GET, "/webhooks/\(hook.id)", cookie: app.token).body
                    return page.contains(#"<td class="status">delivered</td>"#)
                }
                #expect(page.contains("HTTP 503") && page.contains("HTTP 200") && page.contains(#"<a href="/jobs/hooked">hooked</a>"#), "\(page)")
                #expect(page.contains(" HTTP 200 ("), "a try that succeeded has no error: \(page)")
                #expect(!page.contains("nil"), "\(page)")

                // Redeliver from the page: the receiver gets it again, with the same id
                let marker = #"action="/webhooks/\#(hook.id)/deliveries/"#
                let start = try #require(page.range(of: marker)?.upperBound)
                let delivery = String(page[start...].prefix { $0 != "/" })
                let again = try await Self.call(
                    app, .POST, "/webhooks/\(hook.id)/deliveries/\(delivery)/redeliver", cookie: app.token, form: ["csrf": try Self.csrf(in: page)])
                #expect(again.status == 303)
                try await eventually("sent again") { receiver.received.count >= 3 }
                #expect(Set(receiver.received.map(\.id)).count == 1)
            }
        }
    }
}
