import Columns
import Foundation
import Parquet
import TestSupport
import Testing

private func rle(_ bytes: [UInt8], width: Int, count: Int) throws -> [UInt32] {
    var out: [UInt32] = [99]
    try bytes.withUnsafeBytes { _ = try RLEHybrid.decode($0, bitWidth: width, count: count, into: &out) }
    return Array(out.dropFirst())
}

private func rleEncode(_ values: [UInt32], width: Int) -> [UInt8] {
    var out: [UInt8] = []
    values.withUnsafeBufferPointer { RLEHybrid.encode($0, bitWidth: width, into: &out) }
    return out
}

@Suite struct RLEHybridEncoding {
    @Test func specVectors() throws {
        // Encodings.md: 0...7 bit-packed with bit width 3 is 10001000 11000110 11111010.
        #expect(try rle([0x03, 0x88, 0xC6, 0xFA], width: 3, count: 8) == Array(0...7))
        #expect(rleEncode(Array(0...7), width: 3) == [0x03, 0x88, 0xC6, 0xFA])
        // An RLE run: 10 copies of 5 (header 10 << 1, one value byte).
        #expect(try rle([0x14, 0x05], width: 3, count: 10) == Array(repeating: 5, count: 10))
        #expect(rleEncode(Array(repeating: 5, count: 10), width: 3) == [0x14, 0x05])
        // Two-byte value for bit width 10; a run longer than needed.
        #expect(try rle([0x64, 0xFF, 0x03], width: 10, count: 7) == Array(repeating: 1023, count: 7))
        // Bit-packed padding past `count` is allowed.
        #expect(try rle([0x03, 0x88, 0xC6, 0xFA], width: 3, count: 5) == Array(0...4))
        // Bit width 0: all zeros, with or without runs.
        #expect(try rle([], width: 0, count: 4) == [0, 0, 0, 0])
        #expect(try rle([0x08], width: 0, count: 4) == [0, 0, 0, 0])
        #expect(RLEHybrid.bitWidth(forMax: 0) == 0)
        #expect(RLEHybrid.bitWidth(forMax: 1) == 1)
        #expect(RLEHybrid.bitWidth(forMax: 1023) == 10)
        #expect(RLEHybrid.bitWidth(forMax: 1024) == 11)
        #expect(RLEHybrid.bitWidth(forMax: .max) == 32)
    }

    static func datasets(width: Int, seed: UInt64) -> [(String, [UInt32])] {
        var rng = SplitMix64(seed: seed)
        let top: UInt64 = width == 0 ? 0 : (1 << UInt64(width)) - 1
        func value() -> UInt32 { UInt32(truncatingIfNeeded: rng.next() & top) }
        var sets: [(String, [UInt32])] = []
        for count in [0, 1, 7, 9, 1003] {
            sets.append(("random \(count)", (0..<count).map { _ in value() }))
        }
        var runs: [UInt32] = []
        while runs.count < 5000 {
            let v = value()
            let n = Int(rng.next() % 40)
            runs.append(contentsOf: repeatElement(v, count: n))
            if rng.next() % 3 == 0 { runs.append(contentsOf: (0..<Int(rng.next() % 11)).map { _ in value() }) }
        }
        sets.append(("run-heavy", runs))
        sets.append(("alternating", (0..<1001).map { $0 % 2 == 0 ? 0 : UInt32(truncatingIfNeeded: top) }))
        sets.append(("max", Array(repeating: UInt32(truncatingIfNeeded: top), count: 77)))
        return sets
    }

    @Test(arguments: 0...32) func roundTrips(width: Int) throws {
        for (name, values) in Self.datasets(width: width, seed: UInt64(width) &+ 1) {
            let bytes = rleEncode(values, width: width)
            #expect(try rle(bytes, width: width, count: values.count) == values, "width \(width) \(name)")
            // v1 framing, and truncation anywhere is `.corrupt` (never a trap).
            var framed: [UInt8] = [0xEE]
            values.withUnsafeBufferPointer { RLEHybrid.encodeLengthPrefixed($0, bitWidth: width, into: &framed) }
            var back: [UInt32] = []
            let used = try framed.withUnsafeBytes {
                try RLEHybrid.decodeLengthPrefixed(UnsafeRawBufferPointer(rebasing: $0[1...]), bitWidth: width, count: values.count, into: &back)
            }
            #expect(used == framed.count - 1 && back == values, "width \(width) \(name) v1")
            if width > 0 && values.count > 1 {
                for cut in [0, 1, bytes.count / 2] where cut < bytes.count {
                    #expect(throws: ParquetError(.corrupt, ""), "width \(width) \(name) cut \(cut)") {
                        try rle(Array(bytes.prefix(cut)), width: width, count: values.count)
                    }
                }
                // Losing the last byte either loses a value (`.corrupt`) or only padding of the
                // last bit-packed group (still decodes, to the same values).
                if let shorter = try? rle(Array(bytes.dropLast()), width: width, count: values.count) {
                    #expect(shorter == values, "width \(width) \(name) without its last byte")
                }
            }
        }
    }

    @Test func runsAreChosenLikeParquetCpp() {
        // 3 literals, then 20 repeats: pad the literals to 8 with 5 repeats, then RLE the 15 left.
        let values: [UInt32] = [1, 2, 3] + Array(repeating: 7, count: 20)
        let bytes = rleEncode(values, width: 3)
        #expect(bytes == [0x03, 0xD1, 0xFE, 0xFF, 0x1E, 0x07])
        // Repeats fewer than 8 stay bit-packed.
        #expect(rleEncode(Array(repeating: 7, count: 7), width: 3).first == 0x03)
    }

    @Test func malformedInputIsCorrupt() throws {
        let bad: [(String, [UInt8], Int, Int)] = [
            ("width 33", [0x02, 0x01], 33, 1),
            ("negative width", [0x02, 0x01], -1, 1),
            ("negative count", [0x02, 0x01], 1, -1),
            ("RLE value wider than bit width", [0x02, 0x09], 3, 1),
            ("RLE value bytes missing", [0x02, 0xFF], 10, 1),
            ("varint over 32 bits", [0xFF, 0xFF, 0xFF, 0xFF, 0x7F], 3, 1),
            ("varint past the end", [0x80], 3, 1),
            ("too few values", [0x06, 0x01], 3, 4),
            ("bit-packed past the end", [0x05, 0x88, 0xC6, 0xFA], 3, 16),
            ("huge group count", [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], 32, 100),
        ]
        for (name, bytes, width, count) in bad {
            #expect(throws: ParquetError(.corrupt, ""), "\(name)") { try rle(bytes, width: width, count: count) }
        }
        // Random bytes decode or throw, never trap.
        var rng = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            let bytes = (0..<Int(rng.next() % 24)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let width = Int(rng.next() % 33)
            var out: [UInt32] = []
            do {
                try bytes.withUnsafeBytes { _ = try RLEHybrid.decode($0, bitWidth: width, count: Int(rng.next() % 300), into: &out) }
                #expect(out.allSatisfy { width == 32 || $0 < 1 << UInt32(width) })
            } catch let e as ParquetError {
                #expect(e.code == .corrupt)
                #expect(out.isEmpty)
            }
        }
        // Framing lengths past the page.
        var out: [UInt32] = []
        #expect(throws: ParquetError(.corrupt, "")) {
            try [UInt8]([9, 0, 0, 0, 1]).withUnsafeBytes { try RLEHybrid.decodeLengthPrefixed($0, bitWidth: 1, count: 1, into: &out) }
        }
        #expect(throws: ParquetError(.corrupt, "")) {
            try [UInt8]([1, 0]).withUnsafeBytes { try RLEHybrid.decodeLengthPrefixed($0, bitWidth: 1, count: 1, into: &out) }
        }
        #expect(throws: ParquetError(.corrupt, "")) {
            try [UInt8]([33, 2, 0]).withUnsafeBytes { try RLEHybrid.decodeDictionaryIndices($0, count: 1, into: &out) }
        }
        #expect(throws: ParquetError(.corrupt, "")) { try [UInt8]().withUnsafeBytes { try RLEHybrid.decodeDictionaryIndices($0, count: 1, into: &out) } }
    }

    @Test func dictionaryIndicesAndBooleanFramings() throws {
        let indices: [UInt32] = (0..<500).map { UInt32($0 % 37) }
        var page: [UInt8] = []
        indices.withUnsafeBufferPointer { RLEHybrid.encodeDictionaryIndices($0, dictionaryCount: 37, into: &page) }
        #expect(page.first == 6)
        var back: [UInt32] = []
        try page.withUnsafeBytes { try RLEHybrid.decodeDictionaryIndices($0, count: indices.count, into: &back) }
        #expect(back == indices)

        let bools: [Bool] = (0..<333).map { $0 % 3 == 0 || ($0 > 100 && $0 < 200) }
        var encoded: [UInt8] = []
        bools.withUnsafeBufferPointer { RLEHybrid.encodeBooleans($0, into: &encoded) }
        var decoded: [Bool] = []
        let used = try encoded.withUnsafeBytes { try RLEHybrid.decodeBooleans($0, count: bools.count, into: &decoded) }
        #expect(used == encoded.count && decoded == bools)
    }
}

@Suite struct PlainEncoding {
    @Test func fixedWidthRoundTripsAndShortPages() throws {
        var rng = SplitMix64(seed: 5)
        let ints32: [Int32] = (0..<101).map { _ in Int32(truncatingIfNeeded: rng.next()) }
        let ints64: [Int64] = (0..<101).map { _ in Int64(bitPattern: rng.next()) }
        let floats: [Float] = (0..<101).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next() >> 33)) } + [-0.0, .infinity]
        let doubles: [Double] = (0..<101).map { _ in Double(bitPattern: rng.next() >> 2) } + [-0.0, .infinity]
        let int96: [Int96] = (0..<11).map { _ in Int96(low: rng.next(), high: UInt32(truncatingIfNeeded: rng.next())) }

        var bytes: [UInt8] = []
        ints32.withUnsafeBufferPointer { Plain.encodeInt32($0, into: &bytes) }
        #expect(Array(bytes.prefix(4)) == withUnsafeBytes(of: ints32[0].littleEndian) { Array($0) })
        var i32: [Int32] = [1]
        #expect(try bytes.withUnsafeBytes { try Plain.decodeInt32($0, count: ints32.count, into: &i32) } == 404)
        #expect(Array(i32.dropFirst()) == ints32)
        #expect(throws: ParquetError(.corrupt, "")) {
            try bytes.withUnsafeBytes { try Plain.decodeInt32(UnsafeRawBufferPointer(rebasing: $0[1...]), count: 101, into: &i32) }
        }
        #expect(i32.count == 102)

        bytes = []
        ints64.withUnsafeBufferPointer { Plain.encodeInt64($0, into: &bytes) }
        var i64: [Int64] = []
        #expect(try bytes.withUnsafeBytes { try Plain.decodeInt64(UnsafeRawBufferPointer(rebasing: $0[1...]), count: 0, into: &i64) } == 0)
        #expect(try bytes.withUnsafeBytes { try Plain.decodeInt64($0, count: ints64.count, into: &i64) } == 808)
        #expect(i64 == ints64)
        #expect(throws: ParquetError(.corrupt, "")) { try bytes.withUnsafeBytes { try Plain.decodeInt64($0, count: 102, into: &i64) } }
        #expect(throws: ParquetError(.corrupt, "")) { try bytes.withUnsafeBytes { try Plain.decodeInt64($0, count: Int.max / 2, into: &i64) } }
        #expect(throws: ParquetError(.corrupt, "")) { try bytes.withUnsafeBytes { try Plain.decodeInt64($0, count: -1, into: &i64) } }

        bytes = []
        floats.withUnsafeBufferPointer { Plain.encodeFloat($0, into: &bytes) }
        var f: [Float] = []
        _ = try bytes.withUnsafeBytes { try Plain.decodeFloat($0, count: floats.count, into: &f) }
        #expect(f.map(\.bitPattern) == floats.map(\.bitPattern))
        #expect(throws: ParquetError(.corrupt, "")) { try bytes.withUnsafeBytes { try Plain.decodeFloat($0, count: floats.count + 1, into: &f) } }

        bytes = []
        doubles.withUnsafeBufferPointer { Plain.encodeDouble($0, into: &bytes) }
        var d: [Double] = []
        _ = try bytes.withUnsafeBytes { try Plain.decodeDouble($0, count: doubles.count, into: &d) }
        #expect(d.map(\.bitPattern) == doubles.map(\.bitPattern))

        bytes = []
        int96.withUnsafeBufferPointer { Plain.encodeInt96($0, into: &bytes) }
        #expect(bytes.count == 132)
        var i96: [Int96] = []
        #expect(try bytes.withUnsafeBytes { try Plain.decodeInt96($0, count: int96.count, into: &i96) } == 132)
        #expect(i96 == int96)
        #expect(throws: ParquetError(.corrupt, "")) { try bytes.withUnsafeBytes { try Plain.decodeInt96($0, count: 12, into: &i96) } }
    }

    @Test func booleans() throws {
        let values: [Bool] = (0..<19).map { $0 % 3 == 1 }
        var bytes: [UInt8] = []
        values.withUnsafeBufferPointer { Plain.encodeBoolean($0, into: &bytes) }
        #expect(bytes == [0b1001_0010, 0b0010_0100, 0b0000_0001])
        var back: [Bool] = []
        #expect(try bytes.withUnsafeBytes { try Plain.decodeBoolean($0, count: 19, into: &back) } == 3)
        #expect(back == values)
        #expect(throws: ParquetError(.corrupt, "")) { try bytes.withUnsafeBytes { try Plain.decodeBoolean($0, count: 25, into: &back) } }
    }

    @Test func byteArrays() throws {
        let col = ByteColumn(["", "a", "4111111111111111", "é", String(repeating: "x", count: 300)])
        var bytes: [UInt8] = []
        try Plain.encodeByteArray(col, rows: 0..<col.count, into: &bytes)
        #expect(Array(bytes.prefix(9)) == [0, 0, 0, 0, 1, 0, 0, 0, 0x61])
        var back = ByteColumn(["first"])
        #expect(try bytes.withUnsafeBytes { try Plain.decodeByteArray($0, count: col.count, into: &back) } == bytes.count)
        #expect(back.strings == ["first"] + col.strings)
        // Short pages: every cut throws and leaves the column as it was.
        for cut in [0, 3, 4, 8, bytes.count - 1] {
            var out = ByteColumn(["kept"])
            #expect(throws: ParquetError(.corrupt, "")) {
                try bytes.withUnsafeBytes { try Plain.decodeByteArray(UnsafeRawBufferPointer(rebasing: $0[0..<cut]), count: col.count, into: &out) }
            }
            #expect(out == ByteColumn(["kept"]))
        }
        // A length of 2^32 - 1.
        var huge = ByteColumn()
        #expect(throws: ParquetError(.corrupt, "")) {
            try [UInt8]([0xFF, 0xFF, 0xFF, 0xFF, 0]).withUnsafeBytes { try Plain.decodeByteArray($0, count: 1, into: &huge) }
        }
        // Skipping nulls.
        bytes = []
        let n = try Plain.encodeByteArray(col, rows: 1..<5, present: [true, false, true, false, true], into: &bytes)
        #expect(n == 2)
        var present = ByteColumn()
        _ = try bytes.withUnsafeBytes { try Plain.decodeByteArray($0, count: 2, into: &present) }
        #expect(present.strings == ["4111111111111111", String(repeating: "x", count: 300)])
    }

    @Test func fixedLenByteArrays() throws {
        let col = ByteColumn(["abcd", "efgh", "ijkl"])
        var bytes: [UInt8] = []
        try Plain.encodeFixedLenByteArray(col, rows: 1..<3, width: 4, into: &bytes)
        #expect(bytes == Array("efghijkl".utf8))
        var back = ByteColumn()
        #expect(try bytes.withUnsafeBytes { try Plain.decodeFixedLenByteArray($0, count: 2, width: 4, into: &back) } == 8)
        #expect(back.strings == ["efgh", "ijkl"])
        #expect(throws: ParquetError(.corrupt, "")) { try bytes.withUnsafeBytes { try Plain.decodeFixedLenByteArray($0, count: 3, width: 4, into: &back) } }
        #expect(throws: ParquetError(.corrupt, "")) { try bytes.withUnsafeBytes { try Plain.decodeFixedLenByteArray($0, count: 1, width: -4, into: &back) } }
        #expect(throws: ParquetError(.unencodable, "")) { try Plain.encodeFixedLenByteArray(ByteColumn(["abc"]), rows: 0..<1, width: 4, into: &bytes) }
    }
}

@Suite struct Dictionaries {
    @Test func byteArrayIndicesAreDenseAndStable() throws {
        var dict = ByteArrayDictionary()
        var rng = SplitMix64(seed: 9)
        let distinct = (0..<5000).map { "v\($0)-\(rng.next() % 1000)" }
        var expected: [String: UInt32] = [:]
        var order: [String] = []
        for _ in 0..<20000 {
            let s = distinct[Int(rng.next() % UInt64(distinct.count))]
            let i = Array(s.utf8).withUnsafeBytes { dict.index(of: $0) }
            if let known = expected[s] {
                #expect(i == known)
            } else {
                #expect(i == UInt32(order.count))
                expected[s] = i
                order.append(s)
            }
        }
        #expect(dict.count == order.count)
        #expect(Array("".utf8).withUnsafeBytes { dict.index(of: $0) } == UInt32(order.count))
        order.append("")
        #expect(dict.byteSize == order.reduce(0) { $0 + 4 + $1.utf8.count })
        var page: [UInt8] = []
        dict.encodePlain(into: &page)
        #expect(page.count == dict.byteSize)
        var back = ByteColumn()
        _ = try page.withUnsafeBytes { try Plain.decodeByteArray($0, count: dict.count, into: &back) }
        #expect(back.strings == order)
        // Batch form, then reset.
        var indices: [UInt32] = []
        let col = ByteColumn(order.reversed())
        dict.indices(of: col, rows: 0..<col.count, into: &indices)
        #expect(indices == (0..<UInt32(order.count)).reversed())
        dict.reset()
        #expect(dict.count == 0 && dict.byteSize == 0)
        #expect(Array("x".utf8).withUnsafeBytes { dict.index(of: $0) } == 0)
    }

    @Test func integerIndices() throws {
        var dict = IntegerDictionary<Int64>()
        let values: [Int64] = (0..<3000).map { Int64($0 % 700) * 1_000_003 - 5 }
        let indices = values.map { dict.index(of: $0) }
        #expect(indices == (0..<3000).map { UInt32($0 % 700) })
        var page: [UInt8] = []
        dict.encodePlain(into: &page)
        var back: [Int64] = []
        _ = try page.withUnsafeBytes { try Plain.decodeInt64($0, count: dict.count, into: &back) }
        #expect(back == Array(values.prefix(700)))
        dict.reset()
        #expect(dict.index(of: 42) == 0)
    }
}

@Suite struct DeltaEncodings {
    @Test func specExamples() throws {
        // Encodings.md example 1: 1, 2, 3, 4, 5.
        let example1: [UInt8] = [0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00]
        var out: [Int64] = []
        #expect(try example1.withUnsafeBytes { try Delta.decodeBinaryPacked64($0, count: 5, into: &out) } == example1.count)
        #expect(out == [1, 2, 3, 4, 5])
        // Example 2: 7, 5, 3, 1, 2, 3, 4, 5: min delta -2, relative deltas 0 0 0 3 3 3 3 in 2 bits.
        let example2: [UInt8] = [0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0x00, 0x00, 0x00, 0xC0, 0x3F, 0, 0, 0, 0, 0, 0]
        var out32: [Int32] = []
        #expect(try example2.withUnsafeBytes { try Delta.decodeBinaryPacked32($0, count: 8, into: &out32) } == example2.count)
        #expect(out32 == [7, 5, 3, 1, 2, 3, 4, 5])
        // Fewer values than the header holds: the rest are skipped.
        out32 = []
        #expect(try example2.withUnsafeBytes { try Delta.decodeBinaryPacked32($0, count: 3, into: &out32) } == example2.count)
        #expect(out32 == [7, 5, 3])
        // One value only: the header alone.
        out = []
        #expect(try [UInt8]([0x80, 0x01, 0x04, 0x01, 0x0D]).withUnsafeBytes { try Delta.decodeBinaryPacked64($0, count: 1, into: &out) } == 5)
        #expect(out == [-7])
    }

    @Test func malformedIsCorrupt() {
        let bad: [(String, [UInt8], Int)] = [
            ("empty", [], 1),
            ("block size not a multiple of 128", [0x40, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0], 5),
            ("miniblocks of 0", [0x80, 0x01, 0x00, 0x05, 0x02], 5),
            ("miniblock of 24 values", [0x80, 0x03, 0x10, 0x05, 0x02], 5),
            ("header holds fewer values", [0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0], 6),
            ("bit width 65", [0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 65, 0, 0, 0], 5),
            ("widths missing", [0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0], 5),
            ("miniblock truncated", [0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0x00, 0x00, 0x00, 0xC0], 8),
            ("varint over 64 bits", [0x80, 0x01, 0x04, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], 5),
        ]
        for (name, bytes, count) in bad {
            var out: [Int64] = [1]
            #expect(throws: ParquetError(.corrupt, ""), "\(name)") {
                try bytes.withUnsafeBytes { try Delta.decodeBinaryPacked64($0, count: count, into: &out) }
            }
            #expect(out == [1], "\(name)")
        }
        var rng = SplitMix64(seed: 77)
        for _ in 0..<3000 {
            var bytes: [UInt8] = [0x80, 0x01, 0x04, UInt8(rng.next() % 100)]
            bytes += (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var out: [Int32] = []
            var col = ByteColumn()
            _ = try? bytes.withUnsafeBytes { try Delta.decodeBinaryPacked32($0, count: Int(rng.next() % 100), into: &out) }
            _ = try? bytes.withUnsafeBytes { try Delta.decodeByteArray($0, count: Int(rng.next() % 10), into: &col) }
            _ = try? bytes.withUnsafeBytes { try Delta.decodeLengthByteArray($0, count: Int(rng.next() % 10), into: &col) }
        }
    }

    @Test func byteArraysByHand() throws {
        // DELTA_LENGTH_BYTE_ARRAY of "Hello", "World", "Foobar", "ABCDEF": lengths 5 5 6 6.
        // lengths: first 5, deltas 0 1 0: min delta 0, widths [1 ...], relative 0 1 0 -> 0b010.
        let lengths: [UInt8] = [0x80, 0x01, 0x04, 0x04, 0x0A, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0, 0, 0]
        let dlba = lengths + Array("HelloWorldFoobarABCDEF".utf8)
        var col = ByteColumn(["x"])
        #expect(try dlba.withUnsafeBytes { try Delta.decodeLengthByteArray($0, count: 4, into: &col) } == dlba.count)
        #expect(col.strings == ["x", "Hello", "World", "Foobar", "ABCDEF"])
        #expect(throws: ParquetError(.corrupt, "")) { try dlba.dropLast().withUnsafeBytes { try Delta.decodeLengthByteArray($0, count: 4, into: &col) } }

        // DELTA_BYTE_ARRAY of "axis", "axle", "babble", "babyhood": prefixes 0 2 0 3, suffixes
        // "axis" "le" "babble" "yhood" (4 2 6 5).
        // prefixes: first 0, deltas 2 -2 3: min -2, relative 4 0 5 in 3 bits -> 100 000 101.
        let prefixes: [UInt8] = [0x80, 0x01, 0x04, 0x04, 0x00, 0x03, 0x03, 0, 0, 0, 0b0100_0100, 0b0000_0001, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        // suffix lengths: first 4, deltas -2 4 -1: min -2, relative 0 6 1 in 3 bits -> 000 110 001.
        let suffixes: [UInt8] = [0x80, 0x01, 0x04, 0x04, 0x08, 0x03, 0x03, 0, 0, 0, 0b0111_0000, 0b0000_0000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let dba = prefixes + suffixes + Array("axislebabbleyhood".utf8)
        var words = ByteColumn()
        #expect(try dba.withUnsafeBytes { try Delta.decodeByteArray($0, count: 4, into: &words) } == dba.count)
        #expect(words.strings == ["axis", "axle", "babble", "babyhood"])
        // A prefix longer than the previous value.
        var badPrefixes = prefixes
        badPrefixes[4] = 0x02  // first value's prefix 1: longer than the (empty) previous value
        var out = ByteColumn()
        #expect(throws: ParquetError(.corrupt, "")) {
            try (badPrefixes + suffixes + Array("axislebabbleyhood".utf8)).withUnsafeBytes { try Delta.decodeByteArray($0, count: 4, into: &out) }
        }
        #expect(out.isEmpty)
    }

    /// Pages pyarrow wrote with the DELTA encodings (a required column, uncompressed v1 page),
    /// located by the DELTA header at the start of the page data.
    @Test func decodesPyarrowPages() throws {
        let python = try Oracle.python()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokengate-delta-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = """
            import pyarrow as pa, pyarrow.parquet as pq, sys, os, random, re
            d = sys.argv[1]
            random.seed(3)
            n = 1000
            ints = [random.randint(-2**40, 2**40) if i % 7 else i for i in range(n)]
            i32 = [random.randint(-2**31, 2**31 - 1) if i % 5 else 3 * i for i in range(n)]
            words = ['card-%d-%s' % (i // 10, 'x' * (i % 13)) for i in range(n)]
            cols = [('i64', pa.array(ints, pa.int64()), 'DELTA_BINARY_PACKED'),
                    ('i32', pa.array(i32, pa.int32()), 'DELTA_BINARY_PACKED'),
                    ('dlba', pa.array(words), 'DELTA_LENGTH_BYTE_ARRAY'),
                    ('dba', pa.array(words), 'DELTA_BYTE_ARRAY')]
            for name, arr, enc in cols:
                t = pa.table({name: arr})
                schema = pa.schema([pa.field(name, arr.type, nullable=False)])
                f = os.path.join(d, name + '.parquet')
                pq.write_table(t.cast(schema), f, column_encoding={name: enc}, use_dictionary=False, compression='NONE', data_page_version='1.0')
                md = pq.ParquetFile(f).metadata.row_group(0).column(0)
                assert md.num_values == n
                raw = open(f, 'rb').read()[md.data_page_offset:md.data_page_offset + md.total_compressed_size]
                # The DELTA header for 1000 values: block size 128 or 256, 4 miniblocks.
                at = re.search(rb'\\x80[\\x01\\x02]\\x04\\xe8\\x07', raw).start()
                open(os.path.join(d, name + '.page'), 'wb').write(raw[at:])
            open(os.path.join(d, 'ints'), 'w').write(' '.join(map(str, ints)))
            open(os.path.join(d, 'i32'), 'w').write(' '.join(map(str, i32)))
            open(os.path.join(d, 'words'), 'w').write('\\n'.join(words))
            print('ok')
            """
        let output = try Oracle.run(python, ["-c", script, dir.path])
        #expect(output.hasPrefix("ok"), "\(output)")
        func page(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: dir.appendingPathComponent(name + ".page"))) }
        func text(_ name: String) throws -> String { try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }
        let ints = try text("ints").split(separator: " ").map { Int64($0)! }
        let i32 = try text("i32").split(separator: " ").map { Int32($0)! }
        let words = try text("words").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)

        var i64: [Int64] = []
        let p64 = try page("i64")
        #expect(try p64.withUnsafeBytes { try Delta.decodeBinaryPacked64($0, count: 1000, into: &i64) } == p64.count)
        #expect(i64 == ints)
        var got32: [Int32] = []
        let p32 = try page("i32")
        #expect(try p32.withUnsafeBytes { try Delta.decodeBinaryPacked32($0, count: 1000, into: &got32) } == p32.count)
        #expect(got32 == i32)
        var dlba = ByteColumn()
        let pl = try page("dlba")
        #expect(try pl.withUnsafeBytes { try Delta.decodeLengthByteArray($0, count: 1000, into: &dlba) } == pl.count)
        #expect(dlba.strings == words)
        var dba = ByteColumn()
        let pd = try page("dba")
        #expect(try pd.withUnsafeBytes { try Delta.decodeByteArray($0, count: 1000, into: &dba) } == pd.count)
        #expect(dba.strings == words)
    }
}
