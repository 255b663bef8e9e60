/// What the provisioner that runs a server's jobs can do beyond starting processes on hosts, so that validation
/// refuses a spec field that nothing would honour instead of storing and ignoring it.
///
/// A provisioner names its own features; nothing here knows which provisioner has which.
public struct ProvisionerCapabilities: Sendable, Equatable {
    /// A feature some spec field needs.
    public enum Feature: String, Sendable, CaseIterable {
        /// Runs each worker inside the container image of `image_uri`.
        case containers
        /// Gives each worker a scratch volume of `volume_size` GiB and keeps it to that size.
        case volumeSizes = "volume_sizes"
        /// Keeps a finished pool warm for `keep_alive_period` seconds and reuses it for the next matching job.
        case warmPools = "warm_pools"
    }

    /// The provisioner's name as users configure it (`local`, `slurm`), for messages.
    public var name: String
    /// The features it implements.
    public var features: Set<Feature>

    /// Where a worker's command may write outside its job's tree, when the provisioner bounds it (commands run as
    /// their own users): `checkpoint_local_path` must lie under one of these. Nil: anywhere.
    public var commandWritableRoots: [String]?

    /// The user each project's jobs run as, when the provisioner runs them as people's own users (Slurm with
    /// `TRAINYARD_SLURM_USERS`); a project without one cannot submit. Nil: the service decides.
    public var projectUsers: ProjectUserMap?

    public init(name: String, features: Set<Feature> = [], commandWritableRoots: [String]? = nil, projectUsers: ProjectUserMap? = nil) {
        self.name = name
        self.features = features
        self.commandWritableRoots = commandWritableRoots
        self.projectUsers = projectUsers
    }

    /// Why `project`'s jobs cannot run on this provisioner at all (the message its users see), or nil.
    public func refusal(forProject project: String) -> String? {
        projectUsers?.refusal(for: project)
    }

    /// Why the job's `image_uri` will not be used, when the provisioner runs no containers and the spec has something
    /// else to run on the host (the event and the description say so); nil when there is no image or it is used.
    public func unusedImageReason(for spec: JobSpec) -> String? {
        guard let image = spec.imageURI, !features.contains(.containers) else { return nil }
        let program =
            spec.command != nil ? "command" : spec.entryPoint != nil ? "entry_point" : "the sagemaker_program hyperparameter's script"
        return "The \(name) provisioner runs no containers, so the image \(image) was not used: each worker runs \(program) "
            + "directly on its host, with the host's own interpreter and libraries. Only a provisioner that runs containers uses image_uri."
    }
}
