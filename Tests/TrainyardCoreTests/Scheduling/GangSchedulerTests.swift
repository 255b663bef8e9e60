import Testing
import TrainyardCore

@Suite struct GangSchedulerTests {
    static func capacity(_ type: String) -> Capacity {
        type == "ml.p4d.24xlarge" ? Capacity(onDemand: 2, spot: 0) : Capacity(onDemand: 4, spot: 4)
    }

    static func gang(_ count: Int, _ type: String = "ml.m5.large", spot: Bool = false) -> GangScheduler.Gang {
        GangScheduler.Gang(instanceType: type, count: count, spot: spot)
    }

    /// One pass, allocating whatever the scheduler grants; answers each job's decision in queue order.
    static func pass(_ queue: [GangScheduler.Gang], inUse: [GangScheduler.Pool: Int] = [:]) -> [GangScheduler.Decision] {
        var scheduler = GangScheduler(inUse: inUse, capacity: capacity)
        return queue.map { gang in
            let decision = scheduler.decide(gang)
            if decision == .allocate { scheduler.allocated(gang) }
            return decision
        }
    }

    @Test(arguments: [
        // Gangs that fit get all their hosts; the next that does not waits with what is free.
        ([gang(2), gang(2), gang(1)], [GangScheduler.Pool: Int](), [
            GangScheduler.Decision.allocate, .allocate,
            .wait(message: "Waiting for 1 on-demand ml.m5.large host(s): 0 of 4 free"),
        ]),
        // Hosts already in use count.
        ([gang(2)], [GangScheduler.Pool(instanceType: "ml.m5.large", spot: false): 3], [
            .wait(message: "Waiting for 2 on-demand ml.m5.large host(s): 1 of 4 free")
        ]),
        // A gang larger than the pool waits, and so does a small one behind it that would fit: no starvation.
        ([gang(3), gang(2), gang(1)], [:], [
            .allocate,
            .wait(message: "Waiting for 2 on-demand ml.m5.large host(s): 1 of 4 free"),
            .wait(message: "Waiting behind an earlier job for 1 on-demand ml.m5.large host(s)"),
        ]),
        // Pools are independent: another market, another type.
        ([gang(4), gang(1), gang(1, spot: true), gang(2, "ml.p4d.24xlarge"), gang(1, "ml.p4d.24xlarge", spot: true)], [:], [
            .allocate,
            .wait(message: "Waiting for 1 on-demand ml.m5.large host(s): 0 of 4 free"),
            .allocate,
            .allocate,
            .wait(message: "Waiting for 1 spot ml.p4d.24xlarge host(s): 0 of 0 free"),
        ]),
    ])
    func decisionsFollowTheQueueOrderPerPool(queue: [GangScheduler.Gang], inUse: [GangScheduler.Pool: Int], expected: [GangScheduler.Decision]) {
        #expect(Self.pass(queue, inUse: inUse) == expected)
    }

    /// The store could not allocate a granted job after all (it left the queue meanwhile): its hosts stay free.
    @Test func aGrantedJobThatWasNotAllocatedUsesNoCapacity() {
        var scheduler = GangScheduler(inUse: [:], capacity: Self.capacity)
        #expect(scheduler.decide(Self.gang(4)) == .allocate)
        #expect(scheduler.decide(Self.gang(4)) == .allocate)
        scheduler.allocated(Self.gang(4))
        #expect(scheduler.decide(Self.gang(1)) == .wait(message: "Waiting for 1 on-demand ml.m5.large host(s): 0 of 4 free"))
    }

    @Test func aPoolWithNoHostFreeIsFullAndEveryJobOfItWaitsWhatEverItAsks() {
        let large = GangScheduler.Pool(instanceType: "ml.m5.large", spot: false)
        let largeSpot = GangScheduler.Pool(instanceType: "ml.m5.large", spot: true)
        let p4d = GangScheduler.Pool(instanceType: "ml.p4d.24xlarge", spot: false)
        var scheduler = GangScheduler(inUse: [large: 4, largeSpot: 3, p4d: 2], capacity: Self.capacity)
        #expect(scheduler.fullPools() == [large, p4d])
        // Every gang of a full pool waits, the first and those behind it alike.
        for count in [1, 2, 5] {
            #expect(scheduler.decide(Self.gang(count)) == .wait(message: "Waiting for \(count) on-demand ml.m5.large host(s): 0 of 4 free"))
        }
        // Beyond its capacity (an admin's cut) a pool is full too.
        #expect(GangScheduler(inUse: [large: 6], capacity: Self.capacity).fullPools() == [large])
    }
}
