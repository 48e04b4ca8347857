public import Columns

/// Decoders for the DELTA encodings (Encodings.md), which data page v2 writers (Spark,
/// parquet-mr, parquet-cpp with `column_encoding`) use: DELTA_BINARY_PACKED for INT32/INT64,
/// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY for BYTE_ARRAY.
///
/// Each decoder appends `count` values to `out` (the page's non-null values) and returns the bytes
/// consumed. Every header field, bit width, length and prefix is bounds-checked: malformed bytes
/// are `.corrupt` and leave `out` as it was. Arithmetic wraps (two's complement), as the spec's
/// writers compute it.
public enum Delta {
    /// Decodes `count` DELTA_BINARY_PACKED INT32 values. The header's total must be at least
    /// `count`; values past `count` are skipped, and their bytes counted as consumed.
    public static func decodeBinaryPacked32(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Int32]) throws -> Int {
        try decodeBinaryPacked(bytes, count: count, into: &out, "DELTA_BINARY_PACKED")
    }

    /// Decodes `count` DELTA_BINARY_PACKED INT64 values (see ``decodeBinaryPacked32(_:count:into:)``).
    public static func decodeBinaryPacked64(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Int64]) throws -> Int {
        try decodeBinaryPacked(bytes, count: count, into: &out, "DELTA_BINARY_PACKED")
    }

    /// Decodes `count` DELTA_LENGTH_BYTE_ARRAY values: the lengths DELTA_BINARY_PACKED, then all
    /// values' bytes back to back.
    public static func decodeLengthByteArray(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout ByteColumn) throws -> Int {
        var lengths: [Int32] = []
        let used = try decodeBinaryPacked(bytes, count: count, into: &lengths, "DELTA_LENGTH_BYTE_ARRAY lengths")
        var total = 0
        for (i, length) in lengths.enumerated() {
            guard length >= 0 else { throw ParquetError(.corrupt, "DELTA_LENGTH_BYTE_ARRAY: value \(i) has negative length \(length)") }
            total += Int(length)
        }
        guard total <= bytes.count - used else {
            throw ParquetError(.corrupt, "DELTA_LENGTH_BYTE_ARRAY: values need \(total) bytes, the page has \(bytes.count - used)")
        }
        out.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[used..<(used + total)]))
        out.offsets.reserveCapacity(out.offsets.count + count)
        var end = out.offsets[out.offsets.count - 1]
        for length in lengths {
            end += Int(length)
            out.offsets.append(end)
        }
        return used + total
    }

    /// Decodes `count` DELTA_BYTE_ARRAY values (incremental encoding): prefix lengths
    /// DELTA_BINARY_PACKED, then the suffixes as DELTA_LENGTH_BYTE_ARRAY; value `i` is the first
    /// `prefix[i]` bytes of value `i - 1` followed by suffix `i`. A prefix longer than the
    /// previous value is `.corrupt`.
    public static func decodeByteArray(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout ByteColumn) throws -> Int {
        var prefixes: [Int32] = []
        var suffixes: [Int32] = []
        let prefixBytes = try decodeBinaryPacked(bytes, count: count, into: &prefixes, "DELTA_BYTE_ARRAY prefix lengths")
        let rest = UnsafeRawBufferPointer(rebasing: bytes[prefixBytes...])
        let suffixBytes = try decodeBinaryPacked(rest, count: count, into: &suffixes, "DELTA_BYTE_ARRAY suffix lengths")
        // Validate and total before touching `out`.
        var total = 0
        var suffixTotal = 0
        var previous = 0
        for i in 0..<count {
            let p = Int(prefixes[i])
            let s = Int(suffixes[i])
            guard p >= 0, s >= 0 else { throw ParquetError(.corrupt, "DELTA_BYTE_ARRAY: value \(i) has a negative prefix or suffix length") }
            guard p <= previous else { throw ParquetError(.corrupt, "DELTA_BYTE_ARRAY: value \(i) has prefix \(p), the previous value has \(previous) bytes") }
            previous = p + s
            total += previous
            suffixTotal += s
        }
        let data = UnsafeRawBufferPointer(rebasing: rest[suffixBytes...])
        guard suffixTotal <= data.count else {
            throw ParquetError(.corrupt, "DELTA_BYTE_ARRAY: suffixes need \(suffixTotal) bytes, the page has \(data.count)")
        }
        let start = out.bytes.count
        out.bytes.append(contentsOf: repeatElement(0, count: total))
        out.offsets.reserveCapacity(out.offsets.count + count)
        var at = start
        var previousStart = start
        var from = 0
        out.bytes.withUnsafeMutableBytes { dst in
            for i in 0..<count {
                let p = Int(prefixes[i])
                let s = Int(suffixes[i])
                if p > 0 { (dst.baseAddress! + at).copyMemory(from: dst.baseAddress! + previousStart, byteCount: p) }
                if s > 0 { (dst.baseAddress! + at + p).copyMemory(from: data.baseAddress! + from, byteCount: s) }
                previousStart = at
                at += p + s
                from += s
            }
        }
        var end = start
        for i in 0..<count {
            end += Int(prefixes[i]) + Int(suffixes[i])
            out.offsets.append(end)
        }
        return prefixBytes + suffixBytes + suffixTotal
    }

    // MARK: DELTA_BINARY_PACKED

    private static func decodeBinaryPacked<T: FixedWidthInteger>(
        _ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [T], _ what: String
    ) throws
        -> Int
    {
        guard count >= 0 else { throw ParquetError(.corrupt, "\(what): negative value count \(count)") }
        if count == 0 && bytes.isEmpty { return 0 }
        var pos = 0
        let blockSize = try readULEB(bytes, &pos, what)
        let miniblocks = try readULEB(bytes, &pos, what)
        let total = try readULEB(bytes, &pos, what)
        let first = zigzag(try readULEB(bytes, &pos, what))
        guard blockSize > 0, blockSize % 128 == 0, blockSize <= 1 << 24 else { throw ParquetError(.corrupt, "\(what): block size \(blockSize) is invalid") }
        guard miniblocks > 0, blockSize % miniblocks == 0, (blockSize / miniblocks) % 32 == 0 else {
            throw ParquetError(.corrupt, "\(what): \(miniblocks) miniblocks per block of \(blockSize) is invalid")
        }
        guard total <= UInt64(Int32.max), Int(total) >= count else {
            throw ParquetError(.corrupt, "\(what): header holds \(total) values, the page needs \(count)")
        }
        let totalValues = Int(total)
        let perMini = Int(blockSize / miniblocks)
        let miniCount = Int(miniblocks)
        let start = out.count
        out.reserveCapacity(start + count)
        if totalValues == 0 { return pos }
        var last = first
        if count > 0 { out.append(T(truncatingIfNeeded: last)) }
        var produced = 1
        do {
            while produced < totalValues {
                let minDelta = zigzag(try readULEB(bytes, &pos, what))
                guard miniCount <= bytes.count - pos else { throw ParquetError(.corrupt, "\(what): miniblock bit widths past the end of the data") }
                let widthsAt = pos
                pos += miniCount
                for m in 0..<miniCount where produced < totalValues {
                    let w = Int(bytes[widthsAt + m])
                    guard w <= 64 else { throw ParquetError(.corrupt, "\(what): miniblock bit width \(w) over 64") }
                    let need = min(perMini, totalValues - produced)
                    let available = min(perMini * w / 8, bytes.count - pos)
                    guard need * w <= available * 8 else { throw ParquetError(.corrupt, "\(what): miniblock past the end of the data") }
                    let store = max(0, min(need, count - produced))
                    if store > 0 {
                        if w == 0 {
                            for _ in 0..<store {
                                last = last &+ minDelta
                                out.append(T(truncatingIfNeeded: last))
                            }
                        } else {
                            var bit = 0
                            for _ in 0..<store {
                                last = last &+ minDelta &+ unpack(bytes, pos, bit, w)
                                out.append(T(truncatingIfNeeded: last))
                                bit += w
                            }
                        }
                    }
                    produced += need
                    pos += available
                }
            }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
        return pos
    }

    /// The `w`-bit (1...64) value at bit `bit` of the miniblock at byte `base` (which the caller
    /// checked holds it).
    @inline(__always)
    private static func unpack(_ bytes: UnsafeRawBufferPointer, _ base: Int, _ bit: Int, _ w: Int) -> UInt64 {
        let byte = base + bit >> 3
        let shift = UInt64(bit & 7)
        var v: UInt64
        if byte + 8 <= bytes.count {
            v = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: byte, as: UInt64.self)) >> shift
            if Int(shift) + w > 64 { v |= UInt64(bytes[byte + 8]) << (64 - shift) }
        } else {
            var word: UInt64 = 0
            for k in 0..<(bytes.count - byte) { word |= UInt64(bytes[byte + k]) << UInt64(8 * k) }
            v = word >> shift
        }
        return w == 64 ? v : v & ((1 << UInt64(w)) - 1)
    }

    private static func readULEB(_ bytes: UnsafeRawBufferPointer, _ pos: inout Int, _ what: String) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < bytes.count else { throw ParquetError(.corrupt, "\(what): header runs past the end of the data") }
            let b = bytes[pos]
            pos += 1
            guard shift < 63 || (shift == 63 && b <= 1) else { throw ParquetError(.corrupt, "\(what): varint over 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    @inline(__always)
    private static func zigzag(_ v: UInt64) -> UInt64 { (v >> 1) ^ (0 &- (v & 1)) }
}
