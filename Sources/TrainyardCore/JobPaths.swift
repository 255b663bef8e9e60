/// Where a job's objects live under its output path, as SageMaker lays them out, in one place for the server, the
/// agent's scope and the CLI:
///
/// - `<output_path>/<job>/output/model.tar.gz` and `output.tar.gz`: what the job leaves;
/// - `<output_path>/<job>/attempts/<n>/<host>/model.tar.gz` and `output.tar.gz`: what each host of attempt `n` uploads,
///   merged by the finalizer into the above;
/// - `<output_path>/<job>/source/sourcedir.tar.gz`: the code `--source-dir` packs, as the SageMaker SDK does.
public struct JobPaths: Sendable, Equatable {
    /// The archives a host uploads and a job leaves.
    public enum Archive: String, Sendable, CaseIterable {
        case model = "model.tar.gz"
        case output = "output.tar.gz"
    }

    /// `<output_path>/<job>`, without a trailing slash.
    public let base: String

    /// The paths of job `jobName` under `outputPath` (trailing slashes ignored, but not the scheme's: `file:///` is the
    /// root, whose jobs are `file:///<job>`).
    public init(outputPath: String, jobName: String) {
        var output = outputPath
        while output.hasSuffix("/"), !output.hasSuffix("://") { output.removeLast() }
        base = "\(output)/\(jobName)"
    }

    /// What the job leaves: `<base>/output/<archive>`.
    public func artifact(_ archive: Archive) -> String {
        "\(base)/output/\(archive.rawValue)"
    }

    /// The prefix under which attempt `attempt`'s agents upload: `<base>/attempts/<n>`.
    public func attemptPrefix(_ attempt: Int) -> String {
        "\(base)/attempts/\(attempt)"
    }

    /// Where host `host` of attempt `attempt` uploads `archive`.
    public func hostArchive(attempt: Int, host: String, _ archive: Archive) -> String {
        Self.hostArchive(attemptPrefix: attemptPrefix(attempt), host: host, archive)
    }

    /// Where host `host` uploads `archive` under an attempt's prefix (the agent is given the prefix, not the job's
    /// output path).
    public static func hostArchive(attemptPrefix: String, host: String, _ archive: Archive) -> String {
        var prefix = attemptPrefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        return "\(prefix)/\(host)/\(archive.rawValue)"
    }

    /// Where `--source-dir` puts the packed code.
    public var sourceArchive: String {
        "\(base)/source/sourcedir.tar.gz"
    }
}
