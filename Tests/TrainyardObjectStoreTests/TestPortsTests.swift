import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif
@testable import TrainyardTestSupport

/// The ports test servers are told to listen on: outside the range the kernel draws outgoing connections' local
/// ports from, free when handed out (checked inside `block`), and never handed out twice in one process. (Whether
/// they are still free a moment later is up to every other process on the machine, so it is not asserted here.)
@Suite struct TestPortsTests {
    @Test func blocksAreOutsideTheEphemeralRangeAndNeverShared() throws {
        let (low, high) = TestPorts.ephemeralRange()
        #expect(low > 1024 && high > low)
        var seen: Set<Int> = []
        for _ in 0..<20 {
            let base = try TestPorts.block(count: 12)
            let ports = Set(base..<(base + 12))
            #expect(ports.allSatisfy { $0 < low || $0 > high })
            #expect(ports.isDisjoint(with: seen))
            seen.formUnion(ports)
        }
    }

    @Test func aPortInUseIsNotFree() throws {
        let base = try TestPorts.block(count: 1)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = TestPorts.socketAddress(inet_addr("127.0.0.1"), port: base)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0)
        #expect(!TestPorts.isFree(base))
    }
}
