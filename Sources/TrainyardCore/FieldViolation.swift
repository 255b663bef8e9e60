/// One way a job spec breaks a rule: the field as the spec names it, a stable rule name,
/// and a message that says what to do.
///
/// `field` uses the spec's JSON names with dots and brackets (`max_wait`,
/// `inputs.train.s3_uri`, `metric_definitions[0].regex`, `hyperparameters.lr`); `rule` is
/// one of the names listed in ``JobSpecValidator``.
public struct FieldViolation: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// The field, as the spec's JSON names it.
    public var field: String
    /// The rule broken (`pattern`, `range`, `requires_spot`, …).
    public var rule: String
    /// What is wrong and what to do.
    public var message: String

    /// Creates a violation.
    public init(field: String, rule: String, message: String) {
        self.field = field
        self.rule = rule
        self.message = message
    }

    /// `field (rule): message`.
    public var description: String { "\(field) (\(rule)): \(message)" }
}
