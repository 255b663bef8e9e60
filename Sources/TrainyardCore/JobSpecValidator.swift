import Foundation

// Rules, from SageMaker's service model (botocore `sagemaker/2017-07-24`) and DESIGN.md.
// `rule` strings are stable; clients and tests match on them. Lengths count Unicode scalars (code points), as
// JSON Schema's minLength and maxLength do: openapi/trainyard.yaml states every rule a schema can express, and the
// server and the spec must agree both ways (SchemathesisTests).
//
// | rule               | meaning                                                               |
// | ------------------ | --------------------------------------------------------------------- |
// | `required`         | neither `command` nor `entry_point` (nor the SDK's `sagemaker_program` |
// |                    | hyperparameter) is given                                              |
// | `exclusive`        | two fields that exclude each other are both set (`command` and        |
// |                    | `entry_point`; `distribution` torch_distributed and mpi)              |
// | `requires`         | a field needs another one (`source_dir` → `entry_point`,              |
// |                    | `checkpoint_local_path` → `checkpoint_s3_uri`)                        |
// | `requires_spot`    | `max_wait` without `use_spot_instances`                               |
// | `at_least_max_run` | `max_wait` below `max_run`                                            |
// | `pattern`          | a string does not match the service model's pattern (name, env key,   |
// |                    | tag key/value, channel name)                                          |
// | `length`           | a string outside min…max characters where min ≥ 1 (name 1…63, tag key |
// |                    | 1…128, channel 1…64, metric name 1…255, metric regex 1…500, entry    |
// |                    | point 1…1024, command[0] non-empty)                                   |
// | `max_length`       | a string over its maximum (hyperparameter key 256 / value 2500, env   |
// |                    | key/value 512, tag value 256, content_type 256, image_uri 255,        |
// |                    | checkpoint_local_path 4096, command element 256)                      |
// | `min_entries`      | `command` is an empty array                                           |
// | `max_entries`      | too many entries (command 100, hyperparameters 100, environment 100,  |
// |                    | tags 50, inputs 20, metric_definitions 40)                            |
// | `catalog`          | `instance_type` is not in the catalog                                 |
// | `minimum`          | below a minimum (`instance_count` ≥ 1, `max_wait` ≥ 1,                |
// |                    | `distribution.mpi.processes_per_host` ≥ 1)                            |
// | `maximum`          | above 2147483647 (`max_wait`, `distribution.mpi.processes_per_host`;  |
// |                    | `instance_count` meets `capacity` first)                              |
// | `capacity`         | `instance_count` above the hosts of the job's market                  |
// | `range`            | a number outside its range (volume_size 1…16384, max_run 1…2419200,   |
// |                    | max_retry_attempts 0…30, retry_on_exit_codes 1…255,                   |
// |                    | keep_alive_period 0…21600, priority -1000…1000)                       |
// | `reserved`         | a tag key starting with `aws:`                                        |
// | `uri`              | not `s3://bucket/key` or `file:///absolute/path`                      |
// | `unsupported`      | `input_mode` `Pipe`; a field the job's provisioner does not implement   |
// |                    | (`checkpoint_local_path` outside the directories a command may write) |
// |                    | (`volume_size` without volume sizes, `keep_alive_period` > 0 without   |
// |                    | warm pools, `image_uri` without containers and with nothing else to   |
// |                    | run on the host); the message names what would run it                 |
// | `enum`             | `input_mode` not File/FastFile/Pipe, channel `distribution` not       |
// |                    | FullyReplicated/ShardedByS3Key                                        |
// | `relative_path`    | `entry_point` absolute or with a `..` component                       |
// | `absolute_path`    | `checkpoint_local_path` not absolute                                  |
// | `regex`            | a metric regex that does not compile, or that repeats a group which   |
// |                    | itself repeats or alternates (`(a+)+`, `(a|a)*`), or that uses a      |
// |                    | backreference (``MetricRegexRule``)                                   |
// | `unique`           | a metric name used twice                                              |
// | `no_nul`           | a string holds a NUL character (it cannot be stored, passed to a     |
// |                    | process's argv or environment, or written to a file name)             |

/// Checks a ``JobSpec`` against SageMaker's limits and Trainyard's catalog, and reports
/// every violation at once (it never stops at the first).
///
/// Field names are the spec's JSON names, nested with dots and brackets
/// (`inputs.train.s3_uri`, `metric_definitions[0].regex`, `hyperparameters.lr`). The rule
/// names are listed in a table at the top of this file.
public struct JobSpecValidator: Sendable {
    /// The catalog that instance types and counts are checked against.
    public let catalog: InstanceCatalog
    /// What the provisioner that will run the job implements; a field it does not is refused.
    public let provisioner: ProvisionerCapabilities
    /// The hosts the pool has, which a gang may not exceed.
    public let capacity: PoolCapacity

    /// Creates a validator that checks instance types against `catalog`, gangs against `capacity` (the catalog's own
    /// when not given), and the fields that need a provisioner feature against `provisioner`.
    public init(catalog: InstanceCatalog, provisioner: ProvisionerCapabilities, capacity: PoolCapacity? = nil) {
        self.catalog = catalog
        self.provisioner = provisioner
        self.capacity = capacity ?? PoolCapacity(catalog: catalog)
    }

    /// Every violation in `spec`, in field order; empty when the spec is valid.
    public func validate(_ spec: JobSpec) -> [FieldViolation] {
        var violations: [FieldViolation] = []
        checkName(spec, into: &violations)
        checkProgram(spec, into: &violations)
        checkMaps(spec, into: &violations)
        checkResources(spec, into: &violations)
        checkStopping(spec, into: &violations)
        checkCheckpoint(spec, into: &violations)
        checkInputs(spec, into: &violations)
        if let outputPath = spec.outputPath {
            Self.checkURI(outputPath, field: "output_path", into: &violations)
        }
        if spec.sourceDir == nil, let submit = SageMakerContract.sageMakerString("sagemaker_submit_directory", in: spec),
            submit.hasPrefix("s3://") || submit.hasPrefix("file://")
        {
            Self.checkURI(submit, field: "hyperparameters.sagemaker_submit_directory", into: &violations)
        }
        checkMetricDefinitions(spec, into: &violations)
        checkRetriesAndScheduling(spec, into: &violations)
        checkProvisionerFeatures(spec, into: &violations)
        checkNoNUL(spec, into: &violations)
        return violations
    }

    /// Fields that only a provisioner with some feature honours are refused, not stored and ignored, when the job's
    /// provisioner lacks it. `image_uri` is the exception SageMaker clients need (they always send an image): beside
    /// something to run on the host it is accepted, and the job says the image was not used.
    private func checkProvisionerFeatures(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        let features = provisioner.features
        let name = provisioner.name
        if let image = spec.imageURI, !features.contains(.containers),
            spec.command == nil, spec.entryPoint == nil, spec.hyperparameters["sagemaker_program"] == nil
        {
            violations.add(
                "image_uri", "unsupported",
                "image_uri names the image \(image) and nothing else to run, but the \(name) provisioner runs no containers. "
                    + "Give command or entry_point to run on the worker host (the image is then noted as not used), "
                    + "or run the job on a provisioner that runs containers.")
        }
        if let size = spec.volumeSize, !features.contains(.volumeSizes) {
            violations.add(
                "volume_size", "unsupported",
                "volume_size asks for \(size) GiB of scratch space per worker, but the \(name) provisioner neither sizes nor "
                    + "limits worker directories, so it would not hold. Remove volume_size; only a provisioner that enforces "
                    + "volume sizes runs it.")
        }
        if spec.keepAlivePeriod > 0, !features.contains(.warmPools) {
            violations.add(
                "keep_alive_period", "unsupported",
                "keep_alive_period asks for a warm pool kept for \(spec.keepAlivePeriod) seconds, but the \(name) provisioner "
                    + "keeps no warm pools: every job starts on fresh hosts. Remove keep_alive_period or set it to 0; only a "
                    + "provisioner with warm pools runs it.")
        }
    }

    /// Every string of the spec, with its field, is free of NUL (U+0000).
    private func checkNoNUL(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        var strings: [(String, String)] = [
            ("name", spec.name ?? ""), ("entry_point", spec.entryPoint ?? ""), ("source_dir", spec.sourceDir ?? ""),
            ("image_uri", spec.imageURI ?? ""), ("checkpoint_s3_uri", spec.checkpointS3URI ?? ""),
            ("checkpoint_local_path", spec.checkpointLocalPath ?? ""), ("output_path", spec.outputPath ?? ""),
        ]
        for (index, element) in (spec.command ?? []).enumerated() { strings.append(("command[\(index)]", element)) }
        for (prefix, map) in [("hyperparameters", spec.hyperparameters), ("environment", spec.environment), ("tags", spec.tags)] {
            for (key, value) in map { strings.append((Self.entryField(prefix, key), key + value)) }
        }
        for (name, channel) in spec.inputs {
            strings.append((Self.entryField("inputs", name), name + channel.s3URI + (channel.contentType ?? "") + channel.inputMode + channel.distribution))
        }
        for (index, metric) in spec.metricDefinitions.enumerated() { strings.append(("metric_definitions[\(index)]", metric.name + metric.regex)) }
        for (field, value) in strings where value.unicodeScalars.contains("\u{0}") {
            violations.add(field, "no_nul", "\(field) contains a NUL character, which no string of a job may hold")
        }
    }

    // MARK: - Limits

    static let nameLength = 1...63
    static let commandEntries = 1...100
    static let commandElementMaximumLength = 256
    static let entryPointLength = 1...1024
    static let imageURIMaximumLength = 255
    static let volumeSizeRange = 1...16_384
    static let maxRunRange = 1...2_419_200
    /// `max_pending`: up to SageMaker's 28 days; from 1 second here (SageMaker's model starts at 7200, and its endpoint
    /// holds its requests to that).
    static let maxPendingRange = 1...2_419_200
    static let checkpointLocalPathMaximumLength = 4096
    static let maxRetryAttemptsRange = 0...30
    static let exitCodeRange = 1...255
    static let keepAlivePeriodRange = 0...21_600
    static let priorityRange = -1000...1000
    /// The largest `max_wait` and `processes_per_host` (a 32-bit integer, as the spec states: every integer a client
    /// sends has a bound it can check).
    static let largestCount = 2_147_483_647

    // The patterns are literals from SageMaker's service model; the tests compile each one.
    static let namePattern = FullMatchPattern("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")!

    // MARK: - Checks

    private func checkName(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        guard let name = spec.name else { return }
        violations += Self.nameViolations(name, field: "name")
    }

    /// What is wrong with `name` as a job's name (SageMaker's `TrainingJobName` rules), reported as `field`.
    public static func nameViolations(_ name: String, field: String) -> [FieldViolation] {
        var violations: [FieldViolation] = []
        if !Self.nameLength.contains(name.unicodeScalars.count) {
            violations.add(
                field, "length",
                "\(field) must be 1 to 63 characters long; it has \(name.unicodeScalars.count).")
        }
        if !Self.namePattern.matches(name) {
            violations.add(
                field, "pattern",
                "\(field) must match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$: letters, digits and hyphens, "
                    + "starting and ending with a letter or digit.")
        }
        return violations
    }

    private func checkProgram(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        switch (spec.command, spec.entryPoint) {
        // A provisioner that runs containers runs the image's own program (SageMaker's `train`).
        case (nil, nil) where spec.hyperparameters["sagemaker_program"] == nil
            && !(spec.imageURI != nil && provisioner.features.contains(.containers)):
            violations.add(
                "command", "required",
                "Give either command (the argv each worker runs) or entry_point (a script in source_dir), "
                    + "or the SageMaker SDK's sagemaker_program and sagemaker_submit_directory hyperparameters.")
        case (.some, .some):
            violations.add("command", "exclusive", "Give command or entry_point, not both.")
        default:
            break
        }
        if let command = spec.command {
            if command.isEmpty {
                violations.add("command", "min_entries", "command must hold the program and its arguments; it is empty.")
            } else if command.count > Self.commandEntries.upperBound {
                violations.add(
                    "command", "max_entries",
                    "command may hold at most \(Self.commandEntries.upperBound) elements; it has \(command.count).")
            }
            if let program = command.first, program.isEmpty {
                violations.add("command[0]", "length", "command[0], the program to run, must not be empty.")
            }
            for (index, argument) in command.enumerated() where argument.unicodeScalars.count > Self.commandElementMaximumLength {
                violations.add(
                    "command[\(index)]", "max_length",
                    "Each command element may be at most \(Self.commandElementMaximumLength) characters; "
                        + "this one has \(argument.unicodeScalars.count).")
            }
        }
        if let entryPoint = spec.entryPoint {
            if !Self.entryPointLength.contains(entryPoint.unicodeScalars.count) {
                violations.add(
                    "entry_point", "length",
                    "entry_point must be 1 to \(Self.entryPointLength.upperBound) characters long; "
                        + "it has \(entryPoint.unicodeScalars.count).")
            }
            let components = RelativePath.segments(of: entryPoint, omittingEmpty: false)
            if entryPoint.unicodeScalars.first == "/" || components.contains("..") {
                violations.add(
                    "entry_point", "relative_path",
                    "entry_point must be a path relative to source_dir, without '..' components.")
            }
        }
        if let sourceDir = spec.sourceDir {
            if spec.entryPoint == nil {
                violations.add(
                    "source_dir", "requires",
                    "source_dir is only used with entry_point; set entry_point or remove source_dir.")
            }
            Self.checkURI(sourceDir, field: "source_dir", into: &violations)
        }
        if let imageURI = spec.imageURI, imageURI.unicodeScalars.count > Self.imageURIMaximumLength {
            violations.add(
                "image_uri", "max_length",
                "image_uri may be at most \(Self.imageURIMaximumLength) characters; it has \(imageURI.unicodeScalars.count).")
        }
    }

    private func checkResources(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        let shape = catalog.shape(named: spec.instanceType)
        if shape == nil {
            let suggestions = catalog.suggestions(for: spec.instanceType)
            violations.add(
                "instance_type", "catalog",
                "'\(spec.instanceType)' is not an instance type this service offers"
                    + (suggestions.isEmpty ? "." : "; did you mean \(suggestions.joined(separator: ", "))?"))
        }
        if spec.instanceCount < 1 {
            violations.add("instance_count", "minimum", "instance_count must be at least 1; it is \(spec.instanceCount).")
        } else if let shape {
            let limit = capacity.ceiling(of: shape.name).hosts(spot: spec.useSpotInstances)
            if spec.instanceCount > limit {
                let market = spec.useSpotInstances ? "spot" : "on-demand"
                violations.add(
                    "instance_count", "capacity",
                    "instance_count is \(spec.instanceCount), but the pool never has more than \(limit) \(market) \(shape.name) "
                        + "hosts; a larger gang could never be scheduled. Use at most \(limit) hosts.")
            }
        }
        if let volumeSize = spec.volumeSize {
            Self.checkRange(volumeSize, Self.volumeSizeRange, field: "volume_size", unit: "GiB", into: &violations)
        }
    }

    private func checkStopping(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        Self.checkRange(spec.maxRun, Self.maxRunRange, field: "max_run", unit: "seconds", into: &violations)
        if let maxPending = spec.maxPending {
            Self.checkRange(maxPending, Self.maxPendingRange, field: "max_pending", unit: "seconds", into: &violations)
        }
        guard let maxWait = spec.maxWait else { return }
        if !spec.useSpotInstances {
            violations.add(
                "max_wait", "requires_spot",
                "max_wait is only for spot jobs; set use_spot_instances to true or remove max_wait.")
        }
        if maxWait < 1 {
            violations.add("max_wait", "minimum", "max_wait must be at least 1 second; it is \(maxWait).")
        } else if maxWait > Self.largestCount {
            violations.add("max_wait", "maximum", "max_wait may be at most \(Self.largestCount) seconds; it is \(maxWait).")
        }
        if maxWait < spec.maxRun {
            violations.add(
                "max_wait", "at_least_max_run",
                "max_wait (\(maxWait) seconds) must be equal to or greater than max_run (\(spec.maxRun) seconds).")
        }
    }

    private func checkCheckpoint(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        if let uri = spec.checkpointS3URI {
            Self.checkURI(uri, field: "checkpoint_s3_uri", into: &violations)
        }
        guard let localPath = spec.checkpointLocalPath else { return }
        let absolute = localPath.unicodeScalars.first == "/"
        if !absolute {
            violations.add(
                "checkpoint_local_path", "absolute_path",
                "checkpoint_local_path must be an absolute path such as /opt/ml/checkpoints.")
        }
        if localPath.unicodeScalars.count > Self.checkpointLocalPathMaximumLength {
            violations.add(
                "checkpoint_local_path", "max_length",
                "checkpoint_local_path may be at most \(Self.checkpointLocalPathMaximumLength) characters; "
                    + "it has \(localPath.unicodeScalars.count).")
        }
        if let roots = provisioner.commandWritableRoots, absolute,
            !roots.contains(where: { RelativePath.isInside(localPath, root: $0) }) || RelativePath.segments(of: localPath, omittingEmpty: true).contains("..")
        {
            violations.add(
                "checkpoint_local_path", "unsupported",
                "checkpoint_local_path \(localPath) is outside \(roots.joined(separator: " and ")): the \(provisioner.name) provisioner runs "
                    + "each command as its own user, which may write only there. Use a path under one of them, such as /opt/ml/checkpoints.")
        }
        if spec.checkpointS3URI == nil {
            violations.add(
                "checkpoint_local_path", "requires",
                "checkpoint_local_path is only used with checkpoint_s3_uri; set checkpoint_s3_uri or remove it.")
        }
    }

    private func checkRetriesAndScheduling(_ spec: JobSpec, into violations: inout [FieldViolation]) {
        Self.checkRange(spec.maxRetryAttempts, Self.maxRetryAttemptsRange, field: "max_retry_attempts", into: &violations)
        for (index, code) in spec.retryOnExitCodes.enumerated() {
            Self.checkRange(code, Self.exitCodeRange, field: "retry_on_exit_codes[\(index)]", into: &violations)
        }
        Self.checkRange(
            spec.keepAlivePeriod, Self.keepAlivePeriodRange, field: "keep_alive_period", unit: "seconds",
            into: &violations)
        if let distribution = spec.distribution {
            if distribution.torchDistributedEnabled && distribution.mpiEnabled {
                violations.add(
                    "distribution", "exclusive",
                    "Enable torch_distributed or mpi, not both.")
            }
            if let processes = distribution.mpiProcessesPerHost, processes < 1 {
                violations.add(
                    "distribution.mpi.processes_per_host", "minimum",
                    "processes_per_host must be at least 1; it is \(processes).")
            } else if let processes = distribution.mpiProcessesPerHost, processes > Self.largestCount {
                violations.add(
                    "distribution.mpi.processes_per_host", "maximum",
                    "processes_per_host may be at most \(Self.largestCount); it is \(processes).")
            }
        }
        Self.checkRange(spec.priority, Self.priorityRange, field: "priority", into: &violations)
    }

    // MARK: - Helpers

    static func checkRange(
        _ value: Int,
        _ range: ClosedRange<Int>,
        field: String,
        unit: String? = nil,
        into violations: inout [FieldViolation]
    ) {
        guard !range.contains(value) else { return }
        let suffix = unit.map { " \($0)" } ?? ""
        violations.add(
            field, "range",
            "\(field) must be between \(range.lowerBound) and \(range.upperBound)\(suffix); it is \(value).")
    }

    static func checkURI(_ value: String, field: String, into violations: inout [FieldViolation]) {
        do {
            _ = try ObjectURI(parsing: value)
        } catch {
            violations.add(field, error.rule, "\(field): \(error.description).")
        }
    }
}

extension [FieldViolation] {
    /// Appends a violation.
    mutating func add(_ field: String, _ rule: String, _ message: String) {
        append(FieldViolation(field: field, rule: rule, message: message))
    }
}
