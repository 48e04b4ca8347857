import Crypto
import Foundation
import TestSupport
import Testing

@testable import FPE

@Suite struct PropertyTests {
    static let radixes = [2, 3, 5, 10, 16, 26, 36, 62, 64, 100, 255, 256, 1000, 4096, 10007, 40000, 65535, 65536]
    static let key256 = "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94"

    static func randomTweak(_ algorithm: FPEAlgorithm, _ rng: inout SplitMix64) -> [UInt8] {
        let n: Int
        switch algorithm {
        case .ff31: n = 7
        case .ff1: n = [0, 1, 7, 8, 15, 16, 17, 40, 100][Int(rng.next() % 9)]
        }
        return (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// Lengths to try for a radix: the ends of the domain and a spread between.
    static func lengths(_ cipher: FPECipher, _ rng: inout SplitMix64) -> [Int] {
        let lo = cipher.minLength
        let hi = cipher.algorithm == .ff1 ? Swift.min(cipher.maxLength, lo + 150) : cipher.maxLength
        var out = [lo, lo + 1, hi - 1, hi]
        for _ in 0..<12 { out.append(lo + Int(rng.next() % UInt64(hi - lo + 1))) }
        return out
    }

    /// decrypt(encrypt(x)) = x; ciphertexts keep the length and stay in the alphabet.
    @Test(arguments: FPEAlgorithm.allCases, radixes)
    func roundTrip(_ algorithm: FPEAlgorithm, radix: Int) throws {
        var rng = SplitMix64(seed: UInt64(radix) &* 7919 &+ (algorithm == .ff1 ? 1 : 2))
        let cipher = try makeCipher(algorithm, keyHex: Self.key256, radix: radix)
        let lengths = Self.lengths(cipher, &rng)
        for _ in 0..<3 {
            let tweak = Self.randomTweak(algorithm, &rng)
            var batch = NumeralBatch()
            for n in lengths { batch.append(randomValue(length: n, radix: radix, using: &rng)) }
            let original = batch
            try cipher.encrypt(&batch, tweak: tweak)
            #expect(batch.offsets == original.offsets)
            #expect(batch.numerals.allSatisfy { Int($0) < radix })
            // A permutation of a domain of at least 10^6 values fixing the whole batch would be
            // astronomically unlikely: this catches an encryption that does nothing.
            #expect(batch != original)
            try cipher.decrypt(&batch, tweak: tweak)
            #expect(batch == original, "radix \(radix) tweak \(tweak)")
        }
    }

    /// FF1 at its maximum length on the widest radix (the multi-limb path at full size).
    @Test func ff1MaximumLength() throws {
        var rng = SplitMix64(seed: 4096)
        for radix in [10, 65536] {
            let cipher = try makeCipher(.ff1, keyHex: Self.key256, radix: radix)
            #expect(cipher.maxLength == FPECipher.ff1MaxLength)
            let x = randomValue(length: cipher.maxLength, radix: radix, using: &rng)
            let tweak: [UInt8] = Array("max".utf8)
            let y = try cipher.encrypt(x, tweak: tweak)
            #expect(y.count == x.count && y != x)
            #expect(try cipher.decrypt(y, tweak: tweak) == x)
        }
    }

    /// Values of every FF1 length at radix 65536 overflow the per-length cache budget; the cache is
    /// dropped and rebuilt between calls and results do not change.
    @Test func lengthCacheStaysBounded() throws {
        var rng = SplitMix64(seed: 0xCAC4E)
        let cipher = try makeCipher(.ff1, keyHex: Self.key256, radix: 65536)
        cipher.cachedLimbBudget = 2000
        let x = randomValue(length: 100, radix: 65536, using: &rng)
        let y = try cipher.encrypt(x, tweak: [1])
        var peak = 0, resets = 0
        for n in stride(from: 2, through: 400, by: 1) {
            let before = cipher.cachedLimbs
            _ = try cipher.encrypt([UInt16](repeating: 7, count: n), tweak: [1])
            if cipher.cachedLimbs < before { resets += 1 }
            peak = Swift.max(peak, cipher.cachedLimbs)
        }
        // One call adds at most one length (4 arrays of at most 101 limbs at 400 numerals).
        #expect(resets > 0 && peak <= 2000 + 4 * 101)
        #expect(try cipher.encrypt(x, tweak: [1]) == y)
        #expect(try cipher.decrypt(y, tweak: [1]) == x)
    }

    /// A batch of values of mixed lengths gives, value by value, what each value alone gives.
    @Test(arguments: FPEAlgorithm.allCases, [10, 36, 65536])
    func batchEqualsOneByOne(_ algorithm: FPEAlgorithm, radix: Int) throws {
        var rng = SplitMix64(seed: 0xBA7C4 &+ UInt64(radix))
        let batched = try makeCipher(algorithm, keyHex: Self.key256, radix: radix)
        let single = try makeCipher(algorithm, keyHex: Self.key256, radix: radix)
        // FF1 radix 10 up to 130 digits covers the 64-bit path, the multi-limb path, two CBC-MAC
        // blocks (b ≥ 16) and extra S blocks (d > 16).
        let hi = algorithm == .ff1 ? Swift.min(130, batched.maxLength) : batched.maxLength
        var batch = NumeralBatch()
        for _ in 0..<300 {
            let n = batched.minLength + Int(rng.next() % UInt64(hi - batched.minLength + 1))
            batch.append(randomValue(length: n, radix: radix, using: &rng))
        }
        let tweak = Self.randomTweak(algorithm, &rng)
        let original = batch
        try batched.encrypt(&batch, tweak: tweak)
        for i in 0..<batch.count {
            let alone = try single.encrypt(Array(original.value(at: i)), tweak: tweak)
            #expect(Array(batch.value(at: i)) == alone, "value \(i) of length \(alone.count)")
        }
        try batched.decrypt(&batch, tweak: tweak)
        #expect(batch == original)
    }

    /// The 64-bit path and the multi-limb path agree wherever both apply.
    @Test(arguments: FPEAlgorithm.allCases, [2, 10, 26, 64, 255, 1000, 65536])
    func fastPathEqualsMultiLimbPath(_ algorithm: FPEAlgorithm, radix: Int) throws {
        var rng = SplitMix64(seed: 0xFA57 &+ UInt64(radix))
        let fast = try makeCipher(algorithm, keyHex: Self.key256, radix: radix)
        let wide = try makeCipher(algorithm, keyHex: Self.key256, radix: radix)
        wide.forceMultiLimb = true
        var batch = NumeralBatch()
        var n = fast.minLength
        while n <= fast.maxLength {
            // The 64-bit path holds each half below 2^64.
            let half = algorithm == .ff1 ? n - n / 2 : (n + 1) / 2
            if Double(half) * log2(Double(radix)) >= 64 { break }
            batch.append(randomValue(length: n, radix: radix, using: &rng))
            n += 1
        }
        #expect(batch.count > 0)
        for tweak in [Self.randomTweak(algorithm, &rng), Self.randomTweak(algorithm, &rng)] {
            var a = batch, b = batch
            try fast.encrypt(&a, tweak: tweak)
            try wide.encrypt(&b, tweak: tweak)
            #expect(a == b)
            try fast.decrypt(&b, tweak: tweak)
            #expect(b == batch)
        }
    }

    /// Different tweaks give different ciphertexts; switching tweaks back and forth (the FF1 chain
    /// cache) gives what a fresh cipher gives.
    @Test(arguments: FPEAlgorithm.allCases)
    func tweaksMatterAndCacheIsSound(_ algorithm: FPEAlgorithm) throws {
        var rng = SplitMix64(seed: 77)
        let cipher = try makeCipher(algorithm, keyHex: Self.key256, radix: 10)
        var batch = NumeralBatch()
        for n in [6, 16, 16, 19, 40, 56] { batch.append(randomValue(length: n, radix: 10, using: &rng)) }
        let t1 = Self.randomTweak(algorithm, &rng)
        var t2 = t1
        if t2.isEmpty { t2 = [1] } else { t2[0] ^= 1 }
        var results: [[UInt16]] = []
        for t in [t1, t2, t1, t2] {
            var b = batch
            try cipher.encrypt(&b, tweak: t)
            results.append(b.numerals)
        }
        #expect(results[0] != results[1])
        #expect(results[0] == results[2])
        #expect(results[1] == results[3])
        let fresh = try makeCipher(algorithm, keyHex: Self.key256, radix: 10)
        var b = batch
        try fresh.encrypt(&b, tweak: t2)
        #expect(b.numerals == results[1])
    }

    /// One block-cipher call per round for the whole batch.
    @Test func oneCallPerRound() throws {
        let key = hexBytes(Self.key256)
        var rng = SplitMix64(seed: 9)
        var batch = NumeralBatch()
        for _ in 0..<4096 { batch.append(randomValue(length: 6 + Int(rng.next() % 33), radix: 10, using: &rng)) }

        // FF3-1: eight calls of 4096 blocks.
        let r31 = try RecordingCipher(key: key)
        let ff31 = try FPECipher(algorithm: .ff31, cipher: r31, radix: 10)
        var b = batch
        try ff31.encrypt(&b, tweak: [1, 2, 3, 4, 5, 6, 7])
        #expect(r31.calls == Array(repeating: 4096, count: 8))

        // FF1, 8-byte tweak: the first call also computes CIPH(P) for the 33 lengths in one call and
        // one CBC step over Q's constant first block (T || 15 zero bytes) for the 6 lengths with
        // b = 8 (33...38 digits, where Q = T || [0]^15 || [i] || [NUM(B)]^8 is two blocks), then ten
        // calls of 4096 blocks; with the same tweak again, just the ten.
        let r1 = try RecordingCipher(key: key)
        let ff1 = try FPECipher(algorithm: .ff1, cipher: r1, radix: 10)
        b = batch
        try ff1.encrypt(&b, tweak: Array("8 bytes!".utf8))
        #expect(r1.calls == [33, 6] + Array(repeating: 4096, count: 10))
        r1.calls = []
        try ff1.decrypt(&b, tweak: Array("8 bytes!".utf8))
        #expect(r1.calls == Array(repeating: 4096, count: 10))
        #expect(b == batch)

        // FF1 with long values: a second CBC-MAC step for the values with b ≥ 16 and one call for
        // the S blocks beyond R, per round.
        var long = NumeralBatch()
        for _ in 0..<10 { long.append(randomValue(length: 20, radix: 10, using: &rng)) }  // b = 5
        for _ in 0..<5 { long.append(randomValue(length: 80, radix: 10, using: &rng)) }  // b = 17, d = 24
        r1.calls = []
        try ff1.encrypt(&long, tweak: Array("8 bytes!".utf8))
        // Setup: CIPH(P) for the new length 80 (length 20 is cached), then per round [all, second
        // CBC step, extra S block].
        #expect(r1.calls == [1] + Array(repeating: [15, 5, 5], count: 10).flatMap { $0 })
    }

    /// A failing block cipher leaves the batch unchanged and the cipher usable.
    @Test(arguments: FPEAlgorithm.allCases)
    func cipherFailureLeavesBatchUnchanged(_ algorithm: FPEAlgorithm) throws {
        let key = hexBytes(Self.key256)
        var rng = SplitMix64(seed: 5)
        var batch = NumeralBatch()
        for n in [10, 16, 50] { batch.append(randomValue(length: n, radix: 10, using: &rng)) }
        let tweak: [UInt8] = [9, 8, 7, 6, 5, 4, 3]
        // FF3-1's block cipher is keyed with REVB(K).
        let recording = try RecordingCipher(key: algorithm == .ff1 ? key : key.reversed())
        recording.failOnCall = 1
        let cipher = try FPECipher(algorithm: algorithm, cipher: recording, radix: 10)
        var b = batch
        #expect(throws: RecordingCipher.Failure.self) { try cipher.encrypt(&b, tweak: tweak) }
        #expect(b == batch)
        recording.failOnCall = recording.calls.count + 4
        #expect(throws: RecordingCipher.Failure.self) { try cipher.encrypt(&b, tweak: tweak) }
        #expect(b == batch)
        recording.failOnCall = nil
        try cipher.encrypt(&b, tweak: tweak)
        var expected = batch
        try makeCipher(algorithm, keyHex: Self.key256, radix: 10).encrypt(&expected, tweak: tweak)
        #expect(b == expected)
    }
}

private func log2(_ x: Double) -> Double { Foundation.log2(x) }
