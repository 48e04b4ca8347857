extension Validators {
    /// SSA rules over the 9-digit number (see `ssnValid`).
    @inline(__always)
    static func ssnRules(_ v: Int) -> Bool {
        let area = v / 1_000_000, group = v / 10_000 % 100, serial = v % 10_000
        if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 { return false }
        return v != 78_051_120 && v != 219_099_999 && v != 123_456_789
    }

    /// An SSN written `AAA-GG-SSSS` (`.formatted`), `AAA GG SSSS` or as 9 digits (`.bare`) that
    /// passes the SSA rules. There is no checksum: bare 9 digits are plausible for any id, so the tagger needs a
    /// header prior for them.
    public static func ssnEvidence(_ v: UnsafeBufferPointer<UInt8>) -> ValueEvidence {
        let dashed: Bool, grouped: Bool
        switch v.count {
        case 9: (dashed, grouped) = (false, false)
        case 11 where v[3] == 0x2D && v[6] == 0x2D: (dashed, grouped) = (true, true)
        case 11 where v[3] == 0x20 && v[6] == 0x20: (dashed, grouped) = (false, true)
        default: return .invalid
        }
        var x = 0
        for (i, c) in v.enumerated() where !(grouped && (i == 3 || i == 6)) {
            guard c.isDigit else { return .invalid }
            x = x * 10 + Int(c &- 0x30)
        }
        guard ssnRules(x) else { return .invalid }
        return dashed ? .formatted : .bare
    }

    /// An ABA routing transit number: 9 digits, prefix 00–12, 21–32, 61–72 or 80,
    /// 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), not all zeros. Passes about 1 in 10
    /// random 9-digit strings with a valid prefix: the tagger needs a header prior.
    public static func abaEvidence(_ v: UnsafeBufferPointer<UInt8>) -> ValueEvidence {
        guard v.count == 9 else { return .invalid }
        var sum = 0, any = false
        for i in 0..<9 {
            let c = v[i]
            guard c.isDigit else { return .invalid }
            let d = Int(c &- 0x30)
            if d != 0 { any = true }
            sum += d * (i % 3 == 0 ? 3 : i % 3 == 1 ? 7 : 1)
        }
        let prefix = Int(v[0] &- 0x30) * 10 + Int(v[1] &- 0x30)
        guard any, sum % 10 == 0, abaPrefixValid(prefix) else { return .invalid }
        return .bare
    }

    /// ABA routing number checksum and prefix over digit values (0...9), for callers holding digits.
    public static func abaValid<C: Collection>(_ digits: C) -> Bool where C.Element == UInt8 {
        guard digits.count == 9 else { return false }
        var sum = 0, prefix = 0, any = false
        for (i, d) in digits.enumerated() {
            guard d < 10 else { return false }
            if i < 2 { prefix = prefix * 10 + Int(d) }
            if d != 0 { any = true }
            sum += Int(d) * (i % 3 == 0 ? 3 : i % 3 == 1 ? 7 : 1)
        }
        return any && sum % 10 == 0 && abaPrefixValid(prefix)
    }

    /// Federal Reserve routing symbol prefixes: 00–12, 21–32, 61–72, 80.
    @inline(__always)
    static func abaPrefixValid(_ p: Int) -> Bool {
        p <= 12 || (21...32).contains(p) || (61...72).contains(p) || p == 80
    }

    /// An IBAN filling the whole value: compact or grouped with single spaces, letters in either
    /// case; known country, exact length for the country, mod-97 = 1 computed piecewise.
    public static func ibanEvidence(_ v: UnsafeBufferPointer<UInt8>) -> ValueEvidence {
        guard v.count >= 15, v.count <= 42 else { return .invalid }
        // Pass 1: shape, length, country.
        var n = 0, spaces = 0
        var prevSpace = true
        var c0: UInt8 = 0, c1: UInt8 = 0
        for c in v {
            if c == 0x20 {
                if prevSpace { return .invalid }
                prevSpace = true
                spaces += 1
                continue
            }
            prevSpace = false
            let u = c.isLower ? c - 0x20 : c
            switch n {
            case 0:
                guard u.isUpper else { return .invalid }
                c0 = u
            case 1:
                guard u.isUpper else { return .invalid }
                c1 = u
            case 2, 3: guard u.isDigit else { return .invalid }
            default: guard u.isDigit || u.isUpper else { return .invalid }
            }
            n += 1
        }
        guard !prevSpace, n >= 15, n <= 34,
            Int(ibanLengthTable[Int(c0 - 0x41) * 26 + Int(c1 - 0x41)]) == n
        else { return .invalid }
        // Pass 2: mod 97 over BBAN then country + check digits.
        var r = 0, k = 0
        @inline(__always) func feed(_ c: UInt8) {
            let u = c.isLower ? c - 0x20 : c
            r = u.isDigit ? (r * 10 + Int(u - 0x30)) % 97 : (r * 100 + Int(u - 0x41 + 10)) % 97
        }
        for c in v where c != 0x20 {
            if k >= 4 { feed(c) }
            k += 1
        }
        k = 0
        for c in v where c != 0x20 {
            if k >= 4 { break }
            feed(c)
            k += 1
        }
        guard r == 1 else { return .invalid }
        return spaces > 0 ? .formatted : .bare
    }

    /// `ibanLengths` as a flat 26×26 table indexed by the country letters (0 = unknown).
    static let ibanLengthTable: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 26 * 26)
        for (cc, len) in ibanLengths {
            let u = Array(cc.utf8)
            t[Int(u[0] - 0x41) * 26 + Int(u[1] - 0x41)] = UInt8(len)
        }
        return t
    }()

    /// A telephone number: NANP (`NPA-NXX-XXXX`, `(NPA) NXX-XXXX`, dots, spaces, optional leading
    /// `1`; NPA and NXX start 2–9, no N11, NPA's second digit not 9) or E.164 (`+` then 8–15
    /// digits, first not 0; `+1` numbers must be NANP), display grouping with single spaces, dashes
    /// or dots and one pair of parentheses allowed, optional extension (`x123`, `ext. 123`,
    /// `#123`). `.bare` only for unformatted 10 or 11 digits: those need a header prior.
    public static func phoneEvidence(_ v: UnsafeBufferPointer<UInt8>) -> ValueEvidence {
        let n = v.count
        guard n >= 9, n <= 40 else { return .invalid }
        // Split off an extension: the first letter or '#' starts it.
        var mainEnd = n
        var hasExt = false
        if let x = v.firstIndex(where: { $0.isAlpha || $0 == 0x23 }) {
            guard parseExtension(v, from: x) else { return .invalid }
            hasExt = true
            mainEnd = x
            while mainEnd > 0, v[mainEnd - 1] == 0x20 { mainEnd -= 1 }
        }
        var i = 0
        let plus = v[0] == 0x2B
        if plus { i = 1 }
        guard i < mainEnd, v[i].isDigit || v[i] == 0x28 else { return .invalid }
        var digits = 0, num = 0, groups = 0, curLen = 0
        var packed: UInt64 = 0  // group lengths, 4 bits each
        var inParen = false, parenUsed = false, parenGroup = -1
        var separated = false
        var prev: UInt8 = plus ? 0x2B : 0x20
        while i < mainEnd {
            let c = v[i]
            if c.isDigit {
                digits += 1
                guard digits <= 15 else { return .invalid }
                num = num * 10 + Int(c &- 0x30)
                curLen += 1
            } else {
                if curLen > 0 {
                    groups += 1
                    guard groups <= 12 else { return .invalid }
                    packed = packed << 4 | UInt64(curLen)
                    curLen = 0
                }
                switch c {
                case 0x28:  // (
                    guard !parenUsed, prev == 0x20 || prev == 0x2B, i + 1 < mainEnd, v[i + 1].isDigit else { return .invalid }
                    inParen = true
                    parenUsed = true
                    parenGroup = groups
                case 0x29:  // )
                    guard inParen, prev.isDigit, parenGroup == groups - 1 else { return .invalid }
                    inParen = false
                case 0x20, 0x2D, 0x2E:  // space, dash, dot
                    guard !inParen, prev.isDigit || (prev == 0x29 && c != 0x2E) else { return .invalid }
                    guard i + 1 < mainEnd, v[i + 1].isDigit || (c == 0x20 && v[i + 1] == 0x28) else { return .invalid }
                    separated = true
                default:
                    return .invalid
                }
            }
            prev = c
            i += 1
        }
        guard !inParen, prev.isDigit else { return .invalid }
        groups += 1
        packed = packed << 4 | UInt64(curLen)
        let formatted = plus || separated || parenUsed || hasExt

        @inline(__always) func nanp(_ national: Int) -> Bool {
            let npa = national / 10_000_000, nxx = national / 10_000 % 1000
            let n1 = npa / 100, n2 = npa / 10 % 10, n3 = npa % 10
            let x1 = nxx / 100, x2 = nxx / 10 % 10, x3 = nxx % 10
            return n1 >= 2 && n2 != 9 && !(n2 == 1 && n3 == 1) && x1 >= 2 && !(x2 == 1 && x3 == 1)
        }
        if plus {
            guard (8...15).contains(digits) else { return .invalid }
            var lead = num
            for _ in 1..<digits { lead /= 10 }
            guard lead != 0 else { return .invalid }
            if lead == 1 { guard digits == 11, nanp(num % 10_000_000_000) else { return .invalid } }
            return .formatted
        }
        switch digits {
        case 10:
            guard packed == 0xA || packed == 0x334, parenGroup <= 0, nanp(num) else { return .invalid }
        case 11:
            guard num / 10_000_000_000 == 1, packed == 0xB || packed == 0x1334, parenGroup == -1 || parenGroup == 1,
                nanp(num % 10_000_000_000)
            else { return .invalid }
        default:
            return .invalid
        }
        return formatted ? .formatted : .bare
    }

    /// ` x123`, `ext 123`, `ext. 123`, `extension 123`, `#123` (1–6 digits) up to the end.
    private static func parseExtension(_ v: Bytes, from start: Int) -> Bool {
        var i = start
        let n = v.count
        if v[i] == 0x23 {
            i += 1
        } else {
            var j = i
            while j < n, v[j].isAlpha { j += 1 }
            let word = slice(v, i, j)
            guard equalsLower(word, "x") || equalsLower(word, "ext") || equalsLower(word, "extension") else { return false }
            i = j
            if i < n, v[i] == 0x2E { i += 1 }
        }
        while i < n, v[i] == 0x20 { i += 1 }
        let d0 = i
        while i < n, v[i].isDigit { i += 1 }
        return i == n && (1...6).contains(i - d0)
    }
}
