/// Follows the nesting of a JSON text fed in pieces (a request body as it arrives) and says when it goes deeper than
/// its limit. Strings are skipped, so brackets inside them do not count; nothing is parsed or kept.
public struct JSONDepthGauge: Sendable {
    public let limit: Int
    private var depth = 0
    private var inString = false
    private var escaped = false

    public init(limit: Int = RequestLimits.maximumJSONDepth) {
        self.limit = limit
    }

    /// Feeds the next bytes; false once the text has nested deeper than the limit.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> Bool {
        scan(bytes)
    }

    /// Feeds the next bytes of a buffer (a request body's), the scan specialised for it here: the generic one, called
    /// from another module, read each byte through the sequence's witness table.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        scan(bytes)
    }

    private mutating func scan(_ bytes: some Sequence<UInt8>) -> Bool {
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return false }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return true
    }
}
