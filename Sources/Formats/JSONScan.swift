/// JSON scanning over bytes: strings (decoded into a builder, or only checked), numbers,
/// literals and nested values (checked and skipped). Functions return the index after what
/// they scanned, or a negative ``JSONScanError`` raw value.
enum JSONScanError: Int {
    case unterminatedString = -1
    case controlCharacter = -2
    case invalidEscape = -3
    case invalidUnicodeEscape = -4
    case invalidValue = -5
    case invalidNumber = -6
    case expectedColon = -7
    case expectedCommaOrClose = -8
    case expectedKey = -9
    case tooDeep = -10

    var reason: String {
        switch self {
        case .unterminatedString: "unterminated string"
        case .controlCharacter: "unescaped control character in a string"
        case .invalidEscape: "invalid escape sequence in a string"
        case .invalidUnicodeEscape: "invalid \\u escape (bad hex digits or unpaired surrogate)"
        case .invalidValue: "invalid JSON value"
        case .invalidNumber: "invalid JSON number"
        case .expectedColon: "expected ':' after a key"
        case .expectedCommaOrClose: "expected ',' or a closing bracket"
        case .expectedKey: "expected a key string"
        case .tooDeep: "nesting too deep"
        }
    }
}

@inline(__always)
func isJSONSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

@inline(__always)
func skipSpace(_ b: UnsafePointer<UInt8>, _ p: Int, _ e: Int) -> Int {
    var i = p
    while i < e && isJSONSpace(b[i]) { i &+= 1 }
    return i
}

@inline(__always)
func hexValue(_ c: UInt8) -> Int {
    switch c {
    case 0x30...0x39: Int(c - 0x30)
    case 0x41...0x46: Int(c - 0x41 + 10)
    case 0x61...0x66: Int(c - 0x61 + 10)
    default: -1
    }
}

@inline(__always)
func hex4(_ b: UnsafePointer<UInt8>, _ p: Int, _ e: Int) -> Int {
    guard p + 4 <= e else { return -1 }
    let a = hexValue(b[p]), c = hexValue(b[p + 1]), d = hexValue(b[p + 2]), f = hexValue(b[p + 3])
    if a < 0 || c < 0 || d < 0 || f < 0 { return -1 }
    return a << 12 | c << 8 | d << 4 | f
}

/// Scans the JSON string whose content starts at `p` (after the opening quote), appending the
/// decoded UTF-8 to `out` when given. Returns the index after the closing quote.
func scanJSONString(
    _ b: UnsafePointer<UInt8>, _ p: Int, _ e: Int, _ out: UnsafeMutablePointer<ColumnBuilder>?
) -> Int {
    var i = p
    var seg = p
    let raw = UnsafeRawPointer(b)
    while i < e {
        // Skip 8 bytes at a time up to the next quote, backslash or control character (the
        // lowest flagged byte is exact).
        while i &+ 8 <= e {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let special =
                zeroBytes(w ^ 0x2222_2222_2222_2222) | zeroBytes(w ^ 0x5C5C_5C5C_5C5C_5C5C)
                | ((w &- 0x2020_2020_2020_2020) & ~w & 0x8080_8080_8080_8080)
            if special != 0 {
                i &+= special.trailingZeroBitCount &>> 3
                break
            }
            i &+= 8
        }
        if i >= e { break }
        let c = b[i]
        if c == quote {
            out?.pointee.appendPartial(b + seg, i - seg)
            return i + 1
        }
        if c == 0x5C {  // backslash
            out?.pointee.appendPartial(b + seg, i - seg)
            guard i + 1 < e else { return JSONScanError.unterminatedString.rawValue }
            let esc = b[i + 1]
            var decoded: UInt8 = 0
            switch esc {
            case quote, 0x5C, 0x2F: decoded = esc
            case UInt8(ascii: "b"): decoded = 0x08
            case UInt8(ascii: "f"): decoded = 0x0C
            case UInt8(ascii: "n"): decoded = 0x0A
            case UInt8(ascii: "r"): decoded = 0x0D
            case UInt8(ascii: "t"): decoded = 0x09
            case UInt8(ascii: "u"):
                var cp = hex4(b, i + 2, e)
                if cp < 0 { return JSONScanError.invalidUnicodeEscape.rawValue }
                var next = i + 6
                if cp >= 0xD800 && cp <= 0xDBFF {
                    guard next + 1 < e, b[next] == 0x5C, b[next + 1] == UInt8(ascii: "u") else {
                        return JSONScanError.invalidUnicodeEscape.rawValue
                    }
                    let low = hex4(b, next + 2, e)
                    guard low >= 0xDC00 && low <= 0xDFFF else { return JSONScanError.invalidUnicodeEscape.rawValue }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                    next += 6
                } else if cp >= 0xDC00 && cp <= 0xDFFF {
                    return JSONScanError.invalidUnicodeEscape.rawValue
                }
                if let out { appendUTF8(cp, out) }
                i = next
                seg = i
                continue
            default:
                return JSONScanError.invalidEscape.rawValue
            }
            out?.pointee.appendByte(decoded)
            i += 2
            seg = i
            continue
        }
        if c < 0x20 { return JSONScanError.controlCharacter.rawValue }
        i &+= 1
    }
    return JSONScanError.unterminatedString.rawValue
}

@inline(__always)
func appendUTF8(_ cp: Int, _ out: UnsafeMutablePointer<ColumnBuilder>) {
    if cp < 0x80 {
        out.pointee.appendByte(UInt8(cp))
    } else if cp < 0x800 {
        out.pointee.appendByte(UInt8(0xC0 | cp >> 6))
        out.pointee.appendByte(UInt8(0x80 | cp & 0x3F))
    } else if cp < 0x10000 {
        out.pointee.appendByte(UInt8(0xE0 | cp >> 12))
        out.pointee.appendByte(UInt8(0x80 | cp >> 6 & 0x3F))
        out.pointee.appendByte(UInt8(0x80 | cp & 0x3F))
    } else {
        out.pointee.appendByte(UInt8(0xF0 | cp >> 18))
        out.pointee.appendByte(UInt8(0x80 | cp >> 12 & 0x3F))
        out.pointee.appendByte(UInt8(0x80 | cp >> 6 & 0x3F))
        out.pointee.appendByte(UInt8(0x80 | cp & 0x3F))
    }
}

@inline(__always)
func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

/// Scans a JSON number starting at `p`.
func scanJSONNumber(_ b: UnsafePointer<UInt8>, _ p: Int, _ e: Int) -> Int {
    var i = p
    if i < e && b[i] == UInt8(ascii: "-") { i += 1 }
    guard i < e, isDigit(b[i]) else { return JSONScanError.invalidNumber.rawValue }
    if b[i] == UInt8(ascii: "0") {
        i += 1
    } else {
        while i < e && isDigit(b[i]) { i += 1 }
    }
    if i < e && b[i] == UInt8(ascii: ".") {
        i += 1
        guard i < e, isDigit(b[i]) else { return JSONScanError.invalidNumber.rawValue }
        while i < e && isDigit(b[i]) { i += 1 }
    }
    if i < e && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
        i += 1
        if i < e && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
        guard i < e, isDigit(b[i]) else { return JSONScanError.invalidNumber.rawValue }
        while i < e && isDigit(b[i]) { i += 1 }
    }
    // A number runs into the next structural character or space.
    if i < e && !(isJSONSpace(b[i]) || b[i] == UInt8(ascii: ",") || b[i] == UInt8(ascii: "}") || b[i] == UInt8(ascii: "]")) {
        return JSONScanError.invalidNumber.rawValue
    }
    return i
}

/// Scans `word` (`true`, `false`, `null`) at `p`.
@inline(__always)
func scanLiteral(_ b: UnsafePointer<UInt8>, _ p: Int, _ e: Int, _ word: StaticString) -> Int {
    let n = word.utf8CodeUnitCount
    guard p + n <= e else { return JSONScanError.invalidValue.rawValue }
    let w = word.utf8Start
    for k in 0..<n where b[p + k] != w[k] { return JSONScanError.invalidValue.rawValue }
    let i = p + n
    if i < e && !(isJSONSpace(b[i]) || b[i] == UInt8(ascii: ",") || b[i] == UInt8(ascii: "}") || b[i] == UInt8(ascii: "]")) {
        return JSONScanError.invalidValue.rawValue
    }
    return i
}

/// Checks and skips any JSON value at `p` (nesting at most `maxDepth` deep).
func skipJSONValue(_ b: UnsafePointer<UInt8>, _ p: Int, _ e: Int, depth: Int, maxDepth: Int) -> Int {
    guard p < e else { return JSONScanError.invalidValue.rawValue }
    switch b[p] {
    case quote:
        return scanJSONString(b, p + 1, e, nil)
    case UInt8(ascii: "{"), UInt8(ascii: "["):
        let isObject = b[p] == UInt8(ascii: "{")
        let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        guard depth < maxDepth else { return JSONScanError.tooDeep.rawValue }
        var i = skipSpace(b, p + 1, e)
        if i < e && b[i] == close { return i + 1 }
        while true {
            if isObject {
                guard i < e, b[i] == quote else { return JSONScanError.expectedKey.rawValue }
                i = scanJSONString(b, i + 1, e, nil)
                if i < 0 { return i }
                i = skipSpace(b, i, e)
                guard i < e, b[i] == UInt8(ascii: ":") else { return JSONScanError.expectedColon.rawValue }
                i = skipSpace(b, i + 1, e)
            }
            i = skipJSONValue(b, i, e, depth: depth + 1, maxDepth: maxDepth)
            if i < 0 { return i }
            i = skipSpace(b, i, e)
            guard i < e else { return JSONScanError.expectedCommaOrClose.rawValue }
            if b[i] == close { return i + 1 }
            guard b[i] == UInt8(ascii: ",") else { return JSONScanError.expectedCommaOrClose.rawValue }
            i = skipSpace(b, i + 1, e)
        }
    case UInt8(ascii: "t"): return scanLiteral(b, p, e, "true")
    case UInt8(ascii: "f"): return scanLiteral(b, p, e, "false")
    case UInt8(ascii: "n"): return scanLiteral(b, p, e, "null")
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return scanJSONNumber(b, p, e)
    default: return JSONScanError.invalidValue.rawValue
    }
}
