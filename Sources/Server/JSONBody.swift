import Columns

/// A JSON value of a request body.
enum JSONValue {
    case string(String)
    case number
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])
}

/// Why a body is not JSON (the position only, never the content).
struct JSONParseError: Error {
    let offset: Int
    /// Set when the text is JSON but a field has the wrong type: where, and what it must be.
    var wrongType: String? = nil
}

/// A small strict JSON parser (RFC 8259) for request bodies: Foundation's JSONDecoder spent more
/// than half of a 1,000-value batch request's time. Strings must be valid UTF-8; numbers are
/// checked and skipped (no request field is a number); nesting is limited to 64 levels; a
/// duplicate key keeps its last value.
struct JSONParser {
    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var depth = 0
    /// Reused for keys and transformation names (no allocation per item).
    private var scratch: [UInt8] = []

    private init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

    static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try whole(bytes) { (p: inout JSONParser) throws(JSONParseError) in try p.value() }
    }

    /// `body` parses the text's one value; only white space may follow it.
    private static func whole<T>(_ bytes: [UInt8], _ body: (inout JSONParser) throws(JSONParseError) -> T) throws(JSONParseError) -> T {
        let r: Result<T, JSONParseError> = bytes.withUnsafeBufferPointer { buf in
            var p = JSONParser(buf)
            do throws(JSONParseError) {
                let v = try body(&p)
                p.skipSpace()
                guard p.i == buf.count else { throw JSONParseError(offset: p.i) }
                return .success(v)
            } catch {
                return .failure(error)
            }
        }
        return try r.get()
    }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private func fail() -> JSONParseError { JSONParseError(offset: i) }

    /// After a member or element: true on a comma (another follows), false on `close`
    /// (consumed, the nesting left).
    private mutating func another(_ close: UInt8) throws(JSONParseError) -> Bool {
        skipSpace()
        guard i < b.count else { throw fail() }
        if b[i] == 0x2C {
            i += 1
            return true
        }
        guard b[i] == close else { throw fail() }
        i += 1
        depth -= 1
        return false
    }

    private mutating func value() throws(JSONParseError) -> JSONValue {
        skipSpace()
        guard i < b.count else { throw fail() }
        switch b[i] {
        case 0x22: return .string(try string())
        case 0x7B: return try object()
        case 0x5B: return try array()
        case 0x74:
            try literal("true")
            return .bool(true)
        case 0x66:
            try literal("false")
            return .bool(false)
        case 0x6E:
            try literal("null")
            return .null
        default:
            try number()
            return .number
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw fail() }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { throw fail() }
        i += n
    }

    private mutating func number() throws(JSONParseError) {
        if i < b.count, b[i] == 0x2D { i += 1 }
        guard i < b.count, isDigit(b[i]) else { throw fail() }
        if b[i] == 0x30 { i += 1 } else { while i < b.count, isDigit(b[i]) { i += 1 } }
        if i < b.count, b[i] == 0x2E {
            i += 1
            guard i < b.count, isDigit(b[i]) else { throw fail() }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
            i += 1
            if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
            guard i < b.count, isDigit(b[i]) else { throw fail() }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        guard depth <= 64 else { throw fail() }
    }

    private mutating func object() throws(JSONParseError) -> JSONValue {
        try enter()
        i += 1
        var out: [String: JSONValue] = [:]
        skipSpace()
        if i < b.count, b[i] == 0x7D {
            i += 1
            depth -= 1
            return .object(out)
        }
        while true {
            skipSpace()
            guard i < b.count, b[i] == 0x22 else { throw fail() }
            let key = try string()
            skipSpace()
            guard i < b.count, b[i] == 0x3A else { throw fail() }
            i += 1
            out[key] = try value()
            if try another(0x7D) { continue }
            return .object(out)
        }
    }

    private mutating func array() throws(JSONParseError) -> JSONValue {
        try enter()
        i += 1
        var out: [JSONValue] = []
        skipSpace()
        if i < b.count, b[i] == 0x5D {
            i += 1
            depth -= 1
            return .array(out)
        }
        while true {
            out.append(try value())
            if try another(0x5D) { continue }
            return .array(out)
        }
    }

    /// A string at `i` (on its opening quote).
    private mutating func string() throws(JSONParseError) -> String {
        let start = i + 1
        var end = start
        // Fast path: no escape before the closing quote.
        while end < b.count, b[end] != 0x22, b[end] != 0x5C, b[end] >= 0x20 { end += 1 }
        if end < b.count, b[end] == 0x22 {
            guard let s = String(validating: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self) else { throw JSONParseError(offset: end) }
            i = end + 1
            return s
        }
        var bytes: [UInt8] = []
        try stringBytes(into: &bytes)
        guard let s = String(validating: bytes, as: UTF8.self) else { throw fail() }
        return s
    }

    /// Four hex digits after `\u` (i on the `u`); leaves i on the last digit.
    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard i + 4 < b.count else { throw fail() }
        var v: UInt32 = 0
        for _ in 0..<4 {
            i += 1
            let c = b[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail()
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }
}

/// A Vault transform request body (`value`, `transformation`, `reference`, `tweak` at the top
/// level, or `batch_input: [{…}]`), parsed straight into columns: every item's value lands in one
/// contiguous ``ByteColumn`` the transform takes as is, no `String` or dictionary per item.
struct VaultBody: Sendable {
    /// Whether the body had a (non-null) `batch_input`; else it is one value at the top level.
    var isBatch = false
    /// Every item's value, in order (an item without value holds an empty one: see `missingValue`).
    var values = ByteColumn()
    /// The first item without a value (absent or null).
    var missingValue: Int?
    /// Whether an item named a tweak (refused: the tweak is fixed by the transformation).
    var tweakGiven = false
    /// The distinct transformation names given; `transformationOf[i]` indexes it, -1: none given.
    var names: [String] = []
    /// `names` as bytes (compared per item without going through `String`).
    var nameBytes: [[UInt8]] = []
    var transformationOf: [Int32] = []
    /// Each item's `reference` as its JSON string literal as sent (quotes and escapes
    /// included, so it is echoed without re-encoding); empty: none.
    var references = ByteColumn()

    var count: Int { values.count }

    /// The index of a transformation name in `names` (added if new).
    mutating func intern(_ name: [UInt8]) -> Int32 {
        // Items usually repeat one name: the last one first.
        if let last = nameBytes.last, last == name { return Int32(nameBytes.count - 1) }
        if let k = nameBytes.firstIndex(of: name) { return Int32(k) }
        nameBytes.append(name)
        names.append(String(decoding: name, as: UTF8.self))
        return Int32(names.count - 1)
    }

    /// Item `i`'s transformation name, if it gave one.
    func transformation(at i: Int) -> String? { transformationOf[i] < 0 ? nil : names[Int(transformationOf[i])] }
}

extension JSONParser {
    /// Parses a Vault transform request body.
    /// - Throws: ``JSONParseError``: not JSON (the offset), or JSON of the wrong shape (`wrongType`).
    static func parseVault(_ bytes: [UInt8]) throws(JSONParseError) -> VaultBody {
        try whole(bytes) { (p: inout JSONParser) throws(JSONParseError) in
            // JSON text is UTF-8 (RFC 8259 §8.1): validated once here, so strings are copied as
            // bytes afterwards.
            if let bad = Self.invalidUTF8(p.b) { throw JSONParseError(offset: bad) }
            return try p.vaultBody()
        }
    }

    /// The offset of the first byte that is not well-formed UTF-8 (Unicode 15 table 3-7), if any.
    static func invalidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 {
                i += 1
                continue
            }
            var len = 0
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: len = 2
            case 0xE0:
                len = 3
                lo = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: len = 3
            case 0xED:
                len = 3
                hi = 0x9F
            case 0xF0:
                len = 4
                lo = 0x90
            case 0xF1...0xF3: len = 4
            case 0xF4:
                len = 4
                hi = 0x8F
            default: return i
            }
            guard i + len <= n, b[i + 1] >= lo, b[i + 1] <= hi else { return i }
            for k in 2..<len where b[i + k] & 0xC0 != 0x80 { return i }
            i += len
        }
        return nil
    }

    private enum Field { case value, transformation, reference, tweak, batchInput, other }

    private enum Keys {
        static let value = Array("value".utf8)
        static let tweak = Array("tweak".utf8)
        static let reference = Array("reference".utf8)
        static let batchInput = Array("batch_input".utf8)
        static let transformation = Array("transformation".utf8)
    }

    private func wrong(_ at: String, _ what: String) -> JSONParseError {
        JSONParseError(offset: i, wrongType: "wrong type at '\(at)' (\(what))")
    }

    /// A key (i on its opening quote), recognized without allocating.
    private mutating func field() throws(JSONParseError) -> Field {
        try scratchString()
        switch scratch.count {
        case 5 where scratch == Keys.value: return .value
        case 5 where scratch == Keys.tweak: return .tweak
        case 9 where scratch == Keys.reference: return .reference
        case 11 where scratch == Keys.batchInput: return .batchInput
        case 14 where scratch == Keys.transformation: return .transformation
        default: return .other
        }
    }

    /// A string's content (i on its opening quote) into `scratch` (its capacity reused).
    private mutating func scratchString() throws(JSONParseError) {
        var s = scratch
        scratch = []
        s.removeAll(keepingCapacity: true)
        defer { scratch = s }
        try stringBytes(into: &s)
    }

    /// A string's content (i on its opening quote) appended to `out`, escapes decoded. The
    /// text was validated as UTF-8 before; escapes produce valid UTF-8 (lone surrogates refused).
    private mutating func stringBytes(into out: inout [UInt8]) throws(JSONParseError) {
        i += 1
        while true {
            let start = i
            while i < b.count, b[i] != 0x22, b[i] != 0x5C, b[i] >= 0x20 { i += 1 }
            guard i < b.count else { throw fail() }
            if i > start { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i])) }
            let c = b[i]
            if c == 0x22 {
                i += 1
                return
            }
            guard c == 0x5C else { throw fail() }
            i += 1
            guard i < b.count else { throw fail() }
            switch b[i] {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 2 < b.count, b[i + 1] == 0x5C, b[i + 2] == 0x75 else { throw fail() }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail() }
                out.append(contentsOf: UTF8.encode(u)!)
            default: throw fail()
            }
            i += 1
        }
    }

    private func isNull() -> Bool {
        i + 4 <= b.count && b[i] == 0x6E && b[i + 1] == 0x75 && b[i + 2] == 0x6C && b[i + 3] == 0x6C
    }

    /// One item's fields, parsed into `body` (i on the object's opening brace, or at the top
    /// level's fields when `topLevel`). Returns whether the item had a value.
    private mutating func item(_ body: inout VaultBody, index: Int?, batch: inout Bool) throws(JSONParseError) {
        let valueStart = body.values.bytes.count
        let referenceStart = body.references.bytes.count
        var hasValue = false
        var transformation: Int32 = -1
        let topLevel = index == nil
        func at(_ name: String) -> String { index.map { "batch_input.\($0).\(name)" } ?? name }
        // The top level's own fields are kept aside until the end (a batch_input replaces them).
        var single: [UInt8] = []
        var singleName: [UInt8]?
        var singleTweak = false
        try enter()
        i += 1
        skipSpace()
        if i < b.count, b[i] == 0x7D {
            i += 1
        } else {
            while true {
                skipSpace()
                guard i < b.count, b[i] == 0x22 else { throw fail() }
                let f = try field()
                skipSpace()
                guard i < b.count, b[i] == 0x3A else { throw fail() }
                i += 1
                skipSpace()
                guard i < b.count else { throw fail() }
                let isString = b[i] == 0x22
                switch f {
                case .value:
                    // A duplicate key keeps its last value.
                    if topLevel { single.removeAll() } else { body.values.bytes.removeSubrange(valueStart...) }
                    if isString {
                        if topLevel { try stringBytes(into: &single) } else { try stringBytes(into: &body.values.bytes) }
                        hasValue = true
                    } else if isNull() {
                        try literal("null")
                        hasValue = false
                    } else {
                        throw wrong(at("value"), "a string")
                    }
                case .transformation:
                    if isString {
                        try scratchString()
                        if topLevel {
                            singleName = scratch
                        } else {
                            transformation = body.intern(scratch)
                        }
                    } else if isNull() {
                        try literal("null")
                        transformation = -1
                        singleName = nil
                    } else {
                        throw wrong(at("transformation"), "a string")
                    }
                case .reference:
                    body.references.bytes.removeSubrange(referenceStart...)
                    if isString {
                        let start = i
                        try scratchString()
                        body.references.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
                    } else if isNull() {
                        try literal("null")
                    } else {
                        throw wrong(at("reference"), "a string")
                    }
                case .tweak:
                    if isString {
                        try scratchString()
                        if topLevel { singleTweak = true } else { body.tweakGiven = true }
                    } else if isNull() {
                        try literal("null")
                        if topLevel { singleTweak = false }
                    } else {
                        throw wrong(at("tweak"), "a string")
                    }
                case .batchInput where topLevel:
                    if isNull() {
                        try literal("null")
                        if batch {
                            batch = false
                            body = VaultBody()
                        }
                    } else if b[i] == 0x5B {
                        // A duplicate batch_input keeps the last one.
                        body = VaultBody()
                        batch = true
                        try items(&body)
                    } else {
                        throw wrong("batch_input", "an array")
                    }
                case .batchInput, .other:
                    _ = try value()
                }
                skipSpace()
                guard i < b.count else { throw fail() }
                if b[i] == 0x2C {
                    i += 1
                    continue
                }
                guard b[i] == 0x7D else { throw fail() }
                i += 1
                break
            }
        }
        depth -= 1
        if topLevel {
            guard !batch else { return }
            body.values.append(single[...])
            body.references.offsets.append(body.references.bytes.count)
            body.transformationOf.append(singleName.map { body.intern($0) } ?? -1)
            body.tweakGiven = singleTweak
            if !hasValue { body.missingValue = 0 }
            return
        }
        body.values.offsets.append(body.values.bytes.count)
        body.references.offsets.append(body.references.bytes.count)
        body.transformationOf.append(transformation)
        if !hasValue && body.missingValue == nil { body.missingValue = body.transformationOf.count - 1 }
    }

    /// The `batch_input` array (i on its opening bracket).
    private mutating func items(_ body: inout VaultBody) throws(JSONParseError) {
        try enter()
        i += 1
        skipSpace()
        if i < b.count, b[i] == 0x5D {
            i += 1
            depth -= 1
            return
        }
        var k = 0
        var inner = true
        while true {
            skipSpace()
            guard i < b.count else { throw fail() }
            guard b[i] == 0x7B else {
                _ = try value()
                throw wrong("batch_input.\(k)", "an object")
            }
            try item(&body, index: k, batch: &inner)
            k += 1
            if try another(0x5D) { continue }
            return
        }
    }

    /// The whole body: an object (else "not a JSON object" when it is other JSON).
    private mutating func vaultBody() throws(JSONParseError) -> VaultBody {
        skipSpace()
        guard i < b.count, b[i] == 0x7B else {
            _ = try value()
            skipSpace()
            guard i == b.count else { throw fail() }
            throw JSONParseError(offset: 0, wrongType: "not a JSON object")
        }
        var body = VaultBody()
        var batch = false
        try item(&body, index: nil, batch: &batch)
        body.isBatch = batch
        return body
    }
}
