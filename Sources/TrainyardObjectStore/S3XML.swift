import Foundation

/// The few S3 XML answers the store reads (ListObjectsV2, InitiateMultipartUpload, errors), scanned as text: the
/// elements are flat and known, so a scanner is enough and needs no XML library.
enum S3XML {
    /// The text of every `<tag>…</tag>` in `xml`, entities decoded.
    static func values(_ tag: String, in xml: Substring) -> [String] {
        elements(tag, in: xml).map { decode($0) }
    }

    static func value(_ tag: String, in xml: Substring) -> String? {
        values(tag, in: xml).first
    }

    /// The raw contents of every `<tag>…</tag>` (a tag with attributes is not expected in these answers).
    static func elements(_ tag: String, in xml: Substring) -> [Substring] {
        let open = "<\(tag)>"
        let close = "</\(tag)>"
        var result: [Substring] = []
        var rest = xml[...]
        while let start = rest.range(of: open) {
            guard let end = rest[start.upperBound...].range(of: close) else { break }
            result.append(rest[start.upperBound..<end.lowerBound])
            rest = rest[end.upperBound...]
        }
        return result
    }

    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "&", let semicolon = text[index...].firstIndex(of: ";") {
                let entity = text[text.index(after: index)..<semicolon]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(code) {
                        replacement = String(Character(scalar))
                    } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(code) {
                        replacement = String(Character(scalar))
                    }
                }
                if let replacement {
                    result += replacement
                    index = text.index(after: semicolon)
                    continue
                }
            }
            result.append(character)
            index = text.index(after: index)
        }
        return result
    }

    /// Text escaped for an element's contents.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
