import Columns
import FPE
import Foundation
import Tagging
import TestSupport
import Testing
import Transforms

/// The tagger's strict validator's verdict on a string.
func evidence(_ s: String, _ f: (UnsafeBufferPointer<UInt8>) -> ValueEvidence) -> ValueEvidence {
    Array(s.utf8).withUnsafeBufferPointer { f($0) }
}

/// Random digits as a string.
func randomDigits(_ n: Int, _ rng: inout SplitMix64) -> String {
    String((0..<n).map { _ in Character(String(rng.next() % 10)) })
}

/// Transform version 2: tweaks bind the parts kept in clear; the new transforms' tokens validate
/// with the tagger's strict validators. Seeded samples (SplitMix64), the fixed test key.
@Suite struct CardV2 {
    @Test(arguments: FPEAlgorithm.allCases)
    func sameMiddleWithOtherKeptDigitsGetsOtherTokenMiddles(alg: FPEAlgorithm) throws {
        let t = try transformer(TransformSpec(.card), alg)
        let v1 = try transformer(TransformSpec(.card, version: 1), alg)
        // Twelve cards sharing the middle 123456: different first 6, or different last 4.
        let middle = "123456"
        var values: [String] = []
        for first in ["411111", "411112", "555555", "400000", "601100", "371234"] { values.append(first + middle + "0000") }
        for last in ["0001", "0002", "1234", "9999", "5555", "4242"] { values.append("411111" + middle + last) }
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty)
        let middles = tokens.strings.map { String($0.dropFirst(6).prefix(6)) }
        #expect(Set(middles).count == values.count, "token middles repeat across kept digits")
        // Version 1 (the finding): far fewer distinct middles, since the tweak ignored the kept digits.
        let (old, _) = try v1.tokenize(ByteColumn(values))
        #expect(Set(old.strings.map { String($0.dropFirst(6).prefix(6)) }).count < values.count)
        #expect(try t.detokenize(tokens).output.strings == values)
    }

    @Test(arguments: FPEAlgorithm.allCases, [LuhnMode.preserve, .valid])
    func randomCardsKeepPartsAndLuhnAsConfiguredAndInvert(alg: FPEAlgorithm, luhn: LuhnMode) throws {
        var rng = SplitMix64(seed: 0xCA4D_0002 &+ UInt64(alg == .ff1 ? 0 : 1))
        var values: [String] = []
        for _ in 0..<4000 {
            let n = 12 + Int(rng.next() % 8)
            var v = randomDigits(n, &rng)
            if rng.next() % 4 != 0 { v = withLuhn(String(v.dropLast())) }  // most Luhn-valid, some failing
            if rng.next() % 5 == 0 { v = v.enumerated().map { $0.offset > 0 && $0.offset % 4 == 0 ? " \($0.element)" : "\($0.element)" }.joined() }
            values.append(v)
        }
        let t = try transformer(TransformSpec(.card, luhn: luhn), alg)
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        let rejected = Set(rejects.map(\.index))
        for (i, (v, tok)) in zip(values, tokens.strings).enumerated() {
            let vd = digitValues(v)
            let valid = Validators.luhnValid(vd)
            if luhn == .valid && !valid {
                #expect(rejected.contains(i))
                continue
            }
            #expect(!rejected.contains(i))
            let td = digitValues(tok), n = vd.count
            let keepFirst = n - 4 - max(6, n - 10)
            #expect(Validators.luhnValid(td) == valid)
            #expect(td.prefix(keepFirst) == vd.prefix(keepFirst) && td.suffix(4) == vd.suffix(4))
            #expect(sameLayout(v, tok) { $0 < 0x30 || $0 > 0x39 })
        }
        let kept = values.indices.filter { !rejected.contains($0) }
        let (back, r2) = try t.detokenize(ByteColumn(kept.map { tokens.string(at: $0) }))
        #expect(r2.isEmpty)
        #expect(back.strings == kept.map { values[$0] })
    }

    /// A v1 token written before the change (known answer) detokenizes with the v1 rules and,
    /// retokenized, becomes a v2 token that inverts to the same value.
    @Test(arguments: FPEAlgorithm.allCases)
    func v1TokensDetokenizeAndRetokenizeToV2(alg: FPEAlgorithm) throws {
        for kind in TransformSpec.changedInVersion2 {
            let cases = v1KnownAnswers.filter { $0.algorithm == alg && $0.kind == kind }
            let v1 = try transformer(TransformSpec(kind, version: 1), alg)
            let v2 = try transformer(TransformSpec(kind), alg)
            let (clear, r1) = try v1.detokenize(ByteColumn(cases.map(\.token)))
            #expect(r1.isEmpty && clear.strings == cases.map(\.value))
            let (retok, r2) = try v2.tokenize(clear)
            #expect(r2.isEmpty)
            #expect(retok.strings != cases.map(\.token), "\(kind): v2 tokens equal v1 tokens")
            #expect(try v2.detokenize(retok).output.strings == cases.map(\.value))
        }
    }

    @Test func unknownVersionIsRefused() throws {
        #expect(throws: TransformError(.unsupportedVersion, "")) { try transformer(TransformSpec(.card, version: 3)) }
        #expect(throws: TransformError(.unsupportedVersion, "")) { try transformer(TransformSpec(.aba, version: 1)) }
    }
}

@Suite struct EmailV2 {
    @Test(arguments: FPEAlgorithm.allCases)
    func domainIsBoundIntoTheTweakAndShortLocalPartsInvert(alg: FPEAlgorithm) throws {
        let t = try transformer(TransformSpec(.email), alg)
        let values = [
            "alice.smith@example.com", "alice.smith@example.org", "alice.smith@EXAMPLE.com", "al@example.com", "al@example.org",
            "a@b.co", "~tilde.user@x.io", "bob+tag@corp.example.org",
        ]
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty)
        let locals = tokens.strings.map { $0.split(separator: "@")[0] }
        #expect(locals[0] != locals[1], "same local part, other domain: same token")
        #expect(locals[0] == locals[2], "domains compare case-insensitively")
        #expect(locals[3] != locals[4])
        for (v, tok) in zip(values, tokens.strings) {
            #expect(v.split(separator: "@")[1] == tok.split(separator: "@")[1])
            #expect(evidence(tok, Validators.emailEvidence) != .invalid, "\(tok)")
        }
        #expect(try t.detokenize(tokens).output.strings == values)
    }
}

@Suite struct ABATransform {
    static func aba(_ rng: inout SplitMix64) -> String {
        let prefixes = Array(0...12) + Array(21...32) + Array(61...72) + [80]
        let p = prefixes[Int(rng.next() % UInt64(prefixes.count))]
        var body = (p < 10 ? "0\(p)" : "\(p)") + randomDigits(6, &rng)
        if p == 0 && body.hasSuffix("000000") { body = "00000001" }
        for d in 0...9 where Validators.abaValid(digitValues(body + "\(d)")) { return body + "\(d)" }
        fatalError("no check digit")
    }

    @Test(arguments: FPEAlgorithm.allCases)
    func tokensPassTheABACheckKeepThePrefixAndInvert(alg: FPEAlgorithm) throws {
        var rng = SplitMix64(seed: 0xABA0_0002)
        var values = (0..<5000).map { _ in Self.aba(&rng) }
        values += ["090041435", "000000019", "011000015", "800000008"].filter { Validators.abaValid(digitValues($0)) }
        let t = try transformer(TransformSpec(.aba), alg)
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty, "\(rejects.prefix(3))")
        for (v, tok) in zip(values, tokens.strings) {
            #expect(Validators.abaValid(digitValues(tok)), "token fails the ABA check")
            #expect(tok.prefix(2) == v.prefix(2))
        }
        #expect(Set(tokens.strings).count == Set(values).count)
        #expect(try t.detokenize(tokens).output.strings == values)
    }

    @Test func failingCheckDigitsStayFailingAndBadShapesAreRejected() throws {
        let t = try transformer(TransformSpec(.aba))
        let values = ["090041436", "021000022"]  // check digit off by one; and one off by one too
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty)
        for tok in tokens.strings { #expect(!Validators.abaValid(digitValues(tok))) }
        #expect(try t.detokenize(tokens).output.strings == values)
        let (_, bad) = try t.tokenize(ByteColumn(["12345678", "991234567", "00000000x", "000000000"]))
        #expect(bad.map(\.index) == [0, 1, 2, 3])
    }
}

@Suite struct PhoneV2 {
    static func nxx(_ rng: inout SplitMix64, valid: Bool = true) -> Int {
        while true {
            let x = Int(rng.next() % 1000)
            let ok = x / 100 >= 2 && !(x / 10 % 10 == 1 && x % 10 == 1)
            if ok == valid { return x }
        }
    }
    static func npa(_ rng: inout SplitMix64) -> Int {
        while true {
            let x = Int(rng.next() % 1000)
            if x / 100 >= 2 && x / 10 % 10 != 9 && !(x / 10 % 10 == 1 && x % 10 == 1) { return x }
        }
    }
    static func pad(_ x: Int, _ w: Int) -> String {
        String(String(x).reversed()).padding(toLength: w, withPad: "0", startingAt: 0).reversed().map(String.init).joined()
    }

    @Test(arguments: FPEAlgorithm.allCases)
    func nanpAndE164TokensKeepCountryAndAreaCodeAndStayValid(alg: FPEAlgorithm) throws {
        var rng = SplitMix64(seed: 0x9404_E002)
        var values: [String] = ["+33 1 09 29 08 14", "(213) 555-0192", "+1 415 555 2671 x12", "+44 20 7946 0958", "+7 495 123-45-67"]
        for i in 0..<3000 {
            let a = Self.npa(&rng), x = Self.nxx(&rng), line = Int(rng.next() % 10000)
            let (A, X, L) = (Self.pad(a, 3), Self.pad(x, 3), Self.pad(line, 4))
            switch i % 6 {
            case 0: values.append("(\(A)) \(X)-\(L)")
            case 1: values.append("\(A)-\(X)-\(L)")
            case 2: values.append("+1 \(A) \(X) \(L)")
            case 3: values.append("1-\(A)-\(X)-\(L) ext. \(i % 97 + 1)")
            case 4:
                let cc = ["33", "44", "49", "351", "81", "7", "972", "61"][Int(rng.next() % 8)]
                values.append("+\(cc) \(1 + rng.next() % 9)\(randomDigits(8, &rng))")
            default: values.append("\(A).\(X).\(L)")
            }
        }
        let t = try transformer(TransformSpec(.phone), alg)
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty, "\(rejects.prefix(3))")
        for (v, tok) in zip(values, tokens.strings) {
            #expect(evidence(v, Validators.phoneEvidence) != .invalid, "sample \(v) invalid")
            #expect(evidence(tok, Validators.phoneEvidence) != .invalid, "token of \(v) fails the phone validator")
            #expect(sameLayout(v, tok) { $0 < 0x30 || $0 > 0x39 })
            let vd = digitValues(v.components(separatedBy: CharacterSet(charactersIn: "x#e")).first!)
            let td = digitValues(tok.components(separatedBy: CharacterSet(charactersIn: "x#e")).first!)
            let plus = v.hasPrefix("+")
            let cc =
                plus
                ? (vd[0] == 1 || vd[0] == 7
                    ? 1
                    : [
                        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81,
                        82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
                    ].contains(Int(vd[0]) * 10 + Int(vd[1])) ? 2 : 3) : (vd.count == 11 ? 1 : 0)
            let nanp = (plus && vd[0] == 1) || !plus
            let keep = cc + (nanp ? 3 : 0)
            #expect(td.prefix(keep) == vd.prefix(keep), "kept digits of \(v)")
            #expect(td != vd)
        }
        #expect(tokens.string(at: 0).hasPrefix("+33 "))
        #expect(tokens.string(at: 1).hasPrefix("(213) "))
        #expect(try t.detokenize(tokens).output.strings == values)
    }

    @Test func keepLeadingIsConfigurableAndTooFewDigitsAreRejected() throws {
        let t = try transformer(TransformSpec(.phone, keepLeading: 1))
        let (tok, rej) = try t.tokenize(ByteColumn(["(213) 555-0192", "+33 1 09 29 08 14"]))
        #expect(rej.isEmpty)
        #expect(tok.string(at: 0).hasPrefix("(2") && !tok.string(at: 0).hasPrefix("(213)") || tok.string(at: 0).hasPrefix("(213)"))
        #expect(evidence(tok.string(at: 0), Validators.phoneEvidence) != .invalid)
        #expect(try t.detokenize(tok).output.strings == ["(213) 555-0192", "+33 1 09 29 08 14"])
        let (_, bad) = try transformer(TransformSpec(.phone, keepLeading: 9)).tokenize(ByteColumn(["(213) 555-0192"]))
        #expect(bad.count == 1 && !bad[0].reason.contains("213"))
    }
}
