import Testing
import TrainyardCore

/// What the backend's word on an attempt's hosts does to its job.
@Suite struct ProvisionedHostStateTests {
    @Test(arguments: [
        // A host held queued makes a launching job wait, with the backend's reason.
        ([ProvisionedHostState.pending(reason: "Resources"), .running(node: "n1")], SecondaryStatus.launchingMLInstances,
            LifecycleInput?.some(.capacityDenied(message: "Resources"))),
        // The last held host's reason is the message.
        ([.pending(reason: "Priority"), .pending(reason: "Resources")], .launchingMLInstances, .capacityDenied(message: "Resources")),
        // A job already waiting, or further on, is not made to wait again.
        ([.pending(reason: "Resources")], .pending, nil),
        ([.pending(reason: "Resources")], .training, nil),
        // Placed hosts bring a waiting job back; a launching one stays as it is.
        ([.running(node: "n1"), .running(node: nil)], .pending, .backendPlaced),
        ([.running(node: "n1")], .launchingMLInstances, nil),
        // The other words are for the hosts themselves (lost, reclaimed), not the job's waiting.
        ([.gone(reason: "x"), .nodeFailed(reason: "y"), .interrupted(reason: "z"), .reclaiming(reason: "w")], .pending, nil),
        ([], .pending, nil),
    ])
    func theBackendsWordOnAnAttemptMovesItsJob(_ states: [ProvisionedHostState], _ job: SecondaryStatus, _ expected: LifecycleInput?) {
        #expect(ProvisionedHostState.lifecycleInput(for: states, jobStatus: job) == expected)
        #expect(states.contains(where: \.movesTheJob) || expected == nil)
    }

    @Test func aSpoolsDropTotalsNeverGoDown() {
        let earlier = LogSpoolDrops(cappedLines: 5, cappedBytes: 500, unwritableLines: 1, unwritableBytes: 10, capBytes: 1024)
        let raced = LogSpoolDrops(cappedLines: 3, cappedBytes: 300, unwritableLines: 2, unwritableBytes: 20, capBytes: 1024)
        let kept = raced.keepingHigherTotals(than: earlier)
        #expect(kept == LogSpoolDrops(cappedLines: 5, cappedBytes: 500, unwritableLines: 2, unwritableBytes: 20, capBytes: 1024))
        #expect(raced.keepingHigherTotals(than: nil) == raced)
    }
}
