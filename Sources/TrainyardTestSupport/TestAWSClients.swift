import Foundation

/// boto3 and the aws CLI from PyPI, pinned, in a venv of their own under `${XDG_CACHE_HOME:-~/.cache}/trainyard` (as
/// `scripts/bootstrap` installs them): the clients the SageMaker endpoint's tests drive, unchanged. Installed on first
/// use when `scripts/bootstrap` has not done it.
public enum TestAWSClients {
    /// boto3's version; botocore has the same, and its SageMaker model is the one `scripts/aws-models` reads.
    public static let boto3Version = "1.43.11"
    /// The aws CLI release built on that botocore.
    public static let awsCLIVersion = "1.45.11"

    /// The venv's directory, installing it when it is missing: `<venv>/bin/python` has boto3, `<venv>/bin/aws` is the CLI.
    public static func venv() async throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        let venv = "\(cache)/trainyard/aws-clients-\(boto3Version)"
        if FileManager.default.isExecutableFile(atPath: venv + "/bin/aws") { return venv }
        try FileManager.default.createDirectory(atPath: cache + "/trainyard", withIntermediateDirectories: true)
        // Under a lock, so two test processes do not install into one venv at once; the second finds it done.
        let script = """
            [ -x '\(venv)/bin/aws' ] || { python3 -m venv '\(venv)' && '\(venv)/bin/pip' install --quiet 'boto3==\(boto3Version)' 'awscli==\(awsCLIVersion)'; }
            """
        let (status, output) = try await TestSchemathesis.run("/usr/bin/flock", [cache + "/trainyard/aws-clients.lock", "/bin/sh", "-c", script])
        guard status == 0, FileManager.default.isExecutableFile(atPath: venv + "/bin/aws") else {
            throw TestSchemathesisError(message: "installing boto3 \(boto3Version) and awscli \(awsCLIVersion) into \(venv) failed (\(status)): \(output.suffix(2000))")
        }
        return venv
    }
}
