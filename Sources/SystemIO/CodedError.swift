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

/// The code enum of a ``ModuleError``: a closed set of stable names.
public protocol ErrorCode: RawRepresentable, Hashable, Sendable, CaseIterable where RawValue == String {}

/// The error type of a module whose errors carry only a code and a reason: each module names its
/// own specialization (`public typealias CryptoError = ModuleError<CryptoErrorCode>`), so errors
/// of different modules are different types while the shape is written once.
public struct ModuleError<Code: ErrorCode>: CodedError {
    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
}
