public import Columns
public import Crypto
public import FPE
internal import Tagging

/// Applies one token transform to whole columns: parses every value into the symbols to tokenize
/// (the rest of the value is kept byte for byte), runs FF1/FF3-1 once over the batch (one AES call
/// per Feistel round for all values), cycle-walks the values whose result must satisfy a rule
/// (Luhn, SSA, date range), and writes the symbols back in place.
///
/// Not thread-safe (scratch buffers are reused between batches): one instance per worker and column.
public final class TokenTransformer {
    // All state lives in a struct so the hot loops touch it without dynamic exclusivity checks
    // (one access per batch instead of one per appended numeral).
    private var state: TransformerState

    public var spec: TransformSpec { state.spec }
    public var algorithm: FPEAlgorithm { state.algorithm }
    public var tweak: [UInt8] { state.tweak }
    static let none = UInt16.max
    /// Date formats tried when the spec names none.
    public static let defaultDateFormats = "yyyy-MM-dd|MM/dd/yyyy|dd.MM.yyyy|yyyyMMdd"
    /// Smallest date range (10 years): cycle-walking costs 1,000,000 / days passes on average.
    public static let minimumDateSpan = 3653
    /// Marks an escape-form token of `alphanumeric`/`alphabet` (values with fewer symbols than the
    /// FF1/FF3-1 minimum: the whole value is encoded and tokenized, the token is longer).
    static let shortMarker = UInt8(ascii: "~")

    /// - Parameters:
    ///   - cipher: the in-use key's block cipher (``BatchBlockCipher``; for FF3-1 it must encrypt
    ///     under the byte-reversed key, see ``FPECipher``).
    ///   - tweak: per column and domain (see ``tweak(domain:column:algorithm:)``); 7 bytes for FF3-1.
    public init(spec: TransformSpec, algorithm: FPEAlgorithm, cipher: any BatchBlockCipher, tweak: [UInt8]) throws {
        state = try TransformerState(spec: spec, algorithm: algorithm, cipher: cipher, tweak: tweak)
    }

    /// A tweak per domain and column: `SHA-256("tokengate/tweak/v1" ‖ 0 ‖ domain ‖ 0 ‖ column)`,
    /// truncated to 7 bytes (FF3-1) or 8 bytes (FF1).
    public static func tweak(domain: String, column: String, algorithm: FPEAlgorithm) throws -> [UInt8] {
        let h = try SHA256.hash(Array("tokengate/tweak/v1".utf8) + [0] + Array(domain.utf8) + [0] + Array(column.utf8))
        return Array(h.prefix(algorithm == .ff31 ? 7 : 8))
    }

    /// Smallest number of tokenizable symbols a value needs (the FF1/FF3-1 domain: radix^n ≥ 1,000,000).
    public var minimumSymbols: Int { state.engine.minLength }

    /// Tokenizes every value; values outside the domain come back as rejects (their output slot is empty).
    public func tokenize(_ input: ByteColumn) throws -> (output: ByteColumn, rejects: [ValueReject]) {
        try state.run(input, decrypt: false)
    }

    /// Inverts ``tokenize(_:)`` (same key version, algorithm, transform and tweak).
    public func detokenize(_ input: ByteColumn) throws -> (output: ByteColumn, rejects: [ValueReject]) {
        try state.run(input, decrypt: true)
    }
}

struct TransformerState {
    let spec: TransformSpec
    let algorithm: FPEAlgorithm
    let tweak: [UInt8]
    let engine: FPECipher
    /// Numeral → ASCII symbol, and ASCII → numeral (`none` where not a symbol).
    let symbols: [UInt8]
    let table: [UInt16]
    /// Date patterns tried in order; a value is tokenized in the first pattern it matches and the
    /// token is written in that same pattern (so detokenizing parses it with the same one).
    let datePatterns: [DatePattern]
    let dateMin: Int
    let dateSpan: Int
    /// Cycle-walking stops with an error after this many passes: 50 times the expected count for
    /// the worst value (about 10 for Luhn-valid cards, 1.1 for failing ones, 1.2 for valid SSNs,
    /// 9 for SSA-invalid ones, 1,000,000 / days for dates); a value
    /// still walking then has probability below e⁻⁵⁰, so reaching it means a broken cipher.
    let maxWalkPasses: Int

    /// Version 2 `card`, `email`, `aba`: every value's tweak is the column tweak bound to what the
    /// value keeps in clear (``binding(_:)``), one tweak per value.
    let bindsKept: Bool

    // Scratch, reused across batches.
    var batch = NumeralBatch()
    /// Per value of `batch` (when `bindsKept`): the 64-bit binding of its kept parts.
    var bindings: [UInt64] = []
    /// The per-value tweaks built from `bindings`.
    var valueTweaks: [UInt8] = []
    /// The last email domain seen (ASCII-lowercased) and its binding: emails of a column share few domains.
    var lastDomain: [UInt8] = []
    var domainCache = DomainCache()
    var positions: [Int] = []
    var positionOffsets: [Int] = [0]
    var source: [Int] = []
    var aux: [Int] = []
    /// Set by a parser for a value that stays as it is (an `ip` address with nothing to tokenize).
    var passThrough = false
    /// `ip`: the groups of the IPv6 address being parsed (start, width), the output scratch, and
    /// the last kept IPv6 prefix hashed into a binding.
    var ipGroups = [(Int, Int)](repeating: (0, 0), count: 8)
    var ipScratch: [UInt8] = []
    var lastIPPrefix: UInt128 = 0
    var lastIPKeep = 0
    var lastIPBinding: UInt64 = 0
    var hasLastIPPrefix = false
    /// `name`: its own state (alphabets, two tiers).
    var name: NameState?

    /// - Parameters:
    ///   - cipher: the in-use key's block cipher (``BatchBlockCipher``; for FF3-1 it must encrypt
    ///     under the byte-reversed key, see ``FPECipher``).
    ///   - tweak: per column and domain (see ``tweak(domain:column:algorithm:)``); 7 bytes for FF3-1.
    init(spec: TransformSpec, algorithm: FPEAlgorithm, cipher: any BatchBlockCipher, tweak: [UInt8]) throws {
        self.spec = spec
        self.algorithm = algorithm
        self.tweak = tweak
        guard TransformSpec.supportedVersions.contains(spec.version) else {
            throw TransformError(.unsupportedVersion, "transform version \(spec.version) is not supported (this build: \(TransformSpec.supportedVersions))")
        }
        if (spec.kind == .aba || spec.kind == .ip || spec.kind == .name) && spec.version < 2 {
            throw TransformError(.unsupportedVersion, "transform '\(spec.kind.rawValue)' exists from version 2")
        }
        bindsKept = spec.version >= 2 && (spec.kind == .card || spec.kind == .email || spec.kind == .aba || spec.kind == .phone || spec.kind == .ip)
        if spec.kind == .ip { try Self.checkIPKeep(spec) }
        if let k = spec.keepLeading, k < 0 { throw TransformError(.invalidKeep, "keep-leading must be 0 or more") }
        var symbols: [UInt8]
        switch spec.kind {
        case .card, .ssn, .phone, .iban, .digits, .date, .aba:
            symbols = Array("0123456789".utf8)
        case .ip:
            symbols = Array("0123456789abcdef".utf8)
        case .name:
            symbols = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        case .email, .alphanumeric:
            symbols = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        case .alphabet:
            guard let a = spec.alphabet, !a.isEmpty else { throw TransformError(.invalidAlphabet, "transform 'alphabet' needs an 'alphabet' of ASCII symbols") }
            symbols = Array(a.utf8)
            guard symbols.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }), symbols.count == a.count, Set(symbols).count == symbols.count, symbols.count >= 2 else {
                throw TransformError(.invalidAlphabet, "transform 'alphabet' needs 2 or more distinct printable ASCII symbols")
            }
        }
        var table = [UInt16](repeating: TokenTransformer.none, count: 256)
        for (i, s) in symbols.enumerated() { table[Int(s)] = UInt16(i) }
        self.symbols = symbols
        self.table = table
        if spec.kind == .date {
            let patterns = try (spec.dateFormat ?? TokenTransformer.defaultDateFormats)
                .split(separator: "|").map { try DatePattern(String($0)) }
            guard !patterns.isEmpty else { throw TransformError(.invalidDateFormat, "date-format is empty") }
            let iso = try DatePattern("yyyy-MM-dd")
            guard let lo = iso.parse(ArraySlice((spec.dateMin ?? "1900-01-01").utf8)),
                let hi = iso.parse(ArraySlice((spec.dateMax ?? "2099-12-31").utf8)), hi > lo
            else {
                throw TransformError(.invalidDateRange, "date range must be two ISO dates yyyy-MM-dd with dateMin < dateMax")
            }
            guard hi - lo + 1 <= 1_000_000 else { throw TransformError(.invalidDateRange, "date range spans more than 1,000,000 days") }
            guard hi - lo + 1 >= TokenTransformer.minimumDateSpan else {
                throw TransformError(
                    .invalidDateRange,
                    "date range must span at least \(TokenTransformer.minimumDateSpan) days (10 years): the FF1/FF3-1 domain is 1,000,000 days and narrower ranges make cycle-walking too slow"
                )
            }
            datePatterns = patterns
            dateMin = lo
            dateSpan = hi - lo + 1
            maxWalkPasses = 50 * (1_000_000 / dateSpan + 1)
        } else {
            datePatterns = []
            dateMin = 0
            dateSpan = 0
            maxWalkPasses = 2_000
        }
        engine = try FPECipher(algorithm: algorithm, cipher: cipher, radix: symbols.count)
        if spec.kind == .name { name = try NameState(spec: spec, algorithm: algorithm, cipher: cipher, tweak: tweak) }
        guard engine.tweakLengths.contains(tweak.count) else {
            throw TransformError(.invalidTweak, "\(algorithm.rawValue) needs a tweak of \(engine.tweakLengths) bytes, got \(tweak.count)")
        }
    }

    mutating func run(_ input: ByteColumn, decrypt: Bool) throws -> (output: ByteColumn, rejects: [ValueReject]) {
        if var n = name {
            // `name` has its own batches (two alphabets); moved out so its buffers are not copied.
            name = nil
            defer { name = n }
            return try n.run(input, decrypt: decrypt)
        }
        decrypting = decrypt
        shortValues.removeAll(keepingCapacity: true)
        batch.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        positionOffsets.removeAll(keepingCapacity: true)
        positionOffsets.append(0)
        source.removeAll(keepingCapacity: true)
        aux.removeAll(keepingCapacity: true)
        bindings.removeAll(keepingCapacity: true)
        // Upper bounds (every byte a symbol): the appends below never reallocate.
        batch.numerals.reserveCapacity(input.bytes.count)
        positions.reserveCapacity(input.bytes.count)
        var rejects: [ValueReject] = []
        input.bytes.withUnsafeBufferPointer { b in
            input.offsets.withUnsafeBufferPointer { offsets in
                for i in 0..<input.count {
                    if let reason = parse(b, offsets[i]..<offsets[i + 1]) {
                        rejects.append(ValueReject(index: i, reason: reason))
                    } else if passThrough {
                        passThrough = false
                    } else {
                        source.append(i)
                    }
                }
            }
        }
        if !batch.isEmpty {
            if bindsKept { buildValueTweaks() }
            let perValue = bindsKept, length = valueTweakLength, tweaks = valueTweaks
            if !needsWalk {
                switch (perValue, decrypt) {
                case (false, false): try engine.encrypt(&batch, tweak: tweak)
                case (false, true): try engine.decrypt(&batch, tweak: tweak)
                case (true, false): try engine.encrypt(&batch, tweaks: tweaks, tweakLength: length)
                case (true, true): try engine.decrypt(&batch, tweaks: tweaks, tweakLength: length)
                }
            } else {
                let rule = OutputRule(kind: spec.kind, dateSpan: dateSpan), aux = self.aux
                try aux.withUnsafeBufferPointer { aux in
                    try OutputRule.luhnTable.withUnsafeBufferPointer { luhn in
                        let accept = { (k: Int, v: UnsafeBufferPointer<UInt16>) in rule.contains(v, value: k, aux: aux) }
                        let number: ((Int, UInt64) -> Bool)? =
                            rule.testsNumbers ? { k, x in rule.contains(number: x, value: k, aux: aux, luhn: luhn) } : nil
                        switch (perValue, decrypt) {
                        case (false, false):
                            try engine.encrypt(&batch, tweak: tweak, maxWalkPasses: maxWalkPasses, walkingUntil: accept, number: number)
                        case (false, true):
                            try engine.decrypt(&batch, tweak: tweak, maxWalkPasses: maxWalkPasses, walkingUntil: accept, number: number)
                        case (true, false):
                            try engine.encrypt(
                                &batch, tweaks: tweaks, tweakLength: length, maxWalkPasses: maxWalkPasses, walkingUntil: accept,
                                number: number)
                        case (true, true):
                            try engine.decrypt(
                                &batch, tweaks: tweaks, tweakLength: length, maxWalkPasses: maxWalkPasses, walkingUntil: accept,
                                number: number)
                        }
                    }
                }
            }
        }
        if spec.kind == .ip { return (writeIP(input, rejects), rejects) }
        var out = input.bytes
        let shortForms = allowsShortForm || spec.kind == .email
        if datePatterns.isEmpty {
            // The symbols back into their positions, through pointers (one uniqueness check per
            // batch, not one per byte); escape-form values are written below.
            out.withUnsafeMutableBufferPointer { ob in
                batch.numerals.withUnsafeBufferPointer { nums in
                    batch.offsets.withUnsafeBufferPointer { offs in
                        positions.withUnsafeBufferPointer { pos in
                            positionOffsets.withUnsafeBufferPointer { po in
                                symbols.withUnsafeBufferPointer { sym in
                                    aux.withUnsafeBufferPointer { aux in
                                        for k in 0..<source.count {
                                            if shortForms && aux[k] == 1 { continue }
                                            var j = offs[k]
                                            for q in po[k]..<po[k + 1] {
                                                ob[pos[q]] = sym[Int(nums[j])]
                                                j &+= 1
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let fixUps = !datePatterns.isEmpty || shortForms || spec.kind == .aba || spec.kind == .iban
        for k in 0..<source.count where fixUps {
            if !datePatterns.isEmpty {
                var day = 0
                for n in batch.value(at: k) { day = day * 10 + Int(n) }
                datePatterns[aux[k]].format(dateMin + day, into: &out, at: input.offsets[source[k]])
                continue
            }
            if shortForms && aux[k] == 1 {
                if !writeShortForm(k, suffix: spec.kind == .email ? emailDomain(input, source[k]) : out[0..<0]) {
                    rejects.append(ValueReject(index: source[k], reason: "malformed escape-form token"))
                }
                continue
            }
            if spec.kind == .aba {
                // The check digit: the token's own, shifted by the value's check-digit offset.
                let start = input.offsets[source[k]]
                out[start + 8] = 0x30 + UInt8((Self.abaCheckDigit(out, start) + aux[k] & 0xF) % 10)
                continue
            }
            if spec.kind == .iban { fixIBANCheckDigits(&out, input.range(source[k])) }
            if spec.kind == .email && aux[k] == 2 {
                // A local part starting with '~': one '~' more in front of the token, one less
                // in front of the value.
                let v = input.range(source[k])
                shortValues[source[k]] = decrypting ? Array(out[(v.lowerBound + 1)..<v.upperBound]) : [TokenTransformer.shortMarker] + out[v]
            }
        }
        rejects.sort { $0.index < $1.index }
        guard !rejects.isEmpty || !shortValues.isEmpty else {
            var col = ByteColumn()
            col.bytes = out
            col.offsets = input.offsets
            return (col, rejects)
        }
        var col = ByteColumn(reservingValues: input.count, bytes: out.count)
        var r = 0
        for i in 0..<input.count {
            if r < rejects.count && rejects[r].index == i {
                col.append(out[0..<0])
                r += 1
            } else if let short = shortValues[i] {
                col.append(short[...])
            } else {
                col.append(out[input.range(i)])
            }
        }
        return (col, rejects)
    }

    // MARK: - Parsing (validation first, then append: a rejected value leaves no trace)

    /// Closes the value just appended; `binding` (version 2 `card`, `email`, `aba`): what it keeps
    /// in clear, bound into its tweak.
    mutating func commit(binding: UInt64 = 0) {
        batch.offsets.append(batch.numerals.count)
        positionOffsets.append(positions.count)
        if bindsKept { bindings.append(binding) }
    }

    /// Per-value tweak length: FF1 the column tweak followed by the 8-byte binding; FF3-1 (7 bytes)
    /// the column tweak XOR the binding's low 56 bits.
    var valueTweakLength: Int { algorithm == .ff31 ? 7 : tweak.count + 8 }

    /// Fills `valueTweaks` from `bindings` (no allocation once the buffer has grown).
    mutating func buildValueTweaks() {
        let length = valueTweakLength, ff31 = algorithm == .ff31
        valueTweaks.removeAll(keepingCapacity: true)
        valueTweaks.append(contentsOf: repeatElement(0, count: bindings.count * length))
        valueTweaks.withUnsafeMutableBytes { vt in
            tweak.withUnsafeBytes { tk in
                bindings.withUnsafeBufferPointer { bs in
                    for (i, b) in bs.enumerated() {
                        let o = i * length
                        if ff31 {
                            for j in 0..<7 { vt[o + j] = tk[j] ^ UInt8(truncatingIfNeeded: b >> UInt64(8 * (6 - j))) }
                        } else {
                            if let t = tk.baseAddress { (vt.baseAddress! + o).copyMemory(from: t, byteCount: tk.count) }
                            vt.storeBytes(of: b.bigEndian, toByteOffset: o + tk.count, as: UInt64.self)
                        }
                    }
                }
            }
        }
    }

    /// The ABA check digit that makes `3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)` for
    /// the ASCII digits at `b[start..<start+8]`.
    static func abaCheckDigit(_ b: [UInt8], _ start: Int) -> Int {
        var sum = 0
        for i in 0..<8 { sum += Int(b[start + i] - 0x30) * (i % 3 == 0 ? 3 : i % 3 == 1 ? 7 : 1) }
        return (10 - sum % 10) % 10
    }

    func lengthProblem(_ n: Int, what: String) -> String? {
        if n < engine.minLength {
            return "\(n) \(what) to tokenize; \(algorithm.rawValue) over radix \(symbols.count) needs at least \(engine.minLength)"
        }
        if n > engine.maxLength {
            return "\(n) \(what) to tokenize; \(algorithm.rawValue) over radix \(symbols.count) allows at most \(engine.maxLength)"
        }
        return nil
    }

    /// Parses the value at bytes `r` of a column's bytes `b`; nil when it was appended to the batch,
    /// else the reason it is rejected.
    mutating func parse(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        switch spec.kind {
        case .card: return parseCard(b, r)
        case .ssn: return parseSSN(b, r)
        case .phone: return parsePhone(b, r)
        case .email: return parseEmail(b, r)
        case .iban: return parseIBAN(b, r)
        case .date: return parseDate(b, r)
        case .digits, .alphanumeric, .alphabet: return parseGeneric(b, r)
        case .aba: return parseABA(b, r)
        case .ip: return parseIP(b, r)
        case .name: return "name values are parsed by NameState"
        }
    }

    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// A Luhn-doubled digit: 2d, less 9 when over 9.
    @inline(__always)
    static func luhnDoubled(_ d: Int) -> Int { d < 5 ? 2 * d : 2 * d - 9 }

    mutating func parseCard(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        // One pass from the right: the digit count and the Luhn sum (every second digit from
        // the right doubled; separators take no position).
        var n = 0, sum = 0
        var p = r.upperBound
        while p > r.lowerBound {
            p -= 1
            let d = b[p] &- 0x30
            if d < 10 {
                sum += n & 1 == 1 ? Self.luhnDoubled(Int(d)) : Int(d)
                n += 1
            } else if b[p] != 0x20 && b[p] != 0x2D {
                return "not a card number: character \(p - r.lowerBound) is not a digit, space or dash"
            }
        }
        guard (12...19).contains(n) else { return "not a card number: \(n) digits (12-19 expected)" }
        // Luhn-valid numbers get Luhn-valid tokens, numbers failing Luhn (test data, typos, masked
        // exports) tokens failing Luhn: two disjoint cycle-walking sets, so a token's own Luhn
        // validity tells detokenize which set it was walked in.
        let luhnFails = sum % 10 != 0
        if luhnFails && spec.luhn == .valid { return "not a card number: fails the Luhn check (luhn: valid)" }
        let middle = max(6, n - 10)
        let keepFirst = n - 4 - middle
        var j = 0
        var keptFirst: UInt64 = 0, keptLast: UInt64 = 0, middleSum = 0
        for p in r {
            let d = b[p] &- 0x30
            guard d < 10 else { continue }
            if j >= keepFirst && j < n - 4 {
                positions.append(p)
                batch.numerals.append(UInt16(d))
                // Position from the right n − 1 − j: doubled when odd.
                middleSum += (n - 1 - j) & 1 == 1 ? Self.luhnDoubled(Int(d)) : Int(d)
            } else if j < keepFirst {
                keptFirst = keptFirst * 10 + UInt64(d)
            } else {
                keptLast = keptLast * 10 + UInt64(d)
            }
            j += 1
        }
        // The Luhn sum of the digits kept in clear: the whole sum less the tokenized middle's
        // share (its last digit sits at position 4, before the kept last four); times 2, plus 1
        // when the number fails Luhn (see `OutputRule`).
        aux.append(2 * (sum - middleSum) + (luhnFails ? 1 : 0))
        // Version 2: the tweak binds the length and the kept digits (first ≤ 6 < 2^20, last 4 < 2^14).
        commit(binding: UInt64(n) << 34 | keptFirst << 14 | keptLast)
        return nil
    }

    /// `AAA-GG-SSSS`, `AAA GG SSSS`, `AAAGGSSSS` (a dash or space after the area and after the
    /// group, each optional), with leading/trailing spaces: the 9 digits are tokenized, every other
    /// byte kept. Numbers passing the SSA rules get tokens passing them; numbers breaking them
    /// (area 000/666/9xx, group 00, serial 0000, advertising numbers) tokens breaking them, so a
    /// token's own validity tells detokenize which set it was walked in.
    mutating func parseSSN(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi && b[lo] == 0x20 { lo += 1 }
        while hi > lo && b[hi - 1] == 0x20 { hi -= 1 }
        var number = 0, digits = 0
        for p in lo..<hi {
            let c = b[p]
            if isDigit(c) {
                guard digits < 9 else { return "not an SSN: more than 9 digits" }
                number = number * 10 + Int(c - 0x30)
                digits += 1
            } else if (c == 0x2D || c == 0x20) && (digits == 3 || digits == 5) && isDigit(b[p - 1]) {
                continue
            } else {
                return "not an SSN: character \(p - r.lowerBound) is not a digit or a separator after the area or group"
            }
        }
        guard digits == 9 else { return "not an SSN: expected AAA-GG-SSSS, AAA GG SSSS or 9 digits" }
        for p in lo..<hi where isDigit(b[p]) {
            positions.append(p)
            batch.numerals.append(UInt16(b[p] - 0x30))
        }
        aux.append(Validators.ssnValid(number: number) ? 0 : 1)
        commit()
        return nil
    }

    /// The end of a phone number's main part: an extension starts at `x`, `ext`, `ext.` or `#`
    /// (kept as written, with its digits).
    func phoneMainEnd(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int {
        for p in r where b[p] == 0x78 || b[p] == 0x58 || b[p] == 0x23 || b[p] == 0x65 || b[p] == 0x45 { return p }
        return r.upperBound
    }

    mutating func parsePhone(_ b: UnsafeBufferPointer<UInt8>, _ r0: Range<Int>) -> String? {
        let end = phoneMainEnd(b, r0)
        let r = r0.lowerBound..<end
        var n = 0
        for p in r {
            let c = b[p]
            if isDigit(c) {
                n += 1
            } else if !" +-.()".utf8.contains(c) {
                return "not a phone number: character \(p - r.lowerBound) is not a digit or + - . ( ) space"
            }
        }
        if end < r0.upperBound {
            // Extension: x123, ext 123, ext. 123, #123 — digits only after the marker.
            var p = end
            let marker = b[end]
            if marker == 0x65 || marker == 0x45 {
                let word = Array(b[end..<min(end + 3, r0.upperBound)]).map { $0 | 0x20 }
                guard word == Array("ext".utf8) else { return "not a phone number: unexpected text after the number" }
                p += 3
                if p < r0.upperBound && b[p] == 0x2E { p += 1 }
            } else {
                p += 1
            }
            while p < r0.upperBound && b[p] == 0x20 { p += 1 }
            guard p < r0.upperBound, b[p..<r0.upperBound].allSatisfy(isDigit) else {
                return "not a phone number: an extension must be digits"
            }
        }
        guard (7...15).contains(n) else { return "not a phone number: \(n) digits (7-15 expected)" }
        if spec.version >= 2 { return parsePhoneV2(b, r, digits: n) }
        if let problem = lengthProblem(n, what: "digits") { return problem }
        for p in r where isDigit(b[p]) {
            positions.append(p)
            batch.numerals.append(UInt16(b[p] - 0x30))
        }
        commit()
        return nil
    }

    /// Digits of the E.164 country code starting with `d1 d2` (ITU-T E.164 assignments: 1 and 7
    /// are one digit, the listed two-digit codes two, every other code three).
    static func countryCodeLength(_ d1: Int, _ d2: Int) -> Int {
        if d1 == 1 || d1 == 7 { return 1 }
        let two = d1 * 10 + d2
        switch two {
        case 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58,
            60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98:
            return 2
        default: return 3
        }
    }

    /// Version 2 `phone`: the leading digits kept — by default the country code of a `+` number
    /// (E.164) and, for NANP numbers (`+1`, 10 digits, or 11 starting with 1), the area code too;
    /// `keep-leading` overrides the count — and the rest tokenized. NANP numbers passing the NANP
    /// rules (area code and exchange start 2–9, no N11, area code's second digit not 9) get tokens
    /// passing them, others tokens failing them (cycle-walking), so the class is reversible.
    mutating func parsePhoneV2(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, digits n: Int) -> String? {
        var plus = false
        for p in r where b[p] != 0x20 {
            plus = b[p] == 0x2B
            break
        }
        var d: (Int, Int) = (0, 0)
        var seen = 0
        for p in r where isDigit(b[p]) {
            if seen == 0 { d.0 = Int(b[p] - 0x30) } else if seen == 1 { d.1 = Int(b[p] - 0x30) } else { break }
            seen += 1
        }
        let ccLength: Int, nanp: Bool
        if plus {
            ccLength = Self.countryCodeLength(d.0, d.1)
            nanp = d.0 == 1 && n == 11
        } else if n == 10 {
            (ccLength, nanp) = (0, true)
        } else if n == 11 && d.0 == 1 {
            (ccLength, nanp) = (1, true)
        } else {
            (ccLength, nanp) = (0, false)
        }
        let keep = spec.keepLeading ?? (ccLength + (nanp ? 3 : 0))
        guard n - keep >= engine.minLength else {
            return "phone number: \(max(0, n - keep)) digits to tokenize after \(keep) kept leading digits; at least \(engine.minLength) are needed"
        }
        var kept: UInt64 = 0, national = 0, j = 0
        for p in r where isDigit(b[p]) {
            let digit = Int(b[p] - 0x30)
            if j >= ccLength { national = national * 10 + digit }
            if j < keep {
                kept = kept * 10 + UInt64(digit)
            } else {
                positions.append(p)
                batch.numerals.append(UInt16(digit))
            }
            j += 1
        }
        // aux: bit 1 = NANP rule applies, bit 0 = the number fails it, bits 4–7 the national
        // digits kept, bits 8… their value (see `OutputRule`).
        let nationalKept = keep - ccLength
        if nanp && nationalKept >= 0 {
            var prefix = 0, x = national
            for _ in 0..<(10 - nationalKept) { x /= 10 }
            prefix = x
            aux.append(prefix << 8 | nationalKept << 4 | 2 | (Self.nanpValid(national) ? 0 : 1))
        } else {
            aux.append(0)
        }
        commit(binding: UInt64(n) << 56 | UInt64(keep) << 48 | kept)
        return nil
    }

    /// NANP rules on a 10-digit national number: NPA and NXX start 2–9, no N11, NPA's second digit not 9.
    @inline(__always)
    static func nanpValid(_ national: Int) -> Bool {
        let npa = national / 10_000_000, nxx = national / 10_000 % 1000
        let n1 = npa / 100, n2 = npa / 10 % 10, n3 = npa % 10
        let x1 = nxx / 100, x2 = nxx / 10 % 10, x3 = nxx % 10
        return n1 >= 2 && n2 != 9 && !(n2 == 1 && n3 == 1) && x1 >= 2 && !(x2 == 1 && x3 == 1)
    }

    /// Local parts with ≥ 4 letters/digits (the FF1/FF3-1 minimum over radix 62) keep their layout,
    /// the letters and digits tokenized (`aux` 0). Shorter ones (`ali@`, `a@`) take the escape
    /// form: `~` + the whole local part encoded (2 symbols per byte, padded to at least 4) and
    /// tokenized (`aux` 1). A local part that starts with `~` and has enough letters/digits keeps
    /// its layout with one more `~` in front (`aux` 2), so a token's local part starts with `~~`
    /// (prefixed), `~` + a letter/digit (escape form) or anything else (same layout).
    mutating func parseEmail(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        // One pass: printable ASCII, exactly one @, a dot after it, and the local part's symbols.
        var at = -1, n = 0, dotAfterAt = false
        for p in r {
            let c = b[p]
            guard c > 0x20 && c < 0x7F else { return "not an email: character \(p - r.lowerBound) is not printable ASCII" }
            if c == 0x40 {
                guard at < 0 else { return "not an email: more than one @" }
                at = p
            } else if at < 0 {
                if table[Int(c)] != TokenTransformer.none { n += 1 }
            } else if c == 0x2E {
                dotAfterAt = true
            }
        }
        guard at > r.lowerBound, at < r.upperBound - 1 else { return "not an email: empty local part or domain" }
        guard dotAfterAt else { return "not an email: domain has no dot" }
        // Version 2: the tweak binds the domain.
        var binding: UInt64 = 0
        if bindsKept {
            guard let d = domainBinding(b, (at + 1)..<r.upperBound) else { return "email domain could not be hashed" }
            binding = d
        }
        let marked = b[r.lowerBound] == TokenTransformer.shortMarker
        let doubled = marked && at - r.lowerBound >= 2 && b[r.lowerBound + 1] == TokenTransformer.shortMarker
        if decrypting && marked && !doubled {
            // An escape-form token: decrypt its symbols, then decode the local part's bytes.
            let body = (r.lowerBound + 1)..<at
            guard body.count >= engine.minLength, body.count <= engine.maxLength,
                b[body].allSatisfy({ table[Int($0)] != TokenTransformer.none })
            else { return "malformed escape-form token" }
            for p in body { batch.numerals.append(table[Int(b[p])]) }
            aux.append(1)
            commit(binding: binding)
            return nil
        }
        // A prefixed token's local part is one byte longer than the value's.
        let extra = decrypting && doubled ? 1 : 0
        guard at - r.lowerBound - extra <= 64 else { return "not an email: local part longer than 64" }
        if !decrypting && n < engine.minLength {
            // The token's local part, '~' + 2 symbols per byte, stays within RFC 5321's 64.
            let len = at - r.lowerBound, maxBytes = min(engine.maxLength, 63) / 2
            guard len <= maxBytes else {
                return "not an email: a local part with fewer than \(engine.minLength) letters/digits must be at most \(maxBytes) bytes"
            }
            let top = UInt16(symbols.count - 1)
            for _ in 0..<max(0, engine.minLength - 2 * len) { batch.numerals.append(top) }
            for p in r.lowerBound..<at {
                batch.numerals.append(UInt16(Int(b[p]) / symbols.count))
                batch.numerals.append(UInt16(Int(b[p]) % symbols.count))
            }
            aux.append(1)
            commit(binding: binding)
            return nil
        }
        if let problem = lengthProblem(n, what: "letters/digits in the local part") { return problem }
        // The ≤ 65 symbols gathered on the stack, then appended in one call each.
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 65) { nums in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 65) { pos in
                var k = 0
                for p in r.lowerBound..<at {
                    let x = table[Int(b[p])]
                    guard x != TokenTransformer.none else { continue }
                    nums[k] = x
                    pos[k] = p
                    k += 1
                }
                batch.numerals.append(contentsOf: UnsafeBufferPointer(rebasing: nums[0..<k]))
                positions.append(contentsOf: UnsafeBufferPointer(rebasing: pos[0..<k]))
            }
        }
        aux.append(decrypting ? (doubled ? 2 : 0) : (marked ? 2 : 0))
        commit(binding: binding)
        return nil
    }

    /// The binding of an email domain: the first 8 bytes of SHA-256("tokengate/email-domain/v2" ‖ 0 ‖
    /// domain, ASCII-lowercased); nil if hashing fails. Domains of up to
    /// ``DomainCache/maxDomain`` bytes are cached (a column's emails share few domains), so a hit
    /// costs a hash of the bytes and a compare, without allocating.
    mutating func domainBinding(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> UInt64? {
        if let x = domainCache.lookup(b, r) { return x }
        lastDomain.removeAll(keepingCapacity: true)
        for p in r { lastDomain.append(DomainCache.lower(b[p])) }
        guard let h = try? SHA256.hash(Self.domainLabel + lastDomain) else { return nil }
        var x: UInt64 = 0
        for j in 0..<8 { x = x << 8 | UInt64(h[j]) }
        domainCache.store(b, r, binding: x)
        return x
    }
    static let domainLabel = Array("tokengate/email-domain/v2".utf8) + [0]

    /// `aba`: exactly 9 ASCII digits with a Federal Reserve prefix (00–12, 21–32, 61–72, 80). The
    /// prefix is kept, digits 3–8 are tokenized and the check digit is recomputed for the token,
    /// shifted by the value's own offset from its correct check digit (0 for a valid number), so
    /// valid numbers get valid tokens and the transform stays reversible for every input.
    mutating func parseABA(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        guard r.count == 9, b[r].allSatisfy(isDigit) else { return "not an ABA routing number: expected 9 digits" }
        let s = r.lowerBound
        let prefix = Int(b[s] - 0x30) * 10 + Int(b[s + 1] - 0x30)
        guard prefix <= 12 || (21...32).contains(prefix) || (61...72).contains(prefix) || prefix == 80 else {
            return "not an ABA routing number: prefix outside 00-12, 21-32, 61-72, 80"
        }
        var sum = 0, middleZero = true
        for i in 0..<8 {
            sum += Int(b[s + i] - 0x30) * (i % 3 == 0 ? 3 : i % 3 == 1 ? 7 : 1)
            if i >= 2 && b[s + i] != 0x30 { middleZero = false }
        }
        if prefix == 0 && middleZero { return "not an ABA routing number: all digits before the check digit are zero" }
        let offset = (Int(b[s + 8] - 0x30) - (10 - sum % 10) % 10 + 10) % 10
        for p in (s + 2)..<(s + 8) {
            positions.append(p)
            batch.numerals.append(UInt16(b[p] - 0x30))
        }
        // aux: the check-digit offset, and 16 when the prefix is 00 (the walk then avoids 000000).
        aux.append(offset | (prefix == 0 ? 16 : 0))
        commit(binding: UInt64(prefix) | UInt64(offset) << 8)
        return nil
    }

    mutating func parseIBAN(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        var compact: [UInt8] = []
        compact.reserveCapacity(34)
        for p in r where b[p] != 0x20 {
            var c = b[p]
            if c >= 0x61 && c <= 0x7A { c -= 0x20 }
            compact.append(c)
        }
        guard Validators.ibanValid(compact) else { return "not a valid IBAN (country, length or mod-97 check)" }
        var k = 0
        var n = 0
        for p in r where b[p] != 0x20 {
            if k >= 4 && isDigit(b[p]) { n += 1 }
            k += 1
        }
        if let problem = lengthProblem(n, what: "BBAN digits") { return problem }
        k = 0
        for p in r where b[p] != 0x20 {
            if k >= 4 && isDigit(b[p]) {
                positions.append(p)
                batch.numerals.append(UInt16(b[p] - 0x30))
            }
            k += 1
        }
        commit()
        return nil
    }

    func fixIBANCheckDigits(_ out: inout [UInt8], _ r: Range<Int>) {
        var compact: [UInt8] = []
        var where2: [Int] = []
        for p in r where out[p] != 0x20 {
            var c = out[p]
            if c >= 0x61 && c <= 0x7A { c -= 0x20 }
            compact.append(c)
            if where2.count < 4 { where2.append(p) }
        }
        if let (c1, c2) = Validators.ibanCheckDigits(compact) {
            out[where2[2]] = c1
            out[where2[3]] = c2
        }
    }

    mutating func parseDate(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        var found: (Int, Int)?
        for (i, p) in datePatterns.enumerated() {
            if let d = p.parse(b[r]) {
                found = (i, d)
                break
            }
        }
        guard let (which, day) = found else {
            return "not a date in format \(spec.dateFormat ?? TokenTransformer.defaultDateFormats)"
        }
        let offset = day - dateMin
        guard offset >= 0 && offset < dateSpan else {
            return "date outside the configured range \(spec.dateMin ?? "1900-01-01")…\(spec.dateMax ?? "2099-12-31")"
        }
        var x = offset
        var digits = [UInt16](repeating: 0, count: 6)
        for i in stride(from: 5, through: 0, by: -1) {
            digits[i] = UInt16(x % 10)
            x /= 10
        }
        batch.numerals.append(contentsOf: digits)
        aux.append(which)
        commit()
        return nil
    }

    mutating func parseGeneric(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String? {
        var n = 0
        for p in r where table[Int(b[p])] != TokenTransformer.none { n += 1 }
        if allowsShortForm {
            if decrypting, r.count > engine.minLength, b[r.lowerBound] == TokenTransformer.shortMarker,
                b[(r.lowerBound + 1)..<r.upperBound].allSatisfy({ table[Int($0)] != TokenTransformer.none })
            {
                // An escape-form token: decrypt its symbols, then decode the bytes.
                for p in (r.lowerBound + 1)..<r.upperBound { batch.numerals.append(table[Int(b[p])]) }
                aux.append(1)
                commit()
                return nil
            }
            if !decrypting, r.count > 0, b[r.lowerBound] == TokenTransformer.shortMarker {
                return "value starts with '~', the marker of escape-form tokens"
            }
            if !decrypting, r.count > 0, n < engine.minLength, 2 * r.count <= engine.maxLength {
                // Too few symbols for the FF1/FF3-1 domain (a 2-letter or accented name): encode the
                // whole value, two symbols per byte, left-padded with the top symbol to the minimum
                // length, and tokenize that; the token is written as '~' + symbols.
                let top = UInt16(symbols.count - 1)
                for _ in 0..<max(0, engine.minLength - 2 * r.count) { batch.numerals.append(top) }
                for p in r {
                    batch.numerals.append(UInt16(Int(b[p]) / symbols.count))
                    batch.numerals.append(UInt16(Int(b[p]) % symbols.count))
                }
                aux.append(1)
                commit()
                return nil
            }
            aux.append(0)
        }
        if let problem = lengthProblem(n, what: "symbols") {
            if allowsShortForm { aux.removeLast() }
            return problem
        }
        for p in r where table[Int(b[p])] != TokenTransformer.none {
            positions.append(p)
            batch.numerals.append(table[Int(b[p])])
        }
        commit()
        return nil
    }

    // MARK: - Short values

    var decrypting = false
    var allowsShortForm: Bool {
        (spec.kind == .alphanumeric || spec.kind == .alphabet) && table[Int(TokenTransformer.shortMarker)] == TokenTransformer.none
            && symbols.count >= 20  // two symbols per byte, and the top symbol is never a byte's first
    }

    /// Writes an escape-form value: tokenizing prints '~' + the symbols; detokenizing strips the
    /// padding (the top symbol, which no byte's first symbol can be) and decodes the bytes.
    /// Returns false for a malformed token.
    mutating func writeShortForm(_ k: Int, suffix: ArraySlice<UInt8>) -> Bool {
        let v = batch.value(at: k)
        let i = source[k]
        if decrypting {
            let top = UInt16(symbols.count - 1)
            let body = v.drop { $0 == top }
            guard body.count % 2 == 0, !body.isEmpty else { return false }
            var bytes: [UInt8] = []
            var it = body.makeIterator()
            while let hi = it.next(), let lo = it.next() {
                let x = Int(hi) * symbols.count + Int(lo)
                guard x < 256 else { return false }
                bytes.append(UInt8(x))
            }
            shortValues[i] = bytes + suffix
        } else {
            var bytes: [UInt8] = [TokenTransformer.shortMarker]
            for x in v { bytes.append(symbols[Int(x)]) }
            shortValues[i] = bytes + suffix
        }
        return true
    }
    var shortValues: [Int: [UInt8]] = [:]

    /// `@domain` of an email value (its last `@` to the end).
    func emailDomain(_ input: ByteColumn, _ i: Int) -> ArraySlice<UInt8> {
        let r = input.range(i)
        var p = r.upperBound - 1
        while p > r.lowerBound && input.bytes[p] != 0x40 { p -= 1 }
        return input.bytes[p..<r.upperBound]
    }

    // MARK: - Cycle-walking

    var needsWalk: Bool {
        spec.kind == .card || spec.kind == .ssn || spec.kind == .date || spec.kind == .aba || spec.kind == .ip
            || (spec.kind == .phone && spec.version >= 2)
    }
}

/// The set a cycle-walking transform's tokens must land in (a permutation restricted to it is a
/// permutation of it, so detokenizing walks back exactly).
struct OutputRule {
    let kind: TransformKind
    let dateSpan: Int

    /// Whether the numerals `v` of batch value `k` are in the set; for cards `aux[k]` is twice the
    /// Luhn sum of the digits kept in clear plus the fails-Luhn bit, for SSNs 1 when the number
    /// breaks the SSA rules.
    @inline(__always)
    func contains(_ v: UnsafeBufferPointer<UInt16>, value k: Int, aux: UnsafeBufferPointer<Int>) -> Bool {
        switch kind {
        case .card:
            // The tokenized middle ends just before the last four digits kept in clear. `aux[k]`
            // is twice the kept digits' Luhn sum, plus 1 for a number failing Luhn: the walk
            // stays in the Luhn-valid numbers or in the failing ones.
            let valid = (aux[k] >> 1 + Validators.luhnSum(v, rightmostPosition: 4)) % 10 == 0
            return valid == (aux[k] & 1 == 0)
        case .ssn:
            guard v.count == 9 else { return false }
            var x = 0
            for j in 0..<9 { x = x * 10 + Int(v[j]) }
            // `aux[k]` is 1 for a number breaking the SSA rules: its tokens break them too.
            return Validators.ssnValid(number: x) == (aux[k] == 0)
        case .phone:
            // NANP numbers stay in their class (passing or failing the NANP rules).
            let a = aux[k]
            guard a & 2 != 0 else { return true }
            var national = a >> 8
            for d in v { national = national * 10 + Int(d) }
            return TransformerState.nanpValid(national) == (a & 1 == 0)
        case .aba:
            // Prefix 00: never the all-zero number.
            guard aux[k] & 16 != 0 else { return true }
            return v.contains { $0 != 0 }
        case .ip:
            // Widened values: the padding nibbles are zero again; an uppercase address whose kept
            // part has no letter: a tokenized hex digit is a letter (the token's case is its class).
            let a = aux[k], pad = a & 7
            if pad > 0 {
                for j in (v.count - pad)..<v.count where v[j] != 0 { return false }
            }
            guard a & 16 != 0 else { return true }
            for j in 0..<(a >> 8 & 0xFF) where v[j] >= 10 { return true }
            return false
        case .date:
            guard v.count == 6 else { return true }
            var x = 0
            for j in 0..<6 { x = x * 10 + Int(v[j]) }
            return x < dateSpan
        default:
            return true
        }
    }
    /// Whether ``contains(number:value:aux:luhn:)`` decides membership (cards, SSNs and dates,
    /// whose rules read the numerals as one decimal number).
    var testsNumbers: Bool { kind == .card || kind == .ssn || kind == .date }

    /// ``contains(_:value:aux:)`` for the numerals whose decimal value is `x` (most significant
    /// first, leading zeros included), for the kinds of ``testsNumbers``; `luhn` is ``luhnTable``.
    /// The same answer without the numerals: the engine tests values this way between passes.
    @inline(__always)
    func contains(number x: UInt64, value k: Int, aux: UnsafeBufferPointer<Int>, luhn: UnsafeBufferPointer<UInt8>) -> Bool {
        switch kind {
        case .card:
            // The middle's rightmost digit is at Luhn position 4 (not doubled): four digits at a
            // time from the right, every chunk starting at an even position.
            var sum = 0
            var rest = x
            repeat {
                sum += Int(luhn[Int(rest % 10_000)])
                rest /= 10_000
            } while rest != 0
            return ((aux[k] >> 1 + sum) % 10 == 0) == (aux[k] & 1 == 0)
        case .ssn:
            // Nine numerals below 10^9 always (the batch holds only 9-digit SSNs).
            return Validators.ssnValid(number: Int(x)) == (aux[k] == 0)
        case .date:
            return x < UInt64(dateSpan)
        default:
            return true
        }
    }

    /// The Luhn sum of four digits, the rightmost not doubled: entry `d` for d in 0..<10,000.
    static let luhnTable: [UInt8] = (0..<10_000).map { d in
        UInt8(Validators.luhnSum([d / 1000, d / 100 % 10, d / 10 % 10, d % 10]))
    }
}

/// A direct-mapped cache of email-domain bindings: 1024 slots keyed by an FNV-1a hash of the
/// ASCII-lowercased domain, each holding the domain's bytes (up to ``maxDomain``) and its binding.
/// A slot is overwritten on a collision; a lookup compares the bytes, so a hit is always exact.
struct DomainCache {
    static let slots = 1024
    static let maxDomain = 64
    private var keys = [UInt8](repeating: 0, count: DomainCache.slots * DomainCache.maxDomain)
    /// Per slot the domain's length, 0 when empty.
    private var lengths = [UInt8](repeating: 0, count: DomainCache.slots)
    private var bindings = [UInt64](repeating: 0, count: DomainCache.slots)

    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

    private static func slot(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int {
        var h: UInt32 = 2_166_136_261
        for p in r { h = (h ^ UInt32(lower(b[p]))) &* 16_777_619 }
        return Int(h & UInt32(slots - 1))
    }

    func lookup(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> UInt64? {
        guard r.count > 0, r.count <= Self.maxDomain else { return nil }
        let s = Self.slot(b, r)
        guard Int(lengths[s]) == r.count else { return nil }
        let same = keys.withUnsafeBufferPointer { k in
            // The slot's key (r.count ≤ maxDomain bytes from s · maxDomain) against the lowercased value.
            var q = s &* Self.maxDomain
            for p in r {
                guard k[q] == Self.lower(b[p]) else { return false }
                q &+= 1
            }
            return true
        }
        return same ? bindings[s] : nil
    }

    mutating func store(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, binding: UInt64) {
        guard r.count > 0, r.count <= Self.maxDomain else { return }
        let s = Self.slot(b, r)
        var k = s * Self.maxDomain
        for p in r {
            keys[k] = Self.lower(b[p])
            k += 1
        }
        lengths[s] = UInt8(r.count)
        bindings[s] = binding
    }
}
