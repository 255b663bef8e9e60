/// Pure arithmetic for `billable_time_seconds` (SageMaker's `BillableTimeInSeconds`).
public enum TrainingTimeAccounting {
    /// Wall-clock seconds billed for a job that ran `onDemandSeconds` on on-demand hosts and
    /// `spotSeconds` on spot hosts.
    ///
    /// Spot time is weighted by `spotPrice / onDemandPrice` and rounded down; on-demand time
    /// is rounded up. So `1 − billable / training` is the spot saving, and a spot job's
    /// billable time is below its training time however short the job (when spot is cheaper).
    /// Negative or non-finite inputs count as zero; a non-positive on-demand price bills spot
    /// time at its full length.
    public static func billableSeconds(
        onDemandSeconds: Double,
        spotSeconds: Double,
        spotPrice: Double,
        onDemandPrice: Double
    ) -> Int {
        let onDemand = clean(onDemandSeconds)
        let spot = clean(spotSeconds)
        let ratio = onDemandPrice > 0 && onDemandPrice.isFinite ? max(0, clean(spotPrice) / onDemandPrice) : 1
        let weightedSpot = min(spot * ratio, maximumSeconds)
        return Int(onDemand.rounded(.up)) + Int(weightedSpot.rounded(.down))
    }

    /// The most seconds counted, far beyond any job, so that the conversion to `Int` cannot trap.
    static let maximumSeconds = 1e15

    private static func clean(_ value: Double) -> Double {
        value.isFinite && value > 0 ? min(value, maximumSeconds) : 0
    }
}
