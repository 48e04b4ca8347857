import TestSupport
import Testing

@testable import FPE

/// Per-value tweaks: a batch where every value has its own tweak must give exactly what encrypting
/// each value alone under its tweak gives (the definition), with and without cycle-walking, on the
/// 64-bit and multi-limb paths, and invert exactly.
@Suite struct PerValueTweakTests {
    static let key = "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94"

    static func accept(_ v: UnsafeBufferPointer<UInt16>) -> Bool { v.reduce(0) { $0 + Int($1) } % 7 == 0 }
    static func accept(_ v: [UInt16]) -> Bool { v.withUnsafeBufferPointer { accept($0) } }

    static func reference(_ c: FPECipher, _ x: [UInt16], _ t: [UInt8], walk: Bool, decrypting: Bool) throws -> [UInt16] {
        var y = decrypting ? try c.decrypt(x, tweak: t) : try c.encrypt(x, tweak: t)
        while walk && !accept(y) { y = decrypting ? try c.decrypt(y, tweak: t) : try c.encrypt(y, tweak: t) }
        return y
    }

    /// Tweaks that share their first blocks (a column tweak followed by a per-value binding, as
    /// the card and email transforms make them) are chained once per group for the shared blocks:
    /// still each value's own result. Shapes: 32 shared + 8 own bytes, 16 shared + 14 own, 40
    /// shared by every value, and 40 shared but one value differing in its first byte.
    @Test(arguments: [(32, 8), (16, 14), (40, 0), (-40, 0)])
    func tweaksSharingAPrefixEqualOneValueAtATime(_ shape: (Int, Int)) throws {
        let (sharedBytes, ownBytes) = (abs(shape.0), shape.1)
        let t = sharedBytes + ownBytes
        var rng = SplitMix64(seed: 0x5EED + UInt64(t))
        let cipher = try makeCipher(.ff1, keyHex: Self.key, radix: 10)
        let check = try makeCipher(.ff1, keyHex: Self.key, radix: 10)
        let lengths = [6, 16, 9, 6, 40]
        let values = (0..<200).map { randomValue(length: lengths[$0 % lengths.count], radix: 10, using: &rng) }
        let prefix = (0..<sharedBytes).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) }
        var tweaks: [UInt8] = []
        for i in values.indices {
            var own = prefix
            if shape.0 < 0 && i == 101 { own[0] ^= 0x80 }
            for j in 0..<ownBytes { own.append(UInt8(truncatingIfNeeded: i &* 31 &+ j)) }
            tweaks += own
        }
        var batch = NumeralBatch(values)
        try cipher.encrypt(&batch, tweaks: tweaks, tweakLength: t)
        for i in values.indices {
            let expected = try check.encrypt(values[i], tweak: Array(tweaks[(i * t)..<((i + 1) * t)]))
            #expect(Array(batch.value(at: i)) == expected, "value \(i)")
        }
        try cipher.decrypt(&batch, tweaks: tweaks, tweakLength: t)
        #expect(batch == NumeralBatch(values))
    }

    /// FF1 tweak lengths 0, 8, 13 (one more constant Q block for short values), 30 (two); FF3-1: 7.
    @Test(
        arguments: [
            (FPEAlgorithm.ff1, 8), (.ff1, 13), (.ff1, 30), (.ff1, 0), (.ff31, 7),
        ], [false, true])
    func batchEqualsOneValueAtATime(_ config: (FPEAlgorithm, Int), walk: Bool) throws {
        let (algorithm, tweakLength) = config
        for multiLimb in [false, true] {
            var rng = SplitMix64(seed: 0x7E_A4 + UInt64(tweakLength))
            let cipher = try makeCipher(algorithm, keyHex: Self.key, radix: 10)
            cipher.forceMultiLimb = multiLimb
            let check = try makeCipher(algorithm, keyHex: Self.key, radix: 10)
            let lengths = [6, 9, 6, 12, 7, 40, 25]
            var values: [[UInt16]] = []
            while values.count < 300 {
                let v = randomValue(length: lengths[values.count % lengths.count], radix: 10, using: &rng)
                if !walk || Self.accept(v) { values.append(v) }
            }
            // A few values share a tweak, most have their own.
            var tweaks: [UInt8] = []
            for i in 0..<values.count {
                let seed = UInt64(i % 50 == 0 ? 0 : i)
                var r = SplitMix64(seed: seed)
                for _ in 0..<tweakLength { tweaks.append(UInt8(truncatingIfNeeded: r.next())) }
            }
            func tweak(_ i: Int) -> [UInt8] { Array(tweaks[(i * tweakLength)..<((i + 1) * tweakLength)]) }
            var batch = NumeralBatch(values)
            if walk {
                try cipher.encrypt(&batch, tweaks: tweaks, tweakLength: tweakLength, maxWalkPasses: 200) { Self.accept($1) }
            } else {
                try cipher.encrypt(&batch, tweaks: tweaks, tweakLength: tweakLength)
            }
            for i in values.indices {
                let expected = try Self.reference(check, values[i], tweak(i), walk: walk, decrypting: false)
                #expect(Array(batch.value(at: i)) == expected, "value \(i) multiLimb \(multiLimb)")
            }
            if walk {
                try cipher.decrypt(&batch, tweaks: tweaks, tweakLength: tweakLength, maxWalkPasses: 200) { Self.accept($1) }
            } else {
                try cipher.decrypt(&batch, tweaks: tweaks, tweakLength: tweakLength)
            }
            #expect(batch == NumeralBatch(values))
            // A shared-tweak call afterwards is unaffected by the per-value call.
            let one = try cipher.encrypt(values[1], tweak: tweak(1))
            #expect(one == (try check.encrypt(values[1], tweak: tweak(1))))
        }
    }

    @Test func wrongTweakCountIsRejected() throws {
        let cipher = try makeCipher(.ff1, keyHex: Self.key, radix: 10)
        var batch = NumeralBatch([[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]])
        #expect(throws: FPEError(.invalidTweak, "")) { try cipher.encrypt(&batch, tweaks: [1, 2, 3], tweakLength: 2) }
        let ff31 = try makeCipher(.ff31, keyHex: Self.key, radix: 10)
        #expect(throws: FPEError(.invalidTweak, "")) { try ff31.encrypt(&batch, tweaks: [UInt8](repeating: 0, count: 16), tweakLength: 8) }
    }
}
