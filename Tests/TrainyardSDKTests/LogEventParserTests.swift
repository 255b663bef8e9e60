import Foundation
import Testing
@testable import Trainyard

struct LogEventParserTests {
    /// The stream as the server writes it (`id:`, `data:` with the line's JSON, a blank line), with a keep-alive.
    static func stream(_ lines: [(Int64, String, String)]) -> [UInt8] {
        var text = ""
        for (id, host, message) in lines {
            let json = try! JSONEncoder().encode(["host": host, "message": message, "time": "2026-12-04T18:05:00.123Z"])
            var object = String(decoding: json, as: UTF8.self)
            object.insert(contentsOf: "\"id\":\(id),", at: object.index(after: object.startIndex))
            text += "id: \(id)\ndata: \(object)\n\n"
            if id == 2 { text += ": keep-alive\n\n" }
        }
        return Array(text.utf8)
    }

    static let samples: [(Int64, String, String)] = [
        (1, "algo-1", "plain"), (2, "algo-2", "quote \" backslash \\ tab \t newline-escaped"),
        (3, "algo-1", "unicode é 日本 😀 and \u{FFFD} for bad bytes"), (4, "algo-1", "control \u{01} and NUL-free"),
        (5, "algo-2", String(repeating: "x", count: 20_000)),
    ]

    @Test func everyEventComesOutWhateverTheChunkBoundaries() throws {
        let bytes = Self.stream(Self.samples)
        for size in [1, 2, 3, 7, 64, 1000, bytes.count] {
            var parser = LogEventParser()
            var events: [LogEventParser.Event] = []
            var offset = 0
            while offset < bytes.count {
                events += try parser.feed(bytes[offset..<min(offset + size, bytes.count)])
                offset += size
            }
            #expect(events.map(\.line.message) == Self.samples.map(\.2), "chunks of \(size)")
            #expect(events.map(\.id) == Self.samples.map { .number($0.0) })
            #expect(events.map(\.line.host) == Self.samples.map(\.1))
        }
    }

    @Test func theFastReaderAgreesWithJSONDecoder() throws {
        let cases = [
            #"{"host":"algo-1","id":7,"message":"a\u00e9\ud83d\ude00\n\/","time":"2026-12-04T18:05:00.123Z"}"#,
            #"{ "time" : "2026-02-28T23:59:59Z" , "message" : "" , "id" : 9007199254740993 , "host" : "algo-12" }"#,
            #"{"host":"algo-1","id":1,"message":"m","time":"2024-02-29T00:00:00.5Z"}"#,
        ]
        for text in cases {
            let fast = try #require(LogLineJSON.parse(ArraySlice(text.utf8)), "\(text)")
            let slow = try LogLines.decoder.decode(LogLine.self, from: Data(text.utf8))
            #expect(fast.id == slow.id && fast.host == slow.host && fast.message == slow.message, "\(text)")
            #expect(abs(fast.time.timeIntervalSince(slow.time)) < 0.000_5, "\(text)")
        }
    }

    @Test func whatTheFastReaderDoesNotTakeFallsBackOrFails() throws {
        // another key, a time with an offset: JSONDecoder decides
        #expect(LogLineJSON.parse(ArraySlice(#"{"host":"a","id":1,"message":"m","time":"2026-12-04T18:05:00+01:00"}"#.utf8)) == nil)
        let offset = try LogEventParser.decode(ArraySlice(#"{"host":"a","id":1,"message":"m","time":"2026-12-04T18:05:00+01:00"}"#.utf8))
        #expect(offset.time == Date(timeIntervalSince1970: 1_796_403_900))
        #expect(LogLineJSON.parse(ArraySlice(#"{"host":"a","id":1,"message":"m","time":"2026-12-04T18:05:00Z","extra":1}"#.utf8)) == nil)
        #expect(throws: (any Error).self) { try LogEventParser.decode(ArraySlice(#"{"host":"a"}"#.utf8)) }
        #expect(LogLineJSON.parse(ArraySlice(#"{"host":"a","id":1,"message":"unterminated,"time":"2026-12-04T18:05:00Z"}"#.utf8)) == nil)
    }

    @Test func carriageReturnLineEndsAndCommentsAreHonoured() throws {
        var parser = LogEventParser()
        let text = ": hello\r\n\r\nid: 4\r\ndata: {\"host\":\"algo-1\",\"id\":4,\"message\":\"m\",\"time\":\"2026-12-04T18:05:00Z\"}\r\n\r\n"
        let events = try parser.feed(ArraySlice(text.utf8))
        #expect(events.map(\.id) == [.number(4)] && events.first?.line.message == "m")
    }
}

struct LogEventIDTests {
    @Test func idsAreNumbersUntilTheyAreNot() {
        #expect(LogEventParser.EventID(ArraySlice("123".utf8)) == .number(123))
        #expect(LogEventParser.EventID(ArraySlice("12a".utf8)) == .text("12a"))
        #expect(LogEventParser.EventID(ArraySlice("1234567890123456789".utf8)).text == "1234567890123456789")
        #expect(LogEventParser.EventID(ArraySlice("".utf8)) == .text(""))
    }

    @Test func severalDataLinesAreJoinedWithANewline() throws {
        var parser = LogEventParser()
        let text = "id: 9\ndata: {\"host\":\"algo-1\",\"id\":9,\ndata: \"message\":\"m\",\"time\":\"2026-12-04T18:05:00Z\"}\n\n"
        let events = try parser.feed(ArraySlice(text.utf8))
        #expect(events.first?.line.message == "m" && events.first?.id == .number(9))
    }
}
