import Foundation
import TrainyardCore

/// What follows from a job's record: its times and where its objects are.
extension JobRecord {
    /// The job's training and billable seconds as SageMaker's `TrainingTimeInSeconds` and `BillableTimeInSeconds`
    /// mean them, both nil until training started: training summed over attempts (waiting excluded), billable the
    /// same for on-demand and weighted by the spot price for spot, so that spot savings are `1 − billable / training`.
    public func times(attempts: [AttemptRecord], capacity: Capacity, now: Date) -> (training: Int?, billable: Int?) {
        let trained = attempts.reduce(0.0) { $0 + $1.trainingSeconds(now: now) }
        guard trainingStartTime != nil else { return (nil, nil) }
        let seconds = Int(trained.rounded(.down))
        let billable =
            spec.useSpotInstances
            ? TrainingTimeAccounting.billableSeconds(
                onDemandSeconds: 0, spotSeconds: trained, spotPrice: capacity.resolvedSpotPrice, onDemandPrice: capacity.resolvedOnDemandPrice)
            : seconds
        return (seconds, billable)
    }

    /// Its `output_path` (the API fills in the default at submission; a record without one is read as the default
    /// bucket's folder of its project).
    public var outputPath: String {
        spec.outputPath ?? "s3://trainyard/\(projectName)"
    }

    /// Where the job's objects are (Core's ``JobPaths``).
    public var paths: JobPaths {
        JobPaths(outputPath: outputPath, jobName: name)
    }
}
