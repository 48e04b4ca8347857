import Crypto
import Testing

@testable import FPE

@Suite struct DomainTests {
    static let key = "2B7E151628AED2A6ABF7158809CF4F3C"

    @Test func lengthLimitsFollowSP80038GRev1() throws {
        // minlen: least L ≥ 2 with radix^L ≥ 10^6.
        let expectedMin = [2: 20, 10: 6, 26: 5, 36: 4, 64: 4, 1000: 2, 65536: 2]
        for (radix, minLength) in expectedMin {
            for alg in FPEAlgorithm.allCases {
                #expect(try makeCipher(alg, keyHex: Self.key, radix: radix).minLength == minLength, "\(alg) radix \(radix)")
            }
        }
        // FF3-1 maxlen = 2·⌊log_radix(2^96)⌋ (radix 10: 56, 26: 40, 36: 36, 62: 32, as the mysto/python-fpe
        // README tabulates; 2^k radixes exactly: 2 → 192, 64 → 32, 65536 → 12).
        let expectedMax = [2: 192, 10: 56, 26: 40, 36: 36, 62: 32, 64: 32, 65536: 12]
        for (radix, maxLength) in expectedMax {
            #expect(try makeCipher(.ff31, keyHex: Self.key, radix: radix).maxLength == maxLength, "radix \(radix)")
        }
        #expect(try makeCipher(.ff1, keyHex: Self.key, radix: 10).maxLength == 4096)
        #expect(try makeCipher(.ff31, keyHex: Self.key, radix: 10).tweakLengths == 7...7)
        #expect(try makeCipher(.ff1, keyHex: Self.key, radix: 10).tweakLengths == 0...1024)
    }

    @Test func badParameters() throws {
        for radix in [-1, 0, 1, 65537] {
            #expect(throws: FPEError(.invalidRadix, "")) { try makeCipher(.ff1, keyHex: Self.key, radix: radix) }
        }
        for keyHex in ["", "00", String(repeating: "00", count: 15), String(repeating: "00", count: 33)] {
            #expect(throws: FPEError(.invalidKey, "")) { try makeCipher(.ff31, keyHex: keyHex, radix: 10) }
        }
        let ff31 = try makeCipher(.ff31, keyHex: Self.key, radix: 10)
        var batch = NumeralBatch([[UInt16](repeating: 1, count: 10)])
        for tweak in [[UInt8](), [UInt8](repeating: 0, count: 6), [UInt8](repeating: 0, count: 8)] {
            // FF3's withdrawn 64-bit tweak in particular is refused.
            #expect(throws: FPEError(.invalidTweak, "")) { try ff31.encrypt(&batch, tweak: tweak) }
        }
        let ff1 = try makeCipher(.ff1, keyHex: Self.key, radix: 10)
        #expect(throws: FPEError(.invalidTweak, "")) { try ff1.encrypt(&batch, tweak: [UInt8](repeating: 0, count: 1025)) }
        try ff1.encrypt(&batch, tweak: [UInt8](repeating: 0, count: 1024))
    }

    static func expectError(
        _ code: FPEError.Code, index: Int, position: Int? = nil,
        _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("expected \(code)")
        } catch let e as FPEError {
            #expect(e.code == code)
            #expect(e.valueIndex == index)
            #expect(e.position == position)
            #expect(e.description.hasPrefix("\(code.rawValue): value \(index): "))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test(arguments: FPEAlgorithm.allCases)
    func outOfDomainValuesNameTheirIndex(_ alg: FPEAlgorithm) throws {
        let cipher = try makeCipher(alg, keyHex: Self.key, radix: 10)
        let tweak = [UInt8](repeating: 3, count: 7)
        let good = [UInt16](repeating: 4, count: 12)
        func batch(badAt index: Int, _ bad: [UInt16]) -> NumeralBatch {
            var b = NumeralBatch()
            for i in 0..<5 { b.append(i == index ? bad : good) }
            return b
        }
        var b = batch(badAt: 3, [1, 2, 3, 4, 5])
        let before = b
        Self.expectError(.valueTooShort, index: 3) { try cipher.encrypt(&b, tweak: tweak) }
        #expect(b == before)
        b = batch(badAt: 0, [UInt16](repeating: 0, count: cipher.maxLength + 1))
        Self.expectError(.valueTooLong, index: 0) { try cipher.decrypt(&b, tweak: tweak) }
        b = batch(badAt: 4, [0, 1, 2, 3, 4, 5, 6, 7, 10, 0])
        Self.expectError(.numeralOutOfRange, index: 4, position: 8) { try cipher.encrypt(&b, tweak: tweak) }
        b = batch(badAt: 2, [])
        Self.expectError(.valueTooShort, index: 2) { try cipher.encrypt(&b, tweak: tweak) }
        // The ends of the domain are accepted.
        b = batch(badAt: 1, [UInt16](repeating: 9, count: cipher.minLength))
        try cipher.encrypt(&b, tweak: tweak)
        b = batch(badAt: 1, [UInt16](repeating: 9, count: cipher.maxLength))
        try cipher.encrypt(&b, tweak: tweak)
    }

    @Test func malformedBatches() throws {
        let cipher = try makeCipher(.ff1, keyHex: Self.key, radix: 10)
        var b = NumeralBatch([[UInt16](repeating: 1, count: 10), [UInt16](repeating: 2, count: 10)])
        b.offsets[1] = 25
        #expect(throws: FPEError(.invalidBatch, "")) { try cipher.encrypt(&b, tweak: []) }
        b.offsets = [0, 10]
        #expect(throws: FPEError(.invalidBatch, "")) { try cipher.encrypt(&b, tweak: []) }
        b.offsets = []
        #expect(throws: FPEError(.invalidBatch, "")) { try cipher.encrypt(&b, tweak: []) }
        var empty = NumeralBatch()
        try cipher.encrypt(&empty, tweak: [])
        #expect(empty.isEmpty)
    }
}
