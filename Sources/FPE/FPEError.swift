public import SystemIO

/// An error from the FPE module: a stable ``code``, a human ``reason``, and — for a value that is
/// outside the cipher's domain — where it is.
///
/// Two errors compare equal when their codes are equal (as ``CryptoError`` does), so tests can
/// match on the code. Reasons never contain the offending value or character (they would leak
/// the data being tokenized into logs). ``valueIndex`` names the value's index in its batch and
/// ``position`` the 0-based position of a bad character or numeral within it; ``description``
/// is `code: reason`, with the index before the reason.
public struct FPEError: CodedError {
    public enum Code: String, Hashable, Sendable, CaseIterable {
        /// A value has fewer numerals than ``FPECipher/minLength``.
        case valueTooShort
        /// A value has more numerals than ``FPECipher/maxLength``.
        case valueTooLong
        /// A character of a value is not in the ``Alphabet``.
        case invalidCharacter
        /// A numeral of a ``NumeralBatch`` value is not below the cipher's radix.
        case numeralOutOfRange
        /// The radix is outside 2...65536 (or does not match the alphabet).
        case invalidRadix
        /// An alphabet has fewer than 2 or more than 65536 symbols, a repeated symbol, or a symbol
        /// that is not a single Unicode scalar.
        case invalidAlphabet
        /// The tweak has the wrong length for the algorithm.
        case invalidTweak
        /// The key is not 16, 24 or 32 bytes.
        case invalidKey
        /// A ``NumeralBatch``'s offsets are inconsistent with its numerals.
        case invalidBatch
        /// Cycle-walking left values outside the accepted set after the allowed passes.
        case walkDidNotConverge
    }

    public let code: Code
    public let reason: String
    /// Index of the offending value in its batch, where the error is about one value.
    public let valueIndex: Int?
    /// 0-based position of the offending numeral or Unicode scalar within that value.
    public let position: Int?

    public init(_ code: Code, _ reason: String, valueIndex: Int? = nil, position: Int? = nil) {
        self.code = code
        self.reason = reason
        self.valueIndex = valueIndex
        self.position = position
    }

    /// `code: reason`, with the value's index before the reason where there is one
    /// (`invalidCharacter: value 3: …`).
    public var description: String {
        "\(code.rawValue): " + (valueIndex.map { "value \($0): \(reason)" } ?? reason)
    }
}
