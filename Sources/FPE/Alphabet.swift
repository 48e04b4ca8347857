/// The symbols of a format, in numeral order: symbol `k` is numeral `k`, and the radix is the number
/// of symbols.
///
/// Each symbol is a single Unicode scalar. Values are parsed scalar by scalar (no Unicode
/// normalization: a decomposed "é" does not match a precomposed one and is rejected, never
/// altered). When every symbol is ASCII, conversions go through 128-entry lookup tables.
public struct Alphabet: Sendable, Equatable {
    /// The NIST sample-vector convention: the first `radix` of these (radix ≤ 36).
    public static let nistSymbols = "0123456789abcdefghijklmnopqrstuvwxyz"

    /// Number of symbols.
    public let radix: Int
    /// True when every symbol is an ASCII scalar (the table-driven path).
    public let isASCII: Bool
    private let symbols: [Unicode.Scalar]
    /// ASCII byte → numeral, `invalid` where the byte is not a symbol (empty unless `isASCII`).
    private let fromASCII: [UInt16]
    /// Numeral → ASCII byte (empty unless `isASCII`).
    private let toASCII: [UInt8]
    /// Scalar → numeral (empty when `isASCII`).
    private let fromScalar: [Unicode.Scalar: UInt16]
    private static let invalid = UInt16.max

    /// An alphabet of the given symbols, in numeral order.
    ///
    /// - Throws: ``FPEError/Code/invalidAlphabet`` unless there are 2...65536 distinct symbols,
    ///   each a single Unicode scalar.
    public init(_ characters: String) throws(FPEError) {
        var symbols: [Unicode.Scalar] = []
        for ch in characters {
            guard ch.unicodeScalars.count == 1, let s = ch.unicodeScalars.first else {
                throw FPEError(.invalidAlphabet, "alphabet symbol \(symbols.count) is not a single Unicode scalar")
            }
            symbols.append(s)
        }
        guard (2...65536).contains(symbols.count) else {
            throw FPEError(.invalidAlphabet, "an alphabet needs 2...65536 symbols, got \(symbols.count)")
        }
        self.radix = symbols.count
        self.symbols = symbols
        self.isASCII = symbols.allSatisfy { $0.isASCII }
        if isASCII {
            var from = [UInt16](repeating: Self.invalid, count: 128)
            for (i, s) in symbols.enumerated() {
                guard from[Int(s.value)] == Self.invalid else {
                    throw FPEError(.invalidAlphabet, "alphabet symbol \(i) repeats symbol \(from[Int(s.value)])")
                }
                from[Int(s.value)] = UInt16(i)
            }
            fromASCII = from
            toASCII = symbols.map { UInt8($0.value) }
            fromScalar = [:]
        } else {
            var map: [Unicode.Scalar: UInt16] = [:]
            map.reserveCapacity(symbols.count)
            for (i, s) in symbols.enumerated() {
                if let prior = map.updateValue(UInt16(truncatingIfNeeded: i), forKey: s) {
                    throw FPEError(.invalidAlphabet, "alphabet symbol \(i) repeats symbol \(prior)")
                }
            }
            fromASCII = []
            toASCII = []
            fromScalar = map
        }
    }

    /// The first `r` symbols of `0123456789abcdefghijklmnopqrstuvwxyz` — the convention of the NIST
    /// SP 800-38G sample vectors.
    ///
    /// - Precondition: `2 <= r <= 36`.
    public static func radix(_ r: Int) -> Alphabet {
        precondition((2...36).contains(r), "Alphabet.radix(_:) covers radix 2...36; build larger alphabets from their symbols")
        return try! Alphabet(String(nistSymbols.prefix(r)))
    }

    /// The symbols, in numeral order.
    public var characters: String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: symbols)
        return String(s)
    }

    /// The numerals of `string`.
    ///
    /// - Throws: ``FPEError/Code/invalidCharacter`` naming the 0-based scalar position of the first
    ///   scalar that is not a symbol.
    public func numerals(of string: some StringProtocol) throws(FPEError) -> [UInt16] {
        var out: [UInt16] = []
        out.reserveCapacity(string.utf8.count)
        try parse(string, valueIndex: nil) { out.append($0) }
        return out
    }

    /// Appends `string`'s numerals to `batch` as one new value.
    ///
    /// - Throws: ``FPEError/Code/invalidCharacter`` naming the index the value would have had and
    ///   the 0-based scalar position; the batch is then unchanged.
    public func append(_ string: some StringProtocol, to batch: inout NumeralBatch) throws(FPEError) {
        let start = batch.numerals.count
        do {
            try parse(string, valueIndex: batch.count) { batch.numerals.append($0) }
        } catch {
            batch.numerals.removeSubrange(start...)
            throw error
        }
        batch.offsets.append(batch.numerals.count)
    }

    /// Appends the numerals of UTF-8 text (for instance one cell of a columnar batch) to `batch` as
    /// one new value.
    ///
    /// - Throws: ``FPEError/Code/invalidCharacter`` (also for malformed UTF-8) naming the index the
    ///   value would have had and the 0-based scalar position; the batch is then unchanged.
    public func append(utf8 bytes: UnsafeRawBufferPointer, to batch: inout NumeralBatch) throws(FPEError) {
        if isASCII {
            let start = batch.numerals.count
            let table = fromASCII
            var bad = -1
            batch.numerals.reserveCapacity(start + bytes.count)
            for (i, byte) in bytes.enumerated() {
                let n = byte < 128 ? table[Int(byte)] : Self.invalid
                if n == Self.invalid {
                    bad = i
                    break
                }
                batch.numerals.append(n)
            }
            if bad >= 0 {
                batch.numerals.removeSubrange(start...)
                // Position in scalars, not bytes: count the scalars before the bad byte.
                let position = String(decoding: bytes[..<bad], as: UTF8.self).unicodeScalars.count
                throw FPEError(.invalidCharacter, "character \(position) is not in the alphabet",
                               valueIndex: batch.count, position: position)
            }
            batch.offsets.append(batch.numerals.count)
        } else {
            // Strict decoding: malformed UTF-8 must not become U+FFFD and slip through as a symbol.
            var scalars = String.UnicodeScalarView()
            var decoder = UTF8()
            var it = bytes.makeIterator()
            loop: while true {
                switch decoder.decode(&it) {
                case .scalarValue(let s): scalars.append(s)
                case .emptyInput: break loop
                case .error:
                    throw FPEError(.invalidCharacter, "character \(scalars.count) is not valid UTF-8",
                                   valueIndex: batch.count, position: scalars.count)
                }
            }
            try append(String(scalars), to: &batch)
        }
    }

    private func parse(_ string: some StringProtocol, valueIndex: Int?, _ emit: (UInt16) -> Void) throws(FPEError) {
        var position = 0
        for s in string.unicodeScalars {
            let n: UInt16
            if isASCII {
                n = s.isASCII ? fromASCII[Int(s.value)] : Self.invalid
            } else {
                n = fromScalar[s] ?? Self.invalid
            }
            if n == Self.invalid {
                throw FPEError(.invalidCharacter, "character \(position) is not in the alphabet",
                               valueIndex: valueIndex, position: position)
            }
            emit(n)
            position += 1
        }
    }

    /// The string of `numerals`.
    ///
    /// - Precondition: every numeral is below ``radix`` (true of everything ``FPECipher`` outputs).
    public func string(from numerals: some Collection<UInt16>) -> String {
        if isASCII {
            let table = toASCII
            return String(unsafeUninitializedCapacity: numerals.count) { buf in
                var i = 0
                for n in numerals {
                    precondition(Int(n) < table.count, "numeral outside the alphabet")
                    buf[i] = table[Int(n)]
                    i += 1
                }
                return i
            }
        }
        var s = String.UnicodeScalarView()
        for n in numerals {
            precondition(Int(n) < symbols.count, "numeral outside the alphabet")
            s.append(symbols[Int(n)])
        }
        return String(s)
    }

    /// Appends the UTF-8 encoding of `numerals` to `bytes`.
    ///
    /// - Precondition: every numeral is below ``radix``.
    public func appendUTF8(of numerals: some Collection<UInt16>, to bytes: inout [UInt8]) {
        if isASCII {
            let table = toASCII
            bytes.reserveCapacity(bytes.count + numerals.count)
            for n in numerals {
                precondition(Int(n) < table.count, "numeral outside the alphabet")
                bytes.append(table[Int(n)])
            }
            return
        }
        for n in numerals {
            precondition(Int(n) < symbols.count, "numeral outside the alphabet")
            UTF8.encode(symbols[Int(n)]) { bytes.append($0) }
        }
    }
}
