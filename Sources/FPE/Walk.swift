// Cycle-walking (Black–Rogaway) for transforms whose outputs must satisfy a rule (a Luhn-valid
// card, a valid SSN, a day inside a range): the cipher is applied again to each value that lands
// outside the accepted set until it lands inside. A card walks about ten times, so the passes after
// the first are most of the work; on the 64-bit path they run on the halves already held as
// integers, over the values still walking only (compacted to the front of every group), without
// re-validating, re-grouping or re-loading the batch.

extension FPECipher {
    func processWalking(
        _ batch: inout NumeralBatch, tweaks: Tweaks, decrypting: Bool, maxWalkPasses: Int,
        accept: (Int, UnsafeBufferPointer<UInt16>) -> Bool, acceptNumber: ((Int, UInt64) -> Bool)? = nil
    ) throws {
        guard try begin(batch, tweaks: tweaks) else { return }
        var ended = false
        defer { if !ended { endCall() } }
        try runRounds(count: batch.count, tweaks: tweaks, decrypting: decrypting)
        if let acceptNumber, fastCount == batch.count, numbersFit {
            // Tested as numbers: each value is written back once, when it is accepted.
            var passes = 0
            while keepRejected(&batch, byNumber: acceptNumber) > 0 {
                passes += 1
                guard passes <= maxWalkPasses else {
                    throw FPEError(.walkDidNotConverge, "cycle-walking left \(fastCount) values outside the accepted set after \(maxWalkPasses) passes")
                }
                try runRounds(count: fastCount, tweaks: tweaks, decrypting: decrypting)
            }
            return
        }
        store(&batch)
        guard fastCount == batch.count else {
            // Some values are on the multi-limb path: walk by re-submitting the rejected values.
            endCall()
            ended = true
            try walkResubmitting(&batch, tweaks: tweaks, decrypting: decrypting, maxWalkPasses: maxWalkPasses, accept: accept)
            return
        }
        var passes = 0
        while keepRejected(batch, accept) > 0 {
            passes += 1
            guard passes <= maxWalkPasses else {
                throw FPEError(.walkDidNotConverge, "cycle-walking left \(fastCount) values outside the accepted set after \(maxWalkPasses) passes")
            }
            try runRounds(count: fastCount, tweaks: tweaks, decrypting: decrypting)
            store(&batch)
        }
    }

    /// FF1 with every group's NUM_radix(X) = NUM(A)·radix^v + NUM(B) below 2^64.
    private var numbersFit: Bool {
        guard algorithm == .ff1 else { return false }
        for g in groups {
            let p = params[g.param]
            guard g.fast, !p.modulusU.multipliedReportingOverflow(by: p.modulusV).overflow else { return false }
        }
        return true
    }

    /// ``keepRejected(_:_:)`` with the test on NUM_radix(X) (FF1, ``numbersFit``): an accepted
    /// value's numerals are written into `batch` here, the rejected ones stay integers.
    private func keepRejected(_ batch: inout NumeralBatch, byNumber accept: (Int, UInt64) -> Bool) -> Int {
        let fast = fastState.base.assumingMemoryBound(to: UInt64.self)
        let stride = fastStride
        let rc = radixConstants
        let offsets = batch.offsets
        return batch.numerals.withUnsafeMutableBufferPointer { nums in
            offsets.withUnsafeBufferPointer { offs in
                compactWalking { p, slot, k in
                    let a = fast[slot], b = fast[stride + slot]
                    guard accept(k, a &* p.modulusV &+ b) else { return true }
                    let x = nums.baseAddress! + offs[k]
                    Self.digitsBE(a, p.u, rc, x)
                    Self.digitsBE(b, p.v, rc, x + p.u)
                    return false
                }
            }
        }
    }

    /// Keeps, in every group, only the slots whose value `accept` rejects (moved to the front of the
    /// group with their two halves); returns how many remain. Fast path only.
    private func keepRejected(_ batch: NumeralBatch, _ accept: (Int, UnsafeBufferPointer<UInt16>) -> Bool) -> Int {
        batch.numerals.withUnsafeBufferPointer { nums in
            batch.offsets.withUnsafeBufferPointer { offs in
                compactWalking { _, _, k in !accept(k, UnsafeBufferPointer(rebasing: nums[offs[k]..<offs[k + 1]])) }
            }
        }
    }

    /// Moves the slots for which `walks(params, slot, value index)` is true to the front of their
    /// group, with their two halves and per-value tweak, and drops the others; returns how many
    /// remain (``fastCount``). Fast path only.
    @inline(__always)
    private func compactWalking(_ walks: (LengthParams, Int, Int) -> Bool) -> Int {
        let stride = fastStride
        let fast = fastState.base.assumingMemoryBound(to: UInt64.self)
        var groups = [Group]()
        swap(&groups, &self.groups)
        defer { swap(&groups, &self.groups) }
        var kept = 0
        let tweakStride = perValueTweaks ? (algorithm == .ff1 ? 32 : 8) : 0
        let st = slotTweaks.base
        order.withUnsafeMutableBufferPointer { ord in
            for g in groupOrder {
                let p = params[groups[g].param]
                let start = kept
                for slot in groups[g].slotStart..<(groups[g].slotStart + groups[g].count) {
                    guard walks(p, slot, Int(ord[slot])) else { continue }
                    ord[kept] = ord[slot]
                    fast[kept] = fast[slot]
                    fast[stride + kept] = fast[stride + slot]
                    if tweakStride > 0 && kept != slot {
                        (st + tweakStride * kept).copyMemory(from: st + tweakStride * slot, byteCount: tweakStride)
                    }
                    kept += 1
                }
                groups[g].slotStart = start
                groups[g].count = kept - start
            }
        }
        fastCount = kept
        return kept
    }

    /// The general walk: copies the rejected values into a batch of their own, applies the cipher
    /// to it, copies the results back, and repeats with the values still rejected.
    private func walkResubmitting(
        _ batch: inout NumeralBatch, tweaks: Tweaks, decrypting: Bool, maxWalkPasses: Int,
        accept: (Int, UnsafeBufferPointer<UInt16>) -> Bool
    ) throws {
        func rejected(_ k: Int, _ b: NumeralBatch, _ i: Int) -> Bool {
            b.numerals.withUnsafeBufferPointer { !accept(k, UnsafeBufferPointer(rebasing: $0[b.offsets[i]..<b.offsets[i + 1]])) }
        }
        var pending = (0..<batch.count).filter { rejected($0, batch, $0) }
        var passes = 0
        var walking = NumeralBatch()
        while !pending.isEmpty {
            passes += 1
            guard passes <= maxWalkPasses else {
                throw FPEError(.walkDidNotConverge, "cycle-walking left \(pending.count) values outside the accepted set after \(maxWalkPasses) passes")
            }
            walking.removeAll(keepingCapacity: true)
            for k in pending { walking.append(batch.value(at: k)) }
            switch tweaks {
            case .shared:
                try process(&walking, tweaks: tweaks, decrypting: decrypting)
            case .perValue(let all, let length):
                var sub: [UInt8] = []
                sub.reserveCapacity(pending.count * length)
                for k in pending { sub.append(contentsOf: all[(k * length)..<((k + 1) * length)]) }
                try process(&walking, tweaks: .perValue(sub, length), decrypting: decrypting)
            }
            for (w, k) in pending.enumerated() {
                batch.numerals.replaceSubrange(batch.offsets[k]..<batch.offsets[k + 1], with: walking.value(at: w))
            }
            pending = pending.enumerated().filter { rejected($0.element, walking, $0.offset) }.map(\.element)
        }
    }
}
