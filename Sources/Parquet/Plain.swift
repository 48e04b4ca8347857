public import Columns

/// A Parquet INT96 value (12 bytes, little-endian): in practice a legacy Impala/Spark timestamp,
/// nanoseconds of the day in the low 8 bytes and the Julian day in the high 4.
public struct Int96: Hashable, Sendable {
    /// Bytes 0..<8.
    public var low: UInt64
    /// Bytes 8..<12.
    public var high: UInt32
    public init(low: UInt64, high: UInt32) {
        self.low = low
        self.high = high
    }
}

/// The PLAIN encoding (Encodings.md): fixed-width values little-endian back to back, BOOLEAN
/// bit-packed LSB first, BYTE_ARRAY as a 4-byte little-endian length then the bytes,
/// FIXED_LEN_BYTE_ARRAY as the bytes alone.
///
/// Decoders append `count` values to `out` and return the bytes consumed; a page too short for
/// `count` values (or a length past its end) is `.corrupt` and leaves `out` as it was.
public enum Plain {
    // MARK: decode

    /// Decodes `count` INT32 values.
    public static func decodeInt32(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Int32]) throws -> Int {
        try decodeFixed(bytes, count: count, into: &out, "INT32")
    }

    /// Decodes `count` INT64 values.
    public static func decodeInt64(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Int64]) throws -> Int {
        try decodeFixed(bytes, count: count, into: &out, "INT64")
    }

    /// Decodes `count` FLOAT values.
    public static func decodeFloat(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Float]) throws -> Int {
        try decodeFixed(bytes, count: count, into: &out, "FLOAT")
    }

    /// Decodes `count` DOUBLE values.
    public static func decodeDouble(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Double]) throws -> Int {
        try decodeFixed(bytes, count: count, into: &out, "DOUBLE")
    }

    /// Decodes `count` INT96 values (12 bytes each).
    public static func decodeInt96(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Int96]) throws -> Int {
        let size = try checkFixed(bytes, count: count, width: 12, "INT96")
        out.reserveCapacity(out.count + count)
        for i in 0..<count {
            let low = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 12 * i, as: UInt64.self))
            let high = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12 * i + 8, as: UInt32.self))
            out.append(Int96(low: low, high: high))
        }
        return size
    }

    /// Decodes `count` BOOLEAN values, bit-packed LSB first (`(count + 7) / 8` bytes).
    public static func decodeBoolean(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [Bool]) throws -> Int {
        guard count >= 0 else { throw ParquetError(.corrupt, "PLAIN BOOLEAN: negative value count \(count)") }
        let size = count / 8 + (count % 8 == 0 ? 0 : 1)
        guard size <= bytes.count else { throw short("BOOLEAN", count, size, bytes.count) }
        out.reserveCapacity(out.count + count)
        for i in 0..<count { out.append(bytes[i >> 3] >> UInt8(i & 7) & 1 != 0) }
        return size
    }

    /// Decodes `count` BYTE_ARRAY values (each a 4-byte little-endian length, then the bytes),
    /// appending them to `out`.
    public static func decodeByteArray(_ bytes: UnsafeRawBufferPointer, count: Int, into out: inout ByteColumn) throws -> Int {
        guard count >= 0 else { throw ParquetError(.corrupt, "PLAIN BYTE_ARRAY: negative value count \(count)") }
        // First pass: validate every length and total the value bytes, so the copy reserves once.
        var pos = 0
        for i in 0..<count {
            guard bytes.count - pos >= 4 else { throw ParquetError(.corrupt, "PLAIN BYTE_ARRAY: page ends at value \(i) of \(count) (no length)") }
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: UInt32.self)))
            pos += 4
            guard length <= bytes.count - pos else {
                throw ParquetError(.corrupt, "PLAIN BYTE_ARRAY: value \(i) of \(count) has length \(length), past the page's end")
            }
            pos += length
        }
        out.bytes.reserveCapacity(out.bytes.count + pos - 4 * count)
        out.offsets.reserveCapacity(out.offsets.count + count)
        var p = 0
        for _ in 0..<count {
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: p, as: UInt32.self)))
            out.append(bytes: UnsafeRawBufferPointer(rebasing: bytes[(p + 4)..<(p + 4 + length)]))
            p += 4 + length
        }
        return pos
    }

    /// Decodes `count` FIXED_LEN_BYTE_ARRAY values of `width` bytes each, appending them to `out`.
    public static func decodeFixedLenByteArray(_ bytes: UnsafeRawBufferPointer, count: Int, width: Int, into out: inout ByteColumn) throws -> Int {
        guard width >= 0 else { throw ParquetError(.corrupt, "PLAIN FIXED_LEN_BYTE_ARRAY: negative type length \(width)") }
        let size = try checkFixed(bytes, count: count, width: width, "FIXED_LEN_BYTE_ARRAY")
        out.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<size]))
        out.offsets.reserveCapacity(out.offsets.count + count)
        var end = out.offsets[out.offsets.count - 1]
        for _ in 0..<count {
            end += width
            out.offsets.append(end)
        }
        return size
    }

    // MARK: encode

    /// Appends `values` as PLAIN INT32.
    public static func encodeInt32(_ values: UnsafeBufferPointer<Int32>, into out: inout [UInt8]) { encodeFixed(values, into: &out) }

    /// Appends `values` as PLAIN INT64.
    public static func encodeInt64(_ values: UnsafeBufferPointer<Int64>, into out: inout [UInt8]) { encodeFixed(values, into: &out) }

    /// Appends `values` as PLAIN FLOAT.
    public static func encodeFloat(_ values: UnsafeBufferPointer<Float>, into out: inout [UInt8]) { encodeFixed(values, into: &out) }

    /// Appends `values` as PLAIN DOUBLE.
    public static func encodeDouble(_ values: UnsafeBufferPointer<Double>, into out: inout [UInt8]) { encodeFixed(values, into: &out) }

    /// Appends `values` as PLAIN INT96.
    public static func encodeInt96(_ values: UnsafeBufferPointer<Int96>, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + 12 * values.count)
        for v in values {
            withUnsafeBytes(of: v.low.littleEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: v.high.littleEndian) { out.append(contentsOf: $0) }
        }
    }

    /// Appends `values` as PLAIN BOOLEAN (bit-packed LSB first, the last byte zero-padded).
    public static func encodeBoolean(_ values: UnsafeBufferPointer<Bool>, into out: inout [UInt8]) {
        var i = 0
        out.reserveCapacity(out.count + (values.count + 7) / 8)
        while i < values.count {
            var byte: UInt8 = 0
            for k in 0..<min(8, values.count - i) where values[i + k] { byte |= 1 << UInt8(k) }
            out.append(byte)
            i += 8
        }
    }

    /// Appends rows `rows` of `col` as PLAIN BYTE_ARRAY. A value of 4 GiB or more is `.unencodable`.
    public static func encodeByteArray(_ col: ByteColumn, rows: Range<Int>, into out: inout [UInt8]) throws {
        let total = col.offsets[rows.upperBound] - col.offsets[rows.lowerBound]
        out.reserveCapacity(out.count + total + 4 * rows.count)
        for i in rows { try appendByteArray(col, i, &out) }
    }

    /// Appends the rows of `rows` where `present[row]` is true (the non-null values of an
    /// OPTIONAL column; `present` is indexed like `col`) as PLAIN BYTE_ARRAY. Returns the number
    /// of values written.
    @discardableResult
    public static func encodeByteArray(_ col: ByteColumn, rows: Range<Int>, present: [Bool], into out: inout [UInt8]) throws -> Int {
        precondition(present.count >= rows.upperBound, "Plain.encodeByteArray: \(present.count) presence flags for rows \(rows)")
        var written = 0
        for i in rows where present[i] {
            try appendByteArray(col, i, &out)
            written += 1
        }
        return written
    }

    /// Appends rows `rows` of `col` as PLAIN FIXED_LEN_BYTE_ARRAY of `width` bytes; a value of
    /// another length is `.unencodable` (the reason names the row, never the value).
    public static func encodeFixedLenByteArray(_ col: ByteColumn, rows: Range<Int>, width: Int, into out: inout [UInt8]) throws {
        for i in rows where col.offsets[i + 1] - col.offsets[i] != width {
            throw ParquetError(.unencodable, "FIXED_LEN_BYTE_ARRAY(\(width)): row \(i) has \(col.offsets[i + 1] - col.offsets[i]) bytes")
        }
        out.append(contentsOf: col.bytes[col.offsets[rows.lowerBound]..<col.offsets[rows.upperBound]])
    }

    // MARK: helpers

    private static func appendByteArray(_ col: ByteColumn, _ i: Int, _ out: inout [UInt8]) throws {
        let start = col.offsets[i]
        let end = col.offsets[i + 1]
        guard end - start <= Int(UInt32.max) else { throw ParquetError(.unencodable, "BYTE_ARRAY: row \(i) is 4 GiB or more") }
        let length = UInt32(end - start)
        withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: col.bytes[start..<end])
    }

    private static func short(_ type: String, _ count: Int, _ need: Int, _ have: Int) -> ParquetError {
        ParquetError(.corrupt, "PLAIN \(type): \(count) values need \(need) bytes, the page has \(have)")
    }

    private static func checkFixed(_ bytes: UnsafeRawBufferPointer, count: Int, width: Int, _ type: String) throws -> Int {
        guard count >= 0 else { throw ParquetError(.corrupt, "PLAIN \(type): negative value count \(count)") }
        let (size, overflow) = count.multipliedReportingOverflow(by: width)
        guard !overflow, size <= bytes.count else { throw short(type, count, overflow ? Int.max : size, bytes.count) }
        return size
    }

    private static func decodeFixed<T: BitwiseCopyable & Numeric>(
        _ bytes: UnsafeRawBufferPointer, count: Int, into out: inout [T], _ type: String
    ) throws
        -> Int
    {
        let size = try checkFixed(bytes, count: count, width: MemoryLayout<T>.stride, type)
        guard size > 0 else { return 0 }
        #if _endian(little)
            // Grow with a zero fill, then one memcpy of the page bytes (which may be unaligned).
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: count))
            out.withUnsafeMutableBytes { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[(start * MemoryLayout<T>.stride)...]).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: bytes[0..<size]))
            }
        #else
            #error("Plain decoding assumes a little-endian host")
        #endif
        return size
    }

    private static func encodeFixed<T: BitwiseCopyable>(_ values: UnsafeBufferPointer<T>, into out: inout [UInt8]) {
        #if _endian(little)
            out.append(contentsOf: UnsafeRawBufferPointer(values))
        #else
            #error("Plain encoding assumes a little-endian host")
        #endif
    }
}
