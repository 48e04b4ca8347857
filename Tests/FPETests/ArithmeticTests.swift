import TestSupport
import Testing

@testable import FPE

@Suite struct ArithmeticTests {
    @Test func borrowMaskIsTheComparison() {
        let values: [UInt64] = [0, 1, 2, (1 << 63) - 1, 1 << 63, UInt64.max - 1, UInt64.max]
        for a in values { for b in values { #expect(borrowMask(a, b) == (a < b ? UInt64.max : 0)) } }
    }

    @Test func divisor64MatchesHardwareDivision() {
        var rng = SplitMix64(seed: 64)
        var divisors: [UInt64] = [
            1, 2, 3, 10, 1_000_000, 10_000_000_000_000_000_000 / 10, UInt64.max, UInt64.max - 1, 1 << 63, (1 << 63) + 1, (1 << 32) - 1, 1 << 32,
        ]
        for _ in 0..<200 { divisors.append(rng.next() >> (rng.next() % 64) | 1) }
        for d in divisors {
            let div = Divisor64(d)
            for _ in 0..<200 {
                let x = rng.next() >> (rng.next() % 64)
                #expect(div.remainder(x) == x % d)
                #expect(div.divide(x) == (x / d, x % d))
                let hi = rng.next() % d
                let lo = rng.next()
                #expect(div.remainder(high: hi, low: lo) == d.dividingFullWidth((high: hi, low: lo)).remainder)
            }
            #expect(div.remainder(high: d - 1, low: UInt64.max) == d.dividingFullWidth((high: d - 1, low: UInt64.max)).remainder)
            // Any 128-bit numerator, through 2^64 mod d.
            let twoTo64 = div.twoTo64
            #expect(twoTo64 == UInt64((UInt128(1) << 64) % UInt128(d)))
            let extremes: [(UInt64, UInt64)] = [(UInt64.max, UInt64.max), (0, 0), (d, 0)]
            for (hi, lo) in extremes + (0..<200).map({ _ in (rng.next(), rng.next()) }) {
                let expected = UInt64((UInt128(hi) << 64 | UInt128(lo)) % UInt128(d))
                #expect(div.remainder(anyHigh: hi, low: lo, twoTo64: twoTo64) == expected)
            }
        }
    }

    @Test func smallDivisorMatchesHardwareDivision() {
        var rng = SplitMix64(seed: 32)
        for d in [2, 3, 7, 10, 36, 62, 255, 256, 1000, 65535, 65536] as [UInt32] {
            let div = SmallDivisor(d)
            for x in [0, 1, d - 1, d, UInt32.max, UInt32.max - 1] + (0..<500).map({ _ in UInt32(truncatingIfNeeded: rng.next()) }) {
                #expect(div.divide(x) == (x / d, x % d))
            }
        }
    }

    /// Reference remainder by binary long division.
    static func referenceRemainder(_ u: [UInt32], _ v: [UInt32]) -> [UInt32] {
        var r = [UInt32](repeating: 0, count: v.count + 1)
        func geq(_ a: [UInt32], _ b: [UInt32]) -> Bool {
            for i in stride(from: a.count - 1, through: 0, by: -1) {
                let bi = i < b.count ? b[i] : 0
                if a[i] != bi { return a[i] > bi }
            }
            return true
        }
        for bit in stride(from: u.count * 32 - 1, through: 0, by: -1) {
            var carry = (u[bit / 32] >> UInt32(bit % 32)) & 1
            for i in r.indices {
                let next = r[i] >> 31
                r[i] = r[i] << 1 | carry
                carry = next
            }
            if geq(r, v) {
                var borrow: Int64 = 0
                for i in r.indices {
                    let d = Int64(r[i]) - Int64(i < v.count ? v[i] : 0) - borrow
                    r[i] = UInt32(truncatingIfNeeded: d)
                    borrow = d < 0 ? 1 : 0
                }
            }
        }
        return Array(r.prefix(v.count))
    }

    @Test func knuthRemainderMatchesReference() {
        var rng = SplitMix64(seed: 0xD)
        for trial in 0..<3000 {
            let n = 1 + Int(rng.next() % 6)
            let m = Int(rng.next() % 9)
            var v = (0..<n).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
            // Exercise the rare corrections of algorithm D with extreme limbs now and then.
            if trial % 5 == 0 { v[n - 1] = [1, 0x8000_0000, UInt32.max][trial % 3] }
            if trial % 7 == 0 && n > 1 { v[0] = 0 }
            if v[n - 1] == 0 { v[n - 1] = 1 }
            var u = (0..<Swift.max(m, 1)).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
            if trial % 3 == 0 { u = u.map { $0 | 0xFFFF_0000 } }
            // Normalize v as the engine does.
            let s = v[n - 1].leadingZeroBitCount
            var vn = v
            if s > 0 {
                for i in stride(from: n - 1, to: 0, by: -1) { vn[i] = v[i] << UInt32(s) | v[i - 1] >> UInt32(32 - s) }
                vn[0] = v[0] << UInt32(s)
            }
            var un = [UInt32](repeating: 0, count: u.count + 1)
            var r = [UInt32](repeating: 0xAAAA_AAAA, count: n + 2)
            u.withUnsafeBufferPointer { up in
                vn.withUnsafeBufferPointer { vp in
                    un.withUnsafeMutableBufferPointer { unp in
                        r.withUnsafeMutableBufferPointer { rp in
                            Limbs.remainder(
                                up.baseAddress!, u.count, divisor: vp.baseAddress!, n, shift: s,
                                scratch: unp.baseAddress!, into: rp.baseAddress!, n + 2)
                        }
                    }
                }
            }
            let expected = Self.referenceRemainder(u, v)
            #expect(Array(r.prefix(n)) == expected, "u \(u) v \(v)")
            #expect(r[n] == 0 && r[n + 1] == 0)
        }
    }

    @Test func modularAddAndSubtract() {
        var rng = SplitMix64(seed: 0xADD)
        for _ in 0..<2000 {
            let w = 1 + Int(rng.next() % 4)
            var m = (0..<w).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
            if m[w - 1] == 0 { m[w - 1] = 1 }
            if rng.next() % 4 == 0 { m[w - 1] = UInt32.max }
            let a = Self.referenceRemainder((0..<w).map { _ in UInt32(truncatingIfNeeded: rng.next()) }, m)
            let r = Self.referenceRemainder((0..<w).map { _ in UInt32(truncatingIfNeeded: rng.next()) }, m)
            var sum = a, diff = a
            sum.withUnsafeMutableBufferPointer { Limbs.addMod($0.baseAddress!, r, m, w) }
            diff.withUnsafeMutableBufferPointer { Limbs.subtractMod($0.baseAddress!, r, m, w) }
            // (a + r) mod m and (a − r) mod m, by the reference on w + 1 limbs.
            var wide = a + [0]
            var carry: UInt64 = 0
            for i in 0..<w {
                let s = UInt64(wide[i]) + UInt64(r[i]) + carry
                wide[i] = UInt32(truncatingIfNeeded: s)
                carry = s >> 32
            }
            wide[w] = UInt32(carry)
            #expect(sum == Self.referenceRemainder(wide, m))
            // (diff + r) mod m must be a.
            var back = diff
            back.withUnsafeMutableBufferPointer { Limbs.addMod($0.baseAddress!, r, m, w) }
            #expect(back == a)
        }
        // 64-bit helpers at the top of the range.
        let m = UInt64.max - 4
        #expect(FPECipher.addMod(m - 1, m - 1, m) == m - 2)
        #expect(FPECipher.subtractMod(0, m - 1, m) == 1)
    }
}

@Suite struct ModularStepTests {
    /// The branch-free modular add/subtract agree with the definition, at the edges of their
    /// domain included, for moduli up to 2^64 − 1.
    @Test func modularAddAndSubtract() {
        var rng = SplitMix64(seed: 63)
        var moduli: [UInt64] = [1, 2, 10, 1000, 1_000_000, (1 << 62) + 3, (1 << 63) - 1, 1 << 63]
        for _ in 0..<100 { moduli.append((rng.next() >> (rng.next() % 64)) % (1 << 63) + 1) }
        for m in moduli {
            var pairs: [(UInt64, UInt64)] = [(0, 0), (m - 1, m - 1), (0, m - 1), (m - 1, 0)]
            for _ in 0..<100 { pairs.append((rng.next() % m, rng.next() % m)) }
            for (a, r) in pairs {
                let sum = UInt64((UInt128(a) + UInt128(r)) % UInt128(m))
                let difference = UInt64((UInt128(a) + UInt128(m) - UInt128(r)) % UInt128(m))
                #expect(FPECipher.addMod(a, r, m) == sum, "\(a) + \(r) mod \(m)")
                #expect(FPECipher.subtractMod(a, r, m) == difference, "\(a) - \(r) mod \(m)")
            }
        }
        // Moduli above 2^63 (a + r overflows 64 bits).
        let wide: [UInt64] = [UInt64.max, (1 << 63) + 1]
        for m in wide {
            let half: UInt64 = 1 << 63
            let pairs: [(UInt64, UInt64)] = [(m - 1, m - 1), (m - 1, 1), (0, m - 1), (half, half)]
            for (a, r) in pairs {
                let sum = UInt64((UInt128(a) + UInt128(r)) % UInt128(m))
                let difference = UInt64((UInt128(a) + UInt128(m) - UInt128(r)) % UInt128(m))
                #expect(FPECipher.addMod(a, r, m) == sum)
                #expect(FPECipher.subtractMod(a, r, m) == difference)
            }
        }
    }
}
