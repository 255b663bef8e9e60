/// Text that comes from outside (what a command prints, its failure file, a webhook receiver's answer, an agent's
/// report) made safe to store: PostgreSQL's `text` cannot hold U+0000 and refuses the whole statement that carries one
/// (SQLSTATE 22021), which once wedged a job's log, turned a user's failure into "host lost" and rolled back whole
/// webhook batches.
///
/// Every NUL becomes U+FFFD, invalid UTF-8 becomes U+FFFD (when decoding bytes), and a text longer than a limit is cut
/// at a character boundary. Pure: no I/O.
public enum StorableText {
    /// What stands in for a NUL character and for invalid UTF-8: U+FFFD REPLACEMENT CHARACTER.
    public static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// Whether `text` can be stored as it is (it holds no NUL) and is at most `maximumBytes` bytes of UTF-8.
    public static func isStorable(_ text: String, maximumBytes: Int = .max) -> Bool {
        !text.utf8.contains(0) && text.utf8.count <= maximumBytes
    }

    /// `text` with every U+0000 replaced by U+FFFD, cut to at most `maximumBytes` bytes of UTF-8 (never inside a
    /// character).
    public static func sanitize(_ text: String, maximumBytes: Int = .max) -> String {
        precondition(maximumBytes >= 0, "a negative limit")
        var result = text
        if result.utf8.contains(0) {
            var scalars = String.UnicodeScalarView()
            for scalar in result.unicodeScalars { scalars.append(scalar == "\u{0}" ? replacement : scalar) }
            result = String(scalars)
        }
        if result.utf8.count > maximumBytes {
            let utf8 = result.utf8
            var end = utf8.index(utf8.startIndex, offsetBy: maximumBytes)
            // Back to the start of the character the limit falls in (a continuation byte is 10xxxxxx).
            while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 { utf8.formIndex(before: &end) }
            result = String(Substring(result.unicodeScalars[..<end]))
        }
        return result
    }

    /// `bytes` decoded as UTF-8 (invalid sequences become U+FFFD), with NULs replaced and cut to `maximumBytes`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, maximumBytes: Int = .max) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        // The common case (no NUL, short enough) costs one scan of the bytes and no copy.
        guard bytes.contains(0) || text.utf8.count > maximumBytes else { return text }
        return sanitize(text, maximumBytes: maximumBytes)
    }

    /// `bytes` decoded as UTF-8 (invalid sequences become U+FFFD), with NULs replaced and cut to `maximumBytes`.
    public static func decode(_ bytes: some Sequence<UInt8>, maximumBytes: Int = .max) -> String {
        let array = Array(bytes)
        return array.withUnsafeBytes { decode($0, maximumBytes: maximumBytes) }
    }

    /// `bytes` from a stranger (a webhook receiver's answer) as a short printable excerpt: decoded as UTF-8 (invalid
    /// sequences become U+FFFD), every control character but tab and line feed (NUL, escape sequences, a lone CR, DEL,
    /// the C1 controls) replaced by U+FFFD, CR LF made LF, cut to at most `maximumBytes` bytes.
    public static func printable(_ bytes: some Sequence<UInt8>, maximumBytes: Int) -> String {
        let text = String(decoding: Array(bytes), as: UTF8.self).replacingCRLF()
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let control = scalar.value < 0x20 && scalar != "\n" && scalar != "\t" || (0x7F...0x9F).contains(scalar.value)
            scalars.append(control ? replacement : scalar)
        }
        return sanitize(String(scalars), maximumBytes: maximumBytes)
    }
}

extension String {
    fileprivate func replacingCRLF() -> String {
        guard utf8.contains(0x0D) else { return self }
        var scalars = String.UnicodeScalarView()
        var pendingCR = false
        for scalar in unicodeScalars {
            if pendingCR, scalar != "\n" { scalars.append("\r") }
            pendingCR = scalar == "\r"
            if !pendingCR { scalars.append(scalar) }
        }
        if pendingCR { scalars.append("\r") }
        return String(scalars)
    }
}
