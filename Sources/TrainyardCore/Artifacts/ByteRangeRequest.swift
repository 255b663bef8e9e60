/// What to send of an archive of `size` bytes for a request's `Range` and `If-Range` fields (RFC 9110 §14), so that a
/// client whose download broke resumes it where it stopped instead of starting again.
///
/// One range is served (`bytes=first-`, `bytes=first-last`, `bytes=-suffix`); a field the service does not take (other
/// units, several ranges, a malformed one) is ignored and the whole archive is sent, as RFC 9110 allows. An archive
/// never changes once written, so its strong validator is its SHA-256: an `If-Range` that names another one (or a
/// date) asks for the whole archive.
public enum ByteRangeRequest: Equatable, Sendable {
    /// The whole archive, `200`.
    case whole
    /// Bytes `first...last` (inclusive), `206` with `Content-Range: bytes first-last/size`.
    case part(first: Int64, last: Int64)
    /// No byte of the archive is in the range: `416` with `Content-Range: bytes */size`.
    case unsatisfiable

    /// The archive's entity tag: its SHA-256, quoted (a strong validator).
    public static func entityTag(sha256Hex: String) -> String { "\"\(sha256Hex)\"" }

    /// The answer for `range` and `ifRange` of an archive of `size` bytes whose entity tag is `entityTag`.
    public static func resolve(range: String?, ifRange: String?, size: Int64, entityTag: String) -> Self {
        guard let range else { return .whole }
        if let ifRange, ifRange.trimmingCharacters(in: .whitespaces) != entityTag { return .whole }
        let spec = range.trimmingCharacters(in: .whitespaces)
        guard spec.lowercased().hasPrefix("bytes="), !spec.contains(",") else { return .whole }
        let bounds = spec.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard let dash = bounds.firstIndex(of: "-") else { return .whole }
        let firstText = bounds[..<dash], lastText = bounds[bounds.index(after: dash)...]
        guard firstText.allSatisfy(\.isASCIIDigit), lastText.allSatisfy(\.isASCIIDigit), !(firstText.isEmpty && lastText.isEmpty) else {
            return .whole
        }
        if firstText.isEmpty {
            // The last N bytes; an N past the size is the whole archive, sent as a part.
            guard let suffix = Int64(lastText) else { return .part(first: 0, last: size - 1) }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .part(first: max(0, size - suffix), last: size - 1)
        }
        guard let first = Int64(firstText) else { return .unsatisfiable }
        guard first < size else { return .unsatisfiable }
        if lastText.isEmpty { return .part(first: first, last: size - 1) }
        // A last byte past the end is the end; one too large to read is too.
        let last = Int64(lastText).map { min($0, size - 1) } ?? size - 1
        guard last >= first else { return .whole }
        return .part(first: first, last: last)
    }

    /// The `Content-Range` field of the answer: `bytes first-last/size`, or `bytes */size` for an unsatisfiable range;
    /// nil for the whole archive.
    public func contentRange(size: Int64) -> String? {
        switch self {
        case .whole: nil
        case .part(let first, let last): "bytes \(first)-\(last)/\(size)"
        case .unsatisfiable: "bytes */\(size)"
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
