import Foundation

/// boto3 and the aws CLI from PyPI, pinned, in a venv of their own under `${XDG_CACHE_HOME:-~/.cache}/trainyard` (as
/// `scripts/bootstrap` installs them): the clients the SageMaker endpoint's tests drive, unchanged. Installed on first
/// use when `scripts/bootstrap` has not done it.
public enum TestAWSClients {
    /// boto3's version; botocore has the same, and its SageMaker model is the one `scripts/aws-models` reads.
    public static let boto3Version = "1.43.11"
    /// The aws CLI release built on that botocore.
    public static let awsCLIVersion = "1.45.11"

    /// The sagemaker Python SDK's last 2.x release (`Estimator.fit()`); 3.x has no estimators.
    public static let sageMakerV2Version = "2.257.7"
    /// The sagemaker Python SDK 3.x release `ModelTrainer.train()` is tested with.
    public static let sageMakerV3Version = "3.27.0"

    /// The venv's directory, installing it when it is missing: `<venv>/bin/python` has boto3, `<venv>/bin/aws` is the CLI.
    public static func venv() async throws -> String {
        try await venv(named: "aws-clients-\(boto3Version)", marker: "bin/aws", packages: ["boto3==\(boto3Version)", "awscli==\(awsCLIVersion)"])
    }

    /// A venv with the sagemaker SDK `sagemaker==<version>` (and the pinned boto3, where the SDK allows it).
    public static func sageMakerVenv(version: String) async throws -> String {
        try await venv(named: "sagemaker-\(version)", marker: "bin/python", packages: ["sagemaker==\(version)"], probe: "import sagemaker")
    }

    /// `${XDG_CACHE_HOME:-~/.cache}/trainyard/<name>` with `packages` installed, installing it under a lock when
    /// `marker` is missing (or `probe`, a Python statement, fails).
    static func venv(named name: String, marker: String, packages: [String], probe: String? = nil) async throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        let venv = "\(cache)/trainyard/\(name)"
        let done = venv + "/.installed"
        if FileManager.default.fileExists(atPath: done) { return venv }
        try FileManager.default.createDirectory(atPath: cache + "/trainyard", withIntermediateDirectories: true)
        let quoted = packages.map { "'\($0)'" }.joined(separator: " ")
        let check = probe.map { " && '\(venv)/bin/python' -c '\($0)'" } ?? ""
        // Under a lock, so two test processes do not install into one venv at once; the second finds it done.
        let script = """
            [ -f '\(done)' ] || { rm -rf '\(venv)' && python3 -m venv '\(venv)' && '\(venv)/bin/pip' install --quiet \(quoted) \
              && [ -e '\(venv)/\(marker)' ]\(check) && touch '\(done)'; }
            """
        let (status, output) = try await TestSchemathesis.run("/usr/bin/flock", [cache + "/trainyard/\(name).lock", "/bin/sh", "-c", script])
        guard status == 0, FileManager.default.fileExists(atPath: done) else {
            throw TestSchemathesisError(message: "installing \(packages.joined(separator: " ")) into \(venv) failed (\(status)): \(output.suffix(2000))")
        }
        return venv
    }
}
