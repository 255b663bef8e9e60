/// The 12-digit AWS account id a project has in ARNs: its id, zero-padded (`000000000007`). Distinct per project, the
/// same on every replica and after a restart, and checked against the caller's project when an ARN comes back
/// (`AddTags`, `ListTags`).
public enum SageMakerAccount {
    public static func id(ofProject projectID: Int64) -> String {
        let digits = String(projectID)
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }
}
