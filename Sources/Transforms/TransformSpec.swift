public import SystemIO

/// The format-aware token transforms a policy can name for a tag. Each is a bijection on its
/// documented domain (FF1 or FF3-1 under an in-use key, plus cycle-walking where the output must
/// satisfy a rule), so every one has an exact inverse (detokenize).
///
/// | kind | input | preserved | tokenized | output guarantee |
/// |---|---|---|---|---|
/// | `card` | 12–19 digits, spaces/dashes anywhere, Luhn-valid or not | separators; last 4; first 6 (16–19 digits) or fewer so ≥ 6 are tokenized (15: 5, 14: 4, 13: 3, 12: 2) | the middle digits (≥ 6) | same length and kept digits; Luhn-valid if the input was (unchanged tokens), failing Luhn if the input did (detokenize picks the inverse by the token's validity) |
/// | `ssn` | 9 digits as `AAA-GG-SSSS`, `AAA GG SSSS`, `AAAGGSSSS` (each separator optional), leading/trailing spaces | spaces and dashes | all 9 digits | passes SSA area/group/serial rules (not an advertising number) if the input did, breaks them if the input did |
/// | `phone` | 7–15 digits with `+ - . ( ) space` | every non-digit | all digits | same layout |
/// | `email` | ASCII `local@domain`, one `@`, a dot in the domain | domain, every local-part character that is not a letter or digit (`.`, `+`, `-`, `_` …) | letters and digits of the local part (radix 62); 1–3 of them: the escape form `~` + the local part encoded (2 symbols per byte) and tokenized; a `~`-initial local part gets one `~` more | same layout (escape form: `~` + letters/digits), valid email if the input was |
/// | `iban` | valid IBAN (known country, exact length, mod-97), spaces allowed | country code, letters of the BBAN, spaces | digits of the BBAN | check digits recomputed: a valid IBAN |
/// | `date` | a valid date in `dateFormat` within `dateMin…dateMax` | the format | the day within the range (6-digit FF numeral, cycle-walked into the range) | a valid date in the same format and range |
/// | `digits` | any text with ≥ 6 ASCII digits | every non-digit | digits | same layout |
/// | `alphanumeric` | any text with ≥ 4 ASCII letters/digits | everything else | letters and digits (radix 62) | same layout |
/// | `alphabet` | any text whose characters in `alphabet` suffice for the domain | characters outside the alphabet | characters in `alphabet` (ASCII, radix = its size) | same layout |
///
/// A value outside its transform's domain is rejected with a reason that never contains the value.
public enum TransformKind: String, Sendable, Codable, CaseIterable {
    case card, ssn, phone, email, iban, date, digits, alphanumeric, alphabet
}

/// A transform and its parameters.
public struct TransformSpec: Sendable, Codable, Equatable {
    public var kind: TransformKind
    /// For `alphabet`: the ASCII symbols, in numeral order (radix = count).
    public var alphabet: String?
    /// For `date`: `yyyy-MM-dd` (default), `MM/dd/yyyy`, `dd/MM/yyyy`, `dd.MM.yyyy`, `yyyyMMdd`, or any
    /// fixed-width pattern of `yyyy`, `MM`, `dd` and literal characters.
    public var dateFormat: String?
    /// For `date`: the range tokens stay in, ISO `yyyy-MM-dd` (default 1900-01-01 … 2099-12-31).
    public var dateMin: String?
    public var dateMax: String?

    public init(_ kind: TransformKind, alphabet: String? = nil, dateFormat: String? = nil, dateMin: String? = nil, dateMax: String? = nil) {
        self.kind = kind
        self.alphabet = alphabet
        self.dateFormat = dateFormat
        self.dateMin = dateMin
        self.dateMax = dateMax
    }
}

/// A value that could not be transformed. The reason names the problem, never the value.
public struct ValueReject: Sendable, Equatable, CustomStringConvertible {
    /// Index of the value in the input column.
    public let index: Int
    public let reason: String
    public init(index: Int, reason: String) {
        self.index = index
        self.reason = reason
    }
    public var description: String { "value \(index): \(reason)" }
}

/// Configuration errors of a transform (not value errors). Equality compares the code only; the
/// description is `code: reason`.
public typealias TransformError = ModuleError<TransformErrorCode>

/// The codes of ``TransformError``.
public enum TransformErrorCode: String, ErrorCode {
    /// Transform `alphabet` without 2 or more distinct printable ASCII symbols.
    case invalidAlphabet
    /// A date format without exactly one `yyyy`, `MM` and `dd` (ASCII, fixed width), or none.
    case invalidDateFormat
    /// `dateMin`/`dateMax` not ISO dates in order, or a span outside the supported range.
    case invalidDateRange
    /// The tweak length does not fit the algorithm.
    case invalidTweak
}
