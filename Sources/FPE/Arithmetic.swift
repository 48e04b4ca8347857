// Numeral arithmetic for the Feistel rounds: division by invariant divisors for the 64-bit fast
// path, and a small fixed-width big-number kit (little-endian UInt32 limbs) for everything wider.
// No allocation happens here: callers pass pointers into scratch buffers owned by `FPECipher`.

/// Division of a 128-bit numerator by a fixed 64-bit divisor with a precomputed reciprocal
/// (N. Möller, T. Granlund, "Improved division by invariant integers", IEEE Trans. Computers 60(2),
/// 2011, algorithm 4): two multiplications instead of a hardware `div`.
struct Divisor64 {
    /// The divisor.
    let divisor: UInt64
    /// `divisor << shift`, top bit set.
    let normalized: UInt64
    /// Leading zero bits of the divisor.
    let shift: UInt64
    /// `floor((2^128 - 1) / normalized) - 2^64`.
    let reciprocal: UInt64
    /// `floor((2^64 − 1) / divisor)`, the Barrett constant for the remainder of a 64-bit numerator.
    let barrett: UInt64

    init(_ d: UInt64) {
        precondition(d != 0, "division by zero")
        let s = UInt64(d.leadingZeroBitCount)
        let dn = d << s
        divisor = d
        shift = s
        normalized = dn
        reciprocal = dn.dividingFullWidth((high: ~dn, low: UInt64.max)).quotient
        barrett = UInt64.max / d
    }

    /// Quotient and remainder of `(u1·2^64 + u0) / normalized`, for `u1 < normalized`.
    @inline(__always)
    private func divideNormalized(_ u1: UInt64, _ u0: UInt64) -> (quotient: UInt64, remainder: UInt64) {
        let p = reciprocal.multipliedFullWidth(by: u1)
        let (q0, carry) = p.low.addingReportingOverflow(u0)
        var q1 = p.high &+ u1 &+ 1 &+ (carry ? 1 : 0)
        var r = u0 &- q1 &* normalized
        if r > q0 {
            q1 &-= 1
            r &+= normalized
        }
        if r >= normalized {
            q1 &+= 1
            r &-= normalized
        }
        return (q1, r)
    }

    /// Remainder of `(u1·2^64 + u0) / normalized`, for `u1 < normalized`, without branches on
    /// the data (the first correction is taken about half the time: a branch would mispredict).
    @inline(__always)
    private func remainderNormalized(_ u1: UInt64, _ u0: UInt64) -> UInt64 {
        let p = reciprocal.multipliedFullWidth(by: u1)
        let (q0, carry) = p.low.addingReportingOverflow(u0)
        let q1 = p.high &+ u1 &+ 1 &+ (carry ? 1 : 0)
        var r = u0 &- q1 &* normalized
        r &+= normalized & borrowMask(q0, r)  // r > q0
        r &-= normalized & ~borrowMask(r, normalized)  // r ≥ normalized
        return r
    }

    /// `(high·2^64 + low) mod divisor`; requires `high < divisor`.
    @inline(__always)
    func remainder(high: UInt64, low: UInt64) -> UInt64 {
        // (x >> 1) >> (63 - s) is x >> (64 - s) for s in 1...63 and 0 for s == 0.
        let n1 = (high &<< shift) | ((low &>> 1) &>> (63 &- shift))
        let n0 = low &<< shift
        return remainderNormalized(n1, n0) &>> shift
    }

    /// `(high·2^64 + low) mod divisor` for any `high`, with `twoTo64 = 2^64 mod divisor`:
    /// high·2^64 + low ≡ high·twoTo64 + low, whose high word stays below the divisor.
    @inline(__always)
    func remainder(anyHigh high: UInt64, low: UInt64, twoTo64: UInt64) -> UInt64 {
        let p = high.multipliedFullWidth(by: twoTo64)
        let (lo, carry) = p.low.addingReportingOverflow(low)
        // p.high < twoTo64 < divisor, so p.high + 1 ≤ divisor - 1 < divisor.
        return remainder(high: p.high &+ (carry ? 1 : 0), low: lo)
    }

    /// `2^64 mod divisor`.
    var twoTo64: UInt64 { divisor.dividingFullWidth((high: 1 % divisor, low: 0)).remainder }

    /// `x mod divisor`, branch-free, with two multiplications (Barrett): q = ⌊x·M / 2^64⌋ with
    /// M = ``barrett`` ≥ 2^64/d − 1 is ⌊x/d⌋ or ⌊x/d⌋ − 1 (x·M/2^64 > x/d − 1 and ≤ x/d), so
    /// r = x − q·d < 2d needs at most one subtraction of d, and r ≤ x never overflows.
    @inline(__always)
    func remainder(_ x: UInt64) -> UInt64 {
        let q = barrett.multipliedFullWidth(by: x).high
        let r = x &- q &* divisor
        return r &- (divisor & ~borrowMask(r, divisor))  // r ≥ divisor: subtract it once
    }

    /// `(x / divisor, x % divisor)`.
    @inline(__always)
    func divide(_ x: UInt64) -> (quotient: UInt64, remainder: UInt64) {
        let n1 = (x &>> 1) &>> (63 &- shift)
        let n0 = x &<< shift
        let (q, r) = divideNormalized(n1, n0)
        return (q, r &>> shift)
    }
}

/// All ones when `a < b`, else zero: the high word of the 128-bit difference, which compiles to
/// cmp/sbb. A comparison feeding a select (or `0 - (c ? 1 : 0)`, which LLVM rewrites into one) is
/// turned back into a branch by LLVM's x86 cmov conversion, and in the Feistel rounds that branch
/// goes either way at random: half the executions mispredict.
@inline(__always)
func borrowMask(_ a: UInt64, _ b: UInt64) -> UInt64 {
    UInt64(truncatingIfNeeded: (UInt128(a) &- UInt128(b)) >> 64)
}

/// Division of 32-bit numerators by a small fixed divisor (< 2^32) with one multiplication
/// (D. Lemire, O. Kaser, N. Kurz, "Faster remainder by direct computation", 2019).
struct SmallDivisor {
    let divisor: UInt64
    /// `ceil(2^64 / divisor)`.
    let magic: UInt64

    init(_ d: UInt32) {
        precondition(d >= 2, "small divisor must be at least 2")
        divisor = UInt64(d)
        magic = UInt64.max / UInt64(d) &+ 1
    }

    @inline(__always)
    func divide(_ n: UInt32) -> (quotient: UInt32, remainder: UInt32) {
        let q = magic.multipliedFullWidth(by: UInt64(n)).high
        return (UInt32(truncatingIfNeeded: q), n &- UInt32(truncatingIfNeeded: q &* divisor))
    }
}

/// Fixed-width unsigned big numbers as little-endian `UInt32` limbs.
enum Limbs {
    /// Number of significant limbs (at least 1).
    static func significantCount(_ x: UnsafePointer<UInt32>, _ count: Int) -> Int {
        var n = count
        while n > 1 && x[n - 1] == 0 { n -= 1 }
        return n
    }

    /// `x = x·mul + add` over `count` limbs; the result must fit.
    @inline(__always)
    static func multiplyAdd(_ x: UnsafeMutablePointer<UInt32>, _ count: Int, mul: UInt32, add: UInt32) {
        var carry = UInt64(add)
        for i in 0..<count {
            let t = UInt64(x[i]) &* UInt64(mul) &+ carry
            x[i] = UInt32(truncatingIfNeeded: t)
            carry = t &>> 32
        }
    }

    /// `x = x / d` over `count` limbs; returns `x mod d`.
    @inline(__always)
    static func divideSmall(_ x: UnsafeMutablePointer<UInt32>, _ count: Int, by d: UInt32) -> UInt32 {
        var rem: UInt64 = 0
        let dd = UInt64(d)
        var i = count - 1
        while i >= 0 {
            let cur = (rem &<< 32) | UInt64(x[i])
            let q = cur / dd
            rem = cur &- q &* dd
            x[i] = UInt32(truncatingIfNeeded: q)
            i -= 1
        }
        return UInt32(truncatingIfNeeded: rem)
    }

    /// Three-way comparison of two `count`-limb numbers.
    @inline(__always)
    static func compare(_ a: UnsafePointer<UInt32>, _ b: UnsafePointer<UInt32>, _ count: Int) -> Int {
        var i = count - 1
        while i >= 0 {
            if a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
            i -= 1
        }
        return 0
    }

    /// `a = (a + r) mod m` for `a, r < m`, all `count` limbs.
    static func addMod(_ a: UnsafeMutablePointer<UInt32>, _ r: UnsafePointer<UInt32>, _ m: UnsafePointer<UInt32>, _ count: Int) {
        var carry: UInt64 = 0
        for i in 0..<count {
            let s = UInt64(a[i]) &+ UInt64(r[i]) &+ carry
            a[i] = UInt32(truncatingIfNeeded: s)
            carry = s &>> 32
        }
        if carry != 0 || compare(a, m, count) >= 0 {
            // The true sum minus m is below m, so wrapping subtraction gives it exactly.
            var borrow: UInt64 = 0
            for i in 0..<count {
                let d = UInt64(a[i]) &- UInt64(m[i]) &- borrow
                a[i] = UInt32(truncatingIfNeeded: d)
                borrow = (d &>> 63) & 1
            }
        }
    }

    /// `a = (a - r) mod m` for `a, r < m`, all `count` limbs.
    static func subtractMod(_ a: UnsafeMutablePointer<UInt32>, _ r: UnsafePointer<UInt32>, _ m: UnsafePointer<UInt32>, _ count: Int) {
        var borrow: UInt64 = 0
        for i in 0..<count {
            let d = UInt64(a[i]) &- UInt64(r[i]) &- borrow
            a[i] = UInt32(truncatingIfNeeded: d)
            borrow = (d &>> 63) & 1
        }
        if borrow != 0 {
            var carry: UInt64 = 0
            for i in 0..<count {
                let s = UInt64(a[i]) &+ UInt64(m[i]) &+ carry
                a[i] = UInt32(truncatingIfNeeded: s)
                carry = s &>> 32
            }
        }
    }

    /// `r = u mod v` (Knuth, TAOCP vol. 2, §4.3.1, algorithm D; the structure of H. S. Warren,
    /// *Hacker's Delight*, `divmnu`).
    ///
    /// - Parameters:
    ///   - u: the dividend, `m` limbs.
    ///   - divisor: the divisor normalized (shifted left by `shift` so its top bit is set), `n` limbs.
    ///   - un: scratch of at least `m + 1` limbs.
    ///   - r: receives the remainder in `rCount` limbs (`rCount >= n`; the rest are zeroed).
    static func remainder(
        _ u: UnsafePointer<UInt32>, _ m: Int,
        divisor vn: UnsafePointer<UInt32>, _ n: Int, shift s: Int,
        scratch un: UnsafeMutablePointer<UInt32>,
        into r: UnsafeMutablePointer<UInt32>, _ rCount: Int
    ) {
        precondition(n >= 1 && rCount >= n, "bad remainder operands")
        r.update(repeating: 0, count: rCount)
        let m = significantCount(u, m)
        if m < n {
            // u has fewer significant limbs than v (whose top limb is non-zero): u < v.
            r.update(from: u, count: m)
            return
        }
        let s32 = UInt32(s)
        if n == 1 {
            let d = UInt64(vn[0] &>> s32)
            var rem: UInt64 = 0
            var i = m - 1
            while i >= 0 {
                rem = ((rem &<< 32) | UInt64(u[i])) % d
                i -= 1
            }
            r[0] = UInt32(truncatingIfNeeded: rem)
            return
        }
        // Normalize u into un (m + 1 limbs).
        if s == 0 {
            un.update(from: u, count: m)
            un[m] = 0
        } else {
            un[m] = u[m - 1] &>> (32 &- s32)
            var i = m - 1
            while i > 0 {
                un[i] = (u[i] &<< s32) | (u[i - 1] &>> (32 &- s32))
                i -= 1
            }
            un[0] = u[0] &<< s32
        }
        let base: UInt64 = 1 << 32
        let vTop = UInt64(vn[n - 1])
        let vNext = UInt64(vn[n - 2])
        var j = m - n
        while j >= 0 {
            let num = (UInt64(un[j + n]) &<< 32) | UInt64(un[j + n - 1])
            var qhat = num / vTop
            var rhat = num &- qhat &* vTop
            while qhat >= base || qhat &* vNext > ((rhat &<< 32) | UInt64(un[j + n - 2])) {
                qhat &-= 1
                rhat &+= vTop
                if rhat >= base { break }
            }
            // Multiply and subtract: un[j...j+n] -= qhat · vn.
            var borrow: Int64 = 0
            for i in 0..<n {
                let p = qhat &* UInt64(vn[i])
                let t = Int64(un[i + j]) &- borrow &- Int64(p & 0xFFFF_FFFF)
                un[i + j] = UInt32(truncatingIfNeeded: t)
                borrow = Int64(p &>> 32) &- (t &>> 32)
            }
            let t = Int64(un[j + n]) &- borrow
            un[j + n] = UInt32(truncatingIfNeeded: t)
            if t < 0 {
                // qhat was one too large: add v back.
                var carry: UInt64 = 0
                for i in 0..<n {
                    let sum = UInt64(un[i + j]) &+ UInt64(vn[i]) &+ carry
                    un[i + j] = UInt32(truncatingIfNeeded: sum)
                    carry = sum &>> 32
                }
                un[j + n] = un[j + n] &+ UInt32(truncatingIfNeeded: carry)
            }
            j -= 1
        }
        // Denormalize the remainder.
        if s == 0 {
            r.update(from: un, count: n)
        } else {
            for i in 0..<(n - 1) {
                r[i] = (un[i] &>> s32) | (un[i + 1] &<< (32 &- s32))
            }
            r[n - 1] = un[n - 1] &>> s32
        }
    }
}

/// A big number in an array, for the per-length constants (built once, never on the hot path).
struct BigConstant {
    /// Little-endian limbs, at least one.
    var limbs: [UInt32]

    /// `radix^exponent`.
    static func power(_ radix: Int, _ exponent: Int) -> BigConstant {
        var limbs: [UInt32] = [1]
        for _ in 0..<exponent {
            var carry: UInt64 = 0
            for i in limbs.indices {
                let t = UInt64(limbs[i]) * UInt64(radix) + carry
                limbs[i] = UInt32(truncatingIfNeeded: t)
                carry = t >> 32
            }
            if carry != 0 { limbs.append(UInt32(carry)) }
        }
        return BigConstant(limbs: limbs)
    }

    /// The value minus one (the value must be non-zero).
    func minusOne() -> BigConstant {
        var l = limbs
        var i = 0
        while l[i] == 0 {
            l[i] = UInt32.max
            i += 1
        }
        l[i] -= 1
        while l.count > 1 && l.last == 0 { l.removeLast() }
        return BigConstant(limbs: l)
    }

    /// Number of bits needed to write the value (0 for zero).
    var bitLength: Int {
        var n = limbs.count
        while n > 0 && limbs[n - 1] == 0 { n -= 1 }
        if n == 0 { return 0 }
        return (n - 1) * 32 + (32 - limbs[n - 1].leadingZeroBitCount)
    }

    /// The value as a `UInt64`, or nil when it does not fit.
    var uint64: UInt64? {
        var n = limbs.count
        while n > 0 && limbs[n - 1] == 0 { n -= 1 }
        if n > 2 { return nil }
        let lo = UInt64(limbs.first ?? 0)
        let hi = n == 2 ? UInt64(limbs[1]) : 0
        return hi << 32 | lo
    }

    /// The limbs zero-padded (or trimmed of zero limbs) to exactly `count`.
    func padded(to count: Int) -> [UInt32] {
        var l = limbs
        while l.count > count && l.last == 0 { l.removeLast() }
        precondition(l.count <= count, "constant wider than its slot")
        l.append(contentsOf: repeatElement(0, count: count - l.count))
        return l
    }
}
