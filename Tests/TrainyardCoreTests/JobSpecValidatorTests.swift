import Foundation
import Testing

@testable import TrainyardCore

@Suite struct JobSpecValidatorTests {
    let validator = JobSpecValidator(catalog: .standard, provisioner: Self.everything)

    /// A provisioner with every feature: the general rules, without the provisioner's.
    static let everything = ProvisionerCapabilities(name: "test", features: Set(ProvisionerCapabilities.Feature.allCases))

    /// A spec that breaks no rule; each test changes one thing.
    static func validSpec() -> JobSpec {
        JobSpec(
            name: "resnet-50-run-1",
            command: ["python", "train.py", "--epochs", "3"],
            hyperparameters: ["lr": "0.1"],
            environment: ["NCCL_DEBUG": "INFO"],
            tags: ["team": "vision", "cost-center": "ml/research"],
            instanceType: "ml.g5.xlarge",
            instanceCount: 2,
            useSpotInstances: true,
            maxRun: 3600,
            maxWait: 7200,
            checkpointS3URI: "s3://my-bucket/checkpoints",
            checkpointLocalPath: "/opt/ml/checkpoints",
            inputs: ["train": InputChannel(s3URI: "s3://my-bucket/train", inputMode: "FastFile")],
            outputPath: "s3://my-bucket/output",
            metricDefinitions: [MetricDefinition(name: "loss", regex: "loss=([0-9.]+)")],
            maxRetryAttempts: 2,
            retryOnExitCodes: [137],
            keepAlivePeriod: 600,
            distribution: Distribution(torchDistributedEnabled: true),
            priority: 10
        )
    }

    func rules(_ spec: JobSpec) -> [String] {
        validator.validate(spec).map { "\($0.field) \($0.rule)" }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let label: String
        let change: @Sendable (inout JobSpec) -> Void
        let field: String
        let rule: String
        var testDescription: String { label }
    }

    @Test func aValidSpecHasNoViolations() {
        // given
        let spec = Self.validSpec()
        // when
        let violations = validator.validate(spec)
        // then
        #expect(violations == [])
    }

    @Test func aMinimalSpecWithEntryPointIsValid() {
        let spec = JobSpec(entryPoint: "train.py", sourceDir: "file:///srv/code", instanceType: "ml.m5.large")
        #expect(validator.validate(spec) == [])
    }

    static let cases: [Case] = [
        Case(label: "name with underscore", change: { $0.name = "bad_name" }, field: "name", rule: "pattern"),
        Case(label: "name ending in hyphen", change: { $0.name = "job-" }, field: "name", rule: "pattern"),
        Case(label: "empty name", change: { $0.name = "" }, field: "name", rule: "length"),
        Case(label: "name of 64 characters", change: { $0.name = String(repeating: "a", count: 64) }, field: "name", rule: "length"),
        Case(label: "neither command nor entry point", change: { $0.command = nil }, field: "command", rule: "required"),
        Case(label: "command and entry point", change: { $0.entryPoint = "train.py" }, field: "command", rule: "exclusive"),
        Case(label: "empty command", change: { $0.command = [] }, field: "command", rule: "min_entries"),
        Case(label: "command of 101 elements", change: { $0.command = Array(repeating: "x", count: 101) }, field: "command", rule: "max_entries"),
        Case(label: "empty program", change: { $0.command = ["", "x"] }, field: "command[0]", rule: "length"),
        Case(label: "long argument", change: { $0.command = ["python", String(repeating: "a", count: 257)] }, field: "command[1]", rule: "max_length"),
        Case(label: "absolute entry point", change: { $0.command = nil; $0.entryPoint = "/train.py" }, field: "entry_point", rule: "relative_path"),
        Case(label: "entry point escaping", change: { $0.command = nil; $0.entryPoint = "src/../../train.py" }, field: "entry_point", rule: "relative_path"),
        Case(label: "empty entry point", change: { $0.command = nil; $0.entryPoint = "" }, field: "entry_point", rule: "length"),
        Case(label: "source dir without entry point", change: { $0.sourceDir = "s3://my-bucket/code.tar.gz" }, field: "source_dir", rule: "requires"),
        Case(label: "source dir not a URI", change: { $0.command = nil; $0.entryPoint = "t.py"; $0.sourceDir = "./code" }, field: "source_dir", rule: "uri"),
        Case(label: "long image URI", change: { $0.imageURI = String(repeating: "i", count: 256) }, field: "image_uri", rule: "max_length"),
        Case(label: "unknown instance type", change: { $0.instanceType = "ml.g5.huge" }, field: "instance_type", rule: "catalog"),
        Case(label: "zero instances", change: { $0.instanceCount = 0 }, field: "instance_count", rule: "minimum"),
        Case(label: "more spot hosts than exist", change: { $0.instanceCount = 5 }, field: "instance_count", rule: "capacity"),
        Case(label: "zero volume", change: { $0.volumeSize = 0 }, field: "volume_size", rule: "range"),
        Case(label: "huge volume", change: { $0.volumeSize = 16_385 }, field: "volume_size", rule: "range"),
        Case(label: "zero max run", change: { $0.maxRun = 0; $0.maxWait = nil; $0.useSpotInstances = false }, field: "max_run", rule: "range"),
        Case(label: "max run over 28 days", change: { $0.maxRun = 2_419_201; $0.maxWait = 2_419_201 }, field: "max_run", rule: "range"),
        Case(label: "max wait without spot", change: { $0.useSpotInstances = false }, field: "max_wait", rule: "requires_spot"),
        Case(label: "max wait below max run", change: { $0.maxWait = 3599 }, field: "max_wait", rule: "at_least_max_run"),
        Case(label: "max wait zero", change: { $0.maxWait = 0 }, field: "max_wait", rule: "minimum"),
        Case(label: "101 hyperparameters", change: { $0.hyperparameters = Dictionary(uniqueKeysWithValues: (0...100).map { ("k\($0)", "v") }) }, field: "hyperparameters", rule: "max_entries"),
        Case(label: "long hyperparameter key", change: { $0.hyperparameters = [String(repeating: "k", count: 257): "v"] }, field: "hyperparameters.\(String(repeating: "k", count: 64))…", rule: "max_length"),
        Case(label: "long hyperparameter value", change: { $0.hyperparameters = ["lr": String(repeating: "1", count: 2501)] }, field: "hyperparameters.lr", rule: "max_length"),
        Case(label: "101 environment variables", change: { $0.environment = Dictionary(uniqueKeysWithValues: (0...100).map { ("K\($0)", "v") }) }, field: "environment", rule: "max_entries"),
        Case(label: "environment key with a hyphen", change: { $0.environment = ["MY-VAR": "1"] }, field: "environment.MY-VAR", rule: "pattern"),
        Case(label: "environment key starting with a digit", change: { $0.environment = ["1VAR": "1"] }, field: "environment.1VAR", rule: "pattern"),
        Case(label: "long environment value", change: { $0.environment = ["A": String(repeating: "v", count: 513)] }, field: "environment.A", rule: "max_length"),
        Case(label: "51 tags", change: { $0.tags = Dictionary(uniqueKeysWithValues: (0...50).map { ("t\($0)", "v") }) }, field: "tags", rule: "max_entries"),
        Case(label: "empty tag key", change: { $0.tags = ["": "v"] }, field: "tags.", rule: "length"),
        Case(label: "long tag key", change: { $0.tags = [String(repeating: "t", count: 129): "v"] }, field: "tags.\(String(repeating: "t", count: 64))…", rule: "length"),
        Case(label: "tag key with a bang", change: { $0.tags = ["team!": "v"] }, field: "tags.team!", rule: "pattern"),
        Case(label: "tag value with a hash", change: { $0.tags = ["team": "#1"] }, field: "tags.team", rule: "pattern"),
        Case(label: "long tag value", change: { $0.tags = ["team": String(repeating: "v", count: 257)] }, field: "tags.team", rule: "max_length"),
        Case(label: "aws tag key", change: { $0.tags = ["aws:owner": "me"] }, field: "tags.aws:owner", rule: "reserved"),
        Case(label: "21 channels", change: { $0.inputs = Dictionary(uniqueKeysWithValues: (0...20).map { ("c\($0)", InputChannel(s3URI: "s3://my-bucket/d")) }) }, field: "inputs", rule: "max_entries"),
        Case(label: "channel name with a slash", change: { $0.inputs = ["tr/ain": InputChannel(s3URI: "s3://my-bucket/d")] }, field: "inputs.tr/ain", rule: "pattern"),
        Case(label: "long channel name", change: { $0.inputs = [String(repeating: "c", count: 65): InputChannel(s3URI: "s3://my-bucket/d")] }, field: "inputs.\(String(repeating: "c", count: 64))…", rule: "length"),
        Case(label: "https channel URI", change: { $0.inputs = ["train": InputChannel(s3URI: "https://example.com/d")] }, field: "inputs.train.s3_uri", rule: "uri"),
        Case(label: "pipe mode", change: { $0.inputs = ["train": InputChannel(s3URI: "s3://my-bucket/d", inputMode: "Pipe")] }, field: "inputs.train.input_mode", rule: "unsupported"),
        Case(label: "unknown input mode", change: { $0.inputs = ["train": InputChannel(s3URI: "s3://my-bucket/d", inputMode: "Stream")] }, field: "inputs.train.input_mode", rule: "enum"),
        Case(label: "unknown distribution", change: { $0.inputs = ["train": InputChannel(s3URI: "s3://my-bucket/d", distribution: "Random")] }, field: "inputs.train.distribution", rule: "enum"),
        Case(label: "long content type", change: { $0.inputs = ["train": InputChannel(s3URI: "s3://my-bucket/d", contentType: String(repeating: "x", count: 257))] }, field: "inputs.train.content_type", rule: "max_length"),
        Case(label: "output path with a bad bucket", change: { $0.outputPath = "s3://A_B/out" }, field: "output_path", rule: "uri"),
        Case(label: "checkpoint URI relative file", change: { $0.checkpointS3URI = "file://relative/path" }, field: "checkpoint_s3_uri", rule: "uri"),
        Case(label: "relative checkpoint path", change: { $0.checkpointLocalPath = "checkpoints" }, field: "checkpoint_local_path", rule: "absolute_path"),
        Case(label: "long checkpoint path", change: { $0.checkpointLocalPath = "/" + String(repeating: "c", count: 4096) }, field: "checkpoint_local_path", rule: "max_length"),
        Case(label: "checkpoint path without URI", change: { $0.checkpointS3URI = nil }, field: "checkpoint_local_path", rule: "requires"),
        Case(label: "41 metrics", change: { $0.metricDefinitions = (0...40).map { MetricDefinition(name: "m\($0)", regex: "m=(\\d+)") } }, field: "metric_definitions", rule: "max_entries"),
        Case(label: "empty metric name", change: { $0.metricDefinitions = [MetricDefinition(name: "", regex: "x")] }, field: "metric_definitions[0].name", rule: "length"),
        Case(label: "long metric regex", change: { $0.metricDefinitions = [MetricDefinition(name: "m", regex: String(repeating: "a", count: 501))] }, field: "metric_definitions[0].regex", rule: "length"),
        Case(label: "metric regex that does not compile", change: { $0.metricDefinitions = [MetricDefinition(name: "m", regex: "loss=([0-9.]+")] }, field: "metric_definitions[0].regex", rule: "regex"),
        Case(label: "duplicate metric name", change: { $0.metricDefinitions = [MetricDefinition(name: "m", regex: "a"), MetricDefinition(name: "m", regex: "b")] }, field: "metric_definitions[1].name", rule: "unique"),
        Case(label: "31 retries", change: { $0.maxRetryAttempts = 31 }, field: "max_retry_attempts", rule: "range"),
        Case(label: "negative retries", change: { $0.maxRetryAttempts = -1 }, field: "max_retry_attempts", rule: "range"),
        Case(label: "exit code 0", change: { $0.retryOnExitCodes = [1, 0] }, field: "retry_on_exit_codes[1]", rule: "range"),
        Case(label: "exit code 256", change: { $0.retryOnExitCodes = [256] }, field: "retry_on_exit_codes[0]", rule: "range"),
        Case(label: "keep alive over 6 hours", change: { $0.keepAlivePeriod = 21_601 }, field: "keep_alive_period", rule: "range"),
        Case(label: "priority 1001", change: { $0.priority = 1001 }, field: "priority", rule: "range"),
        Case(label: "priority -1001", change: { $0.priority = -1001 }, field: "priority", rule: "range"),
        Case(label: "torch and mpi", change: { $0.distribution = Distribution(torchDistributedEnabled: true, mpiEnabled: true) }, field: "distribution", rule: "exclusive"),
        Case(label: "zero processes per host", change: { $0.distribution = Distribution(mpiEnabled: true, mpiProcessesPerHost: 0) }, field: "distribution.mpi.processes_per_host", rule: "minimum"),
    ]

    @Test(arguments: cases)
    func eachBrokenRuleIsReportedWithTheSpecsFieldName(_ testCase: Case) {
        // given
        var spec = Self.validSpec()
        testCase.change(&spec)
        // when
        let violations = validator.validate(spec)
        // then
        #expect(violations.contains { $0.field == testCase.field && $0.rule == testCase.rule }, "\(violations)")
        #expect(violations.allSatisfy { !$0.message.isEmpty })
    }

    @Test func aNULCharacterAnywhereIsRefusedNamingItsField() {
        var spec = Self.validSpec()
        spec.hyperparameters["x"] = "a\u{0}b"
        spec.command = ["python", "train\u{0}.py"]
        spec.tags["t\u{0}"] = "v"
        let violations = validator.validate(spec).filter { $0.rule == "no_nul" }
        #expect(Set(violations.map(\.field)) == ["hyperparameters.x", "command[1]", "tags.t\u{0}"])
        #expect(validator.validate(Self.validSpec()).isEmpty)
    }

    @Test func maxWaitWithoutSpotAndBelowMaxRunReportsBothRules() {
        // given
        var spec = Self.validSpec()
        spec.useSpotInstances = false
        spec.instanceCount = 1
        spec.maxWait = 60
        // when
        let found = rules(spec)
        // then
        #expect(found.contains("max_wait requires_spot"))
        #expect(found.contains("max_wait at_least_max_run"))
    }

    @Test func maxWaitEqualToMaxRunIsAccepted() {
        var spec = Self.validSpec()
        spec.maxWait = spec.maxRun
        #expect(validator.validate(spec) == [])
    }

    @Test func aSpecWithSeveralErrorsReportsAllOfThem() {
        // given
        var spec = Self.validSpec()
        spec.name = "not_valid"
        spec.instanceType = "ml.m5.larg"
        spec.volumeSize = 0
        spec.useSpotInstances = false
        spec.maxWait = 10
        spec.tags = ["aws:x": "y"]
        spec.inputs = ["train": InputChannel(s3URI: "ftp://x/y", inputMode: "Pipe")]
        spec.metricDefinitions = [MetricDefinition(name: "loss", regex: "(")]
        // when
        let found = Set(rules(spec))
        // then
        let expected: Set = [
            "name pattern", "instance_type catalog", "volume_size range", "max_wait requires_spot",
            "max_wait at_least_max_run", "tags.aws:x reserved", "inputs.train.s3_uri uri",
            "inputs.train.input_mode unsupported", "metric_definitions[0].regex regex",
        ]
        #expect(expected.isSubset(of: found), "missing \(expected.subtracting(found))")
    }

    @Test func anUnknownInstanceTypeSuggestsCloseNames() throws {
        var spec = Self.validSpec()
        spec.instanceType = "ml.p4d.24xlarg"
        let violation = try #require(validator.validate(spec).first { $0.field == "instance_type" })
        #expect(violation.message.contains("ml.p4d.24xlarge"))
    }

    @Test func capacityIsCheckedAgainstTheJobsMarket() {
        // given a catalog with 8 on-demand and 2 spot g5.xlarge hosts
        let catalog = InstanceCatalog.standard.settingCapacity(Capacity(onDemand: 8, spot: 2), for: "ml.g5.xlarge")
        let validator = JobSpecValidator(catalog: catalog, provisioner: Self.everything)
        var spec = Self.validSpec()
        spec.instanceCount = 3
        // when / then: 3 spot hosts cannot be had
        let spot = validator.validate(spec)
        #expect(spot.map(\.rule) == ["capacity"])
        #expect(spot.first?.message.contains("2") == true)
        #expect(spot.first?.message.contains("never be scheduled") == true)
        // when / then: 3 on-demand hosts can
        spec.useSpotInstances = false
        spec.maxWait = nil
        #expect(validator.validate(spec) == [])
    }

    @Test func theRegexViolationIncludesTheCompilersReason() throws {
        var spec = Self.validSpec()
        spec.metricDefinitions = [MetricDefinition(name: "loss", regex: "loss=([0-9.]+")]
        let violation = try #require(validator.validate(spec).first { $0.rule == "regex" })
        #expect(violation.message.count > "The metric regex does not compile: ".count)
    }

    @Test func tagsAllowUnicodeLettersAndSpaces() {
        var spec = Self.validSpec()
        spec.tags = ["équipe": "vision ré-id", "path": "a/b:c=d+e@f"]
        #expect(validator.validate(spec) == [])
    }

    @Test func theServiceModelPatternsCompile() {
        #expect(JobSpecValidator.namePattern.matches("a-b--c"))
        #expect(JobSpecValidator.environmentKeyPattern.matches("_A1"))
        #expect(JobSpecValidator.tagPattern.matches(""))
        #expect(JobSpecValidator.channelNamePattern.matches("train.v2-x_y"))
        #expect(!JobSpecValidator.namePattern.matches("a\n"))
    }
}
