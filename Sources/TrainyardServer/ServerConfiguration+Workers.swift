import Foundation
import TrainyardCore
import TrainyardProvisioning

extension ServerConfiguration {
    /// Reads the worker timing variables; a value that is not a positive number is an error naming it.
    static func workerSettings(environment: [String: String]) throws -> WorkerSettings {
        var settings = WorkerSettings()
        func seconds(_ key: String, into keyPath: WritableKeyPath<WorkerSettings, Double>) throws {
            guard let text = environment[key], !text.isEmpty else { return }
            guard let value = Double(text), value > 0 else {
                throw ConfigurationError.invalid(key: key, value: text, expected: "a positive number of seconds")
            }
            settings[keyPath: keyPath] = value
        }
        try seconds("TRAINYARD_HEARTBEAT_INTERVAL", into: \.heartbeatInterval)
        try seconds("TRAINYARD_HOST_LEASE", into: \.hostLease)
        try seconds("TRAINYARD_STOP_GRACE", into: \.stopGrace)
        try seconds("TRAINYARD_AGENT_OUTAGE_LIMIT", into: \.agentOutageLimit)
        try seconds("TRAINYARD_LAUNCH_TIMEOUT", into: \.launchTimeout)
        try seconds("TRAINYARD_SYSTEM_METRICS_INTERVAL", into: \.systemMetricsInterval)
        try seconds("TRAINYARD_SPOT_NOTICE", into: \.spotNotice)
        try seconds("TRAINYARD_CHECKPOINT_SYNC_INTERVAL", into: \.checkpointSyncInterval)
        if let text = environment["TRAINYARD_SPOT_INTERRUPTION_RATE"], !text.isEmpty {
            guard let rate = Double(text), rate >= 0, rate.isFinite else {
                throw ConfigurationError.invalid(
                    key: "TRAINYARD_SPOT_INTERRUPTION_RATE", value: text, expected: "a number of interruptions per spot host-hour, 0 or more")
            }
            settings.spotMarket.interruptionsPerHostHour = rate
        }
        if let text = environment["TRAINYARD_SPOT_SEED"], !text.isEmpty {
            guard let seed = UInt64(text) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_SPOT_SEED", value: text, expected: "a whole number from 0 to 18446744073709551615")
            }
            settings.spotMarket.seed = seed
        }
        if let text = environment["TRAINYARD_WORKER_UIDS"], !text.isEmpty {
            let bounds = text.split(separator: "-", omittingEmptySubsequences: false).map { UInt32($0) }
            guard bounds.count == 2, let start = bounds[0], let end = bounds[1], start >= 1000, start <= end else {
                throw ConfigurationError.invalid(
                    key: "TRAINYARD_WORKER_UIDS", value: text, expected: "start-end, two uids of 1000 or more with start <= end (3000000-3999999)")
            }
            settings.commandUIDs = start...end
        }
        try diskSettings(environment: environment, into: &settings)
        return settings
    }

    /// Reads the settings that bound the workers' disks.
    static func diskSettings(environment: [String: String], into settings: inout WorkerSettings) throws {
        func number(_ key: String, _ range: ClosedRange<Double>, expected: String) throws -> Double? {
            guard let text = environment[key], !text.isEmpty else { return nil }
            guard let value = Double(text), range.contains(value) else { throw ConfigurationError.invalid(key: key, value: text, expected: expected) }
            return value
        }
        if let hours = try number("TRAINYARD_KEEP_WORKER_DIRS_HOURS", 0...87_600, expected: "hours, 0 (remove at once) to 87600") {
            settings.keepWorkerDirectoriesHours = hours
        }
        if let mebibytes = try number("TRAINYARD_LOG_SPOOL_MIB", 0.001...1_048_576, expected: "MiB above 0, at most 1048576") {
            settings.logSpoolLimitMiB = mebibytes
        }
        if let text = environment["TRAINYARD_DEFAULT_VOLUME_SIZE"], !text.isEmpty {
            guard let gibibytes = Int(text), (1...16_384).contains(gibibytes) else {
                throw ConfigurationError.invalid(
                    key: "TRAINYARD_DEFAULT_VOLUME_SIZE", value: text, expected: "a whole number of GiB, 1 to 16384 (as volume_size)")
            }
            settings.defaultVolumeSizeGiB = gibibytes
        }
        if let gibibytes = try number("TRAINYARD_DISK_RESERVE_GIB", 0...1_048_576, expected: "GiB, 0 or more") {
            settings.diskReserveGiB = gibibytes
        }
        if let text = environment["TRAINYARD_WORKER_VOLUMES"], !text.isEmpty {
            guard let mode = WorkerVolumeMode(rawValue: text) else {
                throw ConfigurationError.invalid(key: "TRAINYARD_WORKER_VOLUMES", value: text, expected: "auto or watch")
            }
            settings.workerVolumes = mode
        }
    }
}
