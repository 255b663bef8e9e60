import Foundation

/// Generated job names, like the SageMaker SDK's `base_job_name` timestamps.
public enum JobName {
    /// Characters of the random suffix.
    static let suffixAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    /// The longest name SageMaker accepts.
    public static let maximumLength = 63

    /// `<prefix>-YYYY-MM-DD-HH-MM-SS-mmm-<4 random characters>` in UTC, for example
    /// `job-2026-11-25-09-31-12-345-k3x9`, drawing the suffix from the system generator.
    ///
    /// The prefix is reduced to letters, digits and single hyphens and shortened so the
    /// name matches `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`; an empty result becomes `job`.
    public static func generate(prefix: String = "job", now: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(prefix: prefix, now: now, using: &generator)
    }

    /// Like ``generate(prefix:now:)``, drawing the suffix from `generator`.
    public static func generate(
        prefix: String = "job",
        now: Date,
        using generator: inout some RandomNumberGenerator
    ) -> String {
        let suffix = String((0..<4).map { _ in
            suffixAlphabet[Int.random(in: 0..<suffixAlphabet.count, using: &generator)]
        })
        let stamp = timestamp(now)
        let room = maximumLength - stamp.count - suffix.count - 2
        return "\(sanitized(prefix, maximumLength: room))-\(stamp)-\(suffix)"
    }

    /// `YYYY-MM-DD-HH-MM-SS-mmm` in UTC.
    static func timestamp(_ date: Date) -> String {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let milliseconds = Int(((totalMilliseconds % 1000) + 1000) % 1000)
        let f = UTCDateFields(secondsSinceEpoch: (totalMilliseconds - Int64(milliseconds)) / 1000)
        let pad = UTCDateFields.padded
        return [pad(f.year, 4), pad(f.month, 2), pad(f.day, 2), pad(f.hour, 2), pad(f.minute, 2), pad(f.second, 2), pad(milliseconds, 3)]
            .joined(separator: "-")
    }

    /// `prefix` with every run of other characters turned into one hyphen, no hyphen at
    /// either end, at most `maximumLength` characters, and `job` when nothing is left.
    static func sanitized(_ prefix: String, maximumLength: Int) -> String {
        var result = ""
        for scalar in prefix.unicodeScalars {
            // ASCII letters and digits (a CharacterSet lookup per scalar cost more than the rest of the naming).
            let isAlphanumeric = ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
            if isAlphanumeric {
                result.unicodeScalars.append(scalar)
            } else if !result.isEmpty && !result.hasSuffix("-") {
                result.append("-")
            }
        }
        result = String(result.prefix(maximumLength))
        while result.hasSuffix("-") { result.removeLast() }
        return result.isEmpty ? "job" : result
    }
}
