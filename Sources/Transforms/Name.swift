internal import Columns
internal import Crypto
internal import FPE

/// The letters of the `name` transform: case pairs (upper, lower) in numeral order; a caseless
/// letter is its own pair. The default is ASCII `a`–`z` (numerals 0–25) followed by the Latin-1
/// and Latin Extended-A letters that have a case partner in that range (or `ß`/`ẞ`): 120 pairs.
struct NameAlphabet: Sendable {
    var upper: [UInt32] = []
    var lower: [UInt32] = []
    /// Scalar → numeral·2 + 1 when uppercase (a caseless letter counts as lowercase); −1 where
    /// not a letter of the alphabet. Scalars below 0x180 in `low`, others in `high`.
    var low = [Int32](repeating: -1, count: 0x180)
    var high: [UInt32: Int32] = [:]
    /// Whether the letters have case (all of them, or none).
    var cased = true

    static let latin: NameAlphabet = {
        var pairs: [(UInt32, UInt32)] = (0..<26).map { (0x41 + $0, 0x61 + $0) }
        for c in UInt32(0xC0)...0xDE where c != 0xD7 { pairs.append((c, c + 0x20)) }  // À–Þ / à–þ, not ×/÷
        pairs.append((0x1E9E, 0xDF))  // ẞ / ß
        pairs.append((0x178, 0xFF))  // Ÿ / ÿ
        for c in stride(from: UInt32(0x100), to: 0x130, by: 2) { pairs.append((c, c + 1)) }
        pairs.append((0x130, 0x131))  // İ / ı
        for c in stride(from: UInt32(0x132), to: 0x138, by: 2) { pairs.append((c, c + 1)) }
        for c in stride(from: UInt32(0x139), to: 0x149, by: 2) { pairs.append((c, c + 1)) }
        for c in stride(from: UInt32(0x14A), to: 0x178, by: 2) { pairs.append((c, c + 1)) }
        for c in stride(from: UInt32(0x179), to: 0x17F, by: 2) { pairs.append((c, c + 1)) }
        var a = NameAlphabet()
        for (u, l) in pairs { a.add(u, l) }
        return a
    }()

    /// An explicit alphabet: its letters, each with its one-scalar case partner if it has one
    /// (listing the partner too is allowed). Letters must be all cased or all caseless.
    init(letters: String) throws {
        var seen = Set<UInt32>()
        var hasCased = false, hasCaseless = false
        for ch in letters {
            guard ch.unicodeScalars.count == 1, let s = ch.unicodeScalars.first, ch.isLetter else {
                throw TransformError(.invalidAlphabet, "transform 'name': the alphabet must be letters (one Unicode scalar each)")
            }
            if seen.contains(s.value) { continue }
            let up = String(ch).uppercased().unicodeScalars, lo = String(ch).lowercased().unicodeScalars
            var u = s.value, l = s.value
            if up.count == 1, lo.count == 1 {
                u = up.first!.value
                l = lo.first!.value
            }
            if u == l { hasCaseless = true } else { hasCased = true }
            guard !seen.contains(u), !seen.contains(l) || u == l else { continue }
            add(u, l)
            seen.insert(u)
            seen.insert(l)
        }
        guard !(hasCased && hasCaseless) else {
            throw TransformError(.invalidAlphabet, "transform 'name': the alphabet mixes letters with and without case")
        }
        guard upper.count >= 2, upper.count <= 65536 else {
            throw TransformError(.invalidAlphabet, "transform 'name': the alphabet needs at least 2 letters")
        }
        cased = hasCased
    }

    init() {}

    mutating func add(_ u: UInt32, _ l: UInt32) {
        let n = Int32(upper.count)
        upper.append(u)
        lower.append(l)
        set(l, n * 2)
        if u != l { set(u, n * 2 + 1) }
    }

    mutating func set(_ s: UInt32, _ v: Int32) {
        if s < 0x180 { low[Int(s)] = v } else { high[s] = v }
    }

    var radix: Int { upper.count }

    @inline(__always) func lookup(_ s: UInt32) -> Int32 { s < 0x180 ? low[Int(s)] : high[s] ?? -1 }

    /// Appends the UTF-8 of numeral `n` in the case given.
    @inline(__always) func append(_ n: Int, upper isUpper: Bool, to out: inout [UInt8]) {
        let s = isUpper ? upper[n] : lower[n]
        if s < 0x80 {
            out.append(UInt8(s))
        } else if s < 0x800 {
            out.append(0xC0 | UInt8(s >> 6))
            out.append(0x80 | UInt8(s & 0x3F))
        } else if s < 0x10000 {
            out.append(0xE0 | UInt8(s >> 12))
            out.append(0x80 | UInt8(s >> 6 & 0x3F))
            out.append(0x80 | UInt8(s & 0x3F))
        } else {
            out.append(0xF0 | UInt8(s >> 18))
            out.append(0x80 | UInt8(s >> 12 & 0x3F))
            out.append(0x80 | UInt8(s >> 6 & 0x3F))
            out.append(0x80 | UInt8(s & 0x3F))
        }
    }
}

/// The scalar of the UTF-8 sequence at `b[p]` and its length, nil if malformed.
@inline(__always)
func decodeUTF8(_ b: UnsafeBufferPointer<UInt8>, _ p: Int, _ end: Int) -> (UInt32, Int)? {
    let c = b[p]
    if c < 0x80 { return (UInt32(c), 1) }
    let n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0
    guard n > 0, p + n <= end else { return nil }
    var s = UInt32(c) & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07)
    for j in 1..<n {
        guard b[p + j] & 0xC0 == 0x80 else { return nil }
        s = s << 6 | UInt32(b[p + j] & 0x3F)
    }
    return (s, n)
}

/// The `name` transform (version 2): every letter of the value replaced by a letter of the same
/// alphabet and case, spaces, `-`, `'`, `’`, `.` and `,` kept in place; nothing else accepted.
///
/// Default alphabet (``NameAlphabet/latin``): a value of ≥ 5 letters, all ASCII, is tokenized over
/// `a`–`z` (radix 26: an ASCII token); any other value over the 120 Latin letters (radix 120),
/// and a value of ≥ 5 letters with a non-ASCII letter gets a token with one too (cycle-walking),
/// so detokenize picks the alphabet by the token: ≤ 4 letters Latin, ≥ 5 all-ASCII ASCII, else
/// Latin. A value with fewer letters than the radix needs (radix^n ≥ 1,000,000: 3 for Latin, 5 for
/// an explicit alphabet of 16–30) is *widened*: zero numerals appended up to that length, the
/// result cycle-walked until they are zero again (radix^missing passes expected: 120 for a
/// 2-letter name, 14,400 for one letter); the token has as many letters as the value. Widening
/// that would take more than 16,384 expected passes is refused (the value is rejected).
struct NameState {
    let alphabet: NameAlphabet
    /// The explicit alphabet's (or the ASCII tier's) cipher, and for the default alphabet the
    /// Latin tier's (radix 120).
    let main: FPECipher
    let latin: FPECipher?
    let tweak: [UInt8]
    static let maxWidenPasses = 16_384

    var batches = [NumeralBatch(), NumeralBatch()]
    /// Per tier value: padding count, bit 4: the token needs a non-ASCII letter.
    var tierAux: [[Int]] = [[], []]
    /// Per accepted value: its input index, tier and index in the tier's batch; its letters'
    /// (position, byte length | uppercase bit 7) at `letterOffsets[k]..<letterOffsets[k+1]`.
    var source: [Int] = []
    var tierOf: [Int] = []
    var letterPos: [Int] = []
    var letterInfo: [UInt8] = []
    var letterOffsets: [Int] = [0]
    var numerals: [UInt16] = []

    init(spec: TransformSpec, algorithm: FPEAlgorithm, cipher: any BatchBlockCipher, tweak: [UInt8]) throws {
        self.tweak = tweak
        if let a = spec.alphabet {
            alphabet = try NameAlphabet(letters: a)
            main = try FPECipher(algorithm: algorithm, cipher: cipher, radix: alphabet.radix)
            latin = nil
        } else {
            alphabet = NameAlphabet.latin
            main = try FPECipher(algorithm: algorithm, cipher: cipher, radix: 26)
            latin = try FPECipher(algorithm: algorithm, cipher: cipher, radix: alphabet.radix)
        }
        guard main.tweakLengths.contains(tweak.count) else {
            throw TransformError(.invalidTweak, "\(algorithm.rawValue) needs a tweak of \(main.tweakLengths) bytes, got \(tweak.count)")
        }
    }

    static func isSeparator(_ s: UInt32) -> Bool { s == 0x20 || s == 0x2D || s == 0x27 || s == 0x2E || s == 0x2C || s == 0x2019 }

    /// Parses one value (a token when decrypting); nil when accepted, else the reason.
    mutating func parse(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, index: Int, decrypting: Bool) -> String? {
        numerals.removeAll(keepingCapacity: true)
        let firstLetter = letterPos.count
        var p = r.lowerBound
        var ascii = true
        while p < r.upperBound {
            guard let (s, len) = decodeUTF8(b, p, r.upperBound) else { return "not a name: invalid UTF-8 at byte \(p - r.lowerBound)" }
            let v = alphabet.lookup(s)
            if v >= 0 {
                numerals.append(UInt16(v >> 1))
                if v >> 1 >= 26 { ascii = false }
                letterPos.append(p)
                letterInfo.append(UInt8(len) | (v & 1 == 1 ? 0x80 : 0))
            } else if !Self.isSeparator(s) {
                letterPos.removeSubrange(firstLetter...)
                letterInfo.removeSubrange(firstLetter...)
                return "not a name: character at byte \(p - r.lowerBound) is not a letter of the alphabet, space, hyphen, apostrophe, period or comma"
            }
            p += len
        }
        let n = numerals.count
        // The tier: the default alphabet's ASCII tier for ≥ 5 ASCII letters, else Latin.
        let tier = latin != nil && (n < main.minLength || !ascii) ? 1 : 0
        let engine = tier == 1 ? latin! : main
        let pad = max(0, engine.minLength - n)
        var expected = 1
        for _ in 0..<pad { expected = expected.multipliedReportingOverflow(by: engine.radix).partialValue }
        var problem: String? = nil
        if n == 0 {
            problem = "not a name: no letters"
        } else if pad > 0 && (expected > Self.maxWidenPasses || expected <= 0) {
            problem = "a name of \(n) letters is too short for radix \(engine.radix) (widening would take more than \(Self.maxWidenPasses) passes)"
        } else if n > engine.maxLength {
            problem = "a name of \(n) letters is longer than \(engine.maxLength)"
        }
        if let problem {
            letterPos.removeSubrange(firstLetter...)
            letterInfo.removeSubrange(firstLetter...)
            return problem
        }
        for _ in 0..<pad { numerals.append(0) }
        batches[tier].append(numerals)
        tierAux[tier].append(pad | (tier == 1 && n >= main.minLength ? 16 : 0))
        source.append(index)
        tierOf.append(tier << 32 | (batches[tier].count - 1))
        letterOffsets.append(letterPos.count)
        return nil
    }

    mutating func run(_ input: ByteColumn, decrypt: Bool) throws -> (output: ByteColumn, rejects: [ValueReject]) {
        for t in 0..<2 {
            batches[t].removeAll(keepingCapacity: true)
            tierAux[t].removeAll(keepingCapacity: true)
        }
        source.removeAll(keepingCapacity: true)
        tierOf.removeAll(keepingCapacity: true)
        letterPos.removeAll(keepingCapacity: true)
        letterInfo.removeAll(keepingCapacity: true)
        letterOffsets.removeAll(keepingCapacity: true)
        letterOffsets.append(0)
        var rejects: [ValueReject] = []
        input.bytes.withUnsafeBufferPointer { b in
            for i in 0..<input.count {
                if let reason = parse(b, input.range(i), index: i, decrypting: decrypt) { rejects.append(ValueReject(index: i, reason: reason)) }
            }
        }
        for t in 0..<2 where !batches[t].isEmpty {
            let engine = t == 1 ? latin! : main
            let aux = tierAux[t]
            let walks = aux.contains { $0 != 0 }
            if !walks {
                if decrypt { try engine.decrypt(&batches[t], tweak: tweak) } else { try engine.encrypt(&batches[t], tweak: tweak) }
                continue
            }
            try aux.withUnsafeBufferPointer { aux in
                let accept = { (k: Int, v: UnsafeBufferPointer<UInt16>) -> Bool in
                    let a = aux[k], pad = a & 15
                    if pad > 0 {
                        for j in (v.count - pad)..<v.count where v[j] != 0 { return false }
                    }
                    guard a & 16 != 0 else { return true }
                    for x in v where x >= 26 { return true }
                    return false
                }
                let passes = 50 * Self.maxWidenPasses
                if decrypt {
                    try engine.decrypt(&batches[t], tweak: tweak, maxWalkPasses: passes, walkingUntil: accept)
                } else {
                    try engine.encrypt(&batches[t], tweak: tweak, maxWalkPasses: passes, walkingUntil: accept)
                }
            }
        }
        var col = ByteColumn(reservingValues: input.count, bytes: input.bytes.count + input.bytes.count / 2)
        var k = 0, r = 0
        for i in 0..<input.count {
            if r < rejects.count && rejects[r].index == i {
                col.offsets.append(col.bytes.count)
                r += 1
                continue
            }
            let range = input.range(i)
            let t = tierOf[k] >> 32, j = tierOf[k] & 0xFFFF_FFFF
            var x = batches[t].offsets[j]
            var next = letterOffsets[k]
            let end = letterOffsets[k + 1]
            var p = range.lowerBound
            while p < range.upperBound {
                if next < end && letterPos[next] == p {
                    let info = letterInfo[next]
                    alphabet.append(Int(batches[t].numerals[x]), upper: info & 0x80 != 0, to: &col.bytes)
                    x += 1
                    p += Int(info & 0x7F)
                    next += 1
                } else {
                    col.bytes.append(input.bytes[p])
                    p += 1
                }
            }
            col.offsets.append(col.bytes.count)
            k += 1
        }
        return (col, rejects)
    }
}
