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
    @inlinable
    public func numerals(of string: some StringProtocol) throws(FPEError) -> [UInt16] {
        var out: [UInt16] = []
        var failure: FPEError?
        Self.withUTF8(of: string) { bytes in
            do throws(FPEError) { try decode(utf8: bytes, valueIndex: nil, appendingTo: &out) } catch { failure = error }
        }
        if let failure { throw failure }
        return out
    }

    /// Appends `string`'s numerals to `batch` as one new value.
    ///
    /// - Throws: ``FPEError/Code/invalidCharacter`` naming the index the value would have had and
    ///   the 0-based scalar position; the batch is then unchanged.
    @inlinable
    public func append(_ string: some StringProtocol, to batch: inout NumeralBatch) throws(FPEError) {
        var failure: FPEError?
        Self.withUTF8(of: string) { bytes in
            do throws(FPEError) { try append(utf8: bytes, to: &batch) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Calls `body` with the string's UTF-8 bytes, copying only when they are not contiguous.
    @inlinable
    static func withUTF8(of string: some StringProtocol, _ body: (UnsafeRawBufferPointer) -> Void) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { body(UnsafeRawBufferPointer($0)) }
        if done == nil {
            var copy = String(string)
            copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
    }

    /// Appends the numerals of UTF-8 text (for instance one cell of a columnar batch) to `batch` as
    /// one new value.
    ///
    /// - Throws: ``FPEError/Code/invalidCharacter`` (also for malformed UTF-8) naming the index the
    ///   value would have had and the 0-based scalar position; the batch is then unchanged.
    public func append(utf8 bytes: UnsafeRawBufferPointer, to batch: inout NumeralBatch) throws(FPEError) {
        try decode(utf8: bytes, valueIndex: batch.count, appendingTo: &batch.numerals)
        batch.offsets.append(batch.numerals.count)
    }

    /// Appends the numerals of UTF-8 text to `out`; on error `out` is left as it was.
    @usableFromInline
    func decode(utf8 bytes: UnsafeRawBufferPointer, valueIndex: Int?, appendingTo out: inout [UInt16]) throws(FPEError) {
        let start = out.count
        out.reserveCapacity(start + bytes.count)
        var bad = -1
        if isASCII {
            fromASCII.withUnsafeBufferPointer { table in
                for (i, byte) in bytes.enumerated() {
                    let n = byte < 128 ? table[Int(byte)] : Self.invalid
                    if n == Self.invalid {
                        bad = i
                        break
                    }
                    out.append(n)
                }
            }
            if bad >= 0 {
                out.removeSubrange(start...)
                // Position in scalars, not bytes: count the scalars before the bad byte.
                let position = String(decoding: bytes[..<bad], as: UTF8.self).unicodeScalars.count
                throw FPEError(
                    .invalidCharacter, "character \(position) is not in the alphabet",
                    valueIndex: valueIndex, position: position)
            }
            return
        }
        // Strict decoding: malformed UTF-8 must not become U+FFFD and slip through as a symbol.
        var decoder = UTF8()
        var it = bytes.makeIterator()
        var position = 0
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s):
                guard let n = fromScalar[s] else {
                    out.removeSubrange(start...)
                    throw FPEError(
                        .invalidCharacter, "character \(position) is not in the alphabet",
                        valueIndex: valueIndex, position: position)
                }
                out.append(n)
                position += 1
            case .emptyInput:
                break loop
            case .error:
                out.removeSubrange(start...)
                throw FPEError(
                    .invalidCharacter, "character \(position) is not valid UTF-8",
                    valueIndex: valueIndex, position: position)
            }
        }
    }

    /// The string of `numerals`.
    ///
    /// - Precondition: every numeral is below ``radix`` (true of everything ``FPECipher`` outputs).
    @inlinable
    public func string(from numerals: some Collection<UInt16>) -> String {
        if let s = numerals.withContiguousStorageIfAvailable({ string(fromNumerals: $0) }) { return s }
        return Array(numerals).withUnsafeBufferPointer { string(fromNumerals: $0) }
    }

    /// Appends the UTF-8 encoding of `numerals` to `bytes`.
    ///
    /// - Precondition: every numeral is below ``radix``.
    @inlinable
    public func appendUTF8(of numerals: some Collection<UInt16>, to bytes: inout [UInt8]) {
        let done: Void? = numerals.withContiguousStorageIfAvailable { appendUTF8(ofNumerals: $0, to: &bytes) }
        if done == nil { Array(numerals).withUnsafeBufferPointer { appendUTF8(ofNumerals: $0, to: &bytes) } }
    }

    @usableFromInline
    func string(fromNumerals numerals: UnsafeBufferPointer<UInt16>) -> String {
        if isASCII {
            return toASCII.withUnsafeBufferPointer { table in
                String(unsafeUninitializedCapacity: numerals.count) { buf in
                    for (i, n) in numerals.enumerated() {
                        precondition(Int(n) < table.count, "numeral outside the alphabet")
                        buf[i] = table[Int(n)]
                    }
                    return numerals.count
                }
            }
        }
        var s = String.UnicodeScalarView()
        for n in numerals {
            precondition(Int(n) < symbols.count, "numeral outside the alphabet")
            s.append(symbols[Int(n)])
        }
        return String(s)
    }

    @usableFromInline
    func appendUTF8(ofNumerals numerals: UnsafeBufferPointer<UInt16>, to bytes: inout [UInt8]) {
        if isASCII {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: numerals.count))
            toASCII.withUnsafeBufferPointer { table in
                bytes.withUnsafeMutableBufferPointer { out in
                    for (i, n) in numerals.enumerated() {
                        precondition(Int(n) < table.count, "numeral outside the alphabet")
                        out[start + i] = table[Int(n)]
                    }
                }
            }
            return
        }
        for n in numerals {
            precondition(Int(n) < symbols.count, "numeral outside the alphabet")
            UTF8.encode(symbols[Int(n)]) { bytes.append($0) }
        }
    }
}
