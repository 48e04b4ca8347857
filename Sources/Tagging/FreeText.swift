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

/// Finds card numbers, dashed SSNs and email addresses inside free text (memos, notes, comments)
/// with the same strict validators as whole cells (docs/tagging.md, Method 4: no NER on the hot path).
///
/// The text is cut into tokens at blanks and at `, ; : = ( ) [ ] { } < > " ' |`; a trailing `.`, `!`
/// or `?` and a leading `#` are not part of a token. Candidates:
/// - a token of 12–19 digits, or of digits grouped with dashes: a PAN (`Validators.panEvidence`);
/// - a token `AAA-GG-SSSS`: an SSN (bare 9 digits in text are not reported: no header to support them);
/// - 4-digit tokens separated by single spaces ("4111 1111 1111 1111", Amex "3782 822463 10005"),
///   when the text before is not itself a digit group (IBANs and other grouped numbers are not
///   folded in): a PAN;
/// - a token with `@`: an email.
/// Tokens joined to others by `-`, `.`, `/`, `+` or `_` (UUIDs, dates, versions, decimals, `+`
/// phone numbers) are single tokens and fail the validators.
public enum FreeTextScanner {
    /// Calls `found` for each match, in order, without allocating.
    public static func scan(_ text: UnsafeBufferPointer<UInt8>, _ found: (EmbeddedMatch) -> Void) {
        let n = text.count
        var i = 0
        while i < n {
            while i < n, isDelimiter(text[i]) { i += 1 }
            if i == n { break }
            var j = i
            while j < n, !isDelimiter(text[j]) { j += 1 }
            let next = j
            // Trim token punctuation.
            var s = i, e = j
            while e > s, text[e - 1] == 0x2E || text[e - 1] == 0x21 || text[e - 1] == 0x3F { e -= 1 }
            while s < e, text[s] == 0x23 { s += 1 }
            i = next
            guard e - s >= 4 else { continue }
            let tok = slice(text, s, e)
            var digits = 0, dashes = 0, at = false, other = false
            for c in tok {
                if c.isDigit { digits += 1 } else if c == 0x2D { dashes += 1 } else if c == 0x40 { at = true } else { other = true }
            }
            if at {
                if Validators.emailEvidence(tok).isValid { found(EmbeddedMatch(range: s..<e, tag: .email)) }
                continue
            }
            if other { continue }
            if dashes == 2, tok.count == 11, Validators.ssnEvidence(tok) == .formatted {
                found(EmbeddedMatch(range: s..<e, tag: .ssn))
                continue
            }
            if digits >= 12, Validators.panEvidence(tok).isValid {
                found(EmbeddedMatch(range: s..<e, tag: .pan))
                continue
            }
            if dashes == 0, digits == 4, tok.count == 4, let end = spacedPAN(text, start: s, tokenEnd: e) {
                found(EmbeddedMatch(range: s..<end, tag: .pan))
                i = end
            }
        }
    }

    /// All matches in a value.
    public static func scan(_ text: UnsafeBufferPointer<UInt8>) -> [EmbeddedMatch] {
        var out: [EmbeddedMatch] = []
        scan(text) { out.append($0) }
        return out
    }

    /// Space-grouped card number starting with the 4-digit token at `start`: the end offset of the
    /// longest valid layout, nil when none.
    static func spacedPAN(_ t: Bytes, start: Int, tokenEnd: Int) -> Int? {
        guard !continuesGroupedNumber(t, start) else { return nil }
        // Groups of digits separated by one space, up to six, each ending at a delimiter or
        // sentence punctuation; group 0 is the 4-digit token.
        @inline(__always) func nextGroupEnd(after p: Int) -> Int? {
            guard p + 1 < t.count, t[p] == 0x20, t[p + 1].isDigit else { return nil }
            var q = p + 1
            while q < t.count, t[q].isDigit { q += 1 }
            guard q - p - 1 <= 6 else { return nil }
            if q < t.count, !(isDelimiter(t[q]) || t[q] == 0x2E || t[q] == 0x21 || t[q] == 0x3F) { return nil }
            return q
        }
        var count = 1
        var p = tokenEnd
        while count < 6, let q = nextGroupEnd(after: p) {
            count += 1
            p = q
        }
        // Longest first; panEvidence's grouping rules decide which layouts are acceptable.
        var k = count - 1
        while k >= 2 {
            var end = tokenEnd
            for _ in 0..<k { end = nextGroupEnd(after: end)! }
            if Validators.panEvidence(slice(t, start, end)).isValid { return end }
            k -= 1
        }
        return nil
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
        if t[p1.upperBound - 1].isDigit { return true }
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
