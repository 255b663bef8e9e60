import Foundation

/// A job's code archive upload (`PUT /v1/jobs/{name}/source`), checked: where the archive goes
/// (`<output location>/<job>/source/sourcedir.tar.gz`, where the SageMaker Python SDK puts it) and the SHA-256 the
/// received bytes must have when the client sent one.
public struct SourceArchiveUpload: Sendable, Equatable {
    public var jobName: String
    /// The job's output location: the `output_path` given, or the project's own location.
    public var outputLocation: ObjectURI
    /// The SHA-256 the client says it sent (`Content-Digest: sha-256=:…:`), or nil.
    public var expectedSHA256: [UInt8]?

    /// Where the archive is stored, for the job spec's `source_dir`.
    public var destination: String {
        JobPaths(outputPath: outputLocation.description, jobName: jobName).sourceArchive
    }

    /// The upload, or every field that is wrong with it (as `name`, `output_path` and `Content-Digest`).
    public static func parse(jobName: String, outputPath: String?, contentDigest: String?, projectHome: ObjectURI) -> Result<Self, FieldViolations> {
        var violations = JobSpecValidator.nameViolations(jobName, field: "name")
        var location = projectHome
        if let outputPath {
            do {
                location = try ObjectURI(parsing: outputPath)
            } catch {
                violations.append(FieldViolation(field: "output_path", rule: error.rule, message: "output_path: \(error.description)."))
            }
        }
        var expected: [UInt8]?
        if let contentDigest {
            switch ContentDigest.sha256(in: contentDigest) {
            case .success(let digest): expected = digest
            case .failure(let failure): violations += failure.violations
            }
        }
        guard violations.isEmpty else { return .failure(FieldViolations(violations: violations)) }
        return .success(SourceArchiveUpload(jobName: jobName, outputLocation: location, expectedSHA256: expected))
    }
}

/// RFC 9530's `Content-Digest` and `Repr-Digest` fields, with the one algorithm Trainyard uses: `sha-256=:<base64>:`.
public enum ContentDigest {
    /// The field value that states `sha256` (lowercase hex, as descriptions carry it), or nil for a malformed one.
    public static func field(sha256Hex: String) -> String? {
        guard let bytes = Hex.decode(sha256Hex), bytes.count == 32 else { return nil }
        return "sha-256=:\(Data(bytes).base64EncodedString()):"
    }

    /// The SHA-256 a `Content-Digest` field states: exactly one member, `sha-256=:<base64 of 32 bytes>:`. Anything else
    /// is refused, never skipped: a check the client asked for is not dropped in silence.
    public static func sha256(in field: String) -> Result<[UInt8], FieldViolations> {
        let member = field.trimmingCharacters(in: .whitespaces)
        let prefix = "sha-256=:"
        guard member.hasPrefix(prefix), member.hasSuffix(":"), member.count > prefix.count + 1,
            let bytes = Data(base64Encoded: String(member.dropFirst(prefix.count).dropLast())), bytes.count == 32
        else {
            return .failure(
                FieldViolations(violations: [
                    FieldViolation(
                        field: "Content-Digest", rule: "digest",
                        message: "Content-Digest must be sha-256=:<base64 of the body's 32-byte SHA-256>:, that one member; it is \(field.prefix(120))")
                ]))
        }
        return .success(Array(bytes))
    }
}
