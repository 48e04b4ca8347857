import Columns
import FPE
import Foundation
import Tagging
import TestSupport
import Testing
import Transforms

/// The 128-bit value of an IPv6 text (valid by the strict validator), zone ignored.
func ipv6Value(_ s: String) -> UInt128 {
    let text = s.split(separator: "%", maxSplits: 1)[0]
    var groups: [UInt128] = []
    var tail: UInt128? = nil
    func parse(_ part: Substring) -> [UInt128] {
        part.isEmpty
            ? []
            : part.split(separator: ":", omittingEmptySubsequences: false).flatMap { g -> [UInt128] in
                if g.contains(".") {
                    tail = UInt128(ipv4Value(String(g)))
                    return []
                }
                return [UInt128(g, radix: 16)!]
            }
    }
    if let r = text.range(of: "::") {
        let a = parse(text[..<r.lowerBound]), b = parse(text[r.upperBound...])
        let fill = 8 - a.count - b.count - (tail == nil ? 0 : 2)
        groups = a + [UInt128](repeating: 0, count: fill) + b
    } else {
        groups = parse(text)
    }
    var x: UInt128 = 0
    for g in groups { x = x << 16 | g }
    if let tail { x = x << 32 | tail }
    return x
}

func ipv4Value(_ s: String) -> UInt32 { s.split(separator: ".").reduce(0) { $0 << 8 | UInt32($1)! } }

/// A random IPv6 text: random groups (some zero runs), then a random style: full 4-digit or
/// minimal groups, a `::` over one zero run, uppercase, an embedded IPv4, a zone.
func randomIPv6(_ rng: inout SplitMix64) -> String {
    var g = (0..<8).map { _ in UInt16(truncatingIfNeeded: rng.next()) }
    if rng.next() % 2 == 0 {
        let start = Int(rng.next() % 8), len = 1 + Int(rng.next() % 6)
        for i in start..<min(8, start + len) { g[i] = 0 }
    }
    if rng.next() % 4 == 0 { for i in 0..<Int(rng.next() % 4) { g[i] = UInt16(rng.next() % 16) } }
    let full = rng.next() % 3 == 0, upper = rng.next() % 4 == 0, tail = rng.next() % 6 == 0
    var parts = g.map { full ? String(format: "%04x", $0) : String($0, radix: 16) }
    if tail {
        parts.removeLast(2)
        parts.append("\(g[6] >> 8).\(g[6] & 0xFF).\(g[7] >> 8).\(g[7] & 0xFF)")
    }
    // Compress the longest run of zero groups (of the hex part), if any.
    var best = (0, 0), i = 0
    let hexCount = tail ? 6 : 8
    while i < hexCount {
        var j = i
        while j < hexCount && g[j] == 0 { j += 1 }
        if j - i > best.1 - best.0 { best = (i, j) }
        i = j + 1
    }
    var text: String
    if best.1 > best.0 && rng.next() % 4 != 0 {
        text = parts[..<best.0].joined(separator: ":") + "::" + parts[best.1...].joined(separator: ":")
    } else {
        text = parts.joined(separator: ":")
    }
    if upper { text = text.uppercased() }
    if rng.next() % 10 == 0 { text += "%eth\(rng.next() % 4)" }
    return text
}

/// The layout of an IPv6 text: every character that is not a hex digit of a group, in place
/// (the embedded IPv4 and the zone aside).
func ipv6Layout(_ s: String) -> String {
    var text = Substring(s)
    var zone = Substring("")
    if let p = s.firstIndex(of: "%") {
        text = s[..<p]
        zone = s[p...]
    }
    var hexPart = text
    if text.contains("."), let c = text.lastIndex(of: ":") { hexPart = text[...c] }
    return String(hexPart.map { $0.isHexDigit ? "h" : $0 }) + (text.contains(".") ? "<ipv4>" : "") + zone
}

@Suite struct IPTransform {
    @Test(arguments: FPEAlgorithm.allCases, [0, 8, 16])
    func ipv4TokensAreDottedQuadsKeepThePrefixAndInvert(alg: FPEAlgorithm, keep: Int) throws {
        var rng = SplitMix64(seed: 0x1B40_0002 &+ UInt64(keep))
        var values = (0..<4000).map { _ in
            let x = UInt32(truncatingIfNeeded: rng.next())
            return "\(x >> 24).\(x >> 16 & 0xFF).\(x >> 8 & 0xFF).\(x & 0xFF)"
        }
        values += ["0.0.0.0", "255.255.255.255", "127.0.0.1", "10.0.0.1", "192.168.1.1"]
        let t = try transformer(TransformSpec(.ip, keepPrefix: keep), alg)
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.isEmpty)
        for (v, tok) in zip(values, tokens.strings) {
            #expect(Array(tok.utf8).withUnsafeBufferPointer { Validators.ipv4Valid($0) }, "token is not a dotted quad")
            if keep > 0 { #expect(ipv4Value(tok) >> UInt32(32 - keep) == ipv4Value(v) >> UInt32(32 - keep)) }
        }
        #expect(Set(tokens.strings).count == Set(values).count)
        #expect(try t.detokenize(tokens).output.strings == values)
    }

    @Test(arguments: FPEAlgorithm.allCases, [0, 32, 64])
    func ipv6TokensKeepTheLayoutThePrefixAndInvert(alg: FPEAlgorithm, keep: Int) throws {
        var rng = SplitMix64(seed: 0x1B60_0002 &+ UInt64(keep))
        var values = (0..<4000).map { _ in randomIPv6(&rng) }
        values += ["2001:db8::1:2", "FE80::1:2:3%eth0", "::ffff:192.0.2.1", "2001:0DB8:0000:0000:0000:FF00:0042:8329", "1:2:3:4:5:6:7:8"]
        let t = try transformer(TransformSpec(.ip, keepPrefixV6: keep), alg)
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        let rejected = Set(rejects.map(\.index))
        var passed = 0
        for (i, (v, tok)) in zip(values, tokens.strings).enumerated() where !rejected.contains(i) {
            #expect(Array(tok.utf8).withUnsafeBufferPointer { Validators.ipv6Valid($0) }, "token is not IPv6")
            #expect(ipv6Layout(tok) == ipv6Layout(v), "layout changed")
            let hexLetters = { (s: String) in s.split(separator: "%")[0].filter { "abcdefABCDEF".contains($0) } }
            let valueUpper = hexLetters(v).contains { $0.isUppercase }
            let tokenLetters = hexLetters(tok)
            let tokenUpper = !tokenLetters.isEmpty && tokenLetters.allSatisfy { $0.isUppercase }
            let tokenHasUpper = tokenLetters.contains { $0.isUppercase }
            if valueUpper { #expect(tokenUpper) } else { #expect(!tokenHasUpper) }
            if keep > 0 { #expect(ipv6Value(tok) >> UInt128(128 - keep) == ipv6Value(v) >> UInt128(128 - keep)) }
            passed += 1
        }
        // Rejects: only addresses with 1-2 hex digits to tokenize.
        #expect(rejected.count < values.count / 50)
        #expect(passed > 3900)
        let kept = values.indices.filter { !rejected.contains($0) }
        let (back, r2) = try t.detokenize(ByteColumn(kept.map { tokens.string(at: $0) }))
        #expect(r2.isEmpty)
        #expect(back.strings == kept.map { values[$0] })
    }

    @Test(arguments: FPEAlgorithm.allCases)
    func shortAndSpecialAddresses(alg: FPEAlgorithm) throws {
        let t = try transformer(TransformSpec(.ip), alg)
        // "::" (nothing to tokenize) stays; 3-4 hex digits are widened; mixed case, 1-2 digits,
        // leading zeros in IPv4 and garbage are rejected.
        let values = ["::", "::12a", "::ABCD", "a::bc", "::1", "1::", "2001:Db8::1", "010.1.2.3", "1.2.3", "hello", "::ffff:1.2.3.4"]
        let (tokens, rejects) = try t.tokenize(ByteColumn(values))
        #expect(rejects.map(\.index) == [4, 5, 6, 7, 8, 9])
        #expect(tokens.string(at: 0) == "::")
        let ok = [0, 1, 2, 3, 10]
        for i in ok { #expect(ipv6Layout(tokens.string(at: i)) == ipv6Layout(values[i])) }
        let noLower = tokens.string(at: 2).allSatisfy { !$0.isLowercase }
        #expect(noLower)
        #expect(try t.detokenize(ByteColumn(ok.map { tokens.string(at: $0) })).output.strings == ok.map { values[$0] })
        for r in rejects {
            let leaks = values.contains { r.reason.contains($0) && $0.count > 3 }
            #expect(!leaks)
        }
    }

    @Test func keepPrefixMustBeNibblesAndVersion2() throws {
        for spec in [TransformSpec(.ip, keepPrefix: 10), TransformSpec(.ip, keepPrefix: 20), TransformSpec(.ip, keepPrefixV6: 62)] {
            #expect(throws: TransformError(.invalidKeep, "")) { try transformer(spec) }
        }
        #expect(throws: TransformError(.unsupportedVersion, "")) { try transformer(TransformSpec(.ip, version: 1)) }
    }
}
