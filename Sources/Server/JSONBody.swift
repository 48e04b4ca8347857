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
}

/// A small strict JSON parser (RFC 8259) for request bodies: Foundation's JSONDecoder spent more
/// than half of a 1,000-value batch request's time. Strings must be valid UTF-8; numbers are
/// checked and skipped (no request field is a number); nesting is limited to 64 levels; a
/// duplicate key keeps its last value.
struct JSONParser {
    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var depth = 0

    private init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

    static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let r: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buf in
            var p = JSONParser(buf)
            do throws(JSONParseError) {
                let v = try p.value()
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
            skipSpace()
            guard i < b.count else { throw fail() }
            if b[i] == 0x2C {
                i += 1
                continue
            }
            guard b[i] == 0x7D else { throw fail() }
            i += 1
            depth -= 1
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
            skipSpace()
            guard i < b.count else { throw fail() }
            if b[i] == 0x2C {
                i += 1
                continue
            }
            guard b[i] == 0x5D else { throw fail() }
            i += 1
            depth -= 1
            return .array(out)
        }
    }

    /// A string at `i` (on its opening quote).
    private mutating func string() throws(JSONParseError) -> String {
        i += 1
        let start = i
        // Fast path: no escape before the closing quote.
        while i < b.count, b[i] != 0x22, b[i] != 0x5C, b[i] >= 0x20 { i += 1 }
        guard i < b.count else { throw fail() }
        if b[i] == 0x22 {
            guard let s = String(validating: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self) else { throw fail() }
            i += 1
            return s
        }
        var bytes = Array(b[start..<i])
        while true {
            guard i < b.count else { throw fail() }
            let c = b[i]
            if c == 0x22 {
                i += 1
                break
            }
            guard c >= 0x20 else { throw fail() }
            if c != 0x5C {
                bytes.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < b.count else { throw fail() }
            switch b[i] {
            case 0x22: bytes.append(0x22)
            case 0x5C: bytes.append(0x5C)
            case 0x2F: bytes.append(0x2F)
            case 0x62: bytes.append(0x08)
            case 0x66: bytes.append(0x0C)
            case 0x6E: bytes.append(0x0A)
            case 0x72: bytes.append(0x0D)
            case 0x74: bytes.append(0x09)
            case 0x75:
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard i + 2 < b.count, b[i + 1] == 0x5C, b[i + 2] == 0x75 else { throw fail() }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail() }
                bytes.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw fail()
            }
            i += 1
        }
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
