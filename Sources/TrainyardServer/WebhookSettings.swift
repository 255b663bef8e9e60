import Foundation
import TrainyardCore

/// How webhook deliveries are sent, from the configuration.
public struct WebhookSettings: Sendable {
    /// Delays between tries (`TRAINYARD_WEBHOOK_RETRY_SCHEDULE`, comma-separated seconds; default Standard Webhooks').
    public var schedule: WebhookRetrySchedule
    /// Seconds one try may take (`TRAINYARD_WEBHOOK_TIMEOUT`, default 10).
    public var timeout: Double
    /// Seconds of nothing but failed tries after which a subscription is disabled (`TRAINYARD_WEBHOOK_DISABLE_AFTER`,
    /// default 432,000: five days).
    public var disableAfter: Double
    /// Whether link-local and cloud metadata addresses are accepted (`TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL`, default false).
    public var allowLinkLocal: Bool

    public init(schedule: WebhookRetrySchedule = .standard, timeout: Double = 10, disableAfter: Double = 432_000, allowLinkLocal: Bool = false) {
        self.schedule = schedule
        self.timeout = timeout
        self.disableAfter = disableAfter
        self.allowLinkLocal = allowLinkLocal
    }

    /// Reads the `TRAINYARD_WEBHOOK_*` variables; a value that does not parse is an error naming it.
    static func from(environment: [String: String]) throws -> WebhookSettings {
        var settings = WebhookSettings()
        if let text = environment["TRAINYARD_WEBHOOK_RETRY_SCHEDULE"], !text.isEmpty {
            guard let schedule = WebhookRetrySchedule(text: text) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_WEBHOOK_RETRY_SCHEDULE", value: text, expected: "comma-separated positive seconds, e.g. 5,300,1800")
            }
            settings.schedule = schedule
        }
        for (key, path) in [("TRAINYARD_WEBHOOK_TIMEOUT", \WebhookSettings.timeout), ("TRAINYARD_WEBHOOK_DISABLE_AFTER", \WebhookSettings.disableAfter)] {
            guard let text = environment[key], !text.isEmpty else { continue }
            guard let value = Double(text), value > 0 else {
                throw ConfigurationError.invalid(key: key, value: text, expected: "a positive number of seconds")
            }
            settings[keyPath: path] = value
        }
        if let text = environment["TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL"], !text.isEmpty {
            guard let value = Bool(text.lowercased()) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL", value: text, expected: "true or false")
            }
            settings.allowLinkLocal = value
        }
        return settings
    }
}
