import Foundation

extension JobSpecValidator {
    static let maximumHyperparameters = 100
    static let hyperparameterKeyMaximumLength = 256
    static let hyperparameterValueMaximumLength = 2500
    static let maximumEnvironmentEntries = 100
    static let environmentKeyMaximumLength = 512
    static let environmentValueMaximumLength = 512
    static let maximumTags = 50
    static let tagKeyLength = 1...128
    static let tagValueMaximumLength = 256
    static let maximumChannels = 20
    static let channelNameLength = 1...64
    static let contentTypeMaximumLength = 256
    static let maximumMetricDefinitions = 40
    static let metricNameLength = 1...255
    static let metricRegexLength = 1...500

    // Literals from SageMaker's service model; the tests compile each one.
    static let environmentKeyPattern = FullMatchPattern("[a-zA-Z_][a-zA-Z0-9_]*")!
    static let tagPattern = FullMatchPattern(#"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"#)!
    static let channelNamePattern = FullMatchPattern(#"[A-Za-z0-9\.\-_]+"#)!

    /// The field name of a map entry: `prefix.key`, with very long keys shortened.
    static func entryField(_ prefix: String, _ key: String) -> String {
        key.count > 64 ? "\(prefix).\(key.prefix(64))…" : "\(prefix).\(key)"
    }

    func checkMaps(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        checkHyperparameters(spec.hyperparameters, into: &violations)
        checkEnvironment(spec.environment, into: &violations)
        checkTags(spec.tags, into: &violations)
    }

    private func checkHyperparameters(_ map: [String: String], into violations: inout [FieldViolation]) {
        if map.count > Self.maximumHyperparameters {
            violations.add(
                "hyperparameters", "max_entries",
                "hyperparameters may hold at most \(Self.maximumHyperparameters) entries; it has \(map.count).")
        }
        for (key, value) in map.sorted(by: { $0.key < $1.key }) {
            let field = Self.entryField("hyperparameters", key)
            if key.unicodeScalars.count > Self.hyperparameterKeyMaximumLength {
                violations.add(
                    field, "max_length",
                    "A hyperparameter name may be at most \(Self.hyperparameterKeyMaximumLength) characters; "
                        + "this one has \(key.unicodeScalars.count).")
            }
            if value.unicodeScalars.count > Self.hyperparameterValueMaximumLength {
                violations.add(
                    field, "max_length",
                    "A hyperparameter value may be at most \(Self.hyperparameterValueMaximumLength) characters; "
                        + "this one has \(value.unicodeScalars.count).")
            }
        }
    }

    private func checkEnvironment(_ map: [String: String], into violations: inout [FieldViolation]) {
        if map.count > Self.maximumEnvironmentEntries {
            violations.add(
                "environment", "max_entries",
                "environment may hold at most \(Self.maximumEnvironmentEntries) variables; it has \(map.count).")
        }
        for (key, value) in map.sorted(by: { $0.key < $1.key }) {
            let field = Self.entryField("environment", key)
            if !Self.environmentKeyPattern.matches(key) {
                violations.add(
                    field, "pattern",
                    "An environment variable name must match ^[a-zA-Z_][a-zA-Z0-9_]*$.")
            }
            if key.unicodeScalars.count > Self.environmentKeyMaximumLength {
                violations.add(
                    field, "max_length",
                    "An environment variable name may be at most \(Self.environmentKeyMaximumLength) characters; "
                        + "this one has \(key.unicodeScalars.count).")
            }
            if value.unicodeScalars.count > Self.environmentValueMaximumLength {
                violations.add(
                    field, "max_length",
                    "An environment variable value may be at most \(Self.environmentValueMaximumLength) characters; "
                        + "this one has \(value.unicodeScalars.count).")
            }
        }
    }

    private func checkTags(_ map: [String: String], into violations: inout [FieldViolation]) {
        if map.count > Self.maximumTags {
            violations.add("tags", "max_entries", "tags may hold at most \(Self.maximumTags) tags; it has \(map.count).")
        }
        let allowed = #"letters, digits, spaces and _ . : / = + - @"#
        for (key, value) in map.sorted(by: { $0.key < $1.key }) {
            let field = Self.entryField("tags", key)
            if !Self.tagKeyLength.contains(key.unicodeScalars.count) {
                violations.add(field, "length", "A tag key must be 1 to 128 characters long; this one has \(key.unicodeScalars.count).")
            }
            if !Self.tagPattern.matches(key) {
                violations.add(field, "pattern", "A tag key may only hold \(allowed).")
            }
            if key.lowercased().hasPrefix("aws:") {
                violations.add(field, "reserved", "Tag keys starting with 'aws:' are reserved; choose another key.")
            }
            if value.unicodeScalars.count > Self.tagValueMaximumLength {
                violations.add(
                    field, "max_length",
                    "A tag value may be at most \(Self.tagValueMaximumLength) characters; this one has \(value.unicodeScalars.count).")
            }
            if !Self.tagPattern.matches(value) {
                violations.add(field, "pattern", "A tag value may only hold \(allowed).")
            }
        }
    }

    func checkInputs(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        if spec.inputs.count > Self.maximumChannels {
            violations.add(
                "inputs", "max_entries",
                "inputs may hold at most \(Self.maximumChannels) channels; it has \(spec.inputs.count).")
        }
        for (name, channel) in spec.inputs.sorted(by: { $0.key < $1.key }) {
            let field = Self.entryField("inputs", name)
            if !Self.channelNameLength.contains(name.unicodeScalars.count) {
                violations.add(field, "length", "A channel name must be 1 to 64 characters long; this one has \(name.unicodeScalars.count).")
            }
            if !Self.channelNamePattern.matches(name) {
                violations.add(field, "pattern", #"A channel name must match ^[A-Za-z0-9\.\-_]+$."#)
            }
            Self.checkURI(channel.s3URI, field: "\(field).s3_uri", into: &violations)
            switch channel.inputMode {
            case "File", "FastFile":
                break
            case "Pipe":
                violations.add(
                    "\(field).input_mode", "unsupported",
                    "Pipe mode is not supported; use File (FastFile is treated as File).")
            default:
                violations.add(
                    "\(field).input_mode", "enum",
                    "input_mode must be File or FastFile; it is '\(channel.inputMode)'.")
            }
            if channel.distribution != "FullyReplicated" && channel.distribution != "ShardedByS3Key" {
                violations.add(
                    "\(field).distribution", "enum",
                    "distribution must be FullyReplicated or ShardedByS3Key; it is '\(channel.distribution)'.")
            }
            if let contentType = channel.contentType, contentType.unicodeScalars.count > Self.contentTypeMaximumLength {
                violations.add(
                    "\(field).content_type", "max_length",
                    "content_type may be at most \(Self.contentTypeMaximumLength) characters; it has \(contentType.unicodeScalars.count).")
            }
        }
    }

    func checkMetricDefinitions(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        let definitions = spec.metricDefinitions
        if definitions.count > Self.maximumMetricDefinitions {
            violations.add(
                "metric_definitions", "max_entries",
                "metric_definitions may hold at most \(Self.maximumMetricDefinitions) metrics; it has \(definitions.count).")
        }
        var seen: Set<String> = []
        for (index, definition) in definitions.enumerated() {
            let field = "metric_definitions[\(index)]"
            if !Self.metricNameLength.contains(definition.name.unicodeScalars.count) {
                violations.add(
                    "\(field).name", "length",
                    "A metric name must be 1 to 255 characters long; this one has \(definition.name.unicodeScalars.count).")
            } else if !seen.insert(definition.name).inserted {
                violations.add(
                    "\(field).name", "unique",
                    "The metric name '\(definition.name)' is defined more than once; metric names must be unique.")
            }
            if !Self.metricRegexLength.contains(definition.regex.unicodeScalars.count) {
                violations.add(
                    "\(field).regex", "length",
                    "A metric regex must be 1 to 500 characters long; this one has \(definition.regex.unicodeScalars.count).")
            } else if let reason = Self.regexCompilationError(definition.regex) {
                violations.add("\(field).regex", "regex", "The metric regex does not compile: \(reason)")
            } else if let reason = MetricRegexRule.refusal(definition.regex) {
                violations.add("\(field).regex", "regex", reason)
            }
        }
    }

    /// Why `pattern` does not compile as an `NSRegularExpression`, or `nil` when it does.
    static func regexCompilationError(_ pattern: String) -> String? {
        do {
            _ = try NSRegularExpression(pattern: pattern)
            return nil
        } catch {
            // NSRegularExpression's error says little; Swift's parser names the problem.
            do {
                _ = try Regex(pattern)
            } catch let swiftError {
                return String(describing: swiftError)
            }
            return "invalid regular expression (\(error.localizedDescription))"
        }
    }
}
