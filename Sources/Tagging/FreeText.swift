/// A sensitive value found inside a longer text value.
public struct EmbeddedMatch: Sendable, Hashable, Codable {
    /// Byte offsets relative to the start of the scanned value.
    public var range: Range<Int>
    public var tag: Tag

    public init(range: Range<Int>, tag: Tag) {
        self.range = range
        self.tag = tag
    }
}

/// Finds card numbers, SSNs and email addresses inside free text (memos, notes, comments) with the
/// same strict validators as whole cells (docs/tagging.md, Method 4: no NER on the hot path).
///
/// The text is cut into tokens at blanks and at `, ; : = ( ) [ ] { } < > " ' |`. A token with `@`
/// is checked as an email. Elsewhere, runs of digits (ASCII or fullwidth U+FF10–FF19) joined by one
/// consistent separator (space, double space, `-`, `.`, `_`, no-break space U+00A0) form a
/// number; candidates:
/// - 13–19 digits, ungrouped or grouped in fours (shorter last group) or 4-6-5 / 4-6-4, passing
///   Luhn and an issuer's prefix and length: a PAN. With a space separator a leading part of the
///   groups may be the card ("4111 1111 1111 1111 2025"); otherwise the whole number must be.
/// - `AAA-GG-SSSS` passing the SSA rules: an SSN; `AAA GG SSSS` or 9 bare digits only with an SSN
///   keyword (`ssn`, `social`, `soc sec`, `tax id`, `tin`, `taxpayer`, …) within a few words.
/// A number may follow a delimiter, a lone `-` or `#`, a non-ASCII sign (`№`) or a label word glued
/// to it (`card4111…`, `ssn123456789`); it may not continue another token (`v1.`, `ab12-`, a UUID
/// group, an IBAN's digits, a `+` phone number) or run into letters or digits after it.
/// Ranges are byte offsets into the original text (fullwidth digits take 3 bytes).
public enum FreeTextScanner {
    /// Calls `found` for each match, in order, without allocating.
    public static func scan(_ text: UnsafeBufferPointer<UInt8>, _ found: (EmbeddedMatch) -> Void) {
        let n = text.count
        var i = 0
        while i < n {
            while i < n, isDelimiter(text[i]) { i += 1 }
            if i == n { break }
            var j = i
            var at = false
            while j < n, !isDelimiter(text[j]) {
                if text[j] == 0x40 { at = true }
                j += 1
            }
            if at {
                var s = i, e = j
                while e > s, text[e - 1] == 0x2E || text[e - 1] == 0x21 || text[e - 1] == 0x3F { e -= 1 }
                while s < e, text[s] == 0x23 { s += 1 }
                if e - s >= 4, Validators.emailEvidence(slice(text, s, e)).isValid {
                    found(EmbeddedMatch(range: s..<e, tag: .email))
                }
                i = j
                continue
            }
            // Numbers starting inside this token (they may run past it through space separators).
            var k = i
            var resume = j
            while k < j {
                guard digit(text, k) != nil else {
                    k += 1
                    continue
                }
                let (end, chainEnd) = number(text, start: k, found)
                if let end {
                    resume = max(j, end)
                    k = end
                    if end > j { break }
                } else {
                    k = chainEnd
                }
            }
            i = max(resume, j)
        }
    }

    /// All matches in a value.
    public static func scan(_ text: UnsafeBufferPointer<UInt8>) -> [EmbeddedMatch] {
        var out: [EmbeddedMatch] = []
        scan(text) { out.append($0) }
        return out
    }

    // MARK: Digits and separators

    /// The digit at `i` (ASCII, or fullwidth U+FF10–FF19 as EF BC 90–99) and its byte length.
    @inline(__always)
    static func digit(_ t: Bytes, _ i: Int) -> (value: Int, length: Int)? {
        let c = t[i]
        if c.isDigit { return (Int(c &- 0x30), 1) }
        if c == 0xEF, i + 2 < t.count, t[i + 1] == 0xBC, t[i + 2] &- 0x90 < 10 { return (Int(t[i + 2] &- 0x90), 3) }
        return nil
    }

    /// Whether a digit (ASCII or fullwidth) ends just before `i`.
    @inline(__always)
    static func digitEnds(before i: Int, _ t: Bytes) -> Bool {
        guard i > 0 else { return false }
        if t[i - 1].isDigit { return true }
        return i >= 3 && t[i - 3] == 0xEF && t[i - 2] == 0xBC && t[i - 1] &- 0x90 < 10
    }

    /// Separator kinds: 1 space, 2 double space, 3 dash, 4 dot, 5 underscore, 6 no-break space.
    @inline(__always)
    static func separator(_ t: Bytes, _ p: Int) -> (kind: UInt8, length: Int)? {
        guard p < t.count else { return nil }
        switch t[p] {
        case 0x20: return p + 1 < t.count && t[p + 1] == 0x20 ? (2, 2) : (1, 1)
        case 0x2D: return (3, 1)
        case 0x2E: return (4, 1)
        case 0x5F: return (5, 1)
        case 0xC2 where p + 1 < t.count && t[p + 1] == 0xA0: return (6, 2)
        default: return nil
        }
    }

    /// Label words that may be glued to a number ("card4111…", "ssn123456789").
    static let gluedLabels: Set<UInt64> = Set(
        [
            "card", "cc", "ccn", "pan", "visa", "amex", "mc", "mastercard", "no", "nr", "num", "number", "acct",
            "ssn", "tin", "itin", "ss", "sin",
        ].map(packedWord))

    /// SSN keywords near a spaced or bare 9-digit number.
    static let ssnKeywords: Set<UInt64> = Set(
        ["ssn", "ssns", "social", "soc", "sec", "security", "tax", "taxpayer", "tin", "itin", "ss"].map(packedWord))

    /// Whether a number may start at `s`: nothing it would continue before it.
    static func mayStart(_ t: Bytes, _ s: Int) -> Bool {
        guard s > 0 else { return true }
        let p = t[s - 1]
        if p.isAlpha {
            var b = s - 1
            while b > 0, t[b - 1].isAlpha { b -= 1 }
            guard b == 0 || !(t[b - 1].isAlnum || t[b - 1] == 0x2D || t[b - 1] == 0x2E || t[b - 1] == 0x5F) else {
                return false
            }
            return gluedLabels.contains(packedWord(slice(t, b, s)) ?? 0)
        }
        switch p {
        case 0x2D, 0x2E, 0x5F, 0x2F, 0x2B, 0x40, 0x5C, 0x26, 0x25, 0x24:
            // `-4111…` after a blank is a glued dash; after anything else it joins a token.
            if p == 0x2D, s == 1 || isDelimiter(t[s - 2]) { return true }
            return false
        case 0x20:
            return !continuesGroupedNumber(t, s)
        default:
            if p >= 0x80 { return !digitEnds(before: s, t) }
            return true
        }
    }

    /// Whether a number may end at `e`: not run into letters, digits or a joined token.
    @inline(__always)
    static func mayEnd(_ t: Bytes, _ e: Int) -> Bool {
        guard e < t.count else { return true }
        let c = t[e]
        if c.isAlnum { return false }
        if c == 0x2D || c == 0x5F || c == 0x2E, e + 1 < t.count, t[e + 1].isAlnum { return false }
        return true
    }

    /// Digits of `t[s..<e]` (separators skipped): count, first six, Luhn sum, runs.
    static func panValid(_ t: Bytes, _ s: Int, _ e: Int) -> Bool {
        var count = 0, prefix = 0, even = 0, odd = 0
        var prev = -1
        var allSame = true, ascending = true, descending = true
        var p = s
        while p < e {
            guard let (d, len) = digit(t, p) else {
                p += 1
                continue
            }
            if count < 6 { prefix = prefix * 10 + d }
            if prev >= 0 {
                if d != prev { allSame = false }
                if d != (prev + 1) % 10 { ascending = false }
                if d != (prev + 9) % 10 { descending = false }
            }
            prev = d
            // Luhn doubling depends on the position from the right: keep both parities.
            let dbl = d * 2 > 9 ? d * 2 - 9 : d * 2
            if count & 1 == 0 {
                even += dbl
                odd += d
            } else {
                even += d
                odd += dbl
            }
            count += 1
            p += len
        }
        guard (13...19).contains(count), !(allSame || ascending || descending) else { return false }
        guard Validators.cardIssuer(prefix6: prefix, length: count) != nil else { return false }
        // The rightmost digit (index count-1) is not doubled: doubled indexes have count-1-i odd.
        let sum = (count - 1) & 1 == 1 ? even : odd
        return sum % 10 == 0
    }

    /// The number whose first digit is at `start`: reports a match and returns its end, or nil and
    /// the end of the digit chain to resume after.
    static func number(_ t: Bytes, start: Int, _ found: (EmbeddedMatch) -> Void) -> (Int?, Int) {
        // Groups: up to 8 (digit count and end offset), one separator kind.
        var lens: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
        var ends: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
        var groups = 0
        var sep: UInt8 = 0
        var p = start
        var total = 0
        while true {
            var len = 0
            while p < t.count, let (_, l) = digit(t, p) {
                len += 1
                p += l
            }
            total += len
            if groups < 8 {
                withUnsafeMutableBytes(of: &lens) { $0.storeBytes(of: len, toByteOffset: groups * 8, as: Int.self) }
                withUnsafeMutableBytes(of: &ends) { $0.storeBytes(of: p, toByteOffset: groups * 8, as: Int.self) }
            }
            groups += 1
            guard total <= 40, let (kind, sl) = separator(t, p), sep == 0 || kind == sep,
                p + sl < t.count, digit(t, p + sl) != nil
            else { break }
            sep = kind
            p += sl
        }
        let chainEnd = p
        guard mayStart(t, start) else { return (nil, chainEnd) }
        func len(_ g: Int) -> Int { withUnsafeBytes(of: lens) { $0.load(fromByteOffset: g * 8, as: Int.self) } }
        func end(_ g: Int) -> Int { withUnsafeBytes(of: ends) { $0.load(fromByteOffset: g * 8, as: Int.self) } }
        let usable = min(groups, 8)
        // Layouts over the first `k` groups; longest first. Only space-separated numbers may end
        // before the chain does.
        var k = groups <= 8 ? groups : 0
        let minK = sep == 1 || sep == 2 ? 1 : groups
        while k >= max(minK, 1), k <= usable {
            let e = end(k - 1)
            if mayEnd(t, e) {
                var digits = 0
                for g in 0..<k { digits += len(g) }
                // SSN layouts.
                if digits == 9, k == 3 || k == 1, k == 1 || (len(0) == 3 && len(1) == 2 && len(2) == 4) {
                    if ssnValid(t, start, e) {
                        if k == 3, sep == 3 {
                            found(EmbeddedMatch(range: start..<e, tag: .ssn))
                            return (e, chainEnd)
                        }
                        if k == 1 || sep == 1, ssnKeywordNear(t, start, e) {
                            found(EmbeddedMatch(range: start..<e, tag: .ssn))
                            return (e, chainEnd)
                        }
                    }
                }
                if (13...19).contains(digits) {
                    var layout = k == 1
                    if k > 1 {
                        var fours = true
                        for g in 0..<(k - 1) where len(g) != 4 { fours = false }
                        fours = fours && len(k - 1) <= 4
                        let amex = k == 3 && len(0) == 4 && len(1) == 6 && (len(2) == 5 || len(2) == 4)
                        layout = fours || amex
                    }
                    if layout, panValid(t, start, e) {
                        found(EmbeddedMatch(range: start..<e, tag: .pan))
                        return (e, chainEnd)
                    }
                }
            }
            k -= 1
        }
        return (nil, chainEnd)
    }

    /// The SSA rules on the 9 digits of `t[s..<e]`.
    static func ssnValid(_ t: Bytes, _ s: Int, _ e: Int) -> Bool {
        var x = 0, p = s
        while p < e {
            if let (d, l) = digit(t, p) {
                x = x * 10 + d
                p += l
            } else {
                p += 1
            }
        }
        return Validators.ssnRules(x)
    }

    /// Whether an SSN keyword is among the 4 words before `s` or the 3 after `e` (or glued before).
    static func ssnKeywordNear(_ t: Bytes, _ s: Int, _ e: Int) -> Bool {
        var words = 0
        var p = s
        while p > 0, words < 4, s - p < 48 {
            while p > 0, !t[p - 1].isAlpha, s - p < 48 { p -= 1 }
            var b = p
            while b > 0, t[b - 1].isAlpha { b -= 1 }
            if b == p { break }
            if ssnKeywords.contains(packedWord(slice(t, b, p)) ?? 0) { return true }
            words += 1
            p = b
        }
        words = 0
        p = e
        while p < t.count, words < 3, p - e < 40 {
            while p < t.count, !t[p].isAlpha, p - e < 40 { p += 1 }
            var q = p
            while q < t.count, t[q].isAlpha { q += 1 }
            if q == p { break }
            if ssnKeywords.contains(packedWord(slice(t, p, q)) ?? 0) { return true }
            words += 1
            p = q
        }
        return false
    }

    /// Whether the token at `start` continues a grouped number: the previous token ends with a
    /// digit ("DE89 3704 …"), or is a 4-character group after an IBAN head ("GB29 NWBK 6016 …").
    static func continuesGroupedNumber(_ t: Bytes, _ start: Int) -> Bool {
        func previousToken(before i: Int) -> Range<Int>? {
            var e = i
            while e > 0, t[e - 1] == 0x20 { e -= 1 }
            var s = e
            while s > 0, !isDelimiter(t[s - 1]) { s -= 1 }
            return s < e ? s..<e : nil
        }
        guard let p1 = previousToken(before: start) else { return false }
        if digitEnds(before: p1.upperBound, t) { return true }
        guard p1.count == 4, p1.allSatisfy({ t[$0].isUpper || t[$0].isDigit }),
            let p2 = previousToken(before: p1.lowerBound), p2.count == 4
        else { return false }
        let b = p2.lowerBound
        return t[b].isUpper && t[b + 1].isUpper && t[b + 2].isDigit && t[b + 3].isDigit
    }

    @inline(__always)
    static func isDelimiter(_ c: UInt8) -> Bool {
        switch c {
        case 0x20, 0x09, 0x0A, 0x0D, 0x2C, 0x3B, 0x3A, 0x3D, 0x28, 0x29, 0x5B, 0x5D, 0x7B, 0x7D, 0x3C, 0x3E, 0x22, 0x27, 0x7C:
            return true
        default:
            return false
        }
    }
}

/// Embedded card numbers, dashed SSNs and emails in a free-text value (offsets relative to the
/// value's first byte).
public func scanFreeText(_ value: ArraySlice<UInt8>) -> [EmbeddedMatch] {
    value.withUnsafeBufferPointer { FreeTextScanner.scan($0) }
}

/// Embedded card numbers, dashed SSNs and emails in a free-text value.
public func scanFreeText(_ value: UnsafeRawBufferPointer) -> [EmbeddedMatch] {
    FreeTextScanner.scan(value.bindMemory(to: UInt8.self))
}

/// Embedded card numbers, dashed SSNs and emails in a string (offsets into its UTF-8).
public func scanFreeText(_ value: String) -> [EmbeddedMatch] {
    withBytes(value) { FreeTextScanner.scan($0) }
}
