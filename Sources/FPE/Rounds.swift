// Numeral ⇄ integer conversion at entry and exit, and the Feistel rounds (see Engine.swift).

extension FPECipher {
    // MARK: - Entry: numerals → integers

    func loadState(_ nums: UnsafeBufferPointer<UInt16>, _ offs: UnsafeBufferPointer<Int>) {
        let nf = fastStride
        let bigEndian = algorithm == .ff1
        let r = UInt64(radix)
        let rc = radixConstants
        let fast = fastState.base.bindMemory(to: UInt64.self, capacity: Swift.max(1, 2 * nf))
        let wide = wideState.base.bindMemory(to: UInt32.self, capacity: wideState.capacity / 4)
        let numBase = nums.baseAddress!
        order.withUnsafeBufferPointer { ord in
            for g in groups {
                let p = params[g.param]
                let u = p.u, v = p.v, w = p.limbs
                for q in 0..<g.count {
                    let slot = g.slotStart + q
                    let x = numBase + offs[Int(ord[slot])]
                    if g.fast {
                        fast[slot] = bigEndian ? Self.hornerBE(x, u, r) : Self.hornerLE(x, u, r)
                        fast[nf + slot] = bigEndian ? Self.hornerBE(x + u, v, r) : Self.hornerLE(x + u, v, r)
                    } else {
                        Self.toLimbs(x, u, bigEndian: bigEndian, rc, wide + g.wideBase + q * w, w)
                        Self.toLimbs(x + u, v, bigEndian: bigEndian, rc, wide + g.wideBase + (g.count + q) * w, w)
                    }
                }
            }
        }
    }

    @inline(__always)
    static func hornerBE(_ x: UnsafePointer<UInt16>, _ m: Int, _ r: UInt64) -> UInt64 {
        var acc: UInt64 = 0
        for j in 0..<m { acc = acc &* r &+ UInt64(x[j]) }
        return acc
    }

    @inline(__always)
    static func hornerLE(_ x: UnsafePointer<UInt16>, _ m: Int, _ r: UInt64) -> UInt64 {
        var acc: UInt64 = 0
        var j = m - 1
        while j >= 0 {
            acc = acc &* r &+ UInt64(x[j])
            j -= 1
        }
        return acc
    }

    /// The value of `m` numerals as `w` limbs: most significant numeral first when `bigEndian`
    /// (NUM_radix(X)), last otherwise (NUM_radix(REV(X))).
    static func toLimbs(
        _ x: UnsafePointer<UInt16>, _ m: Int, bigEndian: Bool, _ rc: RadixConstants,
        _ out: UnsafeMutablePointer<UInt32>, _ w: Int
    ) {
        out.update(repeating: 0, count: w)
        let r = UInt32(rc.radix)
        var j = 0
        while j < m {
            let c = Swift.min(rc.chunkDigits, m - j)
            var acc: UInt32 = 0
            for t in 0..<c {
                let digit = bigEndian ? x[j + t] : x[m - 1 - (j + t)]
                acc = acc &* r &+ UInt32(digit)
            }
            Limbs.multiplyAdd(out, w, mul: rc.powers[c], add: acc)
            j += c
        }
    }

    // MARK: - Exit: integers → numerals

    func storeState(_ nums: UnsafeMutableBufferPointer<UInt16>, _ offs: UnsafeBufferPointer<Int>) {
        let nf = fastStride
        let bigEndian = algorithm == .ff1
        let rc = radixConstants
        let fast = fastState.base.bindMemory(to: UInt64.self, capacity: Swift.max(1, 2 * nf))
        let wide = wideState.base.bindMemory(to: UInt32.self, capacity: wideState.capacity / 4)
        let tmp = temp.base.bindMemory(to: UInt32.self, capacity: temp.capacity / 4)
        let numBase = nums.baseAddress!
        order.withUnsafeBufferPointer { ord in
            for g in groups {
                let p = params[g.param]
                let u = p.u, v = p.v, w = p.limbs
                for q in 0..<g.count {
                    let slot = g.slotStart + q
                    let x = numBase + offs[Int(ord[slot])]
                    if g.fast {
                        if bigEndian {
                            Self.digitsBE(fast[slot], u, rc, x)
                            Self.digitsBE(fast[nf + slot], v, rc, x + u)
                        } else {
                            Self.digitsLE(fast[slot], u, rc, x)
                            Self.digitsLE(fast[nf + slot], v, rc, x + u)
                        }
                    } else {
                        Self.fromLimbs(wide + g.wideBase + q * w, w, u, bigEndian: bigEndian, rc, tmp, x)
                        Self.fromLimbs(wide + g.wideBase + (g.count + q) * w, w, v, bigEndian: bigEndian, rc, tmp, x + u)
                    }
                }
            }
        }
    }

    /// STR^m_radix(x), most significant numeral first; `x < radix^m`.
    @inline(__always)
    static func digitsBE(_ x: UInt64, _ m: Int, _ rc: RadixConstants, _ out: UnsafeMutablePointer<UInt16>) {
        let k = rc.chunkDigits
        var x = x
        var pos = m
        while pos > k {
            let (q, r) = rc.chunkDivisor.divide(x)
            x = q
            var rest = UInt32(truncatingIfNeeded: r)
            for j in 1...k {
                let (qq, digit) = rc.radixDivisor.divide(rest)
                out[pos - j] = UInt16(truncatingIfNeeded: digit)
                rest = qq
            }
            pos -= k
        }
        var rest = UInt32(truncatingIfNeeded: x)
        var j = pos - 1
        while j >= 0 {
            let (qq, digit) = rc.radixDivisor.divide(rest)
            out[j] = UInt16(truncatingIfNeeded: digit)
            rest = qq
            j -= 1
        }
    }

    /// REV(STR^m_radix(x)): least significant numeral first; `x < radix^m`.
    @inline(__always)
    static func digitsLE(_ x: UInt64, _ m: Int, _ rc: RadixConstants, _ out: UnsafeMutablePointer<UInt16>) {
        let k = rc.chunkDigits
        var x = x
        var pos = 0
        while m - pos > k {
            let (q, r) = rc.chunkDivisor.divide(x)
            x = q
            var rest = UInt32(truncatingIfNeeded: r)
            for j in 0..<k {
                let (qq, digit) = rc.radixDivisor.divide(rest)
                out[pos + j] = UInt16(truncatingIfNeeded: digit)
                rest = qq
            }
            pos += k
        }
        var rest = UInt32(truncatingIfNeeded: x)
        while pos < m {
            let (qq, digit) = rc.radixDivisor.divide(rest)
            out[pos] = UInt16(truncatingIfNeeded: digit)
            rest = qq
            pos += 1
        }
    }

    /// STR^m_radix of a `w`-limb integer (reversed unless `bigEndian`); `tmp` holds `w` limbs.
    static func fromLimbs(
        _ x: UnsafePointer<UInt32>, _ w: Int, _ m: Int, bigEndian: Bool, _ rc: RadixConstants,
        _ tmp: UnsafeMutablePointer<UInt32>, _ out: UnsafeMutablePointer<UInt16>
    ) {
        tmp.update(from: x, count: w)
        var len = Limbs.significantCount(tmp, w)
        let k = rc.chunkDigits
        var done = 0
        @inline(__always) func put(_ indexFromLeastSignificant: Int, _ digit: UInt32) {
            let i = bigEndian ? m - 1 - indexFromLeastSignificant : indexFromLeastSignificant
            out[i] = UInt16(truncatingIfNeeded: digit)
        }
        while m - done > k {
            var rest = Limbs.divideSmall(tmp, len, by: rc.chunkBase)
            len = Limbs.significantCount(tmp, len)
            for j in 0..<k {
                let (qq, digit) = rc.radixDivisor.divide(rest)
                put(done + j, digit)
                rest = qq
            }
            done += k
        }
        var rest = tmp[0]
        while done < m {
            let (qq, digit) = rc.radixDivisor.divide(rest)
            put(done, digit)
            rest = qq
            done += 1
        }
        tmp.update(repeating: 0, count: w)
    }

    // MARK: - Rounds

    func runRounds(count: Int, tweaks: Tweaks, decrypting: Bool) throws {
        let rounds = algorithm.rounds
        let all = UnsafeMutableRawBufferPointer(start: blocks.base, count: 16 * count)
        // FF3-1: T_L = T[0..27] || 0^4, T_R = T[32..55] || T[28..31] || 0^4.
        var tL: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0), tR = tL
        if algorithm == .ff31, case .shared(let tweak) = tweaks {
            tL = (tweak[0], tweak[1], tweak[2], tweak[3] & 0xF0)
            tR = (tweak[4], tweak[5], tweak[6], (tweak[3] & 0x0F) << 4)
        }
        for step in 0..<rounds {
            let i = decrypting ? rounds - 1 - step : step
            switch algorithm {
            case .ff1:
                buildFF1(round: i)
                try blockCipher.encryptBlocks(all)
                try finishFF1Wide()
                consumeFF1(round: i, decrypting: decrypting)
            case .ff31:
                // W = T_R in even rounds, T_L in odd rounds; the block is REVB(W ⊕ [i]^4 || [NUM(REV(B))]^12).
                let w = i & 1 == 0 ? tR : tL
                var tail: UInt32 = 0
                withUnsafeMutableBytes(of: &tail) {
                    $0[0] = w.3 ^ UInt8(i)
                    $0[1] = w.2
                    $0[2] = w.1
                    $0[3] = w.0
                }
                buildFF31(round: i, tail: tail)
                try blockCipher.encryptBlocks(all)
                consumeFF31(round: i, decrypting: decrypting)
            }
        }
    }

    /// Round i's input: for encryption the F input is B and the result replaces A; for decryption
    /// the F input is A and the result replaces B. With the halves alternating between two arrays
    /// that is array (i + 1) mod 2 as input and array i mod 2 as output in both directions.
    @inline(__always)
    private func arrays(round i: Int) -> (source: Int, target: Int) { ((i + 1) & 1, i & 1) }

    // MARK: FF1

    private func buildFF1(round i: Int) {
        let nf = fastStride
        let buf = blocks.base
        let (srcIndex, _) = arrays(round: i)
        let fast = fastState.base.assumingMemoryBound(to: UInt64.self)
        let src = fast + srcIndex * nf
        let wide = wideState.base.assumingMemoryBound(to: UInt32.self)
        let qb = qBytes.base
        for g in groups {
            if perValueTweaks {
                buildFF1PerValue(g, round: i, src: src, wide: wide, srcIndex: srcIndex)
                continue
            }
            let ts = ff1TweakState[g.param]
            if g.fast {
                // Q's last block: constant head || [i] || [NUM(B)]^b (b ≤ 8), chained with the state.
                var block = ts.chain ^ ts.head
                block.xorByte(UInt8(i), at: ts.headCount)
                let w0 = block.w0, w1 = block.w1
                for slot in g.slotStart..<(g.slotStart + g.count) {
                    let p = buf + 16 * slot
                    p.storeBytes(of: w0, as: UInt64.self)
                    p.storeBytes(of: w1 ^ src[slot].bigEndian, toByteOffset: 8, as: UInt64.self)
                }
            } else {
                let p = params[g.param]
                let w = p.limbs, b = p.b, h = ts.headCount
                let qLength = 16 * p.varBlocks
                for q in 0..<g.count {
                    let x = wide + g.wideBase + (srcIndex == 0 ? q : g.count + q) * w
                    let qv = qb + g.qBase + q * qLength
                    withUnsafeBytes(of: ts.head) { qv.copyMemory(from: $0.baseAddress!, byteCount: h) }
                    qv.storeBytes(of: UInt8(i), toByteOffset: h, as: UInt8.self)
                    for j in 0..<b {
                        let limb = j / 4 < w ? x[j / 4] : 0
                        qv.storeBytes(of: UInt8(truncatingIfNeeded: limb >> UInt32(8 * (j % 4))), toByteOffset: h + b - j, as: UInt8.self)
                    }
                    (ts.chain ^ Block16(loading: qv)).store(to: buf + 16 * (g.slotStart + q))
                }
            }
        }
    }

    /// ``buildFF1(round:)`` for one group with per-value tweaks: each slot's chain and head come
    /// from ``slotTweaks``.
    @inline(__always)
    private func buildFF1PerValue(
        _ g: Group, round i: Int, src: UnsafeMutablePointer<UInt64>, wide: UnsafeMutablePointer<UInt32>, srcIndex: Int
    ) {
        let buf = blocks.base
        let st = UnsafeRawPointer(slotTweaks.base)
        var roundByte = Block16()
        roundByte.xorByte(UInt8(i), at: g.headCount)
        if g.fast {
            for slot in g.slotStart..<(g.slotStart + g.count) {
                let block = Block16(loading: st + 32 * slot) ^ Block16(loading: st + 32 * slot + 16) ^ roundByte
                let p = buf + 16 * slot
                p.storeBytes(of: block.w0, as: UInt64.self)
                p.storeBytes(of: block.w1 ^ src[slot].bigEndian, toByteOffset: 8, as: UInt64.self)
            }
        } else {
            let p = params[g.param]
            let w = p.limbs, b = p.b, h = g.headCount
            let qLength = 16 * p.varBlocks
            let qb = qBytes.base
            for q in 0..<g.count {
                let slot = g.slotStart + q
                let x = wide + g.wideBase + (srcIndex == 0 ? q : g.count + q) * w
                let qv = qb + g.qBase + q * qLength
                qv.copyMemory(from: st + 32 * slot + 16, byteCount: h)
                qv.storeBytes(of: UInt8(i), toByteOffset: h, as: UInt8.self)
                for j in 0..<b {
                    let limb = j / 4 < w ? x[j / 4] : 0
                    qv.storeBytes(of: UInt8(truncatingIfNeeded: limb >> UInt32(8 * (j % 4))), toByteOffset: h + b - j, as: UInt8.self)
                }
                (Block16(loading: st + 32 * slot) ^ Block16(loading: qv)).store(to: buf + 16 * slot)
            }
        }
    }

    /// FF1 values on the multi-limb path: the remaining CBC-MAC steps over Q (one call per step,
    /// the values that need it form a prefix of the wide slots), then the blocks of S beyond R
    /// (S = R || CIPH(R ⊕ [1]^16) || CIPH(R ⊕ [2]^16) || …), in one call.
    private func finishFF1Wide() throws {
        let nf = fastCount
        let buf = blocks.base
        let qb = qBytes.base
        var step = 1
        while true {
            var m = 0
            for g in groupOrder.lazy.map({ self.groups[$0] }) where !g.fast {
                let p = params[g.param]
                guard p.varBlocks > step else { continue }
                let qLength = 16 * p.varBlocks
                for q in 0..<g.count {
                    let slot = buf + 16 * (g.slotStart + q)
                    (Block16(loading: slot) ^ Block16(loading: qb + g.qBase + q * qLength + 16 * step)).store(to: slot)
                }
                m += g.count
            }
            if m == 0 { break }
            try blockCipher.encryptBlocks(UnsafeMutableRawBufferPointer(start: buf + 16 * nf, count: 16 * m))
            step += 1
        }
        var extTotal = 0
        let ext = extBlocks.base
        for g in groups where !g.fast {
            let e = params[g.param].extraBlocks
            guard e > 0 else { continue }
            for q in 0..<g.count {
                let r = Block16(loading: buf + 16 * (g.slotStart + q))
                for j in 1...e {
                    var c = Block16()
                    c.w1 = UInt64(j).bigEndian
                    (r ^ c).store(to: ext + g.extBase + 16 * (q * e + j - 1))
                }
            }
            extTotal += 16 * e * g.count
        }
        if extTotal > 0 {
            try blockCipher.encryptBlocks(UnsafeMutableRawBufferPointer(start: ext, count: extTotal))
        }
    }

    private func consumeFF1(round i: Int, decrypting: Bool) {
        let nf = fastStride
        let buf = UnsafeRawPointer(blocks.base)
        let (_, dstIndex) = arrays(round: i)
        let odd = i & 1 == 1
        let fast = fastState.base.assumingMemoryBound(to: UInt64.self)
        let dst = fast + dstIndex * nf
        let wide = wideState.base.assumingMemoryBound(to: UInt32.self)
        let tmp = temp.base.assumingMemoryBound(to: UInt32.self)
        let ext = UnsafeRawPointer(extBlocks.base)
        for g in groups {
            let p = params[g.param]
            let range = g.slotStart..<(g.slotStart + g.count)
            if g.fast {
                let m = odd ? p.modulusV : p.modulusU
                let dv = odd ? p.divisorV : p.divisorU
                if p.d == 8 {
                    // y = NUM(S[0..<8]): the common case (b ≤ 4).
                    if decrypting {
                        Self.consumeY64(buf, dst, range, dv, m, Self.subtractMod)
                    } else {
                        Self.consumeY64(buf, dst, range, dv, m, Self.addMod)
                    }
                } else {
                    // d == 12: y = NUM(S[0..<12]) = (w0 >> 32)·2^64 + ((w0 << 32) | w1).
                    let twoTo64 = odd ? p.twoTo64V : p.twoTo64U
                    for slot in range {
                        let w0 = UInt64(bigEndian: buf.loadUnaligned(fromByteOffset: 16 * slot, as: UInt64.self))
                        let w1 = UInt32(bigEndian: buf.loadUnaligned(fromByteOffset: 16 * slot + 8, as: UInt32.self))
                        let r = dv.remainder(anyHigh: w0 >> 32, low: (w0 << 32) | UInt64(w1), twoTo64: twoTo64)
                        dst[slot] = decrypting ? Self.subtractMod(dst[slot], r, m) : Self.addMod(dst[slot], r, m)
                    }
                }
            } else {
                let w = p.limbs, d = p.d, e = p.extraBlocks, ny = p.yLimbs
                let y = tmp, un = tmp + ny, r = tmp + 2 * ny + 1
                (odd ? p.wideModulusV : p.wideModulusU).withUnsafeBufferPointer { mod in
                    (odd ? p.normalizedV : p.normalizedU).withUnsafeBufferPointer { vn in
                        let shift = odd ? p.shiftV : p.shiftU
                        for q in 0..<g.count {
                            let slot = g.slotStart + q
                            // y = NUM(S[0..<d]); limb l holds bytes d − 4(l+1) ..< d − 4l of S.
                            for l in 0..<ny {
                                let off = d - 4 * (l + 1)
                                let src = off < 16 ? buf + 16 * slot + off : ext + g.extBase + 16 * q * e + (off - 16)
                                y[l] = UInt32(bigEndian: src.loadUnaligned(as: UInt32.self))
                            }
                            Self.applyWide(
                                y, ny, vn, shift, mod, w, wide + g.wideBase + (dstIndex == 0 ? q : g.count + q) * w,
                                scratch: un, r, decrypting: decrypting)
                        }
                    }
                }
            }
        }
    }

    /// Multi-limb path: `target = (target ± y mod m) mod m` over `w` limbs, with y of `ny` limbs,
    /// `vn` and `shift` the normalized modulus, `mod` the modulus padded to `w` limbs, and scratch
    /// `un` (ny + 1 limbs) and `r` (w limbs).
    @inline(__always)
    private static func applyWide(
        _ y: UnsafeMutablePointer<UInt32>, _ ny: Int, _ vn: UnsafeBufferPointer<UInt32>, _ shift: Int,
        _ mod: UnsafeBufferPointer<UInt32>, _ w: Int, _ target: UnsafeMutablePointer<UInt32>,
        scratch un: UnsafeMutablePointer<UInt32>, _ r: UnsafeMutablePointer<UInt32>, decrypting: Bool
    ) {
        Limbs.remainder(y, ny, divisor: vn.baseAddress!, vn.count, shift: shift, scratch: un, into: r, w)
        if decrypting {
            Limbs.subtractMod(target, r, mod.baseAddress!, w)
        } else {
            Limbs.addMod(target, r, mod.baseAddress!, w)
        }
    }

    /// `dst[slot] = step(dst[slot], y mod m, m)` with y the first 8 bytes of each slot's block
    /// (big-endian); inlined with `step` so that each loop is specialized.
    @inline(__always)
    private static func consumeY64(
        _ buf: UnsafeRawPointer, _ dst: UnsafeMutablePointer<UInt64>, _ range: Range<Int>,
        _ dv: Divisor64, _ m: UInt64, _ step: (UInt64, UInt64, UInt64) -> UInt64
    ) {
        for slot in range {
            let y = UInt64(bigEndian: buf.loadUnaligned(fromByteOffset: 16 * slot, as: UInt64.self))
            dst[slot] = step(dst[slot], dv.remainder(y), m)
        }
    }

    // MARK: FF3-1

    private func buildFF31(round i: Int, tail: UInt32) {
        let nf = fastCount
        let buf = blocks.base
        let (srcIndex, _) = arrays(round: i)
        let fast = fastState.base.assumingMemoryBound(to: UInt64.self)
        let src = fast + srcIndex * fastStride
        // REVB(P) = [NUM(REV(B))]^12 little-endian || REVB(W ⊕ [i]^4).
        let st = UnsafeRawPointer(slotTweaks.base)
        let perValue = perValueTweaks
        let tailOffset = i & 1 == 0 ? 0 : 4
        let roundWord = UInt32(UInt8(i)).littleEndian
        @inline(__always) func tailOf(_ slot: Int) -> UInt32 {
            perValue ? st.loadUnaligned(fromByteOffset: 8 * slot + tailOffset, as: UInt32.self) ^ roundWord : tail
        }
        for slot in 0..<nf {
            let p = buf + 16 * slot
            p.storeBytes(of: src[slot].littleEndian, as: UInt64.self)
            p.storeBytes(of: UInt32(0), toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: tailOf(slot), toByteOffset: 12, as: UInt32.self)
        }
        let wide = wideState.base.assumingMemoryBound(to: UInt32.self)
        for g in groups where !g.fast {
            let w = params[g.param].limbs
            for q in 0..<g.count {
                let x = wide + g.wideBase + (srcIndex == 0 ? q : g.count + q) * w
                let p = buf + 16 * (g.slotStart + q)
                for l in 0..<3 {
                    p.storeBytes(of: (l < w ? x[l] : 0).littleEndian, toByteOffset: 4 * l, as: UInt32.self)
                }
                p.storeBytes(of: tailOf(g.slotStart + q), toByteOffset: 12, as: UInt32.self)
            }
        }
    }

    private func consumeFF31(round i: Int, decrypting: Bool) {
        let nf = fastStride
        let buf = UnsafeRawPointer(blocks.base)
        let (_, dstIndex) = arrays(round: i)
        let odd = i & 1 == 1
        let fast = fastState.base.assumingMemoryBound(to: UInt64.self)
        let dst = fast + dstIndex * nf
        let wide = wideState.base.assumingMemoryBound(to: UInt32.self)
        let tmp = temp.base.assumingMemoryBound(to: UInt32.self)
        for g in groups {
            let p = params[g.param]
            if g.fast {
                // y = NUM(REVB(output)): the output block read as a little-endian 128-bit integer.
                let m = odd ? p.modulusV : p.modulusU
                let dv = odd ? p.divisorV : p.divisorU
                let twoTo64 = odd ? p.twoTo64V : p.twoTo64U
                let range = g.slotStart..<(g.slotStart + g.count)
                if decrypting {
                    for slot in range {
                        let lo = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: 16 * slot, as: UInt64.self))
                        let hi = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: 16 * slot + 8, as: UInt64.self))
                        dst[slot] = Self.subtractMod(dst[slot], dv.remainder(anyHigh: hi, low: lo, twoTo64: twoTo64), m)
                    }
                } else {
                    for slot in range {
                        let lo = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: 16 * slot, as: UInt64.self))
                        let hi = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: 16 * slot + 8, as: UInt64.self))
                        dst[slot] = Self.addMod(dst[slot], dv.remainder(anyHigh: hi, low: lo, twoTo64: twoTo64), m)
                    }
                }
            } else {
                let w = p.limbs
                let y = tmp, un = tmp + 4, r = tmp + 9
                (odd ? p.wideModulusV : p.wideModulusU).withUnsafeBufferPointer { mod in
                    (odd ? p.normalizedV : p.normalizedU).withUnsafeBufferPointer { vn in
                        let shift = odd ? p.shiftV : p.shiftU
                        for q in 0..<g.count {
                            let slot = g.slotStart + q
                            for l in 0..<4 {
                                y[l] = UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: 16 * slot + 4 * l, as: UInt32.self))
                            }
                            Self.applyWide(
                                y, 4, vn, shift, mod, w, wide + g.wideBase + (dstIndex == 0 ? q : g.count + q) * w,
                                scratch: un, r, decrypting: decrypting)
                        }
                    }
                }
            }
        }
    }

    /// `(a + r) mod m` for `a, r < m`, free of data-dependent branches: t = a + r − m in 128 bits
    /// is negative exactly when a + r < m, and then its high word is all ones.
    @inline(__always)
    static func addMod(_ a: UInt64, _ r: UInt64, _ m: UInt64) -> UInt64 {
        let t = UInt128(a) &+ UInt128(r) &- UInt128(m)
        return UInt64(truncatingIfNeeded: t) &+ (m & UInt64(truncatingIfNeeded: t >> 64))
    }

    /// `(a − r) mod m` for `a, r < m`, free of data-dependent branches (as ``addMod(_:_:_:)``).
    @inline(__always)
    static func subtractMod(_ a: UInt64, _ r: UInt64, _ m: UInt64) -> UInt64 {
        let t = UInt128(a) &- UInt128(r)
        return UInt64(truncatingIfNeeded: t) &+ (m & UInt64(truncatingIfNeeded: t >> 64))
    }
}
