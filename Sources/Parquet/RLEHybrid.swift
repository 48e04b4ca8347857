/// The RLE / bit-packed hybrid encoding (Encodings.md, "Run Length Encoding / Bit-Packing
/// Hybrid"): repetition and definition levels, dictionary indices and RLE booleans.
///
/// A run sequence is a list of runs, each a ULEB128 header: `(n << 1) | 0` for an RLE run of `n`
/// copies of one value stored in `ceil(bitWidth / 8)` little-endian bytes, `(g << 1) | 1` for `g`
/// groups of 8 values bit-packed LSB first in `g * bitWidth` bytes.
///
/// Decoding bounds-checks every header, run length and value against the input: malformed bytes
/// are `.corrupt`, never a trap.
public enum RLEHybrid {
    /// Decodes `count` values of `bitWidth` (0...32) bits from a run sequence (no length prefix),
    /// appending them to `out`. Runs (and bit-packed padding) past `count` values are allowed;
    /// fewer than `count` values, a bit width outside 0...32, an RLE value wider than `bitWidth`
    /// and a header past the input are `.corrupt`. Returns the bytes consumed through the last run
    /// used; on error `out` is left as it was.
    @discardableResult
    public static func decode(_ bytes: UnsafeRawBufferPointer, bitWidth: Int, count: Int, into out: inout [UInt32]) throws -> Int {
        guard (0...32).contains(bitWidth) else { throw ParquetError(.corrupt, "RLE/bit-packed: bit width \(bitWidth) outside 0...32") }
        guard count >= 0 else { throw ParquetError(.corrupt, "RLE/bit-packed: negative value count \(count)") }
        if count == 0 { return 0 }
        if bitWidth == 0 && bytes.isEmpty {
            // Every value is 0; some writers emit no runs at all for a zero bit width.
            out.append(contentsOf: repeatElement(0, count: count))
            return 0
        }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: count))
        do {
            return try out.withUnsafeMutableBufferPointer { all in
                try decodeRuns(bytes, bitWidth, UnsafeMutableBufferPointer(rebasing: all[start...]))
            }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    /// Encodes `values` (each below `1 << bitWidth`; wider bits are dropped) as a run sequence
    /// with no length prefix, appending to `out`: an RLE run wherever a value repeats at least 8
    /// times (after padding pending literals to a group of 8, as parquet-cpp does), bit-packed
    /// groups of 8 otherwise, the last group padded with zeros.
    public static func encode(_ values: UnsafeBufferPointer<UInt32>, bitWidth: Int, into out: inout [UInt8]) {
        precondition((0...32).contains(bitWidth), "RLEHybrid.encode: bit width \(bitWidth) outside 0...32")
        let n = values.count
        var literalStart = 0
        var i = 0
        while i < n {
            let v = values[i]
            var j = i + 1
            while j < n && values[j] == v { j += 1 }
            if j - i >= 8 {
                let pending = i - literalStart
                let runStart = i + (pending % 8 == 0 ? 0 : 8 - pending % 8)
                if j - runStart >= 8 {
                    packLiterals(values, literalStart..<runStart, bitWidth, &out)
                    appendRLE(v, count: j - runStart, bitWidth, &out)
                    literalStart = j
                }
            }
            i = j
        }
        packLiterals(values, literalStart..<n, bitWidth, &out)
    }

    /// The bit width needed for values `0...max` (0 for `max == 0`).
    public static func bitWidth(forMax max: UInt32) -> Int { max == 0 ? 0 : 32 - max.leadingZeroBitCount }

    // MARK: framings

    /// Decodes data page v1 levels: a 4-byte little-endian length, then that many bytes of runs.
    /// Returns the bytes consumed (4 + length). (Data page v2 levels carry no prefix: their length
    /// is in the page header; pass exactly those bytes to ``decode(_:bitWidth:count:into:)``.)
    @discardableResult
    public static func decodeLengthPrefixed(_ bytes: UnsafeRawBufferPointer, bitWidth: Int, count: Int, into out: inout [UInt32]) throws -> Int {
        let length = try readLengthPrefix(bytes, "RLE levels")
        try decode(UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + length)]), bitWidth: bitWidth, count: count, into: &out)
        return 4 + length
    }

    /// Encodes data page v1 levels: a 4-byte little-endian length, then the runs.
    public static func encodeLengthPrefixed(_ values: UnsafeBufferPointer<UInt32>, bitWidth: Int, into out: inout [UInt8]) {
        let lengthAt = out.count
        out.append(contentsOf: [0, 0, 0, 0])
        encode(values, bitWidth: bitWidth, into: &out)
        patchLength(&out, at: lengthAt)
    }

    /// Decodes the dictionary indices of a PLAIN_DICTIONARY / RLE_DICTIONARY data page: one byte
    /// of bit width (0...32), then runs to the end of `bytes`. Indices are not checked against the
    /// dictionary's size; the caller does that.
    public static func decodeDictionaryIndices(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [UInt32]) throws {
        if count == 0 && bytes.isEmpty { return }
        guard let width = bytes.first else { throw ParquetError(.corrupt, "dictionary indices: empty page, expected a bit width byte") }
        guard width <= 32 else { throw ParquetError(.corrupt, "dictionary indices: bit width \(width) outside 0...32") }
        try decode(UnsafeRawBufferPointer(rebasing: bytes[1...]), bitWidth: Int(width), count: count, into: &out)
    }

    /// Encodes dictionary indices for a data page: the bit width for `dictionaryCount` entries as
    /// one byte, then the runs.
    public static func encodeDictionaryIndices(_ indices: UnsafeBufferPointer<UInt32>, dictionaryCount: Int, into out: inout [UInt8]) {
        let width = bitWidth(forMax: UInt32(clamping: max(dictionaryCount - 1, 0)))
        out.append(UInt8(width))
        encode(indices, bitWidth: width, into: &out)
    }

    /// Decodes `count` BOOLEAN values in the RLE encoding (bit width 1, a 4-byte little-endian
    /// length prefix; data page v2 writers use it), appending to `out`. Returns bytes consumed.
    @discardableResult
    public static func decodeBooleans(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Bool]) throws -> Int {
        let length = try readLengthPrefix(bytes, "RLE booleans")
        guard count >= 0 else { throw ParquetError(.corrupt, "RLE booleans: negative value count \(count)") }
        var scratch: [UInt32] = []
        scratch.reserveCapacity(count)
        try decode(UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + length)]), bitWidth: 1, count: count, into: &scratch)
        out.reserveCapacity(out.count + count)
        for v in scratch { out.append(v != 0) }
        return 4 + length
    }

    /// Encodes BOOLEAN values in the RLE encoding (4-byte little-endian length, bit width 1 runs).
    public static func encodeBooleans(_ values: UnsafeBufferPointer<Bool>, into out: inout [UInt8]) {
        var scratch = [UInt32](repeating: 0, count: values.count)
        for i in 0..<values.count where values[i] { scratch[i] = 1 }
        scratch.withUnsafeBufferPointer { encodeLengthPrefixed($0, bitWidth: 1, into: &out) }
    }

    // MARK: kernels

    private static func readLengthPrefix(_ bytes: UnsafeRawBufferPointer, _ what: String) throws -> Int {
        guard bytes.count >= 4 else { throw ParquetError(.corrupt, "\(what): \(bytes.count) bytes, too short for the 4-byte length") }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
        guard length <= bytes.count - 4 else {
            throw ParquetError(.corrupt, "\(what): length \(length) past the page's \(bytes.count - 4) remaining bytes")
        }
        return length
    }

    static func patchLength(_ out: inout [UInt8], at lengthAt: Int) {
        let length = UInt32(truncatingIfNeeded: out.count - lengthAt - 4)
        for k in 0..<4 { out[lengthAt + k] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(k))) }
    }

    /// Reads a ULEB128 varint of at most 32 bits at `pos`.
    @inline(__always)
    static func readVarint32(_ bytes: UnsafeRawBufferPointer, _ pos: inout Int, _ what: String) throws -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard pos < bytes.count else { throw ParquetError(.corrupt, "\(what): varint runs past the end of the data") }
            let b = bytes[pos]
            pos += 1
            guard shift < 32, shift < 28 || b & 0xF0 == 0 else { throw ParquetError(.corrupt, "\(what): varint over 32 bits") }
            result |= UInt32(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private static func decodeRuns(_ bytes: UnsafeRawBufferPointer, _ width: Int, _ dst: UnsafeMutableBufferPointer<UInt32>) throws -> Int {
        let n = dst.count
        let valueBytes = (width + 7) / 8
        let maxValue: UInt64 = (1 << UInt64(width)) - 1
        var pos = 0
        var filled = 0
        while filled < n {
            guard pos < bytes.count else {
                throw ParquetError(.corrupt, "RLE/bit-packed: data ends after \(filled) of \(n) values (bit width \(width))")
            }
            let header = try readVarint32(bytes, &pos, "RLE/bit-packed run header")
            if header & 1 == 0 {
                let run = Int(header >> 1)
                guard valueBytes <= bytes.count - pos else { throw ParquetError(.corrupt, "RLE/bit-packed: RLE run value past the end of the data") }
                var v: UInt32 = 0
                for k in 0..<valueBytes { v |= UInt32(bytes[pos + k]) << UInt32(8 * k) }
                pos += valueBytes
                guard UInt64(v) <= maxValue else { throw ParquetError(.corrupt, "RLE/bit-packed: RLE run value wider than bit width \(width)") }
                let take = min(run, n - filled)
                if v != 0 { (dst.baseAddress! + filled).update(repeating: v, count: take) }
                filled += take
            } else {
                let groups = Int(header >> 1)
                let runValues = groups * 8
                let availBytes = min(groups * width, bytes.count - pos)
                let availValues = width == 0 ? runValues : min(runValues, availBytes * 8 / width)
                let take = min(availValues, n - filled)
                if width > 0 && take > 0 {
                    unpack(bytes.baseAddress! + pos, availBytes, width, dst.baseAddress! + filled, take)
                }
                filled += take
                pos += availBytes
            }
        }
        return pos
    }

    /// Unpacks `count` values of `width` (1...32) bits, LSB first, from `srcBytes` bytes at `src`
    /// (which must hold them).
    @inline(__always)
    private static func unpack(_ src: UnsafeRawPointer, _ srcBytes: Int, _ width: Int, _ dst: UnsafeMutablePointer<UInt32>, _ count: Int) {
        let mask: UInt64 = (1 << UInt64(width)) - 1
        // Values whose 8-byte window lies inside the input: one unaligned load each.
        let fast = srcBytes >= 8 ? min(count, ((srcBytes - 8) * 8) / width + 1) : 0
        var bit = 0
        var i = 0
        while i < fast {
            let word = UInt64(littleEndian: (src + (bit >> 3)).loadUnaligned(as: UInt64.self))
            dst[i] = UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & mask)
            bit += width
            i += 1
        }
        while i < count {
            let byte = bit >> 3
            var word: UInt64 = 0
            let available = min(8, srcBytes - byte)
            for k in 0..<available { word |= UInt64(src.load(fromByteOffset: byte + k, as: UInt8.self)) << UInt64(8 * k) }
            dst[i] = UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & mask)
            bit += width
            i += 1
        }
    }

    private static func appendRLE(_ value: UInt32, count: Int, _ width: Int, _ out: inout [UInt8]) {
        var remaining = count
        let valueBytes = (width + 7) / 8
        while remaining > 0 {
            let run = min(remaining, 1 << 30)
            appendVarint(UInt32(run) << 1, &out)
            for k in 0..<valueBytes { out.append(UInt8(truncatingIfNeeded: value >> UInt32(8 * k))) }
            remaining -= run
        }
    }

    private static func packLiterals(_ values: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, _ width: Int, _ out: inout [UInt8]) {
        var start = range.lowerBound
        let mask: UInt64 = (1 << UInt64(width)) - 1
        while start < range.upperBound {
            let chunk = min(range.upperBound - start, 8 << 20)
            let groups = (chunk + 7) / 8
            appendVarint(UInt32(groups) << 1 | 1, &out)
            let byteCount = groups * width
            let at = out.count
            out.append(contentsOf: repeatElement(0, count: byteCount))
            if width > 0 {
                out.withUnsafeMutableBufferPointer { buf in
                    var p = at
                    var acc: UInt64 = 0
                    var bits = 0
                    for i in start..<(start + groups * 8) {
                        let v = i < start + chunk ? UInt64(values[i]) & mask : 0
                        acc |= v << UInt64(bits)
                        bits += width
                        while bits >= 8 {
                            buf[p] = UInt8(truncatingIfNeeded: acc)
                            p += 1
                            acc >>= 8
                            bits -= 8
                        }
                    }
                }
            }
            start += chunk
        }
    }

    static func appendVarint(_ value: UInt32, _ out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}
