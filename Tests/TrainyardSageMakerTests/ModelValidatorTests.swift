import Foundation
import Testing
import TrainyardCore
import TrainyardSageMaker

/// The service model's constraints, checked on the server as AWS checks them, in AWS's words.
struct ModelValidatorTests {
    let validator = ModelValidator(model: .sageMaker)

    func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func aNameOutsideThePatternIsNamedAsAWSNamesIt() throws {
        let report = validator.validate(try json(#"{"TrainingJobName":"bad_name"}"#), operation: "DescribeTrainingJob")
        #expect(
            report.violations == [
                "Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
            ])
    }

    @Test func everyKindOfConstraintIsChecked() throws {
        let request = try json(
            #"""
            {"TrainingJobName":"ok","RoleArn":"r","OutputDataConfig":{"S3OutputPath":"s3://bkt/out"},
             "ResourceConfig":{"InstanceType":"ml.fake.xlarge","InstanceCount":1,"VolumeSizeInGB":30,"KeepAlivePeriodInSeconds":21601},
             "StoppingCondition":{"MaxRuntimeInSeconds":0},
             "InputDataConfig":[{"ChannelName":"bad channel!","DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://bkt/x"}}}]}
            """#)
        let violations = validator.validate(request, operation: "CreateTrainingJob").violations
        #expect(violations.contains { $0.hasPrefix("Value 'r' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20") })
        #expect(violations.contains { $0.contains("at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum value set: [") })
        #expect(violations.contains("Value 21601 at 'resourceConfig.keepAlivePeriodInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600"))
        #expect(violations.contains("Value 0 at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1"))
        #expect(violations.contains { $0.contains("at 'inputDataConfig.1.member.channelName' failed to satisfy constraint: Member must satisfy regular expression pattern") })
        #expect(ModelValidator.message(for: violations).hasPrefix("\(violations.count) validation errors detected: "))
    }

    @Test func missingRequiredMembersAreNull() throws {
        let violations = validator.validate(try json(#"{"TrainingJobName":"ok"}"#), operation: "CreateTrainingJob").violations
        #expect(violations.contains("Value null at 'roleArn' failed to satisfy constraint: Member must not be null"))
        #expect(violations.contains("Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null"))
        #expect(ModelValidator.message(for: [violations[0]]).hasPrefix("1 validation error detected: "))
    }

    @Test func aValueOfTheWrongTypeIsASerializationError() throws {
        let report = validator.validate(try json(#"{"MaxResults":"ten","SortBy":"Name"}"#), operation: "ListTrainingJobs")
        #expect(report.serializationErrors == ["Value 'ten' at 'maxResults' is not a whole number"])
        #expect(report.violations.isEmpty)
    }

    @Test func theLogsModelIsBundledToo() throws {
        let report = ModelValidator(model: .logs).validate(try json(#"{"logGroupName":"/aws/sagemaker/TrainingJobs"}"#), operation: "GetLogEvents")
        #expect(report.violations == ["Value null at 'logStreamName' failed to satisfy constraint: Member must not be null"])
    }
}

/// `CreateTrainingJob` onto Trainyard's job spec, and what it refuses.
struct TrainingJobRequestTests {
    func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test func theSupportedMembersBecomeTheSpec() throws {
        let request = try json(
            #"""
            {"TrainingJobName":"j","HyperParameters":{"sagemaker_program":"\"train.py\"","sagemaker_torch_distributed_enabled":"true"},
             "AlgorithmSpecification":{"TrainingImage":"img:1","TrainingInputMode":"File","MetricDefinitions":[{"Name":"loss","Regex":"loss=([0-9.]+)"}]},
             "InputDataConfig":[{"ChannelName":"train","DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://bkt/train","S3DataDistributionType":"ShardedByS3Key"}}}],
             "ResourceConfig":{"InstanceType":"ml.m5.xlarge","InstanceCount":2,"VolumeSizeInGB":30},
             "StoppingCondition":{"MaxRuntimeInSeconds":600,"MaxWaitTimeInSeconds":1200},"EnableManagedSpotTraining":true,
             "CheckpointConfig":{"S3Uri":"s3://bkt/ckpt"},"RetryStrategy":{"MaximumRetryAttempts":3},"Environment":{"A":"1"},
             "Tags":[{"Key":"team","Value":"a"}],"OutputDataConfig":{"S3OutputPath":"s3://bkt/out"},"RoleArn":"arn:aws:iam::123456789012:role/t"}
            """#)
        let spec = TrainingJobRequest.spec(request, provisioner: ProvisionerCapabilities(name: "local", features: []))
        #expect(spec.name == "j" && spec.instanceType == "ml.m5.xlarge" && spec.instanceCount == 2 && spec.volumeSize == nil)
        #expect(spec.useSpotInstances && spec.maxRun == 600 && spec.maxWait == 1200 && spec.checkpointS3URI == "s3://bkt/ckpt")
        #expect(spec.inputs["train"] == InputChannel(s3URI: "s3://bkt/train", distribution: "ShardedByS3Key"))
        #expect(spec.metricDefinitions == [MetricDefinition(name: "loss", regex: "loss=([0-9.]+)")])
        #expect(spec.maxRetryAttempts == 3 && spec.environment == ["A": "1"] && spec.tags == ["team": "a"] && spec.outputPath == "s3://bkt/out")
        #expect(spec.hyperparameters["sagemaker_program"] == "\"train.py\"" && spec.distribution?.torchDistributedEnabled == true)
        #expect(spec.command == nil && spec.imageURI == "img:1")
        #expect(TrainingJobRequest.crossFieldViolations(request).isEmpty && TrainingJobRequest.unsupported(request).isEmpty)
    }

    @Test func theContainerEntrypointIsTheCommand() throws {
        let request = try json(#"{"AlgorithmSpecification":{"TrainingImage":"i","TrainingInputMode":"File","ContainerEntrypoint":["/bin/bash"],"ContainerArguments":["-c","run"]}}"#)
        #expect(TrainingJobRequest.spec(request, provisioner: ProvisionerCapabilities(name: "local", features: [])).command == ["/bin/bash", "-c", "run"])
    }

    @Test func whatTrainyardCannotHonourIsRefusedByName() throws {
        let request = try json(
            #"""
            {"AlgorithmSpecification":{"AlgorithmName":"xgboost","TrainingInputMode":"Pipe"},"VpcConfig":{"SecurityGroupIds":["sg-1"],"Subnets":["s-1"]},
             "EnableNetworkIsolation":true,"OutputDataConfig":{"S3OutputPath":"s3://bkt/o","KmsKeyId":"k"},"DebugHookConfig":{"S3OutputPath":"s3://bkt/"},
             "ProfilerRuleConfigurations":[],"InputDataConfig":[{"ChannelName":"c","DataSource":{"FileSystemDataSource":{}}}]}
            """#)
        let refused = TrainingJobRequest.unsupported(request)
        for name in ["AlgorithmName", "Pipe", "VpcConfig", "EnableNetworkIsolation", "KmsKeyId", "FileSystemDataSource"] {
            #expect(refused.contains { $0.contains(name) }, "\(name): \(refused)")
        }
        // What the v2 SDK sends by default is stored, not refused.
        #expect(!refused.contains { $0.contains("DebugHookConfig") || $0.contains("ProfilerRuleConfigurations") })
    }

    @Test func spotAndTheRequiredStructuresFollowSageMakersRules() throws {
        let noSpot = try json(#"{"StoppingCondition":{"MaxRuntimeInSeconds":3600,"MaxWaitTimeInSeconds":7200}}"#)
        #expect(TrainingJobRequest.crossFieldViolations(noSpot).contains("Invalid MaxWaitTimeInSeconds. It is only supported when EnableManagedSpotTraining is set to true"))
        let short = try json(#"{"EnableManagedSpotTraining":true,"StoppingCondition":{"MaxRuntimeInSeconds":3600,"MaxWaitTimeInSeconds":1800}}"#)
        #expect(TrainingJobRequest.crossFieldViolations(short).contains { $0.hasPrefix("Invalid MaxWaitTimeInSeconds. It must be greater than or equal to MaxRuntimeInSeconds") })
        let bare = try json(#"{}"#)
        let missing = TrainingJobRequest.crossFieldViolations(bare)
        #expect(missing.contains { $0.hasPrefix("AlgorithmSpecification is required") } && missing.contains { $0.hasPrefix("ResourceConfig is required") }
            && missing.contains { $0.hasPrefix("StoppingCondition is required") })
    }

    @Test func specFieldsAreNamedAsTheRequestNamesThem() {
        #expect(TrainingJobRequest.requestPath(ofSpecField: "instance_count") == "resourceConfig.instanceCount")
        #expect(TrainingJobRequest.requestPath(ofSpecField: "inputs.train.s3_uri") == "inputDataConfig.train.s3_uri")
        #expect(TrainingJobRequest.requestPath(ofSpecField: "metric_definitions[0].regex") == "algorithmSpecification.metricDefinitions[0].regex")
    }
}
