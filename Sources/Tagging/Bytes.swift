/// Byte-level helpers shared by the validators and the free-text scanner. Everything works on
/// borrowed buffers: no validator copies or allocates per value.
typealias Bytes = UnsafeBufferPointer<UInt8>

extension UInt8 {
    @inline(__always) var isDigit: Bool { self &- 0x30 < 10 }
    @inline(__always) var isAlpha: Bool { (self | 0x20) &- 0x61 < 26 }
    @inline(__always) var isUpper: Bool { self &- 0x41 < 26 }
    @inline(__always) var isLower: Bool { self &- 0x61 < 26 }
    @inline(__always) var isAlnum: Bool { isDigit || isAlpha }
    @inline(__always) var isHex: Bool { isDigit || (self | 0x20) &- 0x61 < 6 }
    @inline(__always) var lowered: UInt8 { isUpper ? self | 0x20 : self }
    @inline(__always) var isBlank: Bool { self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D }
}

@inline(__always)
func slice(_ p: Bytes, _ lo: Int, _ hi: Int) -> Bytes { Bytes(rebasing: p[lo..<hi]) }

/// The value without leading and trailing blanks (space, tab, CR, LF).
@inline(__always)
func trimmed(_ p: Bytes) -> Bytes {
    var s = 0, e = p.count
    while s < e, p[s].isBlank { s += 1 }
    while e > s, p[e - 1].isBlank { e -= 1 }
    return s == 0 && e == p.count ? p : slice(p, s, e)
}

/// Empty after trimming, or a null marker common in CSV dumps (`NULL`, `null`, `None`, `N/A`,
/// `NA`, `NaN`, `\N`, `-`).
func isNullMarker(_ v: Bytes) -> Bool {
    switch v.count {
    case 0: return true
    case 1: return v[0] == 0x2D  // -
    case 2: return (v[0] == 0x5C && v[1] == 0x4E) || (v[0].lowered == 0x6E && v[1].lowered == 0x61)  // \N, NA
    case 3: return equalsLower(v, "n/a") || equalsLower(v, "nan")
    case 4: return equalsLower(v, "null") || equalsLower(v, "none")
    default: return false
    }
}

/// ASCII case-insensitive comparison with a lowercase literal.
@inline(__always)
func equalsLower(_ v: Bytes, _ lower: StaticString) -> Bool {
    guard v.count == lower.utf8CodeUnitCount else { return false }
    let p = lower.utf8Start
    for i in 0..<v.count where v[i].lowered != p[i] { return false }
    return true
}

/// Runs `body` on the bytes of a string (contiguous UTF-8, no copy for native strings).
func withBytes<R>(_ s: String, _ body: (Bytes) -> R) -> R {
    var s = s
    return s.withUTF8 { body($0) }
}

/// Runs `body` on the bytes of an array slice.
@inline(__always)
func withBytes<R>(_ s: ArraySlice<UInt8>, _ body: (Bytes) -> R) -> R {
    s.withUnsafeBufferPointer { body($0) }
}

/// A letter-only ASCII word of at most 12 letters packed into an integer (5 bits a letter), for
/// allocation-free lookups in word lists; nil for anything else.
@inline(__always)
func packedWord(_ v: Bytes) -> UInt64? {
    guard !v.isEmpty, v.count <= 12 else { return nil }
    var x: UInt64 = 0
    for c in v {
        guard c.isAlpha else { return nil }
        x = x << 5 | UInt64(c.lowered - 0x60)
    }
    return x
}

func packedWord(_ s: String) -> UInt64 { withBytes(s) { packedWord($0) }! }
