import Foundation

/// A location an operator lets one project's jobs use beyond its own prefix of the default bucket: an S3 prefix or a
/// `file://` root, read-only or read-write.
public struct LocationGrant: Sendable, Hashable, Codable {
    /// What a job may do under the location.
    public enum Access: String, Sendable, Hashable, Codable, CaseIterable {
        /// Inputs and code only.
        case read
        /// Inputs and code, and `output_path` and `checkpoint_s3_uri` too.
        case readWrite = "read_write"
    }

    /// The prefix or root; everything under it, segment by segment, is granted.
    public var uri: ObjectURI
    public var access: Access

    public init(uri: ObjectURI, access: Access) {
        self.uri = uri
        self.access = access
    }

    /// The most grants one project holds.
    public static let maximumCount = 100

    /// The grants of a list as the API and the setting take it, or every problem of it (``violations(_:field:)``).
    public static func parse(_ pairs: [(uri: String, access: String)], field: String = "locations") -> Result<[LocationGrant], FieldViolations> {
        let problems = violations(pairs, field: field)
        guard problems.isEmpty else { return .failure(FieldViolations(violations: problems)) }
        return .success(pairs.compactMap { pair in
            ObjectURI(pair.uri).flatMap { uri in Access(rawValue: pair.access).map { LocationGrant(uri: uri, access: $0) } }
        })
    }

    /// Every problem of a list of grants as the API takes it (`locations[i].uri`): an unparsable URI, one with `.` or
    /// `..` segments, a duplicate, too many.
    public static func violations(_ grants: [(uri: String, access: String)], field: String = "locations") -> [FieldViolation] {
        var violations: [FieldViolation] = []
        if grants.count > maximumCount {
            violations.add(field, "max_entries", "\(field) holds \(grants.count) locations; at most \(maximumCount) are allowed")
        }
        var seen = Set<String>()
        for (index, grant) in grants.enumerated() {
            let entry = "\(field)[\(index)]"
            do {
                let uri = try ObjectURI(parsing: grant.uri)
                if !seen.insert(uri.description).inserted {
                    violations.add("\(entry).uri", "unique", "\(uri) is listed twice; list each location once")
                }
            } catch {
                violations.add("\(entry).uri", error.rule, "\(entry).uri: \(error.description).")
            }
            if Access(rawValue: grant.access) == nil {
                violations.add("\(entry).access", "enum", "\(entry).access must be read or read_write; it is '\(grant.access)'")
            }
        }
        return violations
    }
}

extension LocationGrant {
    /// Reads the `TRAINYARD_PROJECT_LOCATIONS` file: project name → grants,
    /// `{"vision-team": [{"uri": "s3://datasets/imagenet", "access": "read"}]}`. Throws a message naming every wrong entry.
    public static func parseSetting(_ data: Data) throws(LocationSettingError) -> [String: [LocationGrant]] {
        struct Entry: Decodable {
            var uri: String
            var access: String?
        }
        let decoded: [String: [Entry]]
        do {
            decoded = try JSONDecoder().decode([String: [Entry]].self, from: data)
        } catch {
            throw LocationSettingError(problems: ["expected a JSON object of project name to [{\"uri\": ..., \"access\": \"read\" or \"read_write\"}]"])
        }
        var grants: [String: [LocationGrant]] = [:]
        var problems: [String] = []
        for (project, entries) in decoded.sorted(by: { $0.key < $1.key }) {
            switch parse(entries.map { (uri: $0.uri, access: $0.access ?? Access.read.rawValue) }, field: project) {
            case .success(let parsed): grants[project] = parsed
            case .failure(let failure): problems += failure.violations.map(\.message)
            }
        }
        guard problems.isEmpty else { throw LocationSettingError(problems: problems) }
        return grants
    }
}

/// Why the `TRAINYARD_PROJECT_LOCATIONS` file cannot be used.
public struct LocationSettingError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "; ") }
}

/// The violations of an input that did not parse.
public struct FieldViolations: Error, Sendable {
    public var violations: [FieldViolation]
}
