public import Columns

/// Collects the values a column is classified on, across the batches a pipeline reads: the first
/// `capacity` non-empty values (`isFull` tells the pipeline it may stop feeding), or a uniform
/// reservoir over the whole stream (Algorithm R with a seeded generator: deterministic).
/// Values are trimmed; empty cells and null markers (`NULL`, `N/A`, `\N`, …) are counted, not kept.
public struct ColumnSampler: Sendable {
    public enum Mode: Sendable, Equatable {
        case firstValues
        case reservoir(seed: UInt64)
    }

    public let capacity: Int
    public let mode: Mode
    /// Non-empty values offered so far.
    public private(set) var seen = 0
    /// Empty or null cells offered so far.
    public private(set) var empty = 0

    /// Kept values: `slots[k]` is a range of `arena`.
    private var arena: [UInt8] = []
    private var slots: [Range<Int>] = []
    private var live = 0
    private var rng: UInt64

    public init(capacity: Int = TaggerConfig.default.sampleSize, mode: Mode = .firstValues) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.mode = mode
        if case .reservoir(let seed) = mode { rng = seed } else { rng = 0 }
        slots.reserveCapacity(capacity)
    }

    /// True once the first `capacity` non-empty values are in (never in reservoir mode).
    public var isFull: Bool { mode == .firstValues && slots.count >= capacity }

    /// Number of values kept.
    public var count: Int { slots.count }

    public mutating func add(_ column: ByteColumn) {
        column.bytes.withUnsafeBufferPointer { base in
            for i in 0..<column.count {
                if isFull { return }
                let r = column.range(i)
                add(Bytes(rebasing: base[r]))
            }
        }
    }

    public mutating func add(_ value: ArraySlice<UInt8>) {
        value.withUnsafeBufferPointer { add($0) }
    }

    public mutating func add(_ value: String) {
        withBytes(value) { add($0) }
    }

    public mutating func add(_ raw: UnsafeBufferPointer<UInt8>) {
        let v = trimmed(raw)
        if isNullMarker(v) {
            empty += 1
            return
        }
        seen += 1
        if slots.count < capacity {
            slots.append(store(v))
            return
        }
        guard case .reservoir = mode else { return }
        let j = Int(nextRandom() % UInt64(seen))
        if j < capacity {
            live -= slots[j].count
            slots[j] = store(v)
            if arena.count > 4 * max(live, 4096) { compact() }
        }
    }

    /// The kept values as a column.
    public var values: ByteColumn {
        var c = ByteColumn(reservingValues: slots.count, bytes: live)
        arena.withUnsafeBufferPointer { a in
            for r in slots { c.append(bytes: UnsafeRawBufferPointer(Bytes(rebasing: a[r]))) }
        }
        return c
    }

    public mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        live = 0
        seen = 0
        empty = 0
        if case .reservoir(let seed) = mode { rng = seed }
    }

    private mutating func store(_ v: Bytes) -> Range<Int> {
        let lo = arena.count
        arena.append(contentsOf: v)
        live += v.count
        return lo..<arena.count
    }

    private mutating func compact() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(live * 2)
        for k in slots.indices {
            let lo = fresh.count
            fresh.append(contentsOf: arena[slots[k]])
            slots[k] = lo..<fresh.count
        }
        arena = fresh
    }

    /// SplitMix64.
    private mutating func nextRandom() -> UInt64 {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
