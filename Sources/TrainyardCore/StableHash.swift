/// A stable (process-independent) 64-bit FNV-1a hash, for names derived from paths and for advisory-lock keys.
public enum StableHash {
    public static func value(_ string: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in string.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    public static func hex(_ string: String) -> String {
        String(value(string), radix: 16)
    }
}
