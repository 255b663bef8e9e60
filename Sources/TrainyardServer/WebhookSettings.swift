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
    /// Networks whose addresses webhooks may be sent to although they are loopback, private, link-local or otherwise
    /// refused by ``WebhookURLPolicy`` (`TRAINYARD_WEBHOOK_ALLOWED_NETWORKS`, comma-separated CIDRs; default none).
    public var allowedNetworks: [IPNetwork]

    public init(
        schedule: WebhookRetrySchedule = .standard, timeout: Double = 10, disableAfter: Double = 432_000, allowedNetworks: [IPNetwork] = []
    ) {
        self.schedule = schedule
        self.timeout = timeout
        self.disableAfter = disableAfter
        self.allowedNetworks = allowedNetworks
    }

    /// The address policy these settings make.
    public var policy: WebhookURLPolicy { WebhookURLPolicy(allowedNetworks: allowedNetworks) }

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
        if let text = environment[WebhookURLPolicy.allowSetting], !text.isEmpty {
            var networks: [IPNetwork] = []
            for item in text.split(separator: ",") {
                let trimmed = item.trimmingCharacters(in: .whitespaces)
                guard let network = IPNetwork(trimmed) else {
                    throw ConfigurationError.invalid(
                        key: WebhookURLPolicy.allowSetting, value: text, expected: "comma-separated networks such as 127.0.0.0/8,10.20.0.0/16,fd00::/8 (\(trimmed) is not one)")
                }
                networks.append(network)
            }
            settings.allowedNetworks = networks
        }
        // The setting this one replaced allowed only link-local addresses: refused rather than ignored, so that
        // nobody believes it still applies.
        if let text = environment["TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL"], !text.isEmpty {
            throw ConfigurationError.invalid(
                key: "TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL", value: text,
                expected: "nothing (the setting was replaced by \(WebhookURLPolicy.allowSetting), e.g. 169.254.0.0/16,fe80::/10)")
        }
        return settings
    }
}
