// The Thrift compact protocol (thrift doc/specs/thrift-compact-protocol.md) as a generic value
// tree: Parquet's footer and page headers are Thrift structs, and reading them into a tree keeps
// every field, including ones this implementation does not model, so a footer can be read,
// edited and written back without loss.

/// The compact protocol's type ids (the low nibble of a field header, the element types of a
/// list, set or map). A bool field carries its value in the type id (`boolTrue`, `boolFalse`); a
/// bool list names its element type `boolTrue` (some writers use `boolFalse`: both read as bool).
public enum ThriftType: UInt8, Sendable {
    case boolTrue = 1
    case boolFalse = 2
    case byte = 3
    case i16 = 4
    case i32 = 5
    case i64 = 6
    case double = 7
    case binary = 8
    case list = 9
    case set = 10
    case map = 11
    case structure = 12

    /// True for both bool ids.
    public var isBool: Bool { self == .boolTrue || self == .boolFalse }
}

/// One Thrift value. Containers carry their element type, so an empty list still encodes as
/// read; the elements of a list, set or map must all be of the stated type (the decoder always
/// produces such values; an encoder given a mismatched element writes it as its own type, which
/// a reader then misreads).
public indirect enum ThriftValue: Sendable, Equatable {
    case bool(Bool)
    case byte(Int8)
    case i16(Int16)
    case i32(Int32)
    case i64(Int64)
    case double(Double)
    /// Binary and string fields (Thrift does not distinguish them on the wire).
    case binary([UInt8])
    case list(ThriftType, [ThriftValue])
    case set(ThriftType, [ThriftValue])
    /// Key type, value type, entries. An empty map carries no types on the wire: it reads as
    /// `.map(.binary, .binary, [])`.
    case map(ThriftType, ThriftType, [ThriftMapEntry])
    case structure(ThriftStruct)

    /// The value's compact type id (a bool's id carries its value).
    public var type: ThriftType {
        switch self {
        case .bool(let b): b ? .boolTrue : .boolFalse
        case .byte: .byte
        case .i16: .i16
        case .i32: .i32
        case .i64: .i64
        case .double: .double
        case .binary: .binary
        case .list: .list
        case .set: .set
        case .map: .map
        case .structure: .structure
        }
    }

    /// The value if it is a `.bool`.
    public var asBool: Bool? { if case .bool(let v) = self { v } else { nil } }
    /// The value if it is a `.byte`.
    public var asByte: Int8? { if case .byte(let v) = self { v } else { nil } }
    /// The value if it is an `.i16`.
    public var asI16: Int16? { if case .i16(let v) = self { v } else { nil } }
    /// The value if it is an `.i32`.
    public var asI32: Int32? { if case .i32(let v) = self { v } else { nil } }
    /// The value if it is an `.i64`.
    public var asI64: Int64? { if case .i64(let v) = self { v } else { nil } }
    /// The value if it is a `.double`.
    public var asDouble: Double? { if case .double(let v) = self { v } else { nil } }
    /// The bytes if it is a `.binary`.
    public var asBinary: [UInt8]? { if case .binary(let v) = self { v } else { nil } }
    /// The bytes as a string if it is a `.binary` holding valid UTF-8; nil otherwise.
    public var asString: String? {
        guard case .binary(let v) = self else { return nil }
        return String(validating: v, as: UTF8.self)
    }
    /// The struct if it is a `.structure`.
    public var asStruct: ThriftStruct? { if case .structure(let v) = self { v } else { nil } }
    /// The elements if it is a `.list` or a `.set`.
    public var asList: [ThriftValue]? {
        switch self {
        case .list(_, let v), .set(_, let v): v
        default: nil
        }
    }
    /// The elements if it is a list (or set) of structs.
    public var asStructList: [ThriftStruct]? { asList.flatMap { Self.all($0, \.asStruct) } }
    /// The elements if it is a list (or set) of i32.
    public var asI32List: [Int32]? { asList.flatMap { Self.all($0, \.asI32) } }
    /// The elements if it is a list (or set) of i64.
    public var asI64List: [Int64]? { asList.flatMap { Self.all($0, \.asI64) } }
    /// The elements if it is a list (or set) of valid UTF-8 strings.
    public var asStringList: [String]? { asList.flatMap { Self.all($0, \.asString) } }

    private static func all<T>(_ values: [ThriftValue], _ get: (ThriftValue) -> T?) -> [T]? {
        var out: [T] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard let t = get(v) else { return nil }
            out.append(t)
        }
        return out
    }
}

/// One entry of a Thrift map.
public struct ThriftMapEntry: Sendable, Equatable {
    public var key: ThriftValue
    public var value: ThriftValue
    public init(key: ThriftValue, value: ThriftValue) {
        self.key = key
        self.value = value
    }
}

/// One field of a Thrift struct: its id and value.
public struct ThriftField: Sendable, Equatable {
    public var id: Int16
    public var value: ThriftValue
    public init(id: Int16, value: ThriftValue) {
        self.id = id
        self.value = value
    }
}

/// A Thrift struct (or union): its fields in the order read, or sorted by id where built with
/// ``set(_:_:)``. The typed accessors return nil when the field is absent or of another type.
public struct ThriftStruct: Sendable, Equatable {
    public var fields: [ThriftField]

    public init(_ fields: [ThriftField] = []) { self.fields = fields }

    /// The value of field `id` (the last one where a struct repeats an id, as Thrift readers
    /// keep the last).
    public subscript(id: Int16) -> ThriftValue? {
        var i = fields.count - 1
        while i >= 0 {
            if fields[i].id == id { return fields[i].value }
            i -= 1
        }
        return nil
    }

    public func bool(_ id: Int16) -> Bool? { self[id]?.asBool }
    public func byte(_ id: Int16) -> Int8? { self[id]?.asByte }
    public func i16(_ id: Int16) -> Int16? { self[id]?.asI16 }
    public func i32(_ id: Int16) -> Int32? { self[id]?.asI32 }
    public func i64(_ id: Int16) -> Int64? { self[id]?.asI64 }
    public func double(_ id: Int16) -> Double? { self[id]?.asDouble }
    public func binary(_ id: Int16) -> [UInt8]? { self[id]?.asBinary }
    /// The field as a string: nil when absent, not binary, or not valid UTF-8.
    public func string(_ id: Int16) -> String? { self[id]?.asString }
    public func structure(_ id: Int16) -> ThriftStruct? { self[id]?.asStruct }
    /// The elements of a list or set field.
    public func list(_ id: Int16) -> [ThriftValue]? { self[id]?.asList }
    public func structList(_ id: Int16) -> [ThriftStruct]? { self[id]?.asStructList }
    public func i32List(_ id: Int16) -> [Int32]? { self[id]?.asI32List }
    public func i64List(_ id: Int16) -> [Int64]? { self[id]?.asI64List }
    public func stringList(_ id: Int16) -> [String]? { self[id]?.asStringList }

    /// Sets field `id` to `value` (nil removes it). Every field with that id is replaced by one,
    /// placed before the first field with a greater id, so fields built with `set` stay sorted.
    public mutating func set(_ id: Int16, _ value: ThriftValue?) {
        if let i = fields.firstIndex(where: { $0.id == id }), fields[(i + 1)...].allSatisfy({ $0.id != id }) {
            // Replace in place (keeps the order of a struct read in another order).
            if let value {
                fields[i].value = value
            } else {
                fields.remove(at: i)
            }
            return
        }
        fields.removeAll { $0.id == id }
        guard let value else { return }
        let at = fields.firstIndex { $0.id > id } ?? fields.count
        fields.insert(ThriftField(id: id, value: value), at: at)
    }
}

/// Reads and writes ``ThriftStruct`` in the compact protocol.
///
/// Decoding never traps on malformed input: a truncated value, an overlong or overflowing
/// varint, an unknown type id, a length or element count beyond the bytes left, or nesting
/// deeper than ``maxDepth`` throws `ParquetError(.corrupt, ...)` naming `what` and the byte
/// offset.
public enum ThriftCompact {
    /// The deepest nesting of structs and containers accepted.
    public static let maxDepth = 64

    /// Decodes one struct starting at `offset`; returns it and the bytes consumed.
    public static func decodeStruct(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0, what: String) throws -> (ThriftStruct, Int) {
        guard offset >= 0, offset <= bytes.count else {
            throw ParquetError(.corrupt, "\(what): offset \(offset) is outside the \(bytes.count) bytes")
        }
        var r = Reader(base: bytes, pos: offset, what: what)
        let s = try r.readStruct(depth: 1)
        return (s, r.pos - offset)
    }

    /// Decodes one struct starting at `offset`; returns it and the bytes consumed.
    public static func decodeStruct(_ bytes: [UInt8], at offset: Int = 0, what: String) throws -> (ThriftStruct, Int) {
        try bytes.withUnsafeBytes { try decodeStruct($0, at: offset, what: what) }
    }

    /// Appends the compact encoding of `s` (fields in the order held; any id order is written,
    /// using the long field header where the short delta form does not apply).
    public static func encode(_ s: ThriftStruct, into out: inout [UInt8]) {
        writeStruct(s, into: &out)
    }

    /// The compact encoding of `s`.
    public static func encode(_ s: ThriftStruct) -> [UInt8] {
        var out: [UInt8] = []
        writeStruct(s, into: &out)
        return out
    }

    // MARK: - Writing

    static func writeVarint(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    private static func writeStruct(_ s: ThriftStruct, into out: inout [UInt8]) {
        var last = 0
        for f in s.fields {
            let type = f.value.type.rawValue
            let delta = Int(f.id) - last
            if delta >= 1 && delta <= 15 {
                out.append(UInt8(delta) << 4 | type)
            } else {
                out.append(type)
                writeVarint(zigzag(Int64(f.id)), into: &out)
            }
            last = Int(f.id)
            if case .bool = f.value { continue }
            writeValue(f.value, into: &out)
        }
        out.append(0)
    }

    private static func writeValue(_ v: ThriftValue, into out: inout [UInt8]) {
        switch v {
        case .bool(let b): out.append(b ? 1 : 2)
        case .byte(let b): out.append(UInt8(bitPattern: b))
        case .i16(let x): writeVarint(zigzag(Int64(x)), into: &out)
        case .i32(let x): writeVarint(zigzag(Int64(x)), into: &out)
        case .i64(let x): writeVarint(zigzag(x), into: &out)
        case .double(let d):
            let bits = d.bitPattern
            for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        case .binary(let b):
            writeVarint(UInt64(b.count), into: &out)
            out.append(contentsOf: b)
        case .list(let t, let elements), .set(let t, let elements):
            if elements.count < 15 {
                out.append(UInt8(elements.count) << 4 | t.rawValue)
            } else {
                out.append(0xF0 | t.rawValue)
                writeVarint(UInt64(elements.count), into: &out)
            }
            for e in elements { writeValue(e, into: &out) }
        case .map(let k, let vt, let entries):
            writeVarint(UInt64(entries.count), into: &out)
            guard !entries.isEmpty else { return }
            out.append(k.rawValue << 4 | vt.rawValue)
            for e in entries {
                writeValue(e.key, into: &out)
                writeValue(e.value, into: &out)
            }
        case .structure(let s): writeStruct(s, into: &out)
        }
    }

    // MARK: - Reading

    private struct Reader {
        let base: UnsafeRawBufferPointer
        var pos: Int
        let what: String

        var left: Int { base.count - pos }

        func corrupt(_ message: String, at offset: Int? = nil) -> ParquetError {
            ParquetError(.corrupt, "\(what): \(message) at byte \(offset ?? pos)")
        }

        mutating func byte(_ reading: @autoclosure () -> String) throws -> UInt8 {
            guard pos < base.count else { throw corrupt("truncated \(reading())") }
            let b = base[pos]
            pos += 1
            return b
        }

        /// An unsigned LEB128 varint of at most 10 bytes; rejects overflow and overlong forms
        /// (a final zero byte after the first), so a re-encoding reproduces the bytes.
        mutating func varint(_ reading: @autoclosure () -> String) throws -> UInt64 {
            let start = pos
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard pos < base.count else { throw corrupt("truncated varint (\(reading()))", at: start) }
                let b = base[pos]
                pos += 1
                if shift == 63 && b > 1 { throw corrupt("varint (\(reading())) overflows 64 bits", at: start) }
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 {
                    if b == 0 && shift > 0 { throw corrupt("overlong varint (\(reading()))", at: start) }
                    return result
                }
                shift += 7
            }
        }

        mutating func i16(_ reading: @autoclosure () -> String) throws -> Int16 {
            let start = pos
            let v = try varint(reading())
            guard v <= UInt64(UInt16.max) else { throw corrupt("\(reading()) \(v) overflows i16", at: start) }
            let u = UInt16(v)
            return Int16(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
        }

        mutating func i32(_ reading: @autoclosure () -> String) throws -> Int32 {
            let start = pos
            let v = try varint(reading())
            guard v <= UInt64(UInt32.max) else { throw corrupt("\(reading()) \(v) overflows i32", at: start) }
            let u = UInt32(v)
            return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
        }

        mutating func i64(_ reading: @autoclosure () -> String) throws -> Int64 {
            let v = try varint(reading())
            return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
        }

        /// The fewest bytes one element of type `t` takes (bounds element counts).
        static func minSize(_ t: ThriftType) -> Int { t == .double ? 8 : 1 }

        func elementType(_ id: UInt8, _ container: String, at offset: Int) throws -> ThriftType {
            guard id != 0, let t = ThriftType(rawValue: id) else {
                throw corrupt("\(container) element type \(id) is not a compact type id", at: offset)
            }
            return t
        }

        mutating func readStruct(depth: Int) throws -> ThriftStruct {
            guard depth <= ThriftCompact.maxDepth else {
                throw corrupt("nesting deeper than \(ThriftCompact.maxDepth) structs and containers")
            }
            var fields: [ThriftField] = []
            var last: Int16 = 0
            while true {
                let headerAt = pos
                let header = try byte("struct (no stop byte)")
                if header == 0 { return ThriftStruct(fields) }
                let typeID = header & 0x0F
                let delta = header >> 4
                let id: Int16
                if delta == 0 {
                    id = try i16("field id")
                } else {
                    let (sum, overflow) = last.addingReportingOverflow(Int16(delta))
                    guard !overflow else { throw corrupt("field id delta overflows i16", at: headerAt) }
                    id = sum
                }
                last = id
                guard let type = ThriftType(rawValue: typeID) else {
                    throw corrupt("field \(id) has type id \(typeID), not a compact type id", at: headerAt)
                }
                let value: ThriftValue
                switch type {
                case .boolTrue: value = .bool(true)
                case .boolFalse: value = .bool(false)
                default: value = try readValue(type, depth: depth)
                }
                fields.append(ThriftField(id: id, value: value))
            }
        }

        /// Reads a value of type `t` (a bool as a 1-byte element). `depth` is that of the
        /// enclosing struct or container.
        mutating func readValue(_ t: ThriftType, depth: Int) throws -> ThriftValue {
            switch t {
            case .boolTrue, .boolFalse:
                let at = pos
                switch try byte("bool element") {
                case 1: return .bool(true)
                case 0, 2: return .bool(false)
                case let b: throw corrupt("bool element byte \(b) is neither 1 (true) nor 0 or 2 (false)", at: at)
                }
            case .byte: return .byte(Int8(bitPattern: try byte("byte")))
            case .i16: return .i16(try i16("i16"))
            case .i32: return .i32(try i32("i32"))
            case .i64: return .i64(try i64("i64"))
            case .double:
                guard left >= 8 else { throw corrupt("truncated double (\(left) bytes left)") }
                var bits: UInt64 = 0
                for i in 0..<8 { bits |= UInt64(base[pos + i]) << (8 * UInt64(i)) }
                pos += 8
                return .double(Double(bitPattern: bits))
            case .binary:
                let at = pos
                let n = try varint("binary length")
                guard n <= UInt64(left) else { throw corrupt("binary length \(n) exceeds the \(left) bytes left", at: at) }
                let count = Int(n)
                let start = base.baseAddress.map { $0 + pos }
                pos += count
                guard let start, count > 0 else { return .binary([]) }
                return .binary(Array(UnsafeRawBufferPointer(start: start, count: count)))
            case .list, .set:
                let name = t == .list ? "list" : "set"
                guard depth < ThriftCompact.maxDepth else {
                    throw corrupt("nesting deeper than \(ThriftCompact.maxDepth) structs and containers")
                }
                let at = pos
                let header = try byte("\(name) header")
                // An empty list with element type 0 (fastparquet's writer): nothing to read.
                if header == 0 { return t == .list ? .list(.structure, []) : .set(.structure, []) }
                let et = try elementType(header & 0x0F, name, at: at)
                var n = UInt64(header >> 4)
                if n == 15 { n = try varint("\(name) length") }
                let minimum = Self.minSize(et)
                guard n <= UInt64(left / minimum) else {
                    throw corrupt("\(name) length \(n) exceeds the \(left) bytes left", at: at)
                }
                var elements: [ThriftValue] = []
                elements.reserveCapacity(Int(n))
                for _ in 0..<Int(n) { elements.append(try readValue(et, depth: depth + 1)) }
                return t == .list ? .list(et, elements) : .set(et, elements)
            case .map:
                guard depth < ThriftCompact.maxDepth else {
                    throw corrupt("nesting deeper than \(ThriftCompact.maxDepth) structs and containers")
                }
                let at = pos
                let n = try varint("map size")
                if n == 0 { return .map(.binary, .binary, []) }
                let typesAt = pos
                let types = try byte("map types")
                let kt = try elementType(types >> 4, "map key", at: typesAt)
                let vt = try elementType(types & 0x0F, "map value", at: typesAt)
                let minimum = Self.minSize(kt) + Self.minSize(vt)
                guard n <= UInt64(left / minimum) else {
                    throw corrupt("map size \(n) exceeds the \(left) bytes left", at: at)
                }
                var entries: [ThriftMapEntry] = []
                entries.reserveCapacity(Int(n))
                for _ in 0..<Int(n) {
                    let k = try readValue(kt, depth: depth + 1)
                    let v = try readValue(vt, depth: depth + 1)
                    entries.append(ThriftMapEntry(key: k, value: v))
                }
                return .map(kt, vt, entries)
            case .structure:
                return .structure(try readStruct(depth: depth + 1))
            }
        }
    }
}
