import Parquet
import TestSupport
import Testing

/// The reason of the `.corrupt` error `body` throws; nil when it succeeds or throws another.
func corruptReason(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let e as ParquetError where e.code == .corrupt {
        return e.reason
    } catch {
        return nil
    }
}

func field(_ id: Int16, _ v: ThriftValue) -> ThriftField { ThriftField(id: id, value: v) }

func encoded(_ s: ThriftStruct) -> [UInt8] {
    var out: [UInt8] = []
    ThriftCompact.encode(s, into: &out)
    return out
}

func decoded(_ bytes: [UInt8]) throws -> ThriftStruct {
    let (s, n) = try ThriftCompact.decodeStruct(bytes, what: "test")
    #expect(n == bytes.count)
    return s
}

/// Generates random trees: every type, containers of consistent element type, any field order.
struct TreeGenerator {
    var rng: SplitMix64
    /// Containers and structs below this depth degrade to i64.
    var maxDepth = 4

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }

    mutating func elementType() -> ThriftType {
        [.boolTrue, .byte, .i16, .i32, .i64, .double, .binary, .list, .set, .map, .structure][int(0...10)]
    }

    mutating func value(_ t: ThriftType, depth: Int) -> ThriftValue {
        let t: ThriftType = depth > maxDepth && [.list, .set, .map, .structure].contains(t) ? .i64 : t
        switch t {
        case .boolTrue, .boolFalse: return .bool(int(0...1) == 1)
        case .byte: return .byte(Int8.random(in: .min ... .max, using: &rng))
        case .i16: return .i16([Int16.min, Int16.max, 0, -1, Int16.random(in: .min ... .max, using: &rng)][int(0...4)])
        case .i32: return .i32([Int32.min, Int32.max, 0, -1, Int32.random(in: .min ... .max, using: &rng)][int(0...4)])
        case .i64: return .i64([Int64.min, Int64.max, 0, 1, Int64.random(in: .min ... .max, using: &rng)][int(0...4)])
        case .double:
            var d = Double(bitPattern: rng.next())
            if d.isNaN { d = -0.0 }
            return .double(d)
        case .binary: return .binary((0..<int(0...20)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case .list, .set:
            let et = elementType()
            let n = int(0...3) == 0 ? int(15...40) : int(0...5)
            let elements = (0..<n).map { _ in value(et, depth: depth + 1) }
            // Elements of a too-deep container degrade to i64: name the type they have.
            let actual = elements.first.map { $0.type.isBool ? ThriftType.boolTrue : $0.type } ?? et
            return t == .list ? .list(actual, elements) : .set(actual, elements)
        case .map:
            let n = int(0...4)
            if n == 0 { return .map(.binary, .binary, []) }
            let kt = elementType()
            let vt = elementType()
            let entries = (0..<n).map { _ in ThriftMapEntry(key: value(kt, depth: depth + 1), value: value(vt, depth: depth + 1)) }
            let k = entries[0].key.type.isBool ? ThriftType.boolTrue : entries[0].key.type
            let v = entries[0].value.type.isBool ? ThriftType.boolTrue : entries[0].value.type
            return .map(k, v, entries)
        case .structure: return .structure(structure(depth: depth + 1))
        }
    }

    mutating func structure(depth: Int) -> ThriftStruct {
        var fields: [ThriftField] = []
        var id: Int16 = 0
        for _ in 0..<int(0...6) {
            switch int(0...3) {
            case 0: id = Int16.random(in: .min ... .max, using: &rng)
            default: id = id &+ Int16(int(1...20))
            }
            fields.append(field(id, value(elementType(), depth: depth)))
        }
        return ThriftStruct(fields)
    }
}

@Suite struct ThriftCompactTests {
    @Test func integerEdgeValuesHaveTheirZigzagVarintBytes() throws {
        #expect(encoded(ThriftStruct([field(1, .i32(-1))])) == [0x15, 0x01, 0x00])
        #expect(encoded(ThriftStruct([field(1, .i32(Int32.min))])) == [0x15, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00])
        #expect(encoded(ThriftStruct([field(1, .i32(Int32.max))])) == [0x15, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x00])
        #expect(encoded(ThriftStruct([field(1, .i64(Int64.min))])) == [0x16] + [UInt8](repeating: 0xFF, count: 9) + [0x01, 0x00])
        #expect(encoded(ThriftStruct([field(1, .i64(Int64.max))])) == [0x16, 0xFE] + [UInt8](repeating: 0xFF, count: 8) + [0x01, 0x00])
        #expect(encoded(ThriftStruct([field(1, .i16(Int16.min))])) == [0x14, 0xFF, 0xFF, 0x03, 0x00])
        #expect(encoded(ThriftStruct([field(1, .byte(-1))])) == [0x13, 0xFF, 0x00])
        let values: [ThriftValue] = [
            .i64(.min), .i64(.max), .i64(0), .i64(-1), .i64(1 << 62), .i32(.min), .i32(.max), .i16(.min), .i16(.max), .byte(.min),
        ]
        let s = ThriftStruct(values.enumerated().map { field(Int16($0.offset + 1), $0.element) })
        #expect(try decoded(encoded(s)) == s)
    }

    @Test func malformedVarintsAreRejected() {
        // 11 bytes; a tenth byte above 1; an overlong zero; an i32 beyond 32 bits; an i16 beyond 16.
        let cases: [[UInt8]] = [
            [0x16] + [UInt8](repeating: 0xFF, count: 10) + [0x01, 0x00],
            [0x16] + [UInt8](repeating: 0xFF, count: 9) + [0x02, 0x00],
            [0x15, 0x80, 0x00, 0x00],
            [0x15, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00],
            [0x14, 0x80, 0x80, 0x04, 0x00],
        ]
        for bytes in cases {
            #expect(corruptReason { _ = try decoded(bytes) } != nil, "\(bytes)")
        }
        #expect(corruptReason { _ = try decoded([0x15, 0x80, 0x00, 0x00]) }?.contains("overlong") == true)
    }

    @Test func fieldIDsUseTheLongFormWhenNotOneToFifteenAhead() throws {
        #expect(encoded(ThriftStruct([field(20, .i32(0))])) == [0x05, 0x28, 0x00, 0x00])
        #expect(encoded(ThriftStruct([field(1, .i32(0)), field(16, .i32(0))])) == [0x15, 0x00, 0xF5, 0x00, 0x00])
        #expect(encoded(ThriftStruct([field(1, .i32(0)), field(17, .i32(0))])) == [0x15, 0x00, 0x05, 0x22, 0x00, 0x00])
        let s = ThriftStruct([
            field(5, .i32(1)), field(3, .i32(2)), field(-7, .bool(true)), field(32767, .bool(false)), field(-32768, .i64(3)),
            field(0, .binary([1])), field(15, .i16(4)),
        ])
        #expect(try decoded(encoded(s)) == s)
    }

    @Test func boolsDoublesListsAndMapsHaveTheirSpecBytes() throws {
        #expect(encoded(ThriftStruct([field(1, .bool(true)), field(2, .bool(false))])) == [0x11, 0x12, 0x00])
        #expect(encoded(ThriftStruct([field(1, .list(.boolTrue, [.bool(true), .bool(false)]))])) == [0x19, 0x21, 0x01, 0x02, 0x00])
        #expect(encoded(ThriftStruct([field(1, .double(1.0))])) == [0x17, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x00])
        #expect(
            encoded(ThriftStruct([field(1, .map(.binary, .i32, [ThriftMapEntry(key: .binary([0x61]), value: .i32(1))]))]))
                == [0x1B, 0x01, 0x85, 0x01, 0x61, 0x02, 0x00])
        #expect(encoded(ThriftStruct([field(1, .map(.binary, .binary, []))])) == [0x1B, 0x00, 0x00])
        let long = ThriftValue.list(.i32, (0..<20).map { .i32(Int32($0)) })
        #expect(encoded(ThriftStruct([field(1, long)])).prefix(3) == [0x19, 0xF5, 20])
        // Other writers' bool lists: element type 2, false as 0.
        #expect(try decoded([0x19, 0x32, 0x01, 0x00, 0x02, 0x00]) == ThriftStruct([field(1, .list(.boolFalse, [.bool(true), .bool(false), .bool(false)]))]))
        #expect(corruptReason { _ = try decoded([0x19, 0x11, 0x03, 0x00]) } != nil)
    }

    @Test func nestedListsOfStructsSetsAndMapsRoundTrip() throws {
        let inner = ThriftStruct([field(1, .binary(Array("leaf".utf8))), field(2, .list(.i64, [.i64(-5), .i64(Int64.max)]))])
        let s = ThriftStruct([
            field(1, .list(.structure, [.structure(inner), .structure(ThriftStruct()), .structure(inner)])),
            field(2, .list(.list, [.list(.structure, [.structure(inner)]), .list(.double, [.double(-0.0), .double(.infinity)])])),
            field(3, .set(.binary, [.binary([]), .binary([0, 255])])),
            field(4, .map(.i32, .structure, [ThriftMapEntry(key: .i32(7), value: .structure(inner))])),
            field(5, .structure(ThriftStruct([field(1, .structure(inner)), field(2, .bool(true))]))),
        ])
        let back = try decoded(encoded(s))
        #expect(back == s)
        #expect(back.structList(1)?.count == 3)
        #expect(back.structList(1)?.first?.string(1) == "leaf")
        #expect(back.structure(5)?.bool(2) == true)
        #expect(back.i32(1) == nil)
    }

    @Test func randomTreesRoundTrip() throws {
        var g = TreeGenerator(rng: SplitMix64(seed: 0x7472_6565))
        for i in 0..<400 {
            let s = g.structure(depth: 0)
            let bytes = encoded(s)
            let (back, n) = try ThriftCompact.decodeStruct(bytes, what: "tree \(i)")
            #expect(back == s, "tree \(i)")
            #expect(n == bytes.count)
            #expect(encoded(back) == bytes)
        }
    }

    @Test func everyTruncationThrowsCorrupt() {
        // Shallow trees (every cut of each is decoded: quadratic in the size).
        var g = TreeGenerator(rng: SplitMix64(seed: 42), maxDepth: 2)
        for i in 0..<40 {
            let bytes = encoded(g.structure(depth: 0))
            for cut in 0..<bytes.count {
                let prefix = Array(bytes[..<cut])
                #expect(corruptReason { _ = try ThriftCompact.decodeStruct(prefix, what: "tree \(i)") } != nil, "tree \(i) cut at \(cut)")
            }
        }
    }

    @Test func oversizedCountsAndLengthsThrow() {
        // list<i32> of 4000000000 elements; binary of 1000 bytes; map of 300 entries; 3 doubles in 16 bytes.
        let list: [UInt8] = [0x19, 0xF5, 0x80, 0xD0, 0xAC, 0xF3, 0x0E, 0x00, 0x00]
        let reason = corruptReason { _ = try ThriftCompact.decodeStruct(list, what: "footer") }
        #expect(reason?.contains("footer: list length 4000000000 exceeds the 2 bytes left") == true, "\(reason ?? "")")
        #expect(corruptReason { _ = try decoded([0x18, 0xE8, 0x07, 0x00, 0x00]) }?.contains("binary length 1000") == true)
        #expect(corruptReason { _ = try decoded([0x1B, 0xAC, 0x02, 0x55, 0x00, 0x00]) }?.contains("map size 300") == true)
        #expect(corruptReason { _ = try decoded([0x19, 0x37] + [UInt8](repeating: 0, count: 16) + [0x00]) } != nil)
        // Unknown type ids: a field of type 13, a list of type 0.
        #expect(corruptReason { _ = try decoded([0x1D, 0x00, 0x00]) } != nil)
        #expect(corruptReason { _ = try decoded([0x19, 0x10, 0x00, 0x00]) } != nil)
        // An offset outside the buffer.
        #expect(corruptReason { _ = try ThriftCompact.decodeStruct([0x00], at: 2, what: "x") } != nil)
    }

    @Test func depthBombsThrow() {
        let structs = [UInt8](repeating: 0x1C, count: 1000) + [UInt8](repeating: 0x00, count: 1001)
        #expect(corruptReason { _ = try decoded(structs) }?.contains("nesting deeper than 64") == true)
        // list<list<list<...>>> 1000 deep.
        let lists = [0x19] + [UInt8](repeating: 0x19, count: 1000) + [0x00]
        #expect(corruptReason { _ = try decoded(lists) }?.contains("nesting deeper than 64") == true)
        // 63 levels below the top struct is accepted.
        let ok = [UInt8](repeating: 0x1C, count: 63) + [UInt8](repeating: 0x00, count: 64)
        #expect(corruptReason { _ = try decoded(ok) } == nil)
    }

    @Test func decodeAtAnOffsetReportsBytesConsumed() throws {
        let s = ThriftStruct([field(1, .i32(300)), field(2, .binary([9, 9]))])
        let bytes: [UInt8] = [0xAA, 0xBB] + encoded(s) + [0xCC]
        let (back, n) = try ThriftCompact.decodeStruct(bytes, at: 2, what: "x")
        #expect(back == s)
        #expect(n == bytes.count - 3)
    }

    @Test func setKeepsFieldsSortedAndRemoves() {
        var s = ThriftStruct()
        s.set(5, .i32(5))
        s.set(1, .i32(1))
        s.set(3, .i32(3))
        s.set(3, .i64(33))
        #expect(s.fields.map(\.id) == [1, 3, 5])
        #expect(s.i64(3) == 33)
        s.set(1, nil)
        #expect(s.fields.map(\.id) == [3, 5])
        #expect(s[1] == nil)
        #expect(ThriftStruct([field(1, .binary([0xFF, 0xFE]))]).string(1) == nil)
        #expect(ThriftStruct([field(1, .list(.binary, [.binary(Array("a".utf8))]))]).stringList(1) == ["a"])
    }
}
