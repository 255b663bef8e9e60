import Foundation

/// A regular expression that must match a whole string, compiled once.
///
/// `@unchecked Sendable`: the only stored property is an `NSRegularExpression`, which is
/// immutable after initialisation and documented by Apple as safe to use from several
/// threads at once; nothing here mutates it.
package struct FullMatchPattern: @unchecked Sendable {
    /// The pattern as SageMaker's service model writes it, without anchors.
    package let source: String
    private let expression: NSRegularExpression

    /// Compiles `source` anchored at both ends (`\A(?:source)\z`); `nil` when it does not compile.
    package init?(_ source: String) {
        guard let expression = try? NSRegularExpression(pattern: "\\A(?:\(source))\\z") else { return nil }
        self.source = source
        self.expression = expression
    }

    /// Whether `string` matches the pattern as a whole.
    package func matches(_ string: String) -> Bool {
        let range = NSRange(string.startIndex..<string.endIndex, in: string)
        return expression.firstMatch(in: string, options: [], range: range) != nil
    }
}
