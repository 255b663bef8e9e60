import Testing

@testable import TrainyardCore

@Suite struct TrainingTimeAccountingTests {
    @Test func aOneSecondSpotJobBillsBelowItsTrainingTime() {
        let billable = TrainingTimeAccounting.billableSeconds(
            onDemandSeconds: 0, spotSeconds: 1, spotPrice: 0.3, onDemandPrice: 1.0)
        #expect(billable < 1)
    }

    @Test(arguments: [
        (0.0, 100.0, 0.3, 1.0, 30),
        (0.0, 99.9, 0.3, 1.0, 29),
        (10.2, 0.0, 0.3, 1.0, 11),
        (10.0, 100.0, 0.035, 0.115, 40),
        (0.0, 0.0, 0.3, 1.0, 0),
        (-5.0, Double.nan, 0.3, 1.0, 0),
        (0.0, 10.0, 0.3, 0.0, 10),
    ])
    func spotTimeIsWeightedByPriceAndRoundedDown(
        _ onDemand: Double, _ spot: Double, _ spotPrice: Double, _ onDemandPrice: Double, _ expected: Int
    ) {
        #expect(
            TrainingTimeAccounting.billableSeconds(
                onDemandSeconds: onDemand, spotSeconds: spot, spotPrice: spotPrice, onDemandPrice: onDemandPrice)
                == expected)
    }

    @Test func spotJobsOfAnyLengthBillBelowTheirTrainingTime() {
        for seconds in [1, 2, 3, 10, 59, 3600, 86_400] {
            let billable = TrainingTimeAccounting.billableSeconds(
                onDemandSeconds: 0, spotSeconds: Double(seconds), spotPrice: 0.3, onDemandPrice: 1.0)
            #expect(billable < seconds)
        }
    }
}
