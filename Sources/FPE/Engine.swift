// The batched Feistel core shared by FF1 and FF3-1.
//
// Both algorithms are run on integers: with A, B the two halves as numbers (FF1: NUM_radix(A);
// FF3-1: NUM_radix(REV(A)), i.e. numerals read least-significant first), encryption round i maps
// (A, B) to (B, (A + F_i(B)) mod radix^m) and decryption round i maps (A, B) to
// ((B − F_i(A)) mod radix^m, A), with m = u for even i and v for odd i (SP 800-38G Algorithms 7–10).
// The halves are converted from numerals once on entry and back once on exit, because
// NUM(STR^m(c)) = c makes the per-round conversions of the specification cancel.
//
// Per round, every value's block is written into one buffer and encrypted by one call. Values are
// grouped by length (the constants depend on it) and laid out group by group: first the groups on
// the 64-bit path, then the multi-limb groups (for FF1 ordered by decreasing b, so that the values
// that need a further CBC-MAC step always form a prefix of the buffer).

/// Constants of the radix for the numeral ⇄ integer conversions.
struct RadixConstants {
    let radix: Int
    /// Most numerals whose value always fits in a UInt32: radix^chunkDigits < 2^32.
    let chunkDigits: Int
    /// radix^chunkDigits.
    let chunkBase: UInt32
    /// radix^0 ... radix^chunkDigits.
    let powers: [UInt32]
    let radixDivisor: SmallDivisor
    let chunkDivisor: Divisor64

    init(radix: Int) {
        self.radix = radix
        var k = 0
        var p: UInt64 = 1
        var powers: [UInt32] = [1]
        while p * UInt64(radix) < (1 << 32) {
            p *= UInt64(radix)
            k += 1
            powers.append(UInt32(p))
        }
        chunkDigits = k
        chunkBase = UInt32(p)
        self.powers = powers
        radixDivisor = SmallDivisor(UInt32(radix))
        chunkDivisor = Divisor64(p)
    }
}

/// Constants for one value length.
struct LengthParams {
    let n: Int
    let u: Int
    let v: Int
    /// radix^max(u, v) < 2^64: the halves live in UInt64.
    let fast: Bool
    /// Fast path: radix^u and radix^v.
    let modulusU: UInt64
    let modulusV: UInt64
    let divisorU: Divisor64
    let divisorV: Divisor64
    /// 2^64 mod radix^u and 2^64 mod radix^v.
    let twoTo64U: UInt64
    let twoTo64V: UInt64
    /// FF1: bytes of NUM(B) in Q (b), bytes of S used (d), Q blocks holding [i] and NUM(B),
    /// and blocks of S beyond R.
    let b: Int
    let d: Int
    let varBlocks: Int
    let extraBlocks: Int
    /// Multi-limb path: limbs per half, radix^u and radix^v padded to `limbs`, and the same
    /// normalized for division (significant limbs shifted left until the top bit is set).
    let limbs: Int
    let wideModulusU: [UInt32]
    let wideModulusV: [UInt32]
    let normalizedU: [UInt32]
    let normalizedV: [UInt32]
    let shiftU: Int
    let shiftV: Int
    /// Limbs of y = NUM(S).
    let yLimbs: Int
}

/// FF1 per-length state that depends on the tweak: the CBC-MAC state after P and the constant
/// blocks of Q, and the constant bytes that open Q's first variable block.
struct FF1TweakState {
    var epoch = 0
    var chain = Block16()
    var head = Block16()
    /// Number of constant bytes before [i] in the first variable block.
    var headCount = 0
}

/// 16 bytes as two words in memory order.
struct Block16 {
    var w0: UInt64 = 0
    var w1: UInt64 = 0

    init() {}

    init(loading p: UnsafeRawPointer) {
        w0 = p.loadUnaligned(as: UInt64.self)
        w1 = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
    }

    @inline(__always)
    func store(to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: w0, as: UInt64.self)
        p.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
    }

    static func ^ (a: Block16, b: Block16) -> Block16 {
        var r = Block16()
        r.w0 = a.w0 ^ b.w0
        r.w1 = a.w1 ^ b.w1
        return r
    }

    mutating func xorByte(_ value: UInt8, at position: Int) {
        withUnsafeMutableBytes(of: &self) { $0[position] ^= value }
    }
}

/// The values of one length within one call.
struct Group {
    var param: Int
    var fast: Bool
    var count = 0
    var slotStart = 0
    /// Multi-limb path: offset (in limbs) of this group's two state arrays in `wideState`.
    var wideBase = 0
    /// FF1 multi-limb path: offsets (in bytes) of this group's Q bytes and extra S blocks.
    var qBase = 0
    var extBase = 0
    /// FF1 with per-value tweaks: constant bytes before [i] in Q's first variable block.
    var headCount = 0
}

/// The tweaks of one call: one for the whole batch, or one per value (flat, fixed length).
enum Tweaks {
    case shared([UInt8])
    case perValue([UInt8], Int)
}

extension FPECipher {
    // MARK: - Call

    func process(_ batch: inout NumeralBatch, tweaks: Tweaks, decrypting: Bool) throws {
        guard try begin(batch, tweaks: tweaks) else { return }
        defer { endCall() }
        try runRounds(count: batch.count, tweaks: tweaks, decrypting: decrypting)
        store(&batch)
    }

    /// Validates, groups and lays out the batch, prepares the FF1 constants and loads the halves
    /// as integers; false for an empty batch. A caller that gets true must call `endCall()`.
    func begin(_ batch: NumeralBatch, tweaks: Tweaks) throws -> Bool {
        let count = batch.count
        let tweakLength: Int
        switch tweaks {
        case .shared(let t): tweakLength = t.count
        case .perValue(let t, let length):
            tweakLength = length
            guard length >= 0, t.count == length * count else {
                throw FPEError(.invalidTweak, "per-value tweaks: \(t.count) bytes for \(count) values of \(length) bytes")
            }
        }
        guard tweakLengths.contains(tweakLength) else {
            let expected = tweakLengths.count == 1 ? "\(tweakLengths.lowerBound)" : "\(tweakLengths.lowerBound)...\(tweakLengths.upperBound)"
            throw FPEError(.invalidTweak, "\(algorithm.rawValue) tweak must be \(expected) bytes, got \(tweakLength)")
        }
        guard batch.offsets.count >= 1, batch.offsets[0] == 0, batch.offsets[count] == batch.numerals.count else {
            throw FPEError(.invalidBatch, "batch offsets must start at 0 and end at the numeral count")
        }
        if count == 0 { return false }
        if cachedLimbs > cachedLimbBudget { resetLengthCache() }
        do {
            try classify(batch)
            layout(count)
            switch tweaks {
            case .shared(let tweak):
                if algorithm == .ff1 { try prepareFF1(tweak: tweak) }
            case .perValue(let t, let length):
                perValueTweaks = true
                if algorithm == .ff1 { try prepareFF1PerValue(t, length) } else { prepareFF31PerValue(t) }
            }
        } catch {
            endCall()
            throw error
        }
        batch.numerals.withUnsafeBufferPointer { nums in
            batch.offsets.withUnsafeBufferPointer { offs in
                loadState(nums, offs)
            }
        }
        return true
    }

    /// Writes the halves of the values in the current groups back as numerals.
    func store(_ batch: inout NumeralBatch) {
        let offsets = batch.offsets
        batch.numerals.withUnsafeMutableBufferPointer { nums in
            offsets.withUnsafeBufferPointer { offs in
                storeState(nums, offs)
            }
        }
    }

    private func resetLengthCache() {
        params.removeAll(keepingCapacity: true)
        ff1TweakState.removeAll(keepingCapacity: true)
        activeOfParam.removeAll(keepingCapacity: true)
        for i in paramIndexForLength.indices { paramIndexForLength[i] = -1 }
        cachedLimbs = 0
    }

    /// Resets per-call bookkeeping and zeroizes the scratch buffers.
    func endCall() {
        for g in groups { activeOfParam[g.param] = -1 }
        groups.removeAll(keepingCapacity: true)
        blocks.wipe()
        extBlocks.wipe()
        qBytes.wipe()
        fastState.wipe()
        wideState.wipe()
        temp.wipe()
        slotTweaks.wipe()
        perValueTweaks = false
    }

    // MARK: - Validation and grouping

    /// Validates every value and assigns it to its length group.
    ///
    /// The per-value loop works on local arrays (moved out of the instance and back) so that it
    /// pays no dynamic exclusivity checks.
    private func classify(_ batch: NumeralBatch) throws(FPEError) {
        let count = batch.count
        let radix = self.radix
        // Numerals first, with a single vectorizable pass; locate the culprit only on failure.
        let maxNumeral = batch.numerals.withUnsafeBufferPointer { nums in
            var m: UInt16 = 0
            for x in nums { m = Swift.max(m, x) }
            return m
        }
        var groups = [Group](), groupOfValue = [Int32](), activeOfParam = [Int32](), lengthIndex = [Int32]()
        swap(&groups, &self.groups)
        swap(&groupOfValue, &self.groupOfValue)
        swap(&activeOfParam, &self.activeOfParam)
        swap(&lengthIndex, &self.paramIndexForLength)
        defer {
            swap(&groups, &self.groups)
            swap(&groupOfValue, &self.groupOfValue)
            swap(&activeOfParam, &self.activeOfParam)
            swap(&lengthIndex, &self.paramIndexForLength)
        }
        groupOfValue.removeAll(keepingCapacity: true)
        groupOfValue.reserveCapacity(count)
        let numeralCount = batch.numerals.count
        let minLength = self.minLength, maxLength = self.maxLength
        var lastLength = -1, lastGroup = -1
        try batch.offsets.withUnsafeBufferPointer { (offs) throws(FPEError) in
            for i in 0..<count {
                let start = offs[i], end = offs[i + 1]
                let length = end &- start
                if length == lastLength {
                    groups[lastGroup].count &+= 1
                    groupOfValue.append(Int32(truncatingIfNeeded: lastGroup))
                    continue
                }
                guard end >= start, end <= numeralCount else {
                    throw FPEError(.invalidBatch, "offsets are not nondecreasing", valueIndex: i)
                }
                guard length >= minLength else {
                    throw FPEError(
                        .valueTooShort, "\(length) numerals, fewer than the minimum \(minLength) for radix \(radix)",
                        valueIndex: i)
                }
                guard length <= maxLength else {
                    throw FPEError(
                        .valueTooLong, "\(length) numerals, more than the maximum \(maxLength) for \(algorithm.rawValue) radix \(radix)",
                        valueIndex: i)
                }
                var p = Int(lengthIndex[length])
                if p < 0 {
                    p = makeParams(length: length)
                    lengthIndex[length] = Int32(p)
                    activeOfParam.append(-1)
                }
                var g = Int(activeOfParam[p])
                if g < 0 {
                    g = groups.count
                    groups.append(Group(param: p, fast: params[p].fast))
                    activeOfParam[p] = Int32(g)
                }
                groups[g].count &+= 1
                groupOfValue.append(Int32(truncatingIfNeeded: g))
                lastLength = length
                lastGroup = g
            }
        }
        if Int(maxNumeral) >= radix {
            for i in 0..<count {
                let value = batch.value(at: i)
                if let j = value.firstIndex(where: { Int($0) >= radix }) {
                    throw FPEError(
                        .numeralOutOfRange, "numeral \(j - value.startIndex) is not below radix \(radix)",
                        valueIndex: i, position: j - value.startIndex)
                }
            }
        }
    }

    private func makeParams(length n: Int) -> Int {
        let u: Int, v: Int
        switch algorithm {
        case .ff1: u = n / 2
        case .ff31: u = (n + 1) / 2
        }
        v = n - u
        let mU = BigConstant.power(radix, u)
        let mV = BigConstant.power(radix, v)
        let big = u >= v ? mU : mV
        let fast = !forceMultiLimb && big.uint64 != nil
        var b = 0, d = 0, varBlocks = 1, extraBlocks = 0
        if algorithm == .ff1 {
            // b = ⌈⌈v·log2(radix)⌉ / 8⌉, exactly: ⌈v·log2(radix)⌉ is the bit length of radix^v − 1.
            b = (mV.minusOne().bitLength + 7) / 8
            d = 4 * ((b + 3) / 4) + 4
            varBlocks = (b + 1 + 15) / 16
            extraBlocks = (d + 15) / 16 - 1
        }
        let limbs = Swift.max(1, (big.bitLength + 31) / 32)
        func normalized(_ m: BigConstant) -> ([UInt32], Int) {
            var l = m.limbs
            while l.count > 1 && l.last == 0 { l.removeLast() }
            let s = l.last!.leadingZeroBitCount
            if s > 0 {
                var i = l.count - 1
                while i > 0 {
                    l[i] = (l[i] << UInt32(s)) | (l[i - 1] >> UInt32(32 - s))
                    i -= 1
                }
                l[0] <<= UInt32(s)
            }
            return (l, s)
        }
        let (nU, sU) = normalized(mU)
        let (nV, sV) = normalized(mV)
        let p = LengthParams(
            n: n, u: u, v: v, fast: fast,
            modulusU: mU.uint64 ?? 0, modulusV: mV.uint64 ?? 0,
            divisorU: Divisor64(mU.uint64 ?? 1), divisorV: Divisor64(mV.uint64 ?? 1),
            twoTo64U: Divisor64(mU.uint64 ?? 1).twoTo64, twoTo64V: Divisor64(mV.uint64 ?? 1).twoTo64,
            b: b, d: d, varBlocks: varBlocks, extraBlocks: extraBlocks,
            limbs: limbs,
            wideModulusU: mU.padded(to: limbs), wideModulusV: mV.padded(to: limbs),
            normalizedU: nU, normalizedV: nV, shiftU: sU, shiftV: sV,
            yLimbs: algorithm == .ff1 ? d / 4 : 4)
        params.append(p)
        ff1TweakState.append(FF1TweakState())
        cachedLimbs += p.wideModulusU.count + p.wideModulusV.count + p.normalizedU.count + p.normalizedV.count
        return params.count - 1
    }

    /// Orders the groups, assigns slots and sizes the scratch buffers.
    private func layout(_ count: Int) {
        // Fast groups first; then multi-limb groups by decreasing b (insertion sort: few groups).
        groupOrder.removeAll(keepingCapacity: true)
        for g in groups.indices where groups[g].fast { groupOrder.append(g) }
        let firstWide = groupOrder.count
        for g in groups.indices where !groups[g].fast {
            groupOrder.append(g)
            var k = groupOrder.count - 1
            while k > firstWide && params[groups[groupOrder[k - 1]].param].b < params[groups[groupOrder[k]].param].b {
                groupOrder.swapAt(k, k - 1)
                k -= 1
            }
        }
        var slot = 0
        var wideLimbs = 0, qTotal = 0, extTotal = 0, tempBytes = 0
        for g in groupOrder {
            groups[g].slotStart = slot
            slot += groups[g].count
            if !groups[g].fast {
                let p = params[groups[g].param]
                groups[g].wideBase = wideLimbs
                wideLimbs += 2 * groups[g].count * p.limbs
                groups[g].qBase = qTotal
                groups[g].extBase = extTotal
                if algorithm == .ff1 {
                    qTotal += groups[g].count * p.varBlocks * 16
                    extTotal += groups[g].count * p.extraBlocks * 16
                }
                // y, un (y + 1), r and a conversion copy: all in limbs.
                tempBytes = Swift.max(tempBytes, 4 * (2 * p.yLimbs + 1 + 2 * p.limbs))
            }
        }
        // Counting sort of the values by group, on local arrays (no exclusivity checks per value).
        var ord = [Int32](), fill = [Int]()
        swap(&ord, &self.order)
        swap(&fill, &self.groupFill)
        ord.removeAll(keepingCapacity: true)
        ord.append(contentsOf: repeatElement(0, count: count))
        if groups.count == 1 {
            for i in 0..<count { ord[i] = Int32(truncatingIfNeeded: i) }
        } else {
            fill.removeAll(keepingCapacity: true)
            for g in groups { fill.append(g.slotStart) }
            groupOfValue.withUnsafeBufferPointer { gov in
                ord.withUnsafeMutableBufferPointer { ord in
                    fill.withUnsafeMutableBufferPointer { fill in
                        for i in 0..<count {
                            let g = Int(gov[i])
                            ord[fill[g]] = Int32(truncatingIfNeeded: i)
                            fill[g] &+= 1
                        }
                    }
                }
            }
        }
        swap(&ord, &self.order)
        swap(&fill, &self.groupFill)
        fastCount = 0
        for g in groupOrder[0..<firstWide] { fastCount += groups[g].count }
        fastStride = fastCount
        blocks.reserve(16 * count)
        fastState.reserve(2 * 8 * fastCount)
        wideState.reserve(4 * wideLimbs)
        qBytes.reserve(qTotal)
        extBlocks.reserve(extTotal)
        temp.reserve(tempBytes)
    }

    // MARK: - FF1 tweak-dependent constants

    /// For every length group: CIPH(P), then the CBC-MAC over Q's constant blocks (tweak and
    /// padding), batched across groups; cached until the tweak changes.
    private func prepareFF1(tweak: [UInt8]) throws {
        if tweakEpoch == 0 || tweak != cachedTweak {
            tweakEpoch += 1
            cachedTweak = tweak
        }
        pending.removeAll(keepingCapacity: true)
        for g in groups where ff1TweakState[g.param].epoch != tweakEpoch { pending.append(g.param) }
        if pending.isEmpty { return }
        let t = tweak.count
        let radix = UInt32(self.radix)
        let out = blocks.base
        // P = [1]^1 || [2]^1 || [1]^1 || [radix]^3 || [10]^1 || [u mod 256]^1 || [n]^4 || [t]^4
        for (k, p) in pending.enumerated() {
            let lp = params[p]
            let bytes: [UInt8] = [
                1, 2, 1,
                UInt8(truncatingIfNeeded: radix >> 16), UInt8(truncatingIfNeeded: radix >> 8), UInt8(truncatingIfNeeded: radix),
                10, UInt8(truncatingIfNeeded: lp.u),
                UInt8(truncatingIfNeeded: lp.n >> 24), UInt8(truncatingIfNeeded: lp.n >> 16),
                UInt8(truncatingIfNeeded: lp.n >> 8), UInt8(truncatingIfNeeded: lp.n),
                UInt8(truncatingIfNeeded: t >> 24), UInt8(truncatingIfNeeded: t >> 16),
                UInt8(truncatingIfNeeded: t >> 8), UInt8(truncatingIfNeeded: t),
            ]
            bytes.withUnsafeBytes { (out + 16 * k).copyMemory(from: $0.baseAddress!, byteCount: 16) }
        }
        try blockCipher.encryptBlocks(UnsafeMutableRawBufferPointer(start: out, count: 16 * pending.count))
        var chains = pending.indices.map { Block16(loading: out + 16 * $0) }
        // Q = T || [0]^((−t−b−1) mod 16) || [i]^1 || [NUM(B)]^b: its blocks made only of T and the
        // padding are the same in every round.
        func tp(_ index: Int) -> UInt8 { index < t ? tweak[index] : 0 }
        let constBlocks = pending.map { p -> Int in
            let pad = ((-(t + params[p].b + 1)) % 16 + 16) % 16
            return (t + pad) / 16
        }
        var step = 0
        while constBlocks.first(where: { $0 > step }) != nil {
            var m = 0
            for (k, _) in pending.enumerated() where constBlocks[k] > step {
                var q = Block16()
                withUnsafeMutableBytes(of: &q) { for j in 0..<16 { $0[j] = tp(16 * step + j) } }
                (chains[k] ^ q).store(to: out + 16 * m)
                m += 1
            }
            try blockCipher.encryptBlocks(UnsafeMutableRawBufferPointer(start: out, count: 16 * m))
            m = 0
            for (k, _) in pending.enumerated() where constBlocks[k] > step {
                chains[k] = Block16(loading: out + 16 * m)
                m += 1
            }
            step += 1
        }
        for (k, p) in pending.enumerated() {
            let pad = ((-(t + params[p].b + 1)) % 16 + 16) % 16
            let headCount = (t + pad) % 16
            var head = Block16()
            withUnsafeMutableBytes(of: &head) { for j in 0..<headCount { $0[j] = tp(16 * constBlocks[k] + j) } }
            ff1TweakState[p] = FF1TweakState(epoch: tweakEpoch, chain: chains[k], head: head, headCount: headCount)
        }
    }

    // MARK: - Per-value tweaks

    /// The FF1 P block of a length group for tweaks of `t` bytes.
    private func ff1P(_ lp: LengthParams, tweakLength t: Int) -> [UInt8] {
        let radix = UInt32(self.radix)
        return [
            1, 2, 1,
            UInt8(truncatingIfNeeded: radix >> 16), UInt8(truncatingIfNeeded: radix >> 8), UInt8(truncatingIfNeeded: radix),
            10, UInt8(truncatingIfNeeded: lp.u),
            UInt8(truncatingIfNeeded: lp.n >> 24), UInt8(truncatingIfNeeded: lp.n >> 16),
            UInt8(truncatingIfNeeded: lp.n >> 8), UInt8(truncatingIfNeeded: lp.n),
            UInt8(truncatingIfNeeded: t >> 24), UInt8(truncatingIfNeeded: t >> 16),
            UInt8(truncatingIfNeeded: t >> 8), UInt8(truncatingIfNeeded: t),
        ]
    }

    /// FF1 with a tweak per value: per slot, CIPH(P) of its length group chained through the
    /// blocks of Q made only of its tweak and padding (batched: one AES call per block step),
    /// and the head of Q's first variable block, into ``slotTweaks``.
    private func prepareFF1PerValue(_ tweaks: [UInt8], _ t: Int) throws {
        let count = order.count
        let out = blocks.base
        for (k, g) in groups.enumerated() {
            ff1P(params[g.param], tweakLength: t).withUnsafeBytes { (out + 16 * k).copyMemory(from: $0.baseAddress!, byteCount: 16) }
        }
        try blockCipher.encryptBlocks(UnsafeMutableRawBufferPointer(start: out, count: 16 * groups.count))
        let pChains = groups.indices.map { Block16(loading: out + 16 * $0) }
        slotTweaks.reserve(32 * count)
        let st = slotTweaks.base
        var constBlocks = [Int](repeating: 0, count: groups.count)
        try order.withUnsafeBufferPointer { ord in
            try tweaks.withUnsafeBufferPointer { tw in
                for gi in groups.indices {
                    let g = groups[gi]
                    let pad = ((-(t + params[g.param].b + 1)) % 16 + 16) % 16
                    constBlocks[gi] = (t + pad) / 16
                    let h = (t + pad) % 16
                    groups[gi].headCount = h
                    for slot in g.slotStart..<(g.slotStart + g.count) {
                        pChains[gi].store(to: st + 32 * slot)
                        Self.tweakBlock(tw, Int(ord[slot]) * t, t, from: 16 * constBlocks[gi], count: h).store(to: st + 32 * slot + 16)
                    }
                }
                // A group whose values' tweaks agree on a block (the column tweak before a per-value
                // binding) chains it once for the group, not once per value: while every slot of
                // the group holds the same state, a block equal in all of them gives one state.
                var shared = [Bool](repeating: true, count: groups.count)
                var step = 0
                while constBlocks.contains(where: { $0 > step }) {
                    var m = 0
                    for gi in groups.indices where constBlocks[gi] > step {
                        let g = groups[gi]
                        if shared[gi] {
                            let first = Self.tweakBlock(tw, Int(ord[g.slotStart]) * t, t, from: 16 * step, count: 16)
                            shared[gi] = ((g.slotStart + 1)..<(g.slotStart + g.count)).allSatisfy { slot in
                                let q = Self.tweakBlock(tw, Int(ord[slot]) * t, t, from: 16 * step, count: 16)
                                return q.w0 == first.w0 && q.w1 == first.w1
                            }
                            if shared[gi] {
                                (Block16(loading: st + 32 * g.slotStart) ^ first).store(to: out + 16 * m)
                                m += 1
                                continue
                            }
                        }
                        for slot in g.slotStart..<(g.slotStart + g.count) {
                            let q = Self.tweakBlock(tw, Int(ord[slot]) * t, t, from: 16 * step, count: 16)
                            (Block16(loading: st + 32 * slot) ^ q).store(to: out + 16 * m)
                            m += 1
                        }
                    }
                    try blockCipher.encryptBlocks(UnsafeMutableRawBufferPointer(start: out, count: 16 * m))
                    m = 0
                    for gi in groups.indices where constBlocks[gi] > step {
                        let g = groups[gi]
                        if shared[gi] {
                            for slot in g.slotStart..<(g.slotStart + g.count) {
                                (st + 32 * slot).copyMemory(from: out + 16 * m, byteCount: 16)
                            }
                            m += 1
                            continue
                        }
                        for slot in g.slotStart..<(g.slotStart + g.count) {
                            (st + 32 * slot).copyMemory(from: out + 16 * m, byteCount: 16)
                            m += 1
                        }
                    }
                    step += 1
                }
            }
        }
    }

    /// Bytes `from ..< from + count` (count ≤ 16) of the tweak at `base` (of length `t`) as the
    /// head of a block, zero past the tweak's end and past `count`.
    @inline(__always)
    private static func tweakBlock(_ tw: UnsafeBufferPointer<UInt8>, _ base: Int, _ t: Int, from: Int, count: Int) -> Block16 {
        var b = Block16()
        let n = Swift.max(0, Swift.min(count, t - from))
        if n > 0 {
            withUnsafeMutableBytes(of: &b) { $0.baseAddress!.copyMemory(from: tw.baseAddress! + base + from, byteCount: n) }
        }
        return b
    }

    /// FF3-1 with a tweak per value: per slot the tails of T_R and T_L (the last 4 bytes of
    /// REVB(W ⊕ [i]^4) before the round number), into ``slotTweaks``.
    private func prepareFF31PerValue(_ tweaks: [UInt8]) {
        let count = order.count
        slotTweaks.reserve(8 * count)
        let st = slotTweaks.base
        order.withUnsafeBufferPointer { ord in
            tweaks.withUnsafeBufferPointer { tw in
                for slot in 0..<count {
                    let b = Int(ord[slot]) * 7
                    // T_L = T[0..27] || 0^4, T_R = T[32..55] || T[28..31] || 0^4; tail bytes W3 W2 W1 W0.
                    let p = st + 8 * slot
                    p.storeBytes(of: (tw[b + 3] & 0x0F) << 4, as: UInt8.self)
                    p.storeBytes(of: tw[b + 6], toByteOffset: 1, as: UInt8.self)
                    p.storeBytes(of: tw[b + 5], toByteOffset: 2, as: UInt8.self)
                    p.storeBytes(of: tw[b + 4], toByteOffset: 3, as: UInt8.self)
                    p.storeBytes(of: tw[b + 3] & 0xF0, toByteOffset: 4, as: UInt8.self)
                    p.storeBytes(of: tw[b + 2], toByteOffset: 5, as: UInt8.self)
                    p.storeBytes(of: tw[b + 1], toByteOffset: 6, as: UInt8.self)
                    p.storeBytes(of: tw[b + 0], toByteOffset: 7, as: UInt8.self)
                }
            }
        }
    }
}
