import Foundation

/// Opaque page tokens (`next_token`): a short plain text, base64url without padding. Each listing puts its own
/// version and cursor in the text and checks them when the token comes back.
enum PageToken {
    static func encode(_ plain: String) -> String {
        Data(plain.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The plain text, or nil when the token is not base64url of UTF-8.
    static func decode(_ token: String) -> String? {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
