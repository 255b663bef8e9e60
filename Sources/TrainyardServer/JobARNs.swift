import TrainyardCore
import TrainyardSageMaker
import TrainyardStore

/// The ARN and region a job shows everywhere (its `/v1` description, SageMaker's Describe, its workers'
/// `TRAINING_JOB_ARN` and `AWS_REGION`): the region it was created for through the SageMaker endpoint, else the
/// server's `TRAINYARD_REGION`, and its project's account.
struct JobARNs: Sendable {
    /// `TRAINYARD_REGION`.
    let defaultRegion: String

    func region(of job: JobRecord) -> String {
        job.spec.sageMakerRegion ?? defaultRegion
    }

    /// `arn:aws:sagemaker:<region>:<project's account>:training-job/<name>`.
    func arn(of job: JobRecord) -> String {
        Self.arn(region: region(of: job), projectID: job.projectID, name: job.name)
    }

    static func arn(region: String, projectID: Int64, name: String) -> String {
        "arn:aws:sagemaker:\(region):\(SageMakerAccount.id(ofProject: projectID)):training-job/\(name)"
    }
}
