public import Columns

/// A dictionary builder for BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY columns: an open-addressing hash
/// table (linear probing, load factor at most 1/2) over one contiguous buffer of the distinct
/// values, so adding a value allocates nothing beyond amortized buffer growth.
///
/// Indices are dense and stable: the first distinct value is 0, the next 1, and a value keeps its
/// index until ``reset()``. ``byteSize`` is the PLAIN size of the dictionary page so a writer can
/// fall back to PLAIN past a limit (parquet-cpp uses 1 MiB).
public struct ByteArrayDictionary: Sendable {
    /// The distinct values, in index order.
    public private(set) var values: ByteColumn
    /// Per slot, the value's index + 1 (0: empty).
    private var slots: [UInt32]
    /// Per value, its hash (compared before the bytes, and reused when the table grows).
    private var hashes: [UInt64]
    private let seed: UInt64

    /// An empty dictionary.
    public init() {
        values = ByteColumn()
        slots = [UInt32](repeating: 0, count: 256)
        hashes = []
        var rng = SystemRandomNumberGenerator()
        seed = rng.next()
    }

    /// The number of distinct values.
    public var count: Int { values.count }

    /// The dictionary page body's size in bytes (PLAIN BYTE_ARRAY: 4 + length per value).
    public var byteSize: Int { values.bytes.count + 4 * values.count }

    /// The index of `value`, adding it when new. `value` must be shorter than 4 GiB (Parquet's
    /// length limit).
    public mutating func index(of value: UnsafeRawBufferPointer) -> UInt32 {
        precondition(value.count <= Int(UInt32.max), "ByteArrayDictionary: value of 4 GiB or more")
        let h = hashBytes(value, seed)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[slot]
            if s == 0 { break }
            let i = Int(s) - 1
            if hashes[i] == h && equals(i, value) { return UInt32(i) }
            slot = (slot + 1) & mask
        }
        let index = values.count
        values.append(bytes: value)
        hashes.append(h)
        slots[slot] = UInt32(index + 1)
        if 2 * values.count > slots.count { grow() }
        return UInt32(index)
    }

    /// Appends the index of each row of `column` in `rows` to `indices`, adding new values.
    public mutating func indices(of column: ByteColumn, rows: Range<Int>, into indices: inout [UInt32]) {
        indices.reserveCapacity(indices.count + rows.count)
        column.bytes.withUnsafeBytes { all in
            for row in rows {
                indices.append(index(of: UnsafeRawBufferPointer(rebasing: all[column.offsets[row]..<column.offsets[row + 1]])))
            }
        }
    }

    /// Appends the dictionary page body for a BYTE_ARRAY column: the values, PLAIN encoded.
    public func encodePlain(into out: inout [UInt8]) {
        out.reserveCapacity(out.count + byteSize)
        for i in 0..<values.count {
            let r = values.range(i)
            withUnsafeBytes(of: UInt32(r.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: values.bytes[r])
        }
    }

    /// Appends the dictionary page body for a FIXED_LEN_BYTE_ARRAY column: the values' bytes back
    /// to back (every value must have the column's width; the writer checks).
    public func encodePlainFixed(into out: inout [UInt8]) { out.append(contentsOf: values.bytes) }

    /// Empties the dictionary, keeping its buffers' capacity.
    public mutating func reset() {
        values.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = 0 }
    }

    private func equals(_ i: Int, _ value: UnsafeRawBufferPointer) -> Bool {
        let start = values.offsets[i]
        let end = values.offsets[i + 1]
        guard end - start == value.count else { return false }
        return values.bytes.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[start..<end]).elementsEqual(value) }
    }

    private mutating func grow() {
        let size = slots.count * 2
        let mask = size - 1
        var fresh = [UInt32](repeating: 0, count: size)
        for i in 0..<hashes.count {
            var slot = Int(truncatingIfNeeded: hashes[i]) & mask
            while fresh[slot] != 0 { slot = (slot + 1) & mask }
            fresh[slot] = UInt32(i + 1)
        }
        slots = fresh
    }
}

/// A dictionary builder for INT32 / INT64 (and FLOAT / DOUBLE by bit pattern) columns: open
/// addressing over the distinct values. Indices are dense and stable until ``reset()``.
public struct IntegerDictionary<Value: FixedWidthInteger & Sendable>: Sendable {
    /// The distinct values, in index order.
    public private(set) var values: [Value]
    private var slots: [UInt32]

    /// An empty dictionary.
    public init() {
        values = []
        slots = [UInt32](repeating: 0, count: 256)
    }

    /// The number of distinct values.
    public var count: Int { values.count }

    /// The dictionary page body's size in bytes.
    public var byteSize: Int { values.count * MemoryLayout<Value>.size }

    /// The index of `value`, adding it when new.
    public mutating func index(of value: Value) -> UInt32 {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: mix(UInt64(truncatingIfNeeded: value))) & mask
        while true {
            let s = slots[slot]
            if s == 0 { break }
            if values[Int(s) - 1] == value { return s - 1 }
            slot = (slot + 1) & mask
        }
        values.append(value)
        slots[slot] = UInt32(values.count)
        if 2 * values.count > slots.count { grow() }
        return UInt32(values.count - 1)
    }

    /// Appends the dictionary page body: the values, PLAIN encoded (little-endian).
    public func encodePlain(into out: inout [UInt8]) {
        out.reserveCapacity(out.count + byteSize)
        for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    }

    /// Empties the dictionary, keeping its buffers' capacity.
    public mutating func reset() {
        values.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = 0 }
    }

    private mutating func grow() {
        let size = slots.count * 2
        let mask = size - 1
        var fresh = [UInt32](repeating: 0, count: size)
        for i in 0..<values.count {
            var slot = Int(truncatingIfNeeded: mix(UInt64(truncatingIfNeeded: values[i]))) & mask
            while fresh[slot] != 0 { slot = (slot + 1) & mask }
            fresh[slot] = UInt32(i + 1)
        }
        slots = fresh
    }
}

@inline(__always)
private func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A 64-bit hash of `bytes`, 8 bytes per step, keyed by `seed`.
@inline(__always)
private func hashBytes(_ bytes: UnsafeRawBufferPointer, _ seed: UInt64) -> UInt64 {
    var h = seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
    var i = 0
    while i + 8 <= bytes.count {
        h = mix(h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        i += 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    while i < bytes.count {
        tail |= UInt64(bytes[i]) << shift
        shift += 8
        i += 1
    }
    return mix(h ^ tail)
}
