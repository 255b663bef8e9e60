import Foundation
import Testing
import TrainyardCore

/// JSONValue's own parser and writer agree with Foundation's on what JSON is.
struct JSONValueBytesTests {
    @Test func aDocumentParsesAsFoundationDecodesIt() throws {
        let text = #"""
             {"a": [1, -2.5, 3e2, true, false, null, "x\"y\\z\/\n\t\u00e9\ud83d\ude00"], "b": {"c": {}, "d": []}, "e": 0, "f": 12345678901234}
            """#
        let ours = try JSONValue.parse(Array(text.utf8))
        let foundations = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours == foundations)
        #expect(ours["a"]?.arrayValue?.last?.stringValue == "x\"y\\z/\n\té😀")
        #expect(ours["f"]?.intValue == 12_345_678_901_234)
    }

    @Test func writingThenParsingGivesTheSameDocument() throws {
        let value = JSONValue.object([
            "name": .string("quote \" back \\ nul \u{0} bell \u{7} é"), "n": .number(3600), "f": .number(0.125), "list": .array([.bool(true), .null]),
        ])
        let bytes = value.serialized()
        #expect(try JSONValue.parse(bytes) == value)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"f":0.125,"list":[true,null],"n":3600,"name":"quote \" back \\ nul \u0000 bell \u0007 é"}"#)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) == value)
    }

    @Test func whatIsNotJSONIsRefused() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"unterminated", "{} {}", "\"tab\there\"", "[-]", "{\"a\":1,}"] {
            #expect(throws: JSONValue.ParseError.self, "\(text)") { try JSONValue.parse(Array(text.utf8)) }
        }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(deep.utf8), maximumDepth: 64) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue.parse(Array(fine.utf8), maximumDepth: 64) }
    }
}
