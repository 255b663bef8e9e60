import Foundation
import Testing
import TrainyardTestSupport

/// Runs Python with the pinned boto3 (``TestAWSClients``) against a live server's SageMaker endpoint, as a user's script
/// would: credentials and endpoints from the environment, nothing else changed.
enum SageMakerClients {
    /// The environment a user sets (`sagemaker-compat.md` §1.6, §4.3): the key as AWS credentials, the endpoints, a region.
    static func environment(_ app: LiveApp, token: String, region: String = "us-east-1") -> [String: String] {
        let parts = token.split(separator: ".", maxSplits: 1).map(String.init)
        return [
            "AWS_ACCESS_KEY_ID": parts[0], "AWS_SECRET_ACCESS_KEY": parts.count > 1 ? parts[1] : "", "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL_SAGEMAKER": app.baseURL, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": app.baseURL,
            // Nothing from the machine's own AWS set-up.
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "PYTHONUNBUFFERED": "1",
        ]
    }

    /// Runs `script` with the venv's Python; answers its exit status and output.
    static func python(_ script: String, environment: [String: String]) async throws -> (Int32, String) {
        let venv = try await TestAWSClients.venv()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-boto3-\(UUID().uuidString).py").path
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try await TestSchemathesis.run(venv + "/bin/python", [file], environment: environment)
    }

    /// Runs the aws CLI with `arguments`; answers its exit status and output.
    static func aws(_ arguments: [String], environment: [String: String]) async throws -> (Int32, String) {
        let venv = try await TestAWSClients.venv()
        return try await TestSchemathesis.run(venv + "/bin/aws", arguments, environment: environment)
    }

    /// Python that every check script starts with: clients from the environment and a helper that expects an error.
    static let prelude = #"""
        import json, os, sys, time
        import boto3, botocore
        from botocore.config import Config

        sm = boto3.client("sagemaker")
        raw = boto3.client("sagemaker", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
        logs = boto3.client("logs")

        def refused(call, **kwargs):
            try:
                call(**kwargs)
            except botocore.exceptions.ClientError as error:
                return error.response["Error"]["Code"], error.response["Error"]["Message"], error.response["ResponseMetadata"]["HTTPStatusCode"]
            raise AssertionError(f"{call.__name__} was accepted: {kwargs}")

        def check(name, condition, detail=""):
            if not condition:
                print(f"FAILED {name}: {detail}", flush=True)
                sys.exit(1)
            print(f"ok {name}", flush=True)

        """#
}
