import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OpenAPIRuntime
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

/// The web dashboard at `GET /`: pages rendered on the server from the API's own operations, called in-process as the
/// signed-in key's principal, so a page shows what that key may read through `/v1` and nothing else (its project's
/// jobs only), by the same rules. Live parts are a little plain JavaScript over the JSON and SSE routes, which accept
/// the session's cookie for reads; every action is a form with the session's forgery token.
struct Dashboard: Sendable {
    let api: APIImplementation
    let projects: any ProjectRepository

    /// Log lines a job page shows at a time (its script then follows the log's end live).
    static let pageLines = 2_000

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { request, _ in try await page(request) { principal, key in try await jobs(request, principal: principal, key: key) } }
        router.get("/sign-in") { _, _ in html(render("signIn", ["title": "Sign in"])) }
        router.post("/sign-in") { request, _ in try await signIn(request) }
        router.post("/sign-out") { request, _ in try await signOut(request) }
        router.get("/jobs/{name}") { request, context in
            let name = try context.parameters.require("name")
            return try await page(request) { principal, key in
                try await job(name, logView: LogView(request), principal: principal, key: key)
            }
        }
        router.post("/jobs/{name}/stop") { request, context in
            let name = try context.parameters.require("name")
            return try await action(request) { _ in
                _ = try await api.stopJob(.init(path: .init(name: name)))
                return redirect(to: "/jobs/\(Self.pathComponent(name))")
            }
        }
        router.get("/capacity") { request, _ in try await page(request) { principal, key in try await capacity(principal: principal, key: key) } }
        router.get("/webhooks") { request, _ in try await page(request) { principal, key in try await webhooks(principal: principal, key: key) } }
        router.get("/webhooks/{id}") { request, context in
            let id = try context.parameters.require("id")
            return try await page(request) { principal, key in try await webhook(id, principal: principal, key: key) }
        }
        router.post("/webhooks/{id}/deliveries/{delivery}/redeliver") { request, context in
            let id = try context.parameters.require("id")
            let delivery = try context.parameters.require("delivery")
            return try await action(request) { _ in
                _ = try await api.redeliverWebhookDelivery(.init(path: .init(id: id, deliveryId: delivery)))
                return redirect(to: "/webhooks/\(Self.pathComponent(id))")
            }
        }
        router.get("/jobs/{name}/artifacts/{artifact}") { request, context in
            let name = try context.parameters.require("name")
            let artifact = try context.parameters.require("artifact")
            return try await page(request) { _, _ in try await download(name, artifact: artifact) }
        }
    }

    // MARK: - Sessions

    /// Runs `body` as the principal of the request's session cookie; without a valid one, the sign-in page.
    private func page(_ request: Request, _ body: (Principal, String) async throws -> Response) async throws -> Response {
        guard let key = DashboardSession.key(in: request.headers) else { return redirect(to: "/sign-in") }
        guard let token = APIKeyToken.parse(key), let principal = try await projects.authenticate(token) else {
            var response = html(render("signIn", ["title": "Sign in", "error": "Your session's key is no longer valid: sign in again."]))
            response.headers[.setCookie] = DashboardSession.signOut
            return response
        }
        return try await RequestPrincipal.$current.withValue(principal) { try await body(principal, key) }
    }

    /// Refuses a form sent from another site's page, before anything else is read: browsers say where a form comes from
    /// (`Sec-Fetch-Site`, `Origin`). This keeps another site from signing a visitor in with its own key (a forged
    /// sign-in) as the forgery token keeps it from acting in the visitor's session.
    static func refuseCrossSite(_ request: Request) throws {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            // What every current browser sends: the browser's own word on where the form came from.
            guard site != "cross-site" && site != "same-site" else { throw crossSiteForm }
            return
        }
        // An older browser: its Origin against the address it was sent to (a proxy's X-Forwarded-Host, first value).
        guard let origin = request.headers[HTTPField.Name("Origin")!], origin != "null", let scheme = origin.range(of: "://") else { return }
        let forwarded = request.headers[HTTPField.Name("X-Forwarded-Host")!]?.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let host = forwarded ?? request.head.authority else { return }
        let defaultPort = origin.hasPrefix("https") ? ":443" : ":80"
        func normalized(_ address: some StringProtocol) -> String {
            let lowered = address.lowercased()
            return lowered.hasSuffix(defaultPort) ? String(lowered.dropLast(defaultPort.count)) : lowered
        }
        if normalized(origin[scheme.upperBound...]) != normalized(host) { throw crossSiteForm }
    }

    static var crossSiteForm: APIError {
        .forbidden(
            detail: "this form was sent from another site's page; open the dashboard at this server's own address (behind a proxy, pass the "
                + "browser's Host on, or set X-Forwarded-Host)")
    }

    /// A form's action: the session's principal, and the form's forgery token checked first.
    private func action(_ request: Request, _ body: (Principal) async throws -> Response) async throws -> Response {
        try Self.refuseCrossSite(request)
        var request = request
        let form = FormFields.parse(String(buffer: try await request.collectBody(upTo: 64 << 10)))
        return try await page(request) { principal, key in
            guard DashboardSession.accepts(form["csrf"], for: key) else {
                throw APIError.forbidden(detail: "the form's token does not match this session; reload the page and try again")
            }
            return try await body(principal)
        }
    }

    private func signIn(_ request: Request) async throws -> Response {
        try Self.refuseCrossSite(request)
        var request = request
        let form = FormFields.parse(String(buffer: try await request.collectBody(upTo: 64 << 10)))
        let key = (form["key"] ?? "").trimmingCharacters(in: .whitespaces)
        guard let token = APIKeyToken.parse(key), try await projects.authenticate(token) != nil else {
            var response = html(
                render("signIn", ["title": "Sign in", "error": "That key is unknown, revoked, or not a key (it looks like <id>.<secret>)."]))
            response.status = .unauthorized
            return response
        }
        var response = redirect(to: "/")
        response.headers[.setCookie] = DashboardSession.signIn(key, secure: request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "https")
        return response
    }

    private func signOut(_ request: Request) async throws -> Response {
        var request = request
        let form = FormFields.parse(String(buffer: try await request.collectBody(upTo: 64 << 10)))
        if let key = DashboardSession.key(in: request.headers), !DashboardSession.accepts(form["csrf"], for: key) {
            throw APIError.forbidden(detail: "the form's token does not match this session; reload the page and try again")
        }
        var response = redirect(to: "/sign-in")
        response.headers[.setCookie] = DashboardSession.signOut
        return response
    }

    // MARK: - Pages

    private func frame(_ principal: Principal, key: String, title: String) -> [String: Any] {
        ["title": title, "project": principal.projectName, "role": principal.role.rawValue, "csrf": DashboardSession.csrfToken(for: key)]
    }

    private func jobs(_ request: Request, principal: Principal, key: String) async throws -> Response {
        // A GET form's fields, as a browser encodes them (a space is `+`).
        let query = FormFields.parse(request.uri.query ?? "")
        func field(_ name: String) -> String { query[name]?.trimmingCharacters(in: .whitespaces) ?? "" }
        let (statusText, name, from, to) = (field("status"), field("name"), field("after"), field("before"))
        // What the form sends, checked as the API checks its query: a wrong field is said, and nothing is listed.
        var wrong: [String] = []
        let status = statusText.isEmpty ? nil : Components.Schemas.JobStatus(rawValue: statusText)
        if !statusText.isEmpty, status == nil {
            wrong.append("status must be one of " + Components.Schemas.JobStatus.allCases.map(\.rawValue).joined(separator: ", "))
        }
        func day(_ text: String, _ label: String) -> Date? {
            guard !text.isEmpty else { return nil }
            guard let date = try? Date(text + "T00:00:00Z", strategy: .iso8601) else {
                wrong.append("\(label) must be a date, YYYY-MM-DD (got \(text))")
                return nil
            }
            return date
        }
        let createdAfter = day(from, "Created from")
        // The "to" day is included: created before the next day's start.
        let createdBefore = day(to, "to").map { $0.addingTimeInterval(86_400) }
        var values = frame(principal, key: key, title: "Jobs")
        values["name"] = name
        values["after"] = from
        values["before"] = to
        values["filtered"] = status != nil || !name.isEmpty || createdAfter != nil || createdBefore != nil
        values["statuses"] = ([("", "any")] + Components.Schemas.JobStatus.allCases.map { ($0.rawValue, $0.rawValue) }).map { value, label in
            ["value": value, "label": label, "selected": value == statusText]
        }
        if let createdAfter, let createdBefore, createdAfter >= createdBefore {
            wrong.append("Created from (\(from)) must not be after to (\(to))")
        }
        values["jobs"] = [[String: Any]]()
        if !wrong.isEmpty {
            // (The page's script reads nothing more.)
            values["query"] = Self.scriptString("?max_results=50")
            values["firstPage"] = "false"
            values["error"] = "The filters are invalid: " + wrong.joined(separator: "; ") + "."
            var response = html(render("jobs", values))
            response.status = .unprocessableContent
            return response
        }
        var apiQuery = Operations.ListJobs.Input.Query(
            nameContains: name.isEmpty ? nil : name, createdAfter: createdAfter, createdBefore: createdBefore, maxResults: 50)
        apiQuery.status = status
        apiQuery.nextToken = query["next"]
        do {
            let list = try await api.listJobs(.init(query: apiQuery)).ok.body.json
            values["jobs"] = list.jobs.map { job in
                [
                    "name": job.name, "status": job.status.rawValue, "secondary": job.secondaryStatus.rawValue, "count": job.instanceCount,
                    "type": job.instanceType, "spot": job.useSpotInstances, "created": Self.time(job.creationTime),
                ] as [String: Any]
            }
            if let next = list.nextToken {
                values["next"] = "/?" + Self.query(["status": statusText, "name": name, "after": from, "before": to, "next": next])
            }
        } catch let error as APIError {
            values["error"] = error.problem.detail ?? error.problem.title
        }
        // The same filters for the script's JSON reads (a JavaScript string literal).
        var listQuery = ["max_results": "50"]
        if let status { listQuery["status"] = status.rawValue }
        if !name.isEmpty { listQuery["name_contains"] = name }
        if let createdAfter { listQuery["created_after"] = Self.time(createdAfter) }
        if let createdBefore { listQuery["created_before"] = Self.time(createdBefore) }
        if let next = query["next"] { listQuery["next_token"] = next }
        values["query"] = Self.scriptString("?" + Self.query(listQuery))
        values["firstPage"] = query["next"] == nil ? "true" : "false"
        return html(render("jobs", values))
    }

    private func job(_ name: String, logView: LogView, principal: Principal, key: String) async throws -> Response {
        // The job is read once, as `GET /v1/jobs/{name}` reads it (the principal's project's only); its logs and
        // metrics by its id.
        let record: JobRecord
        do {
            record = try await api.requireJob(projectID: principal.projectID, name: name)
        } catch APIError.notFound(let detail) {
            var values = frame(principal, key: key, title: "Not found")
            values["error"] = detail
            values["jobs"] = [[String: Any]]()
            var response = html(render("jobs", values))
            response.status = .notFound
            return response
        }
        let job = try await api.description(of: record)
        let events = try await api.listJobEvents(.init(path: .init(name: name))).ok.body.json.events
        // Every point of every series, as a chart of its width draws them (the store keeps each column's lowest and highest).
        let metrics = try await api.logs.metricOverview(jobID: record.id, columns: SVGChart().columns)
        let window = try await logView.read(api.logs, jobID: record.id, limit: Self.pageLines, byteBudget: APIImplementation.logPageBytes)
        let lines = window.lines
        var values = frame(principal, key: key, title: job.name)
        let ended = ["Completed", "Failed", "Stopped"].contains(job.status.rawValue)
        values["name"] = job.name
        values["nameJSON"] = Self.scriptString(job.name)
        values["status"] = job.status.rawValue
        values["secondary"] = job.secondaryStatus.rawValue
        values["failure"] = job.failureReason
        values["stoppable"] = !ended && job.status.rawValue != "Stopping" && principal.role != .viewer
        values["count"] = job.instanceCount
        values["type"] = job.instanceType
        values["spot"] = job.useSpotInstances
        values["created"] = Self.time(job.creationTime)
        values["training"] = job.trainingTimeSeconds ?? 0
        values["billable"] = job.billableTimeSeconds ?? 0
        values["warm"] = job.warmPoolStatus?.summary
        if let goodput = job.goodput {
            values["goodput"] = Self.present([
                "training": goodput.trainingSeconds, "productive": goodput.productiveSeconds, "lost": goodput.lostSeconds,
                "uptime": goodput.uptimePercent.map { "\($0)%" } ?? "not trained yet", "spot": goodput.faults.spotReclaim,
                "lost_hosts": goodput.faults.hostLost, "user": goodput.faults.userError, "stop": goodput.faults.stop,
                "recoveries": goodput.autoRecoveries, "mean": goodput.meanRecoverySeconds,
            ])
        }
        var artifacts: [[String: Any]] = []
        if let size = job.modelArtifacts.sizeBytes, let sha = job.modelArtifacts.sha256 {
            artifacts.append(["file": "model.tar.gz", "size": size, "sha256": sha, "kind": "model", "name": job.name])
        }
        if let output = job.outputArtifacts {
            artifacts.append(["file": "output.tar.gz", "size": output.sizeBytes, "sha256": output.sha256, "kind": "output", "name": job.name])
        }
        values["artifacts"] = artifacts
        values["charts"] = metrics.filter { !$0.series.points.isEmpty }.map { overview in
            let label = overview.series.name + (overview.series.host.isEmpty ? "" : " · \(overview.series.host)")
            let points = overview.series.points.map { SVGChart.Point(time: $0.time, value: $0.value) }
            return ["label": label, "svg": SVGChart().render(points, label: label, count: overview.count)]
        }
        values["heatmap"] = UtilisationHeatmap.render(metrics.filter { $0.series.kind == "system" }.map { overview in
            UtilisationHeatmap.Series(metric: overview.series.name, host: overview.series.host, points: overview.series.points.map { ($0.time, $0.value) })
        })
        values["transitions"] = job.secondaryStatusTransitions.map {
            ["status": $0.status.rawValue, "start": Self.time($0.startTime), "message": $0.statusMessage]
        }
        values["hosts"] = job.attempts.flatMap { attempt in
            attempt.hosts.map { host in
                [
                    "attempt": attempt.number, "host": host.name, "state": host.state, "spot": host.spot ? "yes" : "no",
                    "started": Self.time(attempt.startedAt), "ended": attempt.endedAt.map(Self.time) ?? "", "reason": attempt.endReason ?? "",
                ] as [String: Any]
            }
        }
        values["hostNames"] = Array(Set(job.attempts.flatMap { $0.hosts.map(\.name) })).sorted().map { host in
            ["name": host, "selected": host == logView.host] as [String: Any]
        }
        values["search"] = logView.search ?? ""
        values["searching"] = logView.filtered
        values["lines"] = lines.map { ["id": $0.id, "host": $0.host, "message": $0.message] as [String: Any] }
        if lines.isEmpty {
            values["noLines"] = logView.filtered ? "No line here matches." : window.earlierBefore != nil ? "No later lines yet." : "No log lines yet."
        }
        let pageLink = "/jobs/\(Self.pathComponent(job.name))?"
        let filters = ["host": logView.host ?? "", "search": logView.search ?? ""]
        if let before = window.earlierBefore {
            values["earlier"] = pageLink + Self.query(filters.merging(["before": String(before)]) { $1 }) + "#logs"
        }
        if let after = window.laterAfter {
            values["later"] = pageLink + Self.query(filters.merging(["after": String(after)]) { $1 }) + "#logs"
            values["newest"] = pageLink + Self.query(filters) + "#logs"
        }
        // At the log's end the page follows it: the stream starts after the log's last line (a follow takes the page
        // token as a page read does), of the host shown; a search filters what arrives.
        let live = window.laterAfter == nil
        var lastOfLog: Int64 = 0
        if live {
            lastOfLog = logView.filtered
                ? try await api.logs.logWindow(jobID: record.id, host: nil, containing: nil, from: .before(.max), limit: 1, byteBudget: 1).last?.id ?? 0
                : lines.last?.id ?? logView.lastSeen
        }
        values["live"] = live ? "true" : "false"
        values["lastLine"] = lastOfLog
        values["followToken"] = Self.scriptString(lastOfLog > 0 ? APIImplementation.logToken(after: lastOfLog) : "")
        values["followHost"] = Self.scriptString(logView.host ?? "")
        values["searchJSON"] = Self.scriptString(logView.search ?? "")
        values["events"] = events.map { ["time": Self.time($0.time), "type": $0._type, "message": $0.message] }
        return html(render("job", values))
    }

    private func capacity(principal: Principal, key: String) async throws -> Response {
        let now = Date()
        let state = ServiceState(
            queue: try await api.queue.queueState(project: principal.projectID, now: now), pool: try await api.currentPool(), now: now,
            connections: .init(max: 0, open: 0, active: 0))
        var values = frame(principal, key: key, title: "Capacity")
        values["pools"] = state.pools.map { pool in
            let total = pool.inUse + pool.warm + pool.free
            return [
                "type": pool.instanceType, "market": pool.market == "spot" ? "spot" : "on-demand", "total": total, "inUse": pool.inUse,
                "warm": pool.warm,
                "free": pool.free, "queued": pool.queued, "oldest": pool.queued > 0 ? "\(Int(pool.oldestQueuedSeconds)) s" : "",
            ] as [String: Any]
        }
        return html(render("capacity", values))
    }

    /// A template's values without the absent ones: an optional boxed in `Any` is a value to Mustache, and its
    /// section showed, saying "nil".
    static func present(_ values: [String: Any?]) -> [String: Any] {
        values.compactMapValues { $0 }
    }

    private func webhooks(principal: Principal, key: String) async throws -> Response {
        let hooks = try await api.listWebhooks(.init()).ok.body.json.webhooks
        var values = frame(principal, key: key, title: "Webhooks")
        values["hooks"] = hooks.map { hook in
            Self.present([
                "id": hook.id, "url": hook.url, "events": hook.events.map(\.rawValue).joined(separator: ", "),
                "status": hook.status?.rawValue ?? "enabled", "reason": hook.disabledReason, "created": Self.time(hook.createdAt),
            ])
        }
        return html(render("webhooks", values))
    }

    private func webhook(_ id: String, principal: Principal, key: String) async throws -> Response {
        let hook = try await api.getWebhook(.init(path: .init(id: id))).ok.body.json
        let deliveries = try await api.listWebhookDeliveries(.init(path: .init(id: id))).ok.body.json.deliveries
        var values = frame(principal, key: key, title: "Webhook")
        values["url"] = hook.url
        values["events"] = hook.events.map(\.rawValue).joined(separator: ", ")
        values["status"] = hook.status?.rawValue ?? "enabled"
        let writable = principal.role != .viewer
        let csrf = DashboardSession.csrfToken(for: key)
        values["deliveries"] = deliveries.map { delivery in
            [
                "id": delivery.id, "hook": hook.id, "event": delivery.eventType, "job": delivery.jobName, "status": delivery.status.rawValue,
                "created": Self.time(delivery.createdAt), "writable": writable, "csrf": csrf,
                "tries": delivery.attempts.map { attempt in
                    Self.present([
                        "time": Self.time(attempt.time), "code": attempt.statusCode.map { "HTTP \($0)" } ?? "no answer", "error": attempt.error,
                        "latency": attempt.latencyMs,
                    ])
                },
            ] as [String: Any]
        }
        return html(render("webhook", values))
    }

    private func download(_ name: String, artifact: String) async throws -> Response {
        guard let which = Operations.DownloadJobArtifact.Input.Path.ArtifactPayload(rawValue: artifact) else {
            throw APIError.notFound(detail: "a job has a model and an output archive, not \(artifact)")
        }
        guard case .ok(let ok) = try await api.downloadJobArtifact(.init(path: .init(name: name, artifact: which))),
            case .applicationGzip(let body) = ok.body
        else { throw APIError.notFound(detail: "training job \(name) has no \(artifact).tar.gz") }
        var headers = HTTPFields()
        headers[.contentType] = "application/gzip"
        headers[.contentDisposition] = "attachment; filename=\"\(artifact).tar.gz\""
        if case .known(let length) = body.length { headers[.contentLength] = String(length) }
        return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: body.map { ByteBuffer(bytes: $0) }))
    }

    // MARK: - Helpers

    private func render(_ template: String, _ values: [String: Any]) -> String {
        DashboardTemplates.library.render(values, withTemplate: template) ?? ""
    }

    private func html(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        // No other origin may frame the pages (clickjacking of the stop button), nor run scripts in them.
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func redirect(to location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    static func time(_ date: Date) -> String { date.formatted(.iso8601) }

    /// A JavaScript string literal of `text`, safe inside a `<script>` element.
    static func scriptString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        let array = String(decoding: data, as: UTF8.self)
        return String(array.dropFirst().dropLast()).replacingOccurrences(of: "<", with: "\\u003c")
    }

    static func query(_ fields: [String: String]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    /// Which of a job's log lines its page shows (`?host=`, `?search=`, `?before=` or `?after=` a line's id): by
    /// default the log's end.
    struct LogView {
        var host: String?
        var search: String?
        var edge: LogWindowEdge = .before(.max)

        init(_ request: Request) {
            let query = FormFields.parse(request.uri.query ?? "")
            func text(_ name: String) -> String? {
                query[name].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
            }
            host = text("host")
            search = text("search")
            if let after = text("after").flatMap({ Int64($0) }), after >= 0 {
                edge = .after(after)
            } else if let before = text("before").flatMap({ Int64($0) }), before > 0 {
                edge = .before(before)
            }
        }

        /// Whether only some lines are shown (one host's, or those a search finds).
        var filtered: Bool { host != nil || search != nil }

        /// The line a later page starts after.
        var lastSeen: Int64 {
            if case .after(let id) = edge { return id }
            return 0
        }

        /// The lines, and where the pages beside them start when there are any (of the same host and search): the
        /// earlier one before a line's id, the later one after one.
        func read(_ logs: any LogRepository, jobID: Int64, limit: Int, byteBudget: Int) async throws
            -> (lines: [LogLineRecord], earlierBefore: Int64?, laterAfter: Int64?)
        {
            let lines = try await logs.logWindow(jobID: jobID, host: host, containing: search, from: edge, limit: limit, byteBudget: byteBudget)
            func edgeIfAny(_ edge: LogWindowEdge, _ id: Int64) async throws -> Int64? {
                try await logs.logWindow(jobID: jobID, host: host, containing: search, from: edge, limit: 1, byteBudget: 1).isEmpty ? nil : id
            }
            guard let first = lines.first, let last = lines.last else {
                // Nothing here: earlier lines exist only before a later page's start (and up to it).
                if case .after(let id) = edge, id > 0 { return ([], try await edgeIfAny(.before(id + 1), id + 1), nil) }
                return ([], nil, nil)
            }
            // The log's end has nothing later: a line stored since is the live stream's.
            let later = edge == .before(.max) ? nil : try await edgeIfAny(.after(last.id), last.id)
            return (lines, try await edgeIfAny(.before(first.id), first.id), later)
        }
    }

    static func pathComponent(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-"))) ?? name
    }
}
