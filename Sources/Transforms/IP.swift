internal import Columns
internal import Crypto
internal import Tagging

/// The `ip` transform (version 2). Both families are tokenized as hexadecimal numerals (radix 16,
/// FF1/FF3-1), so the kept prefix is a whole number of nibbles:
///
/// - IPv4: the 32-bit value's 8 nibbles after `keepPrefix` bits (0, 4, 8, 12, 16), written back as
///   a dotted quad (every 32-bit value is one; no leading zeros).
/// - IPv6: the hex digits *as written* after `keepPrefixV6` bits, each replaced in place, so the
///   token has the same text layout: the `::` at the same place, every group as wide as written,
///   the zone (`%eth0`) kept; an embedded IPv4 (`::ffff:192.0.2.1`) contributes its 32 bits
///   (8 nibbles) and is written back as a dotted quad. Zeros implied by `::` or by a group
///   written narrower than 4 digits are the layout, kept like separators. Case: tokenized letters
///   are lowercase, or uppercase when the address's letters are all uppercase (such a token
///   always has a letter, cycle-walked, so its case is its class); mixed-case text is rejected.
///
/// Fewer than 5 nibbles to tokenize (radix 16 needs 16^5 ≥ 1,000,000): 3–4 are widened with 2–1
/// zero nibbles and cycle-walked until those are zero again (256 / 16 passes expected); 1–2 are
/// rejected; none (all kept or implied) leaves the value as it is. The tweak binds the family,
/// the prefix length and the kept prefix.
extension TransformerState {
    /// Nibbles IPv4 / IPv6 keep.
    var ipKeepNibbles4: Int { (spec.keepPrefix ?? 0) / 4 }
    var ipKeepNibbles6: Int { (spec.keepPrefixV6 ?? 0) / 4 }

    static func checkIPKeep(_ spec: TransformSpec) throws {
        let k4 = spec.keepPrefix ?? 0, k6 = spec.keepPrefixV6 ?? 0
        guard [0, 4, 8, 12, 16].contains(k4) else {
            throw TransformError(.invalidKeep, "keep-prefix (IPv4) must be 0, 4, 8, 12 or 16 bits (at least 16 bits are tokenized)")
        }
        guard k6 >= 0, k6 <= 124, k6 % 4 == 0 else {
            throw TransformError(.invalidKeep, "keep-prefix-v6 must be a multiple of 4 bits in 0...124")
        }
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> Int {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return -1
        }
    }

    /// The 32-bit value of a valid dotted quad.
    static func ipv4Value(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> UInt32 {
        var x: UInt32 = 0, octet: UInt32 = 0
        for p in r {
            if b[p] == 0x2E {
                x = x << 8 | octet
                octet = 0
            } else {
                octet = octet * 10 + UInt32(b[p] - 0x30)
            }
        }
        return x << 8 | octet
    }

    /// Appends the nibbles of `x` (`count` of them, most significant first, of the low `4·count` bits).
    mutating func appendNibbles(_ x: UInt32, count: Int) {
        for j in stride(from: count - 1, through: 0, by: -1) { batch.numerals.append(UInt16(x >> UInt32(4 * j) & 0xF)) }
    }

    /// Widens a value with 3–4 nibbles with zero nibbles to 5 (walked back to zero); returns the
    /// reason for 1–2; false when `n` is 0 (nothing to tokenize: the value stays as it is).
    mutating func ipPad(_ n: Int) -> (pad: Int, reason: String?) {
        if n >= engine.minLength { return (0, nil) }
        if n >= engine.minLength - 2 {
            for _ in n..<engine.minLength { batch.numerals.append(0) }
            return (engine.minLength - n, nil)
        }
        return (0, "IP address with \(n) hex digits to tokenize after the kept prefix and the '::' (at least 3 needed)")
    }

    mutating func parseIP(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        guard r.count >= 2, r.count <= 64 else { return "not an IP address: length outside 2...64" }
        let slice = UnsafeBufferPointer(rebasing: b[r])
        var colon = false
        for c in slice where c == 0x3A {
            colon = true
            break
        }
        if !colon {
            guard Validators.ipv4Valid(slice) else { return "not an IPv4 address (dotted quad, octets 0-255, no leading zeros)" }
            let keep = ipKeepNibbles4
            let x = Self.ipv4Value(b, r)
            let first = batch.numerals.count
            appendNibbles(x, count: 8 - keep)
            let (pad, reason) = ipPad(8 - keep)
            if let reason {
                batch.numerals.removeSubrange(first...)
                return reason
            }
            aux.append(pad)
            let prefix = keep == 0 ? 0 : UInt64(x >> UInt32(32 - 4 * keep))
            commit(binding: UInt64(4 * keep) << 48 | prefix)
            return nil
        }
        guard Validators.ipv6Valid(slice) else { return "not an IPv6 address (RFC 4291 text form)" }
        return parseIPv6(b, r)
    }

    /// A valid IPv6 text (checked by the caller).
    mutating func parseIPv6(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        var e = r.upperBound
        for p in r where b[p] == 0x25 {
            e = p
            break
        }
        // Groups: (start, width) before and after the '::'; an embedded IPv4 tail.
        var before = 0, after = 0, compressed = false
        var tailStart = -1
        var upper = false, lower = false
        var p = r.lowerBound
        if b[p] == 0x3A {
            compressed = true
            p += 2
        }
        while p < e {
            var q = p
            while q < e, Self.hexValue(b[q]) >= 0 { q += 1 }
            if q < e, b[q] == 0x2E {
                tailStart = p
                break
            }
            let k = before + after
            ipGroups[k] = (p, q - p)
            if compressed { after += 1 } else { before += 1 }
            for x in p..<q {
                if b[x] >= 0x61 { lower = true } else if b[x] >= 0x41 { upper = true }
            }
            if q == e { break }
            if q + 1 < e, b[q + 1] == 0x3A {
                compressed = true
                p = q + 2
            } else {
                p = q + 1
            }
        }
        if upper && lower { return "IPv6 address in mixed-case hex (the token could not keep its case)" }
        let tailGroups = tailStart >= 0 ? 2 : 0
        // Address nibble index of each written digit: group slot·4 + (4 − width) + i.
        let keep = ipKeepNibbles6
        var address: UInt128 = 0
        var hexCount = 0
        var keptLetter = false
        let first = batch.numerals.count
        let positionsFirst = positions.count
        for k in 0..<(before + after) {
            let slot = k < before ? k : 8 - tailGroups - (before + after - k)
            let (s, w) = ipGroups[k]
            var g = 0
            for i in 0..<w {
                let v = Self.hexValue(b[s + i])
                g = g << 4 | v
                if 4 * slot + 4 - w + i >= keep {
                    positions.append(s + i)
                    batch.numerals.append(UInt16(v))
                    hexCount += 1
                } else if v >= 10 {
                    keptLetter = true
                }
            }
            address |= UInt128(g) << UInt128(16 * (7 - slot))
        }
        var tailNibbles = 0
        if tailStart >= 0 {
            let t = Self.ipv4Value(b, tailStart..<e)
            address |= UInt128(t)
            tailNibbles = min(8, 32 - max(keep, 24))
            appendNibbles(t, count: tailNibbles)
        }
        let n = hexCount + tailNibbles
        if n == 0 {
            // Everything is the kept prefix or implied zeros: nothing to hide, the value stays.
            passThrough = true
            return nil
        }
        let (pad, reason) = ipPad(n)
        if let reason {
            batch.numerals.removeSubrange(first...)
            positions.removeSubrange(positionsFirst...)
            return reason
        }
        let needsLetter = upper && !keptLetter
        let rel = { (x: Int) in x - r.lowerBound }
        aux.append(
            pad | 8 | (needsLetter ? 16 : 0) | (tailStart >= 0 ? 32 : 0) | (upper ? 64 : 0) | hexCount << 8 | tailNibbles << 16
                | (tailStart >= 0 ? rel(tailStart) : 0) << 24 | rel(e) << 32)
        // The binding: bit 55 IPv6, bits 48–54 the prefix length, bits 0–47 the prefix (or, past
        // 48 bits, the low 48 bits of SHA-256("tokengate/ip-prefix/v2" ‖ 0 ‖ prefix length ‖ prefix)).
        var binding = UInt64(1) << 55 | UInt64(4 * keep) << 48
        if keep > 0 && keep <= 12 {
            binding |= UInt64(address >> UInt128(128 - 4 * keep))
        } else if keep > 12 {
            let prefix = (address >> UInt128(128 - 4 * keep)) << UInt128(128 - 4 * keep)
            if !hasLastIPPrefix || lastIPPrefix != prefix || lastIPKeep != keep {
                var bytes = Self.ipPrefixLabel
                bytes.append(UInt8(4 * keep))
                for j in 0..<16 { bytes.append(UInt8(truncatingIfNeeded: prefix >> UInt128(8 * (15 - j)))) }
                guard let h = try? SHA256.hash(bytes) else {
                    batch.numerals.removeSubrange(first...)
                    positions.removeSubrange(positionsFirst...)
                    aux.removeLast()
                    return "IPv6 prefix could not be hashed"
                }
                var x: UInt64 = 0
                for j in 0..<6 { x = x << 8 | UInt64(h[j]) }
                lastIPPrefix = prefix
                lastIPKeep = keep
                lastIPBinding = x
                hasLastIPPrefix = true
            }
            binding |= lastIPBinding
        }
        commit(binding: binding)
        return nil
    }
    static let ipPrefixLabel = Array("tokengate/ip-prefix/v2".utf8) + [0]

    static let hexLower = Array("0123456789abcdef".utf8)
    static let hexUpper = Array("0123456789ABCDEF".utf8)

    /// Appends the dotted quad of `x`.
    static func appendDottedQuad(_ x: UInt32, to out: inout [UInt8]) {
        for i in 0..<4 {
            if i > 0 { out.append(0x2E) }
            let o = Int(x >> UInt32(24 - 8 * i) & 0xFF)
            if o >= 100 { out.append(0x30 + UInt8(o / 100)) }
            if o >= 10 { out.append(0x30 + UInt8(o / 10 % 10)) }
            out.append(0x30 + UInt8(o % 10))
        }
    }

    /// The output column of `ip`: every batch value written from its numerals (the length of a
    /// dotted quad changes), values passed through copied, rejects empty.
    mutating func writeIP(_ input: ByteColumn, _ rejects: [ValueReject]) -> ByteColumn {
        var col = ByteColumn(reservingValues: input.count, bytes: input.bytes.count + input.count)
        var scratch = ipScratch
        ipScratch = []
        defer { ipScratch = scratch }
        var k = 0, r = 0
        input.bytes.withUnsafeBufferPointer { b in
            for i in 0..<input.count {
                let range = input.range(i)
                if r < rejects.count && rejects[r].index == i {
                    col.append(input.bytes[range.lowerBound..<range.lowerBound])
                    r += 1
                    continue
                }
                guard k < source.count, source[k] == i else {
                    col.append(input.bytes[range])  // passed through (nothing to tokenize)
                    continue
                }
                let v = batch.value(at: k)
                let a = aux[k]
                scratch.removeAll(keepingCapacity: true)
                if a & 8 == 0 {
                    // IPv4: the kept prefix nibbles of the input, then the token's.
                    let keep = ipKeepNibbles4
                    var x = keep == 0 ? 0 : Self.ipv4Value(b, range) >> UInt32(32 - 4 * keep)
                    var j = v.startIndex
                    for _ in keep..<8 {
                        x = x << 4 | UInt32(v[j])
                        j += 1
                    }
                    Self.appendDottedQuad(x, to: &scratch)
                } else {
                    let hex = a & 64 != 0 ? Self.hexUpper : Self.hexLower
                    let hexCount = a >> 8 & 0xFF, tailNibbles = a >> 16 & 0xFF
                    let tail = a & 32 != 0
                    let textEnd = range.lowerBound + (tail ? a >> 24 & 0xFF : a >> 32 & 0xFF)
                    var j = v.startIndex
                    let positionIndex = positionOffsets[k]
                    var next = hexCount > 0 ? positions[positionIndex] : Int.max
                    var written = 0
                    for p in range.lowerBound..<textEnd {
                        if p == next {
                            scratch.append(hex[Int(v[j])])
                            j += 1
                            written += 1
                            next = written < hexCount ? positions[positionIndex + written] : Int.max
                        } else {
                            scratch.append(b[p])
                        }
                    }
                    let zone = range.lowerBound + (a >> 32 & 0xFF)
                    if tail {
                        let t = Self.ipv4Value(b, textEnd..<zone)
                        var x = tailNibbles == 8 ? 0 : t >> UInt32(4 * tailNibbles)
                        for _ in 0..<tailNibbles {
                            x = x << 4 | UInt32(v[j])
                            j += 1
                        }
                        Self.appendDottedQuad(x, to: &scratch)
                    }
                    for p in zone..<range.upperBound { scratch.append(b[p]) }
                }
                col.append(scratch[...])
                k += 1
            }
        }
        return col
    }
}
