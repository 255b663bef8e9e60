public import Foundation
import OpenAPIRuntime
public import TrainyardAPI

// Projects, keys, locations, webhooks and the admin calls.
extension TrainyardClient {
    /// Creates a project and its first admin key (admins of the bootstrap project).
    public func createProject(name: String) async throws -> ProjectCreated {
        try await call { try await client.createProject(body: .json(.init(name: name))).created.body.json }
    }

    /// Where project `name`'s jobs may read and write.
    public func locations(ofProject name: String) async throws -> ProjectLocations {
        try await call { try await client.getProjectLocations(path: .init(name: name)).ok.body.json }
    }

    /// Replaces the locations granted to project `name` (admins of the bootstrap project).
    @discardableResult
    public func replaceLocations(ofProject name: String, with grants: [LocationGrant]) async throws -> ProjectLocations {
        try await call { try await client.replaceProjectLocations(path: .init(name: name), body: .json(.init(locations: grants))).ok.body.json }
    }

    /// Creates a key of the caller's project (admins); its token is in the answer, and only there.
    public func createAPIKey(role: APIKeyRole, name: String? = nil) async throws -> CreatedAPIKey {
        try await call { try await client.createAPIKey(body: .json(.init(role: role, name: name))).created.body.json }
    }

    public func apiKeys() async throws -> [APIKeySummary] {
        try await call { try await client.listAPIKeys().ok.body.json.apiKeys }
    }

    public func deleteAPIKey(id: String) async throws {
        _ = try await call { try await client.deleteAPIKey(path: .init(id: id)).noContent }
    }

    /// Subscribes `url` to `events` of the caller's project; the answer holds the signing secret, shown once.
    public func createWebhook(url: String, events: [WebhookEventType], secret: String? = nil) async throws -> WebhookCreated {
        try await call { try await client.createWebhook(body: .json(.init(url: url, events: events, secret: secret))).created.body.json }
    }

    public func webhooks() async throws -> [Webhook] {
        try await call { try await client.listWebhooks().ok.body.json.webhooks }
    }

    public func webhook(id: String) async throws -> Webhook {
        try await call { try await client.getWebhook(path: .init(id: id)).ok.body.json }
    }

    /// Changes a subscription's URL or events, or enables it again after it was disabled.
    @discardableResult
    public func updateWebhook(id: String, url: String? = nil, events: [WebhookEventType]? = nil, enabled: Bool? = nil) async throws -> Webhook {
        try await call { try await client.updateWebhook(path: .init(id: id), body: .json(.init(enabled: enabled, url: url, events: events))).ok.body.json }
    }

    public func deleteWebhook(id: String) async throws {
        _ = try await call { try await client.deleteWebhook(path: .init(id: id)).noContent }
    }

    /// The subscription's deliveries, newest first, with every try.
    public func deliveries(ofWebhook id: String) async throws -> [WebhookDelivery] {
        try await call { try await client.listWebhookDeliveries(path: .init(id: id)).ok.body.json.deliveries }
    }

    /// Sends a delivery again.
    public func redeliver(webhook id: String, delivery: String) async throws {
        _ = try await call { try await client.redeliverWebhookDelivery(path: .init(id: id, deliveryId: delivery)).accepted }
    }

    /// Reclaims a live host now, as a spot provider would.
    public func interruptHost(_ host: String) async throws {
        _ = try await call { try await client.interruptHost(path: .init(host: host)).accepted }
    }

    /// Sets the pool's capacity of an instance type for every replica (admins of the bootstrap project); answers the
    /// type with its capacity now.
    @discardableResult
    public func setCapacity(instanceType: String, onDemand: Int? = nil, spot: Int? = nil) async throws -> InstanceType {
        try await call { try await client.setCapacity(body: .json(.init(instanceType: instanceType, onDemand: onDemand, spot: spot))).ok.body.json }
    }

    /// The whole service's metrics in Prometheus's text format (`GET /metrics`): an admin key of the bootstrap project,
    /// unless the service lets scrapers in without one.
    public func serviceMetrics() async throws -> String {
        let body = try await call { try await client.getPrometheusMetrics().ok.body.plainText }
        return try await String(collecting: body, upTo: 64 << 20)
    }
}
