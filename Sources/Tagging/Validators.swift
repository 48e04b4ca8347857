/// Strict validators for sensitive-value formats, over ASCII digits/bytes. Used by the tagger to
/// classify columns and by the token transforms to check their domain. They never log or keep the
/// value they check.
public enum Validators {
    // MARK: Luhn — the one implementation in tokengate (the tagger, the card transform's domain
    // check and its cycle-walking rule all call these; do not write another).

    /// Luhn (mod 10) check over digit values (0...9), rightmost digit is the check digit.
    @inlinable
    public static func luhnValid<C: BidirectionalCollection>(_ digits: C) -> Bool where C.Element: BinaryInteger {
        luhnSum(digits) % 10 == 0
    }

    /// The Luhn sum of digit values (0...9): every digit at an odd position counted from the right
    /// is doubled (minus 9 when that exceeds 9). The last element sits at `rightmostPosition` (0,
    /// the check digit, for a whole number), so the sum of a run of digits taken from inside a
    /// number is its exact share of the whole number's sum: sums of disjoint runs add up.
    @inlinable
    public static func luhnSum<C: BidirectionalCollection>(_ digits: C, rightmostPosition: Int = 0) -> Int
    where C.Element: BinaryInteger {
        var sum = 0
        var double = rightmostPosition & 1 == 1
        for d in digits.reversed() {
            sum += luhnContribution(Int(d), doubled: double)
            double.toggle()
        }
        return sum
    }

    /// ``luhnSum(_:rightmostPosition:)`` over numerals in a buffer: the form the cycle-walking
    /// rule calls once per walked value per pass (a plain index loop, no generic iteration).
    @inlinable
    public static func luhnSum(_ digits: UnsafeBufferPointer<UInt16>, rightmostPosition: Int = 0) -> Int {
        var sum = 0
        var double = rightmostPosition & 1 == 1
        var i = digits.count
        while i > 0 {
            i -= 1
            sum += luhnContribution(Int(digits[i]), doubled: double)
            double.toggle()
        }
        return sum
    }

    /// ``luhnSum(_:rightmostPosition:)`` over a slice of numerals (the card transform's middle).
    @inlinable
    public static func luhnSum(_ digits: ArraySlice<UInt16>, rightmostPosition: Int = 0) -> Int {
        digits.withUnsafeBufferPointer { luhnSum($0, rightmostPosition: rightmostPosition) }
    }

    /// The Luhn sum (``luhnSum(_:rightmostPosition:)``) of the ASCII digits among `bytes`, every
    /// other byte (a space or dash separator) skipped without taking a position.
    @inlinable
    public static func luhnSum(asciiDigitsIn bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var sum = 0
        var double = false
        var i = bytes.count
        while i > 0 {
            i -= 1
            let d = bytes[i] &- 0x30
            guard d < 10 else { continue }
            sum += luhnContribution(Int(d), doubled: double)
            double.toggle()
        }
        return sum
    }

    /// ``luhnSum(asciiDigitsIn:)`` over a slice of a byte buffer.
    @inlinable
    public static func luhnSum(asciiDigitsIn bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Int {
        luhnSum(asciiDigitsIn: UnsafeBufferPointer(rebasing: bytes))
    }

    @inlinable @inline(__always)
    static func luhnContribution(_ d: Int, doubled: Bool) -> Int {
        guard doubled else { return d }
        let x = d * 2
        return x > 9 ? x - 9 : x
    }

    /// SSA rules for a 9-digit SSN given as digit values: area not 000, 666 or 900–999; group not
    /// 00; serial not 0000; not a publicly used advertising number (078-05-1120, 219-09-9999,
    /// 123-45-6789).
    @inlinable
    public static func ssnValid<C: Collection>(_ digits: C) -> Bool where C.Element == UInt8 {
        guard digits.count == 9 else { return false }
        var v = 0
        for d in digits { v = v * 10 + Int(d) }
        return ssnValid(number: v)
    }

    /// The SSA rules on the 9-digit number AAAGGSSSS (0 ≤ v < 10^9).
    @inlinable
    public static func ssnValid(number v: Int) -> Bool {
        let area = v / 1_000_000, group = v / 10_000 % 100, serial = v % 10_000
        if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 { return false }
        return v != 78_051_120 && v != 219_099_999 && v != 123_456_789
    }

    /// IBAN lengths by country (SWIFT IBAN registry).
    public static let ibanLengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
        "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
        "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
        "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
        "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
        "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
        "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
        "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    ]

    /// The IBAN mod-97 remainder of a compact IBAN (uppercase letters and digits, ASCII), computed
    /// piecewise after moving the first four characters to the end. A valid IBAN gives 1.
    @inlinable
    public static func ibanRemainder<C: Collection>(_ compact: C) -> Int? where C.Element == UInt8 {
        guard compact.count >= 5 else { return nil }
        var r = 0
        func feed(_ c: UInt8) -> Bool {
            switch c {
            case 0x30...0x39: r = (r * 10 + Int(c - 0x30)) % 97
            case 0x41...0x5A: r = (r * 100 + Int(c - 0x41 + 10)) % 97
            default: return false
            }
            return true
        }
        for c in compact.dropFirst(4) where !feed(c) { return nil }
        for c in compact.prefix(4) where !feed(c) { return nil }
        return r
    }

    /// A compact IBAN (no spaces) is valid: known country, exact length, digits for the check
    /// digits, alphanumeric BBAN, mod-97 = 1.
    public static func ibanValid(_ compact: [UInt8]) -> Bool {
        guard compact.count >= 5, compact.count <= 34,
            (0x41...0x5A).contains(compact[0]), (0x41...0x5A).contains(compact[1]),
            (0x30...0x39).contains(compact[2]), (0x30...0x39).contains(compact[3])
        else { return false }
        let cc = String(decoding: compact[0..<2], as: UTF8.self)
        guard let len = ibanLengths[cc], len == compact.count else { return false }
        return ibanRemainder(compact) == 1
    }

    /// The two check digits that make `compact` (with any check digits) a valid IBAN.
    public static func ibanCheckDigits(_ compact: [UInt8]) -> (UInt8, UInt8)? {
        var zeroed = compact
        guard zeroed.count >= 5 else { return nil }
        zeroed[2] = 0x30
        zeroed[3] = 0x30
        guard let r = ibanRemainder(zeroed) else { return nil }
        let check = 98 - r
        return (UInt8(0x30 + check / 10), UInt8(0x30 + check % 10))
    }
}
