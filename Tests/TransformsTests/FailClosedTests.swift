import Columns
import FPE
import Tagging
import Testing
import Transforms

// Issue 11 (fail closed): card numbers failing Luhn, SSNs in common spellings or breaking the SSA
// rules, and emails with a 1–3 character local part are tokenized (never rejected), invertibly,
// and a token's own validity tells detokenize which inverse applies.

func isAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }

/// A random digit string of `n` digits with the requested Luhn validity.
func randomCardDigits(_ n: Int, luhnValid: Bool, _ rng: inout SplitMix) -> String {
    while true {
        let s = String((0..<n).map { _ in Character(String(rng.next() % 10)) })
        if Validators.luhnValid(digitValues(s)) == luhnValid { return s }
    }
}

/// Deterministic generator (the tests reproduce exactly).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct CardsFailingLuhn {
    /// Tokens computed under the test key before cards failing Luhn were accepted: Luhn-valid
    /// inputs must keep exactly these tokens under the version 1 rules (version 2 binds the kept
    /// digits into the tweak: other tokens, see `CardV2`).
    @Test func luhnValidTokensAreUnchanged() throws {
        let values = ["4111111111111111", "5555-5555-5555-4444", "378282246310005", "4222222222222", "6011 1111 1111 1117"]
        let pinned: [FPEAlgorithm: [String]] = [
            .ff1: ["4111111081741111", "5555-5575-2483-4444", "378286822340005", "4227752942222", "6011 1110 8174 1117"],
            .ff31: ["4111113250181111", "5555-5580-7139-4444", "378287584710005", "4228777362222", "6011 1132 5018 1117"],
        ]
        for alg in FPEAlgorithm.allCases {
            let t = try transformer(TransformSpec(.card, version: 1), alg)
            #expect(try t.tokenize(ByteColumn(values)).output.strings == pinned[alg])
        }
        // SSNs and emails in their earlier domain keep their tokens too.
        #expect(try transformer(TransformSpec(.ssn)).tokenize(ByteColumn(["123-45-6788", "219099998"])).output.strings == ["459-18-8482", "827820331"])
        #expect(try transformer(TransformSpec(.ssn), .ff31).tokenize(ByteColumn(["123-45-6788", "219099998"])).output.strings == ["703-01-6460", "742487276"])
        #expect(
            try transformer(TransformSpec(.email, version: 1)).tokenize(ByteColumn(["john.doe+tag@example.com"])).output.strings == ["NBED.ncW+bjo@example.com"]
        )
        #expect(
            try transformer(TransformSpec(.email, version: 1), .ff31).tokenize(ByteColumn(["john.doe+tag@example.com"])).output.strings == [
                "NT8j.qnb+Vx3@example.com"
            ])
    }

    @Test(arguments: FPEAlgorithm.allCases)
    func everyCardShapedNumberTokenizesKeepingItsLuhnValidityAndInverts(alg: FPEAlgorithm) throws {
        var rng = SplitMix(state: alg == .ff1 ? 1 : 2)
        var values: [String] = ["4111111111111112", "5555 5555 5555 4445", "0000000000000", "9999-9999-9999-9999-999", "123456789012"]
        for i in 0..<3000 {
            let n = 12 + Int(rng.next() % 8)
            var s = randomCardDigits(n, luhnValid: i % 2 == 0, &rng)
            if rng.next() % 3 == 0 {
                // separators anywhere (spaces or dashes)
                var c = Array(s)
                for p in stride(from: c.count - 1, to: 0, by: -4) { c.insert(rng.next() % 2 == 0 ? " " : "-", at: p) }
                s = String(c)
            }
            values.append(s)
        }
        let t = try transformer(TransformSpec(.card), alg)
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty, "\(rejects.prefix(3))")
        var changed = 0
        for (v, tok) in zip(values, tokens.strings) {
            let vd = digitValues(v), td = digitValues(tok)
            // The choice detokenize makes from the token is the one tokenize made from the value.
            #expect(Validators.luhnValid(vd) == Validators.luhnValid(td), "\(v) → \(tok)")
            #expect(sameLayout(v, tok) { $0 < 0x30 || $0 > 0x39 })
            let n = vd.count, keepFirst = n - 4 - max(6, n - 10)
            #expect(Array(vd.prefix(keepFirst)) == Array(td.prefix(keepFirst)) && Array(vd.suffix(4)) == Array(td.suffix(4)))
            if vd != td { changed += 1 }
        }
        #expect(changed > values.count * 99 / 100)
        let (back, r2) = try t.detokenize(tokens)
        #expect(r2.isEmpty)
        #expect(back.strings == values)
        // A fresh transformer (as detokenize builds it) inverts it too, one value at a time.
        let t2 = try transformer(TransformSpec(.card), alg)
        for i in stride(from: 0, to: values.count, by: 97) {
            #expect(try t2.detokenize(ByteColumn([tokens.string(at: i)])).output.string(at: 0) == values[i])
        }
    }

    @Test func nonCardShapedValuesAreStillRejected() throws {
        let t = try transformer(TransformSpec(.card))
        let (_, rejects) = try t.tokenize(ByteColumn(["41111111111", "4111x11111111111", "", "41111111111111111111"]))
        #expect(rejects.map(\.index) == [0, 1, 2, 3])
    }
}

@Suite struct SSNSpellings {
    @Test(arguments: FPEAlgorithm.allCases)
    func commonSpellingsKeepEveryNonDigitByteAndInvert(alg: FPEAlgorithm) throws {
        let fixed = [
            "030 72 7381", "030-72-7381", "030727381", "  030-72-7381", "030 72 7381  ", " 030727381 ", "030-727381", "03072 7381",
            "000-12-3456", "666-12-3456", "900-12-3456", "987-65-4321", "123-00-4567", "123-45-0000", "123-45-6789", "078-05-1120", "219-09-9999",
        ]
        var rng = SplitMix(state: alg == .ff1 ? 3 : 4)
        var values = fixed
        for _ in 0..<3000 {
            let d = String((0..<9).map { _ in Character(String(rng.next() % 10)) })
            let a = d.prefix(3), g = d.dropFirst(3).prefix(2), s = d.suffix(4)
            let sep = ["-", " ", ""][Int(rng.next() % 3)]
            let pad = String(repeating: " ", count: Int(rng.next() % 3))
            values.append(pad + a + sep + g + sep + s + (rng.next() % 4 == 0 ? " " : ""))
        }
        let t = try transformer(TransformSpec(.ssn), alg)
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty, "\(rejects.prefix(3))")
        var invalid = 0
        for (v, tok) in zip(values, tokens.strings) {
            #expect(sameLayout(v, tok) { $0 < 0x30 || $0 > 0x39 }, "\(v) → \(tok)")
            let valid = Validators.ssnValid(digitValues(v))
            #expect(Validators.ssnValid(digitValues(tok)) == valid, "\(v) → \(tok)")
            if !valid { invalid += 1 }
        }
        #expect(invalid > 100)
        #expect(tokens.strings.prefix(fixed.count).enumerated().allSatisfy { $0.element != fixed[$0.offset] })
        #expect(try t.detokenize(tokens).output.strings == values)
        let t2 = try transformer(TransformSpec(.ssn), alg)
        #expect(try t2.detokenize(ByteColumn(Array(tokens.strings.prefix(fixed.count)))).output.strings == fixed)
    }

    @Test func otherShapesAreStillRejected() throws {
        let t = try transformer(TransformSpec(.ssn))
        let bad = ["12-345-6789", "0307-27381", "030--72-7381", "03072738", "0307273810", "030.72.7381", "030-72-7381x", "", "   "]
        #expect(try t.tokenize(ByteColumn(bad)).rejects.map(\.index) == Array(bad.indices))
    }
}

@Suite struct ShortEmailLocalParts {
    func checkShape(_ value: String, _ token: String) {
        let v = value.split(separator: "@", omittingEmptySubsequences: false), k = token.split(separator: "@", omittingEmptySubsequences: false)
        #expect(k.count == 2 && k[1] == v[1], "\(value) → \(token)")
        let local = Array(k[0].utf8)
        #expect(!local.isEmpty && local.count <= 64)
        // RFC 5322 atext (dot-atom with the value's dots)
        #expect(local.allSatisfy { isAlnum($0) || "!#$%&'*+-/=?^_`{|}~.".utf8.contains($0) }, "\(token)")
    }

    @Test(arguments: FPEAlgorithm.allCases)
    func shortLocalPartsTakeTheEscapeFormAndInvert(alg: FPEAlgorithm) throws {
        let fixed = [
            "ali@gmail.com", "a@b.co", "Al@x.org", "x.y@z.org", "a+b@c.io", "_@d.de", "~@a.io", "~ab@c.de", "~abcd@x.com", "~~abcd@x.com", "~.abcd@x.com",
            "john.doe@example.com", "~~@x.io", "a.-_+b@c.io",
        ]
        var rng = SplitMix(state: alg == .ff1 ? 5 : 6)
        let alnum = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), other = Array(".+-_~")
        var values = fixed
        for _ in 0..<2000 {
            let n = 1 + Int(rng.next() % 3)
            var local = (0..<n).map { _ in alnum[Int(rng.next() % UInt64(alnum.count))] }
            for _ in 0..<Int(rng.next() % 3) { local.insert(other[Int(rng.next() % UInt64(other.count))], at: Int(rng.next() % UInt64(local.count + 1))) }
            values.append(String(local) + "@example.com")
        }
        let t = try transformer(TransformSpec(.email), alg)
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty, "\(rejects.prefix(3))")
        for (v, tok) in zip(values, tokens.strings) {
            checkShape(v, tok)
            let local = Array(v.utf8.prefix { $0 != 0x40 }), tlocal = Array(tok.utf8.prefix { $0 != 0x40 })
            let n = local.filter(isAlnum).count
            if n < t.minimumSymbols {
                #expect(
                    tlocal.count == 1 + max(t.minimumSymbols, 2 * local.count) && tlocal[0] == 0x7E && tlocal.dropFirst().allSatisfy(isAlnum), "\(v) → \(tok)")
            } else if local[0] == 0x7E {
                #expect(tlocal.count == local.count + 1 && tlocal.prefix(2) == [0x7E, 0x7E], "\(v) → \(tok)")
            } else {
                #expect(tlocal.count == local.count && tlocal[0] != 0x7E)
            }
        }
        // Distinct values, distinct tokens.
        #expect(Set(tokens.strings).count == Set(values).count)
        #expect(try t.detokenize(tokens).output.strings == values)
        let t2 = try transformer(TransformSpec(.email), alg)
        #expect(try t2.detokenize(ByteColumn(Array(tokens.strings.prefix(fixed.count)))).output.strings == fixed)
    }

    @Test func malformedEscapeFormTokensAreRejectedOnDetokenize() throws {
        let t = try transformer(TransformSpec(.email))
        let (_, rejects) = try t.detokenize(ByteColumn(["~ab@x.com", "~ab.cd@x.com", "~@x.com", "ok.abcd@x.com"]))
        #expect(rejects.map(\.index) == [0, 1, 2])
        // Still outside the domain: no @, two @, no dot in the domain.
        #expect(try t.tokenize(ByteColumn(["no-at-sign", "a@@b.com", "abcd@nodot", "ab cd@x.com"])).rejects.count == 4)
    }
}
