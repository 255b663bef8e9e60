/// Where one project's jobs may read and write: the project's own prefix of the service's default bucket
/// (`s3://<bucket>/<project>`, read-write), and what an operator granted it. The bootstrap project, the operator's
/// own, reaches everything the service can.
///
/// Pure: a `file://` URI is judged by the path the caller resolved it to (symbolic links followed), which the caller
/// passes in `canonicalPath`.
public struct ProjectLocations: Sendable, Equatable {
    public var project: String
    public var defaultBucket: String
    public var grants: [LocationGrant]
    /// The bootstrap project: no bounds.
    public var unrestricted: Bool

    public init(project: String, defaultBucket: String, grants: [LocationGrant], unrestricted: Bool) {
        self.project = project
        self.defaultBucket = defaultBucket
        self.grants = grants
        self.unrestricted = unrestricted
    }

    /// `s3://<default bucket>/<project>`: the project's own prefix, and the default `output_path`.
    public var home: ObjectURI { .s3(bucket: defaultBucket, key: project) }

    /// Whether a job of the project may use `uri` for `access` (its canonical form for `file://`).
    public func allows(_ uri: ObjectURI, for access: LocationGrant.Access) -> Bool {
        if unrestricted || home.contains(uri) { return true }
        return grants.contains { grant in
            grant.uri.contains(uri) && (access == .read || grant.access == .readWrite)
        }
    }

    /// Whether any location needs a look at the stored grants: false when every URI of the spec lies in the project's
    /// home (or the project is unrestricted), which is what most jobs do.
    public func needsGrants(_ spec: JobSpec) -> Bool {
        guard !unrestricted else { return false }
        return Self.locations(of: spec).contains { location in
            guard let uri = ObjectURI(location.value) else { return false }
            if case .file = uri { return true }
            return !home.contains(uri)
        }
    }

    /// Every URI of the spec outside the project's locations, one violation each (rule `location`), naming what is
    /// allowed. URIs that do not parse are the validator's, not reported here.
    public func violations(_ spec: JobSpec, canonicalPath: (String) -> String = { $0 }) -> [FieldViolation] {
        guard !unrestricted else { return [] }
        var violations: [FieldViolation] = []
        for location in Self.locations(of: spec) {
            guard var uri = ObjectURI(location.value) else { continue }
            if case .file(let path) = uri { uri = .file(path: canonicalPath(path)) }
            guard !allows(uri, for: location.access) else { continue }
            let resolved = uri.description == location.value ? "" : " (it resolves to \(uri))"
            let verb = location.access == .readWrite ? "read and write" : "read"
            violations.add(
                location.field, "location",
                "\(location.field) names \(location.value)\(resolved), outside what project \(project) may \(verb): \(allowedDescription(for: location.access)). "
                    + "Use a location inside these, or ask an admin of the service to grant this one "
                    + "(trainyard projects grant \(project) \(location.value)\(location.access == .read ? " --read-only" : "")).")
        }
        return violations
    }

    /// `s3://trainyard/team (read-write), s3://datasets/imagenet (read-only)`.
    public func allowedDescription(for access: LocationGrant.Access) -> String {
        let granted = grants.filter { access == .read || $0.access == .readWrite }.map {
            "\($0.uri) (\($0.access == .readWrite ? "read-write" : "read-only"))"
        }
        return (["\(home) (read-write, the project's own)"] + granted).joined(separator: ", ")
    }

    /// A location of a spec: its field as the spec names it, the URI as given, and what a job does there.
    public struct SpecLocation: Sendable, Equatable {
        public var field: String
        public var value: String
        public var access: LocationGrant.Access
    }

    /// Every URI a job reads or writes, by field: `inputs.<channel>.s3_uri`, `source_dir` (or the SageMaker SDK's
    /// `hyperparameters.sagemaker_submit_directory`), `checkpoint_s3_uri` and `output_path`.
    public static func locations(of spec: JobSpec) -> [SpecLocation] {
        var locations: [SpecLocation] = []
        for (name, channel) in spec.inputs.sorted(by: { $0.key < $1.key }) {
            locations.append(SpecLocation(field: "inputs.\(name).s3_uri", value: channel.s3URI, access: .read))
        }
        if let sourceDir = spec.sourceDir {
            locations.append(SpecLocation(field: "source_dir", value: sourceDir, access: .read))
        } else if let submit = SageMakerContract.sageMakerString("sagemaker_submit_directory", in: spec),
            submit.hasPrefix("s3://") || submit.hasPrefix("file://")
        {
            locations.append(SpecLocation(field: "hyperparameters.sagemaker_submit_directory", value: submit, access: .read))
        }
        if let checkpoint = spec.checkpointS3URI {
            locations.append(SpecLocation(field: "checkpoint_s3_uri", value: checkpoint, access: .readWrite))
        }
        if let output = spec.outputPath {
            locations.append(SpecLocation(field: "output_path", value: output, access: .readWrite))
        }
        return locations
    }
}
