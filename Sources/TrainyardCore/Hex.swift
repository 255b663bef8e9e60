/// Lower-case hexadecimal of bytes (digests in the description, manifests and request hashes; SigV4's signatures).
public enum Hex {
    public static func lowercase<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
