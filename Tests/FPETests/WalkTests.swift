import TestSupport
import Testing

@testable import FPE

/// Cycle-walking inside the engine: the batched walk must give exactly what walking one value at a
/// time with the plain cipher gives (the definition), invert exactly, and fail loudly when the
/// accepted set is too small to reach.
@Suite struct WalkTests {
    static let key = "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94"

    /// Accepts values whose numeral sum is ≡ 0 mod 7 (about 1 in 7, like a check digit).
    static func accept(_ v: UnsafeBufferPointer<UInt16>) -> Bool { v.reduce(0) { $0 + Int($1) } % 7 == 0 }
    static func accept(_ v: [UInt16]) -> Bool { v.withUnsafeBufferPointer { accept($0) } }

    /// The definition: apply the cipher to one value until it is accepted.
    static func reference(_ cipher: FPECipher, _ x: [UInt16], tweak: [UInt8], decrypting: Bool) throws -> [UInt16] {
        var y = decrypting ? try cipher.decrypt(x, tweak: tweak) : try cipher.encrypt(x, tweak: tweak)
        while !accept(y) { y = decrypting ? try cipher.decrypt(y, tweak: tweak) : try cipher.encrypt(y, tweak: tweak) }
        return y
    }

    /// Lengths on the 64-bit path only (the in-engine walk), and mixed with multi-limb lengths
    /// (the re-submitting walk), for both algorithms.
    @Test(arguments: FPEAlgorithm.allCases, [[6, 9, 6, 12, 7], [6, 40, 9, 25, 6]])
    func batchedWalkEqualsOneValueWalk(_ algorithm: FPEAlgorithm, lengths: [Int]) throws {
        var rng = SplitMix64(seed: 0x3A1C + UInt64(lengths.count))
        let cipher = try makeCipher(algorithm, keyHex: Self.key, radix: 10)
        let check = try makeCipher(algorithm, keyHex: Self.key, radix: 10)
        let tweak: [UInt8] = algorithm == .ff31 ? [1, 2, 3, 4, 5, 6, 7] : Array("walk".utf8)
        var values: [[UInt16]] = []
        while values.count < 400 {
            let v = randomValue(length: lengths[values.count % lengths.count], radix: 10, using: &rng)
            if Self.accept(v) { values.append(v) }
        }
        var batch = NumeralBatch(values)
        var seen: [Int] = []
        try cipher.encrypt(&batch, tweak: tweak, maxWalkPasses: 200) { k, v in
            seen.append(k)
            return Self.accept(v)
        }
        // Every value was tested at least once, and values walked (more tests than values).
        #expect(Set(seen) == Set(0..<values.count) && seen.count > 2 * values.count)
        for (i, x) in values.enumerated() {
            let y = Array(batch.value(at: i))
            #expect(y == (try Self.reference(check, x, tweak: tweak, decrypting: false)), "value \(i)")
            #expect(Self.accept(y) && y != x)
        }
        try cipher.decrypt(&batch, tweak: tweak, maxWalkPasses: 200) { Self.accept($1) }
        #expect(batch == NumeralBatch(values))
    }

    /// Digit sum of a number (the numeral sum of its digits, leading zeros adding nothing).
    static func digitSum(_ x: UInt64) -> Int {
        var s = 0
        var r = x
        while r != 0 {
            s += Int(r % 10)
            r /= 10
        }
        return s
    }

    /// The walk tested on NUM(X) gives exactly the numeral walk's tokens, shared or per-value
    /// tweaks, and inverts; the number test is used for FF1 lengths whose number fits 64 bits
    /// (19 digits), and the numeral test otherwise (20 digits, multi-limb lengths, FF3-1).
    @Test(arguments: FPEAlgorithm.allCases, [[6, 9, 19, 12, 7], [6, 20, 9], [6, 40, 9]])
    func numberTestWalkEqualsNumeralWalk(_ algorithm: FPEAlgorithm, lengths: [Int]) throws {
        var rng = SplitMix64(seed: 0x51A7 + UInt64(lengths.reduce(0, +)))
        let cipher = try makeCipher(algorithm, keyHex: Self.key, radix: 10)
        var values: [[UInt16]] = []
        while values.count < 300 {
            let v = randomValue(length: lengths[values.count % lengths.count], radix: 10, using: &rng)
            if Self.accept(v) { values.append(v) }
        }
        let shared: [UInt8] = algorithm == .ff31 ? [9, 8, 7, 6, 5, 4, 3] : Array("number walk".utf8)
        let tweakLength = algorithm == .ff31 ? 7 : 5
        let perValue = (0..<(values.count * tweakLength)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for usePerValue in [false, true] {
            var plain = NumeralBatch(values), numbered = NumeralBatch(values)
            var numberCalls = 0
            let byNumber = { (_: Int, x: UInt64) -> Bool in
                numberCalls += 1
                return Self.digitSum(x) % 7 == 0
            }
            if usePerValue {
                try cipher.encrypt(&plain, tweaks: perValue, tweakLength: tweakLength, maxWalkPasses: 200) { Self.accept($1) }
                try cipher.encrypt(
                    &numbered, tweaks: perValue, tweakLength: tweakLength, maxWalkPasses: 200, walkingUntil: { Self.accept($1) },
                    number: byNumber)
            } else {
                try cipher.encrypt(&plain, tweak: shared, maxWalkPasses: 200) { Self.accept($1) }
                try cipher.encrypt(&numbered, tweak: shared, maxWalkPasses: 200, walkingUntil: { Self.accept($1) }, number: byNumber)
            }
            #expect(numbered == plain, "per-value tweaks: \(usePerValue)")
            let fits = algorithm == .ff1 && lengths.allSatisfy { $0 <= 19 }
            #expect((numberCalls > values.count) == fits, "number test used: \(numberCalls) calls")
            if usePerValue {
                try cipher.decrypt(
                    &numbered, tweaks: perValue, tweakLength: tweakLength, maxWalkPasses: 200, walkingUntil: { Self.accept($1) },
                    number: byNumber)
            } else {
                try cipher.decrypt(&numbered, tweak: shared, maxWalkPasses: 200, walkingUntil: { Self.accept($1) }, number: byNumber)
            }
            #expect(numbered == NumeralBatch(values))
        }
    }

    @Test func walkThatCannotConvergeFails() throws {
        let cipher = try makeCipher(.ff1, keyHex: Self.key, radix: 10)
        for lengths in [[6, 6], [6, 30]] {
            var batch = NumeralBatch(lengths.map { [UInt16](repeating: 1, count: $0) })
            #expect(throws: FPEError(.walkDidNotConverge, "")) {
                try cipher.encrypt(&batch, tweak: [], maxWalkPasses: 5) { _, _ in false }
            }
            // The engine is left usable: the next call gives the plain cipher's result.
            let x: [UInt16] = [1, 2, 3, 4, 5, 6]
            var one = NumeralBatch([x])
            try cipher.encrypt(&one, tweak: [], maxWalkPasses: 5) { _, _ in true }
            #expect(Array(one.value(at: 0)) == (try cipher.encrypt(x, tweak: [])))
        }
    }

    @Test func walkingValidatesLikeThePlainCall() throws {
        let cipher = try makeCipher(.ff1, keyHex: Self.key, radix: 10)
        var batch = NumeralBatch([[1, 2, 3, 4, 5, 6], [1, 2, 3]])
        let before = batch
        #expect(throws: FPEError(.valueTooShort, "")) {
            try cipher.encrypt(&batch, tweak: [], maxWalkPasses: 5) { _, _ in true }
        }
        #expect(batch == before)
        var empty = NumeralBatch()
        try cipher.encrypt(&empty, tweak: [], maxWalkPasses: 5) { _, _ in
            Issue.record("called on an empty batch")
            return true
        }
    }
}
