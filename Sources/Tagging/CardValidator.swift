extension Validators {
    /// The scheme whose prefix and length rules a PAN satisfies (docs/tagging.md, PAN): Visa 4 (13, 16,
    /// 18, 19); Mastercard 51–55 and 2221–2720 (16); Amex 34/37 (15); Diners 300–305/36/38/39
    /// (14, 16, 19); Discover 6011/644–649/65 (16, 19); JCB 3528–3589 (16–19); UnionPay 62
    /// (16–19); Maestro 50/56–69 (12–19); Mir 2200–2204 (16–19). `prefix6` is the first six digits.
    public static func cardIssuer(prefix6 p: Int, length n: Int) -> CardIssuer? {
        let p1 = p / 100_000, p2 = p / 10_000, p3 = p / 1_000, p4 = p / 100
        if p1 == 4 { return n == 13 || n == 16 || n == 18 || n == 19 ? .visa : nil }
        if (51...55).contains(p2) || (2221...2720).contains(p4) { return n == 16 ? .mastercard : nil }
        if (2200...2204).contains(p4) { return (16...19).contains(n) ? .mir : nil }
        if p2 == 34 || p2 == 37 { return n == 15 ? .amex : nil }
        if (300...305).contains(p3) || p2 == 36 || p2 == 38 || p2 == 39 {
            return n == 14 || n == 16 || n == 19 ? .diners : nil
        }
        if (3528...3589).contains(p4) { return (16...19).contains(n) ? .jcb : nil }
        // JCB's older 15-digit ranges.
        if p4 == 2131 || p4 == 1800 { return n == 15 ? .jcb : nil }
        // The 6x schemes overlap Maestro 56–69: the specific scheme first, Maestro for the rest.
        if p4 == 6011 || (644...649).contains(p3) || p2 == 65, n == 16 || n == 19 { return .discover }
        if p2 == 62, (16...19).contains(n) { return .unionpay }
        if p2 == 50 || (56...69).contains(p2) { return (12...19).contains(n) ? .maestro : nil }
        return nil
    }

    /// The issuer of a card number given as text (digits with optional space/dash grouping), nil
    /// when it is not a valid PAN.
    public static func cardIssuer(_ value: String) -> CardIssuer? {
        withBytes(value) { v in
            let v = trimmed(v)
            guard panEvidence(v).isValid else { return nil }
            var p = 0, k = 0, n = 0
            for c in v where c.isDigit {
                if k < 6 {
                    p = p * 10 + Int(c &- 0x30)
                    k += 1
                }
                n += 1
            }
            return cardIssuer(prefix6: p, length: n)
        }
    }

    /// A primary account number: 12–19 digits, optionally grouped with one kind of separator (space
    /// or dash) in a consistent layout (groups of four with a shorter last group, or Amex/Diners
    /// 4-6-5 / 4-6-4); Luhn; an issuer's prefix and length; not all one digit, not a run of
    /// ascending or descending digits. `.formatted` when grouped.
    public static func panEvidence(_ v: UnsafeBufferPointer<UInt8>) -> ValueEvidence {
        guard v.count >= 12, v.count <= 23 else { return .invalid }
        var digits = 0, groups = 1, groupLen = 0, g1 = 0, g2 = 0
        var sep: UInt8 = 0
        var closedAllFour = true
        var prefix = 0
        var prev: UInt8 = 0
        var allSame = true, ascending = true, descending = true
        var afterSep = true  // start counts as "after a separator": rejects a leading one
        for c in v {
            if c.isDigit {
                let d = c &- 0x30
                if digits < 6 { prefix = prefix * 10 + Int(d) }
                if digits > 0 {
                    if d != prev { allSame = false }
                    if d != (prev + 1) % 10 { ascending = false }
                    if d != (prev + 9) % 10 { descending = false }
                }
                prev = d
                digits += 1
                groupLen += 1
                afterSep = false
            } else if c == 0x20 || c == 0x2D {
                if afterSep { return .invalid }
                if sep == 0 { sep = c } else if sep != c { return .invalid }
                if groups == 1 { g1 = groupLen } else if groups == 2 { g2 = groupLen }
                if groupLen != 4 { closedAllFour = false }
                groups += 1
                groupLen = 0
                afterSep = true
            } else {
                return .invalid
            }
        }
        guard !afterSep, (12...19).contains(digits) else { return .invalid }
        if groups > 1 {
            let fours = closedAllFour && groupLen <= 4
            let amexDiners = groups == 3 && g1 == 4 && g2 == 6 && (groupLen == 5 || groupLen == 4)
            guard fours || amexDiners else { return .invalid }
        }
        if allSame || ascending || descending { return .invalid }
        guard cardIssuer(prefix6: prefix, length: digits) != nil else { return .invalid }
        guard luhnSum(asciiDigitsIn: v) % 10 == 0 else { return .invalid }
        return groups > 1 ? .formatted : .bare
    }
}
