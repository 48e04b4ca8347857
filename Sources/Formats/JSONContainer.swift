internal import Columns

/// One scalar leaf of a JSON object or array: a string or a number.
public struct JSONLeaf: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: UInt8, Sendable {
        case string
        case number
    }

    public var kind: Kind
    /// The object keys leading to the leaf joined with `.`, `[]` for an array element:
    /// `payment.pan`, `cards[]`, `orders[].card.pan`, `[][]` (keys are decoded; a key holding `.`
    /// or `[]` is not escaped).
    public var path: String
    /// Byte offsets of the leaf in the raw text (0-based; a string with its quotes).
    public var range: Range<Int>
    /// A string's content, unescaped, in UTF-8; a number's source text.
    public var value: [UInt8]

    public init(kind: Kind, path: String, range: Range<Int>, value: [UInt8]) {
        self.kind = kind
        self.path = path
        self.range = range
        self.value = value
    }

    public var description: String { "\(kind) \(path) \(range)" }
}

/// A new value for one leaf, for ``JSONContainer/replacingLeaves(in:with:)``.
public struct JSONLeafReplacement: Sendable, Equatable {
    /// The leaf's ``JSONLeaf/range``.
    public var range: Range<Int>
    /// How to write the value: `.string` is encoded as a JSON string (escaped as needed),
    /// `.number` is written as is and must be a valid JSON number.
    public var kind: JSONLeaf.Kind
    /// The new value (UTF-8; for `.string` unescaped content).
    public var value: [UInt8]

    public init(range: Range<Int>, kind: JSONLeaf.Kind, value: [UInt8]) {
        self.range = range
        self.kind = kind
        self.value = value
    }
}

/// Walks and rebuilds JSON containers kept as raw text: the values of ``CellKind/object`` and
/// ``CellKind/array`` cells (``Batch/kind(row:column:)``; the cell's value is the raw text).
///
/// The job walks a container's leaves (``forEachLeaf(in:maxDepth:_:)``), transforms the ones it
/// wants, rebuilds the text (``replacingLeaves(in:with:)``: every other byte stays) and replaces
/// the cell with it; ``JSONLWriter`` writes a replaced container cell whose value is a valid
/// container of the same kind as raw JSON.
public enum JSONContainer {
    /// Calls `body` for every string and number in the container, in document order, with the
    /// leaf's key path (UTF-8, see ``JSONLeaf/path``), its byte range in `raw` and its value (a
    /// string decoded, a number's text). The buffers are valid only during the call; the walk
    /// allocates a path and a scratch buffer once per call, nothing per leaf.
    ///
    /// - Parameters:
    ///   - raw: a JSON object or array (white space around it allowed).
    ///   - maxDepth: deepest nesting accepted.
    /// - Throws: ``FormatErrorCode/invalidJSON`` when `raw` is not one JSON object or array;
    ///   whatever `body` throws.
    public static func forEachLeaf(
        in raw: UnsafeBufferPointer<UInt8>, maxDepth: Int = 256,
        _ body: (_ kind: JSONLeaf.Kind, _ path: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ value: UnsafeBufferPointer<UInt8>) throws
            -> Void
    ) throws {
        guard let b = raw.baseAddress, raw.count > 0 else { throw FormatError(.invalidJSON, "empty JSON value") }
        let e = raw.count
        var path: [UInt8] = []
        path.reserveCapacity(64)
        let scratch = UnsafeMutablePointer<ColumnBuilder>.allocate(capacity: 1)
        scratch.initialize(to: ColumnBuilder(byteCapacity: 256, valueCapacity: 16))
        defer {
            scratch.pointee.free()
            scratch.deinitialize(count: 1)
            scratch.deallocate()
        }
        func fail(_ why: String, _ at: Int) -> FormatError { FormatError(.invalidJSON, "\(why) at byte \(at + 1)") }
        func fail(_ code: Int, _ at: Int) -> FormatError { fail(JSONScanError(rawValue: code)?.reason ?? "invalid JSON", at) }

        func walk(_ p: Int, depth: Int) throws -> Int {
            guard p < e else { throw fail(JSONScanError.invalidValue.rawValue, p) }
            switch b[p] {
            case quote:
                scratch.pointee.reset()
                let q = scanJSONString(b, p + 1, e, scratch)
                if q < 0 { throw fail(q, p) }
                try path.withUnsafeBufferPointer { pp in
                    try body(.string, pp, p..<q, UnsafeBufferPointer(start: scratch.pointee.bytes, count: scratch.pointee.byteCount))
                }
                return q
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < maxDepth else { throw fail(JSONScanError.tooDeep.rawValue, p) }
                let isObject = b[p] == UInt8(ascii: "{")
                let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                let parent = path.count
                var i = skipSpace(b, p + 1, e)
                if i < e && b[i] == close { return i + 1 }
                if !isObject { path.append(contentsOf: [UInt8(ascii: "["), UInt8(ascii: "]")]) }
                while true {
                    if isObject {
                        guard i < e, b[i] == quote else { throw fail(JSONScanError.expectedKey.rawValue, i) }
                        path.removeSubrange(parent...)
                        if parent > 0 { path.append(UInt8(ascii: ".")) }
                        scratch.pointee.reset()
                        let k = scanJSONString(b, i + 1, e, scratch)
                        if k < 0 { throw fail(k, i) }
                        path.append(contentsOf: UnsafeBufferPointer(start: scratch.pointee.bytes, count: scratch.pointee.byteCount))
                        i = skipSpace(b, k, e)
                        guard i < e, b[i] == UInt8(ascii: ":") else { throw fail(JSONScanError.expectedColon.rawValue, i) }
                        i = skipSpace(b, i + 1, e)
                    }
                    i = skipSpace(b, try walk(i, depth: depth + 1), e)
                    guard i < e else { throw fail(JSONScanError.expectedCommaOrClose.rawValue, i) }
                    if b[i] == close {
                        path.removeSubrange(parent...)
                        return i + 1
                    }
                    guard b[i] == UInt8(ascii: ",") else { throw fail(JSONScanError.expectedCommaOrClose.rawValue, i) }
                    i = skipSpace(b, i + 1, e)
                }
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                let word: StaticString = b[p] == UInt8(ascii: "t") ? "true" : b[p] == UInt8(ascii: "f") ? "false" : "null"
                let q = scanLiteral(b, p, e, word)
                if q < 0 { throw fail(q, p) }
                return q
            default:
                let q = scanJSONNumber(b, p, e)
                if q < 0 { throw fail(q, p) }
                try path.withUnsafeBufferPointer { pp in try body(.number, pp, p..<q, UnsafeBufferPointer(start: b + p, count: q - p)) }
                return q
            }
        }

        var i = skipSpace(b, 0, e)
        guard i < e, b[i] == UInt8(ascii: "{") || b[i] == UInt8(ascii: "[") else {
            throw fail("not a JSON object or array", i)
        }
        i = skipSpace(b, try walk(i, depth: 0), e)
        guard i == e else { throw fail("unexpected text after the value", i) }
    }

    /// Every leaf of the container, as values (see ``forEachLeaf(in:maxDepth:_:)``).
    public static func leaves(in raw: ArraySlice<UInt8>, maxDepth: Int = 256) throws -> [JSONLeaf] {
        var out: [JSONLeaf] = []
        try raw.withUnsafeBufferPointer { r in
            try forEachLeaf(in: r, maxDepth: maxDepth) { kind, path, range, value in
                out.append(JSONLeaf(kind: kind, path: String(decoding: path, as: UTF8.self), range: range, value: Array(value)))
            }
        }
        return out
    }

    /// The raw text with the given leaves replaced; structure, key order, white space and every
    /// other byte unchanged. A replacement equal to the leaf's current value keeps the leaf's
    /// source bytes (escapes included), so replacing every leaf by itself gives `raw` back.
    ///
    /// - Parameters:
    ///   - raw: the container's text (the ranges are 0-based offsets into it).
    ///   - replacements: ranges of leaves of `raw` (as ``forEachLeaf(in:maxDepth:_:)`` reports
    ///     them), not overlapping, in any order.
    /// - Throws: ``FormatErrorCode/unencodableValue`` for a string that is not valid UTF-8, a
    ///   `.number` that is not a JSON number, or a range that is not a leaf of `raw`
    ///   (the message never contains the value).
    public static func replacingLeaves(in raw: ArraySlice<UInt8>, with replacements: [JSONLeafReplacement]) throws -> [UInt8] {
        let sorted = replacements.sorted { $0.range.lowerBound < $1.range.lowerBound }
        return try raw.withUnsafeBufferPointer { r -> [UInt8] in
            let b = r.baseAddress ?? UnsafePointer(emptyBytes)
            var out: [UInt8] = []
            out.reserveCapacity(r.count + 16 * sorted.count)
            let scratch = UnsafeMutablePointer<ColumnBuilder>.allocate(capacity: 1)
            scratch.initialize(to: ColumnBuilder(byteCapacity: 256, valueCapacity: 16))
            defer {
                scratch.pointee.free()
                scratch.deinitialize(count: 1)
                scratch.deallocate()
            }
            var p = 0
            for (k, rep) in sorted.enumerated() {
                let s = rep.range.lowerBound
                let t = rep.range.upperBound
                guard s >= p, t <= r.count, s < t else {
                    throw FormatError(.unencodableValue, "replacement \(k + 1): range \(rep.range) overlaps another or is outside the value")
                }
                out.append(contentsOf: UnsafeBufferPointer(start: b + p, count: s - p))
                let isString = b[s] == quote
                guard isString ? scanJSONString(b, s + 1, t, nil) == t : scanJSONNumber(b, s, t) == t else {
                    throw FormatError(.unencodableValue, "replacement \(k + 1): range \(rep.range) is not a string or number of the value")
                }
                var same = false
                if isString && rep.kind == .string {
                    scratch.pointee.reset()
                    _ = scanJSONString(b, s + 1, t, scratch)
                    same = rep.value.withUnsafeBufferPointer { v in
                        sameBytes(v.baseAddress ?? UnsafePointer(emptyBytes), v.count, scratch.pointee.bytes, scratch.pointee.byteCount)
                    }
                } else if !isString && rep.kind == .number {
                    same = rep.value.withUnsafeBufferPointer { v in sameBytes(v.baseAddress ?? UnsafePointer(emptyBytes), v.count, b + s, t - s) }
                }
                if same {
                    out.append(contentsOf: UnsafeBufferPointer(start: b + s, count: t - s))
                } else {
                    try rep.value.withUnsafeBufferPointer { v in
                        let vp = v.baseAddress ?? UnsafePointer(emptyBytes)
                        switch rep.kind {
                        case .number:
                            guard v.count > 0, scanJSONNumber(vp, 0, v.count) == v.count else {
                                throw FormatError(.unencodableValue, "replacement \(k + 1): not a JSON number")
                            }
                            out.append(contentsOf: v)
                        case .string:
                            guard isValidUTF8(v) else { throw FormatError(.unencodableValue, "replacement \(k + 1): not valid UTF-8") }
                            let start = out.count
                            out.append(contentsOf: repeatElement(0, count: jsonStringLength(vp, v.count)))
                            out.withUnsafeMutableBufferPointer { o in _ = writeJSONString(vp, v.count, o.baseAddress! + start) }
                        }
                    }
                }
                p = t
            }
            out.append(contentsOf: UnsafeBufferPointer(start: b + p, count: r.count - p))
            return out
        }
    }
}
