import HTTPTypes

/// The request's header fields as they arrived, for the generated handlers. swift-openapi-runtime reads a header
/// value as a URI component and percent-decodes it: an `Idempotency-Key` of `50%off` (no valid escape) reached the
/// handler as an empty string and was refused, and `a%20b` reached it as `a b`, another request's key. A value the
/// spec takes verbatim is read here instead. ``AuthMiddleware`` sets it for every authenticated request.
enum RawRequestHeaders {
    @TaskLocal static var current: HTTPFields?

    /// The field as sent; `decoded`, the generated layer's reading, only where no middleware set the fields.
    static func value(_ name: HTTPField.Name, decoded: String?) -> String? {
        guard let current else { return decoded }
        return current[name]
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
