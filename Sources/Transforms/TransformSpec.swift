public import SystemIO

/// The format-aware token transforms a policy can name for a tag. Each is a bijection on its
/// documented domain (FF1 or FF3-1 under an in-use key, plus cycle-walking where the output must
/// satisfy a rule), so every one has an exact inverse (detokenize).
///
/// | kind | input | preserved | tokenized | output guarantee |
/// |---|---|---|---|---|
/// | `card` | 12–19 digits, spaces/dashes anywhere, Luhn-valid or not | separators; last 4; first 6 (16–19 digits) or fewer so ≥ 6 are tokenized (15: 5, 14: 4, 13: 3, 12: 2) | the middle digits (≥ 6) | same length and kept digits; Luhn-valid if the input was (unchanged tokens), failing Luhn if the input did (detokenize picks the inverse by the token's validity) |
/// | `ssn` | 9 digits as `AAA-GG-SSSS`, `AAA GG SSSS`, `AAAGGSSSS` (each separator optional), leading/trailing spaces | spaces and dashes | all 9 digits | passes SSA area/group/serial rules (not an advertising number) if the input did, breaks them if the input did |
/// | `phone` | 7–15 digits with `+ - . ( ) space`, optional extension | every non-digit; v2: the country code (and NANP area code) or `keepLeading` digits | the other digits | same layout; v2: NANP rules kept (valid stays valid, invalid invalid) |
/// | `aba` (v2) | 9 digits, Federal Reserve prefix | the 2-digit prefix | digits 3–8 | check digit recomputed (shifted by the value's own offset) |
/// | `ip` (v2) | IPv4 dotted quad or IPv6 text (strict validators) | family; `keepPrefix`/`keepPrefixV6` bits; IPv6 text layout (`::`, widths, case, zone) | hex nibbles after the prefix (IPv6: the digits as written, the embedded IPv4's 32 bits) | a valid address of the same family (docs/policy.md) |
/// | `name` (v2) | letters (Latin by default, `alphabet` for others) with spaces, `-`, `'`, `’`, `.`, `,` | separators, the case of every letter, the letter count | every letter; ≥ 5 ASCII letters over radix 26, others over the 120 Latin letters; short names widened and cycle-walked | letters only, same case pattern |
/// | `email` | ASCII `local@domain`, one `@`, a dot in the domain | domain, every local-part character that is not a letter or digit (`.`, `+`, `-`, `_` …) | letters and digits of the local part (radix 62); 1–3 of them: the escape form `~` + the local part encoded (2 symbols per byte) and tokenized; a `~`-initial local part gets one `~` more | same layout (escape form: `~` + letters/digits), valid email if the input was |
/// | `iban` | valid IBAN (known country, exact length, mod-97), spaces allowed | country code, letters of the BBAN, spaces | digits of the BBAN | check digits recomputed: a valid IBAN |
/// | `date` | a valid date in `dateFormat` within `dateMin…dateMax` | the format | the day within the range (6-digit FF numeral, cycle-walked into the range) | a valid date in the same format and range |
/// | `digits` | any text with ≥ 6 ASCII digits | every non-digit | digits | same layout |
/// | `alphanumeric` | any text with ≥ 4 ASCII letters/digits | everything else | letters and digits (radix 62) | same layout |
/// | `alphabet` | any text whose characters in `alphabet` suffice for the domain | characters outside the alphabet | characters in `alphabet` (ASCII, radix = its size) | same layout |
///
/// Version 2 (``TransformSpec/version``): `card`, `email`, `phone` and `aba` tweak every value with
/// the column tweak bound to what it keeps in clear (docs/policy.md, "Transform versions").
///
/// A value outside its transform's domain is rejected with a reason that never contains the value.
public enum TransformKind: String, Sendable, Codable, CaseIterable {
    case card, ssn, phone, email, iban, date, digits, alphanumeric, alphabet
    /// An ABA routing number: the Federal Reserve prefix (2 digits) kept, 6 digits tokenized, the
    /// check digit recomputed (a valid number stays valid).
    case aba
    /// An IPv4 or IPv6 address (v2): a valid address of the same family, the IPv6 text layout
    /// (`::`, group widths, case, embedded IPv4, zone) kept; `keepPrefix`/`keepPrefixV6` bits
    /// kept in clear.
    case ip
    /// A person's name (v2): letters replaced by letters of the same alphabet and case, spaces,
    /// hyphens, apostrophes and periods kept; short names widened (docs/policy.md).
    case name
}

/// How the `card` transform treats the Luhn check digit.
public enum LuhnMode: String, Sendable, Codable, CaseIterable {
    /// Luhn validity preserved (the default): a Luhn-valid number gets a Luhn-valid token, a
    /// number failing Luhn (test data, typos) a token failing Luhn.
    case preserve
    /// Only Luhn-valid numbers are accepted (others rejected); every token is Luhn-valid.
    case valid
}

/// A transform and its parameters.
public struct TransformSpec: Sendable, Codable, Equatable {
    public var kind: TransformKind
    /// For `alphabet`: the ASCII symbols, in numeral order (radix = count). For `name`: the letters
    /// of another script (each with its case partner); nil: Latin (ASCII and accented).
    public var alphabet: String?
    /// For `date`: `yyyy-MM-dd` (default), `MM/dd/yyyy`, `dd/MM/yyyy`, `dd.MM.yyyy`, `yyyyMMdd`, or any
    /// fixed-width pattern of `yyyy`, `MM`, `dd` and literal characters.
    public var dateFormat: String?
    /// For `date`: the range tokens stay in, ISO `yyyy-MM-dd` (default 1900-01-01 … 2099-12-31).
    public var dateMin: String?
    public var dateMax: String?
    /// For `card`: ``LuhnMode`` (nil: `preserve`).
    public var luhn: LuhnMode?
    /// For `phone` (version 2): how many leading digits stay in clear (nil: the E.164 country
    /// code as written, plus the area code for NANP numbers).
    public var keepLeading: Int?
    /// For `ip`: leading bits of an IPv4 address kept in clear (0, 4, 8, 12 or 16; nil: 0).
    public var keepPrefix: Int?
    /// For `ip`: leading bits of an IPv6 address kept in clear (a multiple of 4, 0…124; nil: 0).
    public var keepPrefixV6: Int?
    /// The transform version whose rules apply (``TransformSpec/currentVersion`` for new runs;
    /// datasets record it per column, and a dataset recording none was written with version 1).
    ///
    /// Version 2 changes `card` (the tweak binds the kept first and last digits and the length),
    /// `email` (the tweak binds the domain) and `phone` (country code and NANP area code kept,
    /// NANP rules hold); every other transform is the same in both versions, and `aba` exists
    /// only from version 2, as do `ip` and `name`.
    public var version: Int

    /// The version new runs write.
    public static let currentVersion = 2
    /// The transforms whose tokens differ between versions 1 and 2.
    public static let changedInVersion2: [TransformKind] = [.card, .email, .phone]
    /// Versions this build can apply and invert.
    public static let supportedVersions = 1...2

    public init(
        _ kind: TransformKind, alphabet: String? = nil, dateFormat: String? = nil, dateMin: String? = nil, dateMax: String? = nil,
        luhn: LuhnMode? = nil, keepLeading: Int? = nil, keepPrefix: Int? = nil, keepPrefixV6: Int? = nil,
        version: Int = TransformSpec.currentVersion
    ) {
        self.keepLeading = keepLeading
        self.keepPrefix = keepPrefix
        self.keepPrefixV6 = keepPrefixV6
        self.kind = kind
        self.alphabet = alphabet
        self.dateFormat = dateFormat
        self.dateMin = dateMin
        self.dateMax = dateMax
        self.luhn = luhn
        self.version = version
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
    /// A transform version this build does not know (see ``TransformSpec/supportedVersions``), or
    /// a transform that did not exist in the version named.
    case unsupportedVersion
    /// A keep setting (`keep-leading`, `keep-prefix`) out of range.
    case invalidKeep
}
