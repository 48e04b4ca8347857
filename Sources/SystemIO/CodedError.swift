/// The one error shape of the project: every module has one error type with a closed `Code`
/// enum (its raw value is the stable name printed and tested) and a human reason. Two errors are
/// equal when their codes are equal; the description is `code: reason`. Reasons name files, rows,
/// columns and keys, never key bytes, PINs, clear values or tokens.
///
/// A module adopts it with a struct holding `code` and `reason` (plus any extra context fields)
/// and a `Code` enum; description and equality come from here.
public protocol CodedError: Error, Equatable, CustomStringConvertible, Sendable {
    associatedtype Code: RawRepresentable, Hashable, Sendable, CaseIterable where Code.RawValue == String
    var code: Code { get }
    var reason: String { get }
}

extension CodedError {
    public var description: String { "\(code.rawValue): \(reason)" }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}
