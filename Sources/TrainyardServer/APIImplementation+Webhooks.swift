public import Foundation
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

extension APIImplementation {
    func createWebhook(_ input: Operations.CreateWebhook.Input) async throws -> Operations.CreateWebhook.Output {
        let principal = try principal(allowing: \.canWriteJobs, action: "manage webhooks")
        guard case .json(let body) = input.body else { throw APIError.badRequest(detail: "expected a JSON body") }
        var violations = try await urlViolations(body.url)
        violations += Self.eventViolations(body.events)
        var secret = WebhookSecret.generate()
        if let given = body.secret {
            if let parsed = WebhookSecret(given) {
                secret = parsed
            } else {
                violations.append(FieldViolation(field: "secret", rule: "format", message: "secret must be whsec_ followed by the base64 of 24 to 64 bytes"))
            }
        }
        guard violations.isEmpty else { throw APIError.unprocessable(detail: "the webhook has \(violations.count) invalid field(s)", errors: violations) }
        guard
            let hook = try await webhooks.createWebhook(
                projectID: principal.projectID, url: body.url, events: Self.normalised(body.events), secret: secret.text,
                limit: limits.webhooksPerProject)
        else {
            throw APIError.tooManyRequests(
                detail: "project \(principal.projectName) already has \(limits.webhooksPerProject) webhook subscriptions, its limit "
                    + "(TRAINYARD_MAX_WEBHOOKS); delete one it no longer needs (one subscription may list several event types)",
                retryAfterSeconds: RequestLimits.heldRetryAfterSeconds)
        }
        return .created(.init(body: .json(.init(id: hook.id, url: hook.url, events: body.events, secret: secret.text, createdAt: hook.createdAt))))
    }

    func listWebhooks(_ input: Operations.ListWebhooks.Input) async throws -> Operations.ListWebhooks.Output {
        let principal = try RequestPrincipal.required()
        return .ok(.init(body: .json(.init(webhooks: try await webhooks.webhooks(projectID: principal.projectID).map(Self.schema)))))
    }

    func getWebhook(_ input: Operations.GetWebhook.Input) async throws -> Operations.GetWebhook.Output {
        let principal = try RequestPrincipal.required()
        return .ok(.init(body: .json(Self.schema(try await requireWebhook(projectID: principal.projectID, id: input.path.id)))))
    }

    func updateWebhook(_ input: Operations.UpdateWebhook.Input) async throws -> Operations.UpdateWebhook.Output {
        let principal = try principal(allowing: \.canWriteJobs, action: "manage webhooks")
        guard case .json(let body) = input.body else { throw APIError.badRequest(detail: "expected a JSON body") }
        _ = try await requireWebhook(projectID: principal.projectID, id: input.path.id)
        var violations: [FieldViolation] = []
        if let url = body.url { violations += try await urlViolations(url) }
        if let events = body.events { violations += Self.eventViolations(events) }
        if body.enabled == false {
            violations.append(FieldViolation(field: "enabled", rule: "enable_only", message: "enabled may only be true (delete a subscription to stop it)"))
        }
        guard violations.isEmpty else { throw APIError.unprocessable(detail: "the update has \(violations.count) invalid field(s)", errors: violations) }
        guard
            let hook = try await webhooks.updateWebhook(
                projectID: principal.projectID, id: input.path.id, url: body.url, events: body.events.map(Self.normalised), enable: body.enabled == true)
        else { throw APIError.notFound(detail: "webhook \(input.path.id) not found") }
        if body.enabled == true { wakeUps.webhooks.ring() }
        return .ok(.init(body: .json(Self.schema(hook))))
    }

    func deleteWebhook(_ input: Operations.DeleteWebhook.Input) async throws -> Operations.DeleteWebhook.Output {
        let principal = try principal(allowing: \.canWriteJobs, action: "manage webhooks")
        guard try await webhooks.deleteWebhook(projectID: principal.projectID, id: input.path.id) else {
            throw APIError.notFound(detail: "webhook \(input.path.id) not found")
        }
        return .noContent(.init())
    }

    func listWebhookDeliveries(_ input: Operations.ListWebhookDeliveries.Input) async throws -> Operations.ListWebhookDeliveries.Output {
        let principal = try RequestPrincipal.required()
        let hook = try await requireWebhook(projectID: principal.projectID, id: input.path.id)
        let deliveries = try await webhooks.webhookDeliveries(subscriptionID: hook.id).map { delivery in
            Components.Schemas.WebhookDelivery(
                id: delivery.id, eventType: delivery.eventType, jobName: delivery.jobName, status: .init(rawValue: delivery.status) ?? .pending,
                createdAt: delivery.createdAt,
                attempts: delivery.attempts.map {
                    .init(time: $0.time, statusCode: $0.statusCode, latencyMs: $0.latencyMilliseconds, responseExcerpt: $0.responseExcerpt, error: $0.error)
                })
        }
        return .ok(.init(body: .json(.init(deliveries: deliveries))))
    }

    func redeliverWebhookDelivery(_ input: Operations.RedeliverWebhookDelivery.Input) async throws -> Operations.RedeliverWebhookDelivery.Output {
        let principal = try principal(allowing: \.canWriteJobs, action: "manage webhooks")
        let hook = try await requireWebhook(projectID: principal.projectID, id: input.path.id)
        guard try await webhooks.redeliverWebhook(subscriptionID: hook.id, deliveryID: input.path.deliveryId) else {
            throw APIError.notFound(detail: "webhook \(hook.id) has no delivery \(input.path.deliveryId)")
        }
        wakeUps.webhooks.ring()
        return .accepted(.init())
    }

    func requireWebhook(projectID: Int64, id: String) async throws -> WebhookRecord {
        guard let hook = try await webhooks.webhook(projectID: projectID, id: id) else { throw APIError.notFound(detail: "webhook \(id) not found") }
        return hook
    }

    static func schema(_ hook: WebhookRecord) -> Components.Schemas.Webhook {
        Components.Schemas.Webhook(
            id: hook.id, url: hook.url, events: hook.events.compactMap(Components.Schemas.WebhookEventType.init(rawValue:)), createdAt: hook.createdAt,
            status: hook.disabledAt == nil ? .active : .disabled, disabledAt: hook.disabledAt, disabledReason: hook.disabledReason)
    }

    /// `*` alone when it is there; otherwise the types once each, in the order given.
    static func normalised(_ events: [Components.Schemas.WebhookEventType]) -> [String] {
        if events.contains(._ast_) { return [WebhookEventType.wildcard] }
        var seen: [String] = []
        for event in events where !seen.contains(event.rawValue) { seen.append(event.rawValue) }
        return seen
    }

    static func eventViolations(_ events: [Components.Schemas.WebhookEventType]) -> [FieldViolation] {
        events.isEmpty
            ? [FieldViolation(field: "events", rule: "min_items", message: "events must name at least one event type, or be [\"*\"]")] : []
    }

    /// The URL's rules: http(s), a host that resolves, and only to addresses ``WebhookURLPolicy`` accepts (judged again
    /// before every send: a host may resolve elsewhere later).
    func urlViolations(_ text: String) async throws -> [FieldViolation] {
        guard let url = URL(string: text), text.unicodeScalars.count <= 2048 else {
            return [FieldViolation(field: "url", rule: "format", message: "url must be an absolute http:// or https:// URL of at most 2,048 characters")]
        }
        if let refusal = webhookPolicy.refusal(scheme: url.scheme, host: url.host) {
            return [FieldViolation(field: "url", rule: refusal.rule, message: refusal.description)]
        }
        let host = url.host ?? ""
        if case .failure(let refusal) = webhookPolicy.check(host: host, addresses: await HostResolver.addresses(of: host, timeout: .seconds(10))) {
            return [FieldViolation(field: "url", rule: refusal.rule, message: refusal.description)]
        }
        return []
    }
}
