import Foundation
import TrainyardCore

/// Checks a request against its operation's input shape, as AWS's services do on their side: required members, types,
/// lengths, ranges, enums and patterns (botocore checks only required members, types and minimums before sending, so
/// the rest is the server's to refuse).
///
/// Violations read as AWS writes them: `Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member must
/// satisfy regular expression pattern: …`, with lowerCamelCase dotted paths (`resourceConfig.instanceType`) and list
/// elements as `inputDataConfig.1.member.channelName`.
public struct ModelValidator: Sendable {
    public let model: ServiceModel
    /// Every pattern of the model, compiled once.
    private let patterns: [String: FullMatchPattern]

    public init(model: ServiceModel) {
        self.model = model
        var patterns: [String: FullMatchPattern] = [:]
        for shape in model.shapes.values {
            if let source = shape.pattern, patterns[source] == nil { patterns[source] = FullMatchPattern(source) }
        }
        self.patterns = patterns
    }

    /// What is wrong with one request.
    public struct Report: Sendable, Equatable {
        /// Constraint violations, each in AWS's words (`Value … at '…' failed to satisfy constraint: …`).
        public var violations: [String] = []
        /// Values of the wrong JSON type (a string where a number belongs): AWS answers these `SerializationException`.
        public var serializationErrors: [String] = []

        public var isEmpty: Bool { violations.isEmpty && serializationErrors.isEmpty }
    }

    /// Checks `input` against operation `operation`'s input shape.
    public func validate(_ input: JSONValue, operation: String) -> Report {
        var report = Report()
        guard let shapeName = model.operations[operation]?.input else { return report }
        check(input, shapeName: shapeName, path: "", report: &report)
        return report
    }

    private func check(_ value: JSONValue, shapeName: String, path: String, report: inout Report) {
        guard let shape = model.shapes[shapeName] else { return }
        switch shape.type {
        case "structure":
            guard let members = value.objectValue else { return wrongType(value, expected: "a structure", path: path, report: &report) }
            for name in shape.required ?? [] where members[name] == nil || members[name] == .null {
                report.violations.append("Value null at '\(Self.join(path, name))' failed to satisfy constraint: Member must not be null")
            }
            for (name, member) in (shape.members ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let present = members[name], present != .null else { continue }
                check(present, shapeName: member.shape, path: Self.join(path, name), report: &report)
            }
        case "list":
            guard let elements = value.arrayValue else { return wrongType(value, expected: "a list", path: path, report: &report) }
            checkLength(elements.count, of: value, shape: shape, path: path, report: &report)
            if let element = shape.member?.shape {
                for (index, item) in elements.enumerated() {
                    check(item, shapeName: element, path: "\(path).\(index + 1).member", report: &report)
                }
            }
        case "map":
            guard let entries = value.objectValue else { return wrongType(value, expected: "a map", path: path, report: &report) }
            checkLength(entries.count, of: value, shape: shape, path: path, report: &report)
            for (key, item) in entries.sorted(by: { $0.key < $1.key }) {
                if let keyShape = shape.key?.shape { check(.string(key), shapeName: keyShape, path: "\(path).key", report: &report) }
                if let valueShape = shape.value?.shape { check(item, shapeName: valueShape, path: "\(path).\(key)", report: &report) }
            }
        case "string":
            guard let string = value.stringValue else { return wrongType(value, expected: "a string", path: path, report: &report) }
            checkLength(string.unicodeScalars.count, of: value, shape: shape, path: path, report: &report)
            if let allowed = shape.enum, !allowed.contains(string) {
                report.violations.append(
                    "Value \(Self.show(value)) at '\(path)' failed to satisfy constraint: Member must satisfy enum value set: [\(allowed.joined(separator: ", "))]")
            }
            if let source = shape.pattern, let pattern = patterns[source], !pattern.matches(string) {
                report.violations.append(
                    "Value \(Self.show(value)) at '\(path)' failed to satisfy constraint: Member must satisfy regular expression pattern: \(source)")
            }
        case "integer", "long":
            guard let number = value.numberValue, number.rounded() == number else {
                return wrongType(value, expected: "a whole number", path: path, report: &report)
            }
            if let min = shape.min, number < min {
                report.violations.append(
                    "Value \(Self.show(value)) at '\(path)' failed to satisfy constraint: Member must have value greater than or equal to \(Self.show(.number(min)))")
            }
            if let max = shape.max, number > max {
                report.violations.append(
                    "Value \(Self.show(value)) at '\(path)' failed to satisfy constraint: Member must have value less than or equal to \(Self.show(.number(max)))")
            }
        case "float", "double":
            guard value.numberValue != nil else { return wrongType(value, expected: "a number", path: path, report: &report) }
        case "boolean":
            guard value.boolValue != nil else { return wrongType(value, expected: "true or false", path: path, report: &report) }
        case "timestamp":
            guard SageMakerTime.date(value) != nil else {
                return wrongType(value, expected: "a timestamp (epoch seconds)", path: path, report: &report)
            }
        default:
            return
        }
    }

    private func checkLength(_ count: Int, of value: JSONValue, shape: ServiceModel.Shape, path: String, report: inout Report) {
        if let min = shape.min, Double(count) < min {
            report.violations.append(
                "Value \(Self.show(value)) at '\(path)' failed to satisfy constraint: Member must have length greater than or equal to \(Self.show(.number(min)))")
        }
        if let max = shape.max, Double(count) > max {
            report.violations.append(
                "Value \(Self.show(value)) at '\(path)' failed to satisfy constraint: Member must have length less than or equal to \(Self.show(.number(max)))")
        }
    }

    private func wrongType(_ value: JSONValue, expected: String, path: String, report: inout Report) {
        report.serializationErrors.append("Value \(Self.show(value)) at '\(path)' is not \(expected)")
    }

    /// `path.member`, the member's name in lowerCamelCase (`ResourceConfig` → `resourceConfig`).
    static func join(_ path: String, _ member: String) -> String {
        let camel = member.prefix(1).lowercased() + member.dropFirst()
        return path.isEmpty ? camel : "\(path).\(camel)"
    }

    /// A value as AWS quotes it: strings in single quotes, numbers and the rest as JSON, long ones cut.
    static func show(_ value: JSONValue) -> String {
        if case .string(let string) = value { return "'\(string.count > 256 ? String(string.prefix(256)) + "…" : string)'" }
        let text = String(decoding: value.serialized(), as: UTF8.self)
        return text.count > 256 ? String(text.prefix(256)) + "…" : text
    }

    /// AWS's summary line: `1 validation error detected: …` or `N validation errors detected: …; …`.
    public static func message(for violations: [String]) -> String {
        let count = violations.count
        return "\(count) validation error\(count == 1 ? "" : "s") detected: " + violations.joined(separator: "; ")
    }
}
