import Testing
import TrainyardCore

@Suite struct JobNetworkTests {
    @Test func namesFitTheKernelsLimitAndLeadBackToTheirAttempt() {
        let tag = JobNetwork.instanceTag(for: "/srv/trainyard/workers")
        #expect(tag.count == 5 && tag != JobNetwork.instanceTag(for: "/tmp/other/workers"))
        for id: Int64 in [1, 42, 1_000_000, Int64.max] {
            let network = JobNetwork(instance: tag, attemptID: id, hostNames: (1...JobNetwork.maximumHosts).map { "algo-\($0)" })
            #expect(network.isNameable)
            #expect(network.bridge.count <= 15 && network.bridgePort(ordinal: JobNetwork.maximumHosts).count <= 15, "\(id)")
            #expect(JobNetwork.attemptID(ofNamespace: network.namespace(ordinal: 3), instance: tag) == id)
            #expect(JobNetwork.attemptID(ofNamespace: network.namespace(ordinal: 3), instance: "zzzzz") == nil)
        }
        // Two services numbering their attempts alike name them apart.
        let mine = JobNetwork(instance: "aaaaa", attemptID: 1, hostNames: ["algo-1"])
        let theirs = JobNetwork(instance: "bbbbb", attemptID: 1, hostNames: ["algo-1"])
        #expect(mine.bridge != theirs.bridge && mine.namespace(ordinal: 1) != theirs.namespace(ordinal: 1))
        #expect(mine.bridgePort(ordinal: 1) != theirs.bridgePort(ordinal: 1) && mine.bridgePort(ordinal: 1) != mine.bridgePort(ordinal: 2))
        #expect(JobNetwork.attemptID(ofNamespace: "trainyard-aaaaa-x-1", instance: "aaaaa") == nil)
    }

    @Test func everyHostHasItsOwnAddressAndKnowsTheOthers() {
        let network = JobNetwork(instance: "aaaaa", attemptID: 7, hostNames: ["algo-1", "algo-2", "algo-3"])
        #expect(network.address(ordinal: 1) == "10.200.0.2" && network.address(ordinal: 250) == "10.200.1.1")
        #expect(Set((1...999).map(network.address)).count == 999)
        #expect(network.hostsFile(ordinal: 2) == "127.0.0.1\tlocalhost\n::1\tlocalhost\n10.200.0.2\talgo-1\n10.200.0.3\talgo-2\n10.200.0.4\talgo-3\n")
    }
}
