/// The checks ``CSVReader`` applies to a CSV header record (``CSVReadOptions/hasHeader``), so a
/// file without a header line is refused before any output instead of having its first data row
/// passed through untouched as "column names".
///
/// There is no option to skip them: a file whose first row is data is read with
/// `hasHeader: false` (`--no-header`), which is the only way around the check.
public enum CSVHeaderCheck {
    /// Why `fields` (the header record's values) look like a data row, or `nil` when they look
    /// like column names. The reason names column positions and shapes, never a value.
    ///
    /// A row looks like data when a field has the shape of a sensitive value (a Luhn-valid
    /// 13–19-digit number, `AAA-GG-SSSS`, an email address, a phone number, an IBAN with a valid
    /// check), or when most non-empty fields are numbers or dates (a four-digit year alone is not
    /// counted: report headers are often years). Names such as `card_number`, `cardNumber`,
    /// `Card Number`, `address_line_2`, `q1_2024_total` pass.
    public static func dataLikeReason(_ fields: [String]) -> String? {
        var numeric = 0
        var nonEmpty = 0
        for (j, field) in fields.enumerated() {
            let v = HeaderValueShape.trimmed(Array(field.utf8))
            if v.isEmpty { continue }
            nonEmpty += 1
            if let shape = HeaderValueShape.sensitiveShape(v) { return "field \(j + 1) has the shape of \(shape)" }
            if HeaderValueShape.isNumberOrDate(v) && !HeaderValueShape.isYear(v) { numeric += 1 }
        }
        if nonEmpty > 0 && 2 * numeric > nonEmpty {
            return "\(numeric) of its \(nonEmpty) non-empty fields are numbers or dates"
        }
        return nil
    }

    /// The names that occur more than once, each with its 1-based column positions, in order of
    /// first occurrence.
    public static func duplicates(_ names: [String]) -> [(name: String, columns: [Int])] {
        var positions: [String: [Int]] = [:]
        var order: [String] = []
        for (j, name) in names.enumerated() {
            if positions[name] == nil { order.append(name) }
            positions[name, default: []].append(j + 1)
        }
        return order.compactMap { n in positions[n]!.count > 1 ? (n, positions[n]!) : nil }
    }
}

/// Minimal shape checks for ``CSVHeaderCheck`` (Formats does not depend on Tagging, whose
/// classifiers are the real ones): is a header field shaped like a value rather than a name.
enum HeaderValueShape {
    static func trimmed(_ v: [UInt8]) -> ArraySlice<UInt8> {
        var s = v[...]
        while let f = s.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
        while let l = s.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
        return s
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
    static func isLetter(_ c: UInt8) -> Bool { isUpper(c) || (c >= 0x61 && c <= 0x7A) }

    /// A description of the sensitive shape `v` has, or `nil`.
    static func sensitiveShape(_ v: ArraySlice<UInt8>) -> String? {
        if isCardNumber(v) { return "a card number (Luhn-valid)" }
        if isSSN(v) { return "a US social security number" }
        if isEmail(v) { return "an email address" }
        if isIBAN(v) { return "an IBAN" }
        if isPhone(v) { return "a phone number" }
        return nil
    }

    /// 13–19 digits (spaces or dashes between them allowed) passing the Luhn check.
    static func isCardNumber(_ v: ArraySlice<UInt8>) -> Bool {
        var digits: [Int] = []
        for c in v {
            if isDigit(c) {
                digits.append(Int(c - 0x30))
            } else if c != 0x20 && c != 0x2D {
                return false
            }
        }
        guard (13...19).contains(digits.count), let f = v.first, isDigit(f), let l = v.last, isDigit(l) else { return false }
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            let x = i % 2 == 1 ? d * 2 : d
            sum += x > 9 ? x - 9 : x
        }
        return sum % 10 == 0
    }

    /// `AAA-GG-SSSS`.
    static func isSSN(_ v: ArraySlice<UInt8>) -> Bool {
        let b = Array(v)
        guard b.count == 11, b[3] == 0x2D, b[6] == 0x2D else { return false }
        return b.enumerated().allSatisfy { i, c in i == 3 || i == 6 || isDigit(c) }
    }

    /// `local@domain.tld`: one `@`, no spaces, a dotted domain ending in two or more letters.
    static func isEmail(_ v: ArraySlice<UInt8>) -> Bool {
        let b = Array(v)
        guard let at = b.firstIndex(of: 0x40), at > 0, b.lastIndex(of: 0x40) == at else { return false }
        if b.contains(0x20) { return false }
        let domain = b[(at + 1)...].split(separator: 0x2E, omittingEmptySubsequences: false)
        guard domain.count >= 2, domain.allSatisfy({ !$0.isEmpty }), let tld = domain.last else { return false }
        return tld.count >= 2 && tld.allSatisfy(isLetter)
    }

    /// 7–15 digits with only `+` (first), spaces, dashes, dots and parentheses between them, and
    /// either a leading `+`, a separator, or ten or more digits.
    static func isPhone(_ v: ArraySlice<UInt8>) -> Bool {
        var digits = 0
        var separators = 0
        for (i, c) in v.enumerated() {
            if isDigit(c) {
                digits += 1
            } else if c == 0x2B && i == 0 {
                separators += 1
            } else if c == 0x20 || c == 0x2D || c == 0x2E || c == 0x28 || c == 0x29 {
                separators += 1
            } else {
                return false
            }
        }
        return (7...15).contains(digits) && (separators > 0 || digits >= 10)
    }

    /// Two letters, two check digits, 11–30 letters or digits (spaces allowed), mod-97 check = 1.
    static func isIBAN(_ v: ArraySlice<UInt8>) -> Bool {
        let b = v.filter { $0 != 0x20 }
        guard (15...34).contains(b.count), isUpper(b[0]), isUpper(b[1]), isDigit(b[2]), isDigit(b[3]) else { return false }
        guard b.allSatisfy({ isDigit($0) || isUpper($0) }) else { return false }
        var r = 0
        for c in b[4...] + b[0..<4] {
            if isDigit(c) {
                r = (r * 10 + Int(c - 0x30)) % 97
            } else {
                r = (r * 100 + Int(c - 0x41 + 10)) % 97
            }
        }
        return r == 1
    }

    /// A decimal number (`-12`, `10.50`, `.5`, `1e6`) or a date/time (`2024-01-31`, `31/01/2024`,
    /// `2024-01-31T10:00:00Z`).
    static func isNumberOrDate(_ v: ArraySlice<UInt8>) -> Bool {
        var s = v
        if let f = s.first, f == 0x2D || f == 0x2B { s = s.dropFirst() }
        if !s.isEmpty {
            var digits = 0
            var dots = 0
            var exponent = false
            var ok = true
            for c in s {
                if isDigit(c) {
                    digits += 1
                } else if c == 0x2E && !exponent {
                    dots += 1
                } else if (c == 0x65 || c == 0x45) && digits > 0 && !exponent {
                    exponent = true
                } else {
                    ok = false
                    break
                }
            }
            if ok && digits > 0 && dots <= 1 && s.last.map(isDigit) == true { return true }
        }
        // Dates and times: digits and -/.: with T or a space between date and time, optional Z.
        var digits = 0
        var dateSeparators = 0
        var body = v
        if body.last == 0x5A { body = body.dropLast() }
        for c in body {
            if isDigit(c) {
                digits += 1
            } else if c == 0x2D || c == 0x2F || c == 0x3A || c == 0x2E {
                dateSeparators += 1
            } else if c != 0x54 && c != 0x20 {
                return false
            }
        }
        return digits >= 4 && dateSeparators >= 2
    }

    /// A four-digit integer from 1900 to 2100.
    static func isYear(_ v: ArraySlice<UInt8>) -> Bool {
        guard v.count == 4, v.allSatisfy(isDigit) else { return false }
        let n = v.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return (1900...2100).contains(n)
    }
}
