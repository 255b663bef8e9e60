import Testing

@testable import TrainyardProvisioning

/// The local provisioner's host references read back whole, a directory with spaces included, and those written before
/// the directory moved to the end read the same.
@Suite struct LocalHostReferenceTests {
    @Test func aReferenceReadsBackWholeWithSpacesInItsDirectory() {
        let spot = LocalHostReference(pid: 4242, directory: "/tmp/my data/workers/job-1-algo-1-j1", spot: true)
        #expect(spot.text == "pid:4242 spot:1 dir:/tmp/my data/workers/job-1-algo-1-j1")
        #expect(LocalHostReference(spot.text) == spot)
        let onDemand = LocalHostReference(pid: 7, directory: "/w/h", spot: false)
        #expect(LocalHostReference(onDemand.text) == onDemand)
    }

    @Test func referencesOfTheEarlierFormRead() {
        #expect(LocalHostReference("pid:10 dir:/w/h-spot spot:1") == LocalHostReference(pid: 10, directory: "/w/h-spot", spot: true))
        #expect(LocalHostReference("pid:11 dir:/w/h-demand") == LocalHostReference(pid: 11, directory: "/w/h-demand", spot: false))
        #expect(LocalHostReference("dir:/w/h") == nil)
        #expect(LocalHostReference("slurm:12 ordinal:1") == nil)
    }
}
