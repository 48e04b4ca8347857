/// An error from the FPE module: a stable ``code``, a human ``reason``, and — for a value that is
/// outside the cipher's domain — where it is.
///
/// Two errors compare equal when their codes are equal (as ``CryptoError`` does), so tests can
/// match on the code. Reasons never contain the offending value or character (they would leak
/// the data being tokenized into logs). ``valueIndex`` names the value's index in its batch and
/// ``position`` the 0-based position of a bad character or numeral within it; ``description``
/// prefixes the reason with the index.
public struct FPEError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A value has fewer numerals than ``FPECipher/minLength``.
        public static let valueTooShort = Code("valueTooShort")
        /// A value has more numerals than ``FPECipher/maxLength``.
        public static let valueTooLong = Code("valueTooLong")
        /// A character of a value is not in the ``Alphabet``.
        public static let invalidCharacter = Code("invalidCharacter")
        /// A numeral of a ``NumeralBatch`` value is not below the cipher's radix.
        public static let numeralOutOfRange = Code("numeralOutOfRange")
        /// The radix is outside 2...65536 (or does not match the alphabet).
        public static let invalidRadix = Code("invalidRadix")
        /// An alphabet has fewer than 2 or more than 65536 symbols, a repeated symbol, or a symbol
        /// that is not a single Unicode scalar.
        public static let invalidAlphabet = Code("invalidAlphabet")
        /// The tweak has the wrong length for the algorithm.
        public static let invalidTweak = Code("invalidTweak")
        /// The key is not 16, 24 or 32 bytes.
        public static let invalidKey = Code("invalidKey")
        /// A ``NumeralBatch``'s offsets are inconsistent with its numerals.
        public static let invalidBatch = Code("invalidBatch")
        /// Cycle-walking left values outside the accepted set after the allowed passes.
        public static let walkDidNotConverge = Code("walkDidNotConverge")
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

    /// The reason, prefixed with the value's index where there is one.
    public var description: String {
        valueIndex.map { "value \($0): \(reason)" } ?? reason
    }

    public static func == (lhs: FPEError, rhs: FPEError) -> Bool { lhs.code == rhs.code }
}
