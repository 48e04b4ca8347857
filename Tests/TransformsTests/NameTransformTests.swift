import Columns
import FPE
import Foundation
import TestSupport
import Testing
import Transforms

/// The case class of every character: U upper, l lower, the character itself for a separator.
func casePattern(_ s: String) -> String {
    String(s.map { $0.isLetter ? ($0.isUppercase ? "U" : "l") : $0 })
}

let asciiLetters = Array("abcdefghijklmnopqrstuvwxyz")
let latinLetters = Array("àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþßÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįıĳĵķĺļľŀłńņňŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷźżž")

/// A random name: 1–3 parts of 2–12 letters (mostly ASCII, some accented), capitalized or not,
/// joined by spaces, hyphens or apostrophes.
func randomName(_ rng: inout SplitMix64) -> String {
    var parts: [String] = []
    for _ in 0..<(1 + Int(rng.next() % 3)) {
        let n = 2 + Int(rng.next() % 11)
        let accented = rng.next() % 4 == 0
        var p = String(
            (0..<n).map { _ in
                accented && rng.next() % 3 == 0 ? latinLetters[Int(rng.next() % UInt64(latinLetters.count))] : asciiLetters[Int(rng.next() % 26)]
            })
        switch rng.next() % 5 {
        case 0: p = p.uppercased()
        case 1: break
        default: p = p.prefix(1).uppercased() + p.dropFirst()
        }
        parts.append(p)
    }
    let seps = [" ", "-", "'", " "]
    return parts.dropFirst().reduce(parts[0]) { $0 + seps[Int(rng.next() % 4)] + $1 }
}

@Suite struct NameTransform {
    @Test(arguments: FPEAlgorithm.allCases)
    func randomNamesKeepCaseSeparatorsLettersAndInvert(alg: FPEAlgorithm) throws {
        var rng = SplitMix64(seed: 0x4A3E_0002 &+ UInt64(alg == .ff1 ? 0 : 1))
        var values = (0..<3000).map { _ in randomName(&rng) }
        values += [
            "Al", "Bo", "Li", "O'Brien", "McDonald", "Jean-Luc", "Müller-Straße", "ŁUKASZ", "Zoë", "Ng", "d'Artagnan", "ÅSA", "Smith, John", "J. R. Tolkien",
        ]
        // FF3-1 caps the length (2·⌊log_radix 2⁹⁶⌋: 26 Latin letters, 40 ASCII ones).
        let t = try transformer(TransformSpec(.name), alg)
        if alg == .ff31 {
            let long = values.filter { $0.filter(\.isLetter).count > 26 }
            #expect(try t.tokenize(ByteColumn(long)).rejects.count == long.filter { !$0.allSatisfy(\.isASCII) }.count)
            values.removeAll { $0.filter(\.isLetter).count > 26 }
        }
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty, "\(rejects.prefix(3))")
        for (v, tok) in zip(values, tokens.strings) {
            #expect(casePattern(tok) == casePattern(v), "case pattern or separators changed")
            let lettersOnly = tok.allSatisfy { $0.isLetter || " -'.,".contains($0) }
            #expect(lettersOnly)
            // ASCII names of 5 letters or more get ASCII tokens.
            let letters = v.filter(\.isLetter)
            let asciiToken = tok.allSatisfy { $0.isASCII }
            if letters.count >= 5 && letters.allSatisfy({ $0.isASCII }) { #expect(asciiToken) }
        }
        #expect(Set(tokens.strings).count == Set(values).count)
        #expect(try t.detokenize(tokens).output.strings == values)
    }

    /// One-letter names (initials) are widened too: 14,400 passes expected each.
    @Test func initialsAreWidened() throws {
        let t = try transformer(TransformSpec(.name))
        let values = ["J", "k", "É", "J. R."]
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty)
        for (v, tok) in zip(values, tokens.strings) { #expect(casePattern(tok) == casePattern(v)) }
        #expect(try t.detokenize(tokens).output.strings == values)
    }

    @Test func otherScriptsThroughAnExplicitAlphabet() throws {
        let greek = "αβγδεζηθικλμνξοπρστυφχψω"
        let t = try transformer(TransformSpec(.name, alphabet: greek))
        let values = ["Αλεξανδρα", "ΝΙΚΟΣ", "Μαρια-Ελενη", "Ιων"]
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty, "\(rejects)")
        for (v, tok) in zip(values, tokens.strings) {
            #expect(casePattern(tok) == casePattern(v))
            let inAlphabet = tok.allSatisfy { $0 == "-" || (greek + greek.uppercased()).contains($0) }
            #expect(inAlphabet)
        }
        #expect(try t.detokenize(tokens).output.strings == values)
        // Latin letters are not in this alphabet; a mixed cased/caseless alphabet is refused.
        #expect(try t.tokenize(ByteColumn(["Nikos"])).rejects.count == 1)
        #expect(throws: TransformError(.invalidAlphabet, "")) { try transformer(TransformSpec(.name, alphabet: "abc漢字")) }
    }

    @Test func nonLettersAreRejectedAndVersion2Only() throws {
        let t = try transformer(TransformSpec(.name))
        let (_, rejects) = try t.tokenize(ByteColumn(["R2D2", "Anna_Lee", "", "--", "Anne"]))
        #expect(rejects.map(\.index) == [0, 1, 2, 3])
        #expect(throws: TransformError(.unsupportedVersion, "")) { try transformer(TransformSpec(.name, version: 1)) }
    }
}
