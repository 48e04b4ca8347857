import Testing

@testable import FPE

@Suite struct AlphabetTests {
    @Test func nistConvention() throws {
        let a = Alphabet.radix(36)
        #expect(a.radix == 36 && a.isASCII)
        #expect(a.characters == "0123456789abcdefghijklmnopqrstuvwxyz")
        #expect(try a.numerals(of: "09az") == [0, 9, 10, 35])
        #expect(Alphabet.radix(10).characters == "0123456789")
        #expect(a.string(from: [35, 0, 10]) == "z0a")
    }

    @Test func rejectsBadAlphabets() {
        for s in ["", "a", "abca", "0123456789\u{65}\u{301}"] {
            #expect(throws: FPEError(.invalidAlphabet, "")) { try Alphabet(s) }
        }
        #expect(throws: FPEError(.invalidAlphabet, "")) { try Alphabet("äöä") }
    }

    @Test func invalidCharactersArePositioned() throws {
        let a = Alphabet.radix(10)
        do {
            _ = try a.numerals(of: "12a45")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidCharacter && error.position == 2 && error.valueIndex == nil)
        }
        var batch = NumeralBatch()
        try a.append("123456", to: &batch)
        do {
            try a.append("1234-56", to: &batch)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidCharacter && error.valueIndex == 1 && error.position == 4)
        }
        #expect(batch.count == 1 && batch.numerals.count == 6)
        // UTF-8 input: positions are in scalars, not bytes.
        let bytes = Array("12é4".utf8)
        do {
            try bytes.withUnsafeBytes { try a.append(utf8: $0, to: &batch) }
            Issue.record("expected an error")
        } catch let e as FPEError {
            #expect(e.code == .invalidCharacter && e.valueIndex == 1 && e.position == 2)
        }
        #expect(batch.count == 1 && batch.numerals.count == 6)
        try Array("987654".utf8).withUnsafeBytes { try a.append(utf8: $0, to: &batch) }
        #expect(Array(batch.value(at: 1)) == [9, 8, 7, 6, 5, 4])
    }

    @Test func unicodeAlphabet() throws {
        // Radix 70: digits, Latin letters and German umlauts (a non-ASCII alphabet).
        let symbols = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZÄäÖöÜüẞß"
        let a = try Alphabet(symbols)
        #expect(a.radix == 70 && !a.isASCII)
        let n = try a.numerals(of: "liebeGrüße")
        #expect(a.string(from: n) == "liebeGrüße")
        var bytes: [UInt8] = []
        a.appendUTF8(of: n, to: &bytes)
        #expect(bytes == Array("liebeGrüße".utf8))
        var batch = NumeralBatch()
        try bytes.withUnsafeBytes { try a.append(utf8: $0, to: &batch) }
        #expect(Array(batch.value(at: 0)) == n)
        // Malformed UTF-8 is an invalid character, never a replacement symbol.
        #expect(throws: FPEError(.invalidCharacter, "")) {
            try [UInt8]([0x30, 0xC3]).withUnsafeBytes { try a.append(utf8: $0, to: &batch) }
        }
        // A decomposed ü (u + combining diaeresis) is not the alphabet's precomposed ü.
        #expect(throws: FPEError(.invalidCharacter, "")) { try a.numerals(of: "gru\u{308}n") }
    }

    @Test func largeAlphabetRoundTrip() throws {
        // 65536 CJK ideographs (BMP, extension A, then extension B): single-scalar symbols.
        var scalars = String.UnicodeScalarView()
        for range in [0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF] as [ClosedRange<UInt32>] {
            for v in range where scalars.count < 65536 { scalars.append(Unicode.Scalar(v)!) }
        }
        let a = try Alphabet(String(scalars))
        #expect(a.radix == 65536)
        let cipher = try makeCipher(.ff1, keyHex: "2B7E151628AED2A6ABF7158809CF4F3C", radix: 65536)
        var batch = NumeralBatch()
        try a.append(String(String.UnicodeScalarView(Array(scalars)[1000..<1010])), to: &batch)
        try cipher.encrypt(&batch, tweak: [])
        let s = a.string(from: batch.value(at: 0))
        #expect(s.unicodeScalars.count == 10)
        var back = NumeralBatch()
        try a.append(s, to: &back)
        try cipher.decrypt(&back, tweak: [])
        #expect(Array(back.value(at: 0)) == (1000..<1010).map { UInt16($0) })
    }
}
