import Testing
import TrainyardCore

struct ByteRangeRequestTests {
    static let tag = ByteRangeRequest.entityTag(sha256Hex: "ab12")

    static func resolve(_ range: String?, ifRange: String? = nil, size: Int64 = 100) -> ByteRangeRequest {
        ByteRangeRequest.resolve(range: range, ifRange: ifRange, size: size, entityTag: tag)
    }

    @Test(arguments: [
        // what a resuming client sends, and the other forms of one range
        ("bytes=40-", ByteRangeRequest.part(first: 40, last: 99)),
        ("bytes=0-9", .part(first: 0, last: 9)),
        ("bytes=99-99", .part(first: 99, last: 99)),
        ("bytes=-10", .part(first: 90, last: 99)),
        ("BYTES = 5-6", .whole),  // a space inside the unit is not the grammar
        ("bytes= 5-6", .part(first: 5, last: 6)),
        // past the end: the end, or the whole archive for a suffix longer than it
        ("bytes=90-1000", .part(first: 90, last: 99)),
        ("bytes=90-99999999999999999999999", .part(first: 90, last: 99)),
        ("bytes=-1000", .part(first: 0, last: 99)),
        // nothing of the archive
        ("bytes=100-", .unsatisfiable),
        ("bytes=500-600", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=99999999999999999999999-", .unsatisfiable),
        // what the service does not take is ignored: the whole archive
        ("bytes=0-9,20-29", .whole),
        ("items=0-9", .whole),
        ("bytes=9-0", .whole),
        ("bytes=-", .whole),
        ("bytes=a-b", .whole),
        ("bytes=0x10-", .whole),
        ("bytes 0-9", .whole),
    ])
    func oneRangeIsServedAndWhatIsNotTakenIsIgnored(range: String, expected: ByteRangeRequest) {
        #expect(Self.resolve(range) == expected, "\(range)")
    }

    @Test func noRangeIsTheWholeArchive() {
        #expect(Self.resolve(nil) == .whole)
        #expect(Self.resolve(nil, ifRange: Self.tag) == .whole)
    }

    @Test func anIfRangeForAnotherArchiveAsksForTheWholeOne() {
        #expect(Self.resolve("bytes=40-", ifRange: Self.tag) == .part(first: 40, last: 99))
        #expect(Self.resolve("bytes=40-", ifRange: "\"cd34\"") == .whole)
        #expect(Self.resolve("bytes=40-", ifRange: "Tue, 01 Dec 2026 10:00:00 GMT") == .whole)
        #expect(Self.resolve("bytes=40-", ifRange: "W/\"ab12\"") == .whole)
    }

    @Test func anEmptyArchiveHasNoBytesToServe() {
        #expect(Self.resolve("bytes=0-", size: 0) == .unsatisfiable)
        #expect(Self.resolve("bytes=-5", size: 0) == .unsatisfiable)
    }

    @Test func contentRangeNamesThePartAndTheSize() {
        #expect(ByteRangeRequest.part(first: 40, last: 99).contentRange(size: 100) == "bytes 40-99/100")
        #expect(ByteRangeRequest.unsatisfiable.contentRange(size: 100) == "bytes */100")
        #expect(ByteRangeRequest.whole.contentRange(size: 100) == nil)
        #expect(ByteRangeRequest.entityTag(sha256Hex: "ab12") == "\"ab12\"")
    }
}
