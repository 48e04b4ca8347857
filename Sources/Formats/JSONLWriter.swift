public import Columns

/// Options of ``JSONLWriter``.
public struct JSONLWriteOptions: Sendable {
    /// For batches not read from JSON Lines: the line ending.
    public var lineEnding: LineEnding
    /// Bytes buffered before writing to the sink.
    public var bufferSize: Int

    public init(lineEnding: LineEnding = .lf, bufferSize: Int = 1 << 20) {
        self.lineEnding = lineEnding
        self.bufferSize = bufferSize
    }
}

/// Writes batches as JSON Lines, reproducing a JSON Lines source byte for byte where values were
/// not changed.
///
/// For a batch read by ``JSONLReader``: each row's raw line is written as it was (key order,
/// spacing, escapes, nested values, line ending, blank lines before it), except that a value
/// changed by ``Batch/replaceColumn(_:with:)`` is spliced in place of the source value as a JSON
/// string (escaped), except that a source number replaced by a valid JSON number (a digits-only
/// token without a leading zero, for example) stays an unquoted number, and a source object or
/// array replaced by a valid object or array (``JSONContainer/replacingLeaves(in:with:)``) is
/// written as raw JSON. A key absent from a row stays absent.
///
/// Other batches (CSV, built in memory) become one object per row, keys in column order, every
/// value a JSON string.
///
/// - Throws: from ``write(_:)``, ``FormatError/Code/unencodableValue`` when a value to encode is
///   not valid UTF-8 (the message names the column and record, not the value).
public final class JSONLWriter: BatchWriter {
    public let options: JSONLWriteOptions
    private var sink: any ByteSink
    private var out: OutputBuffer
    private var scratch: OutputBuffer
    private var lastRowUnterminated = false
    private var edits: [Edit] = []

    private struct Edit {
        var row: Int
        var start: Int
        var end: Int
        var valueStart: Int
        var valueEnd: Int
    }

    public init(sink: some ByteSink, options: JSONLWriteOptions = .init()) {
        self.options = options
        self.sink = sink
        out = OutputBuffer(capacity: options.bufferSize + 4096)
        scratch = OutputBuffer(capacity: 4096)
    }

    /// Writes to a file descriptor (not closed by the writer).
    public convenience init(fileDescriptor: Int32, options: JSONLWriteOptions = .init()) {
        self.init(sink: FileDescriptorSink(fileDescriptor: fileDescriptor), options: options)
    }

    deinit {
        out.free()
        scratch.free()
    }

    public func flush() throws {
        var o = out
        defer { out = o }
        try o.flush(to: &sink)
    }

    public func write(_ batch: Batch) throws {
        var o = out
        defer { out = o }
        if batch.layout.format == .jsonl {
            o.append(batch.prologue)
            if batch.rowCount > 0 { try spliceRows(batch, &o) }
            o.append(batch.epilogue)
        } else if batch.rowCount > 0 {
            try encodeRows(batch, &o)
        }
        if o.count >= options.bufferSize { try o.flush(to: &sink) }
    }

    private func appendEnding(_ t: UInt8, _ o: inout OutputBuffer) {
        if t == terminatorCR || t == terminatorCRLF { o.append(cr) }
        if t == terminatorLF || t == terminatorCRLF { o.append(lf) }
    }

    /// Source lines, with changed values of replaced columns spliced in.
    private func spliceRows(_ batch: Batch, _ o: inout OutputBuffer) throws {
        let n = batch.rowCount
        let layout = batch.layout
        var s = scratch
        defer { scratch = s }
        s.count = 0
        var list = edits
        edits = []
        defer { edits = list }
        list.removeAll(keepingCapacity: true)
        let absent = CellKind.absent.rawValue
        let numberKind = CellKind.number.rawValue
        let objectKind = CellKind.object.rawValue
        let arrayKind = CellKind.array.rawValue
        for j in 0..<batch.columnCount {
            guard let original = layout.originals[j] else { continue }
            let kinds = layout.kinds[j]
            let spans = layout.spans[j]
            var bad = -1
            withValues(batch.columns[j]) { vb, ob in
                withValues(original) { sb, so in
                    for r in 0..<n where kinds.isEmpty || kinds[r] != absent {
                        let v = vb + ob[r]
                        let len = ob[r + 1] - ob[r]
                        if sameBytes(v, len, sb + so[r], so[r + 1] - so[r]) { continue }
                        if !isASCII(v, 0, len) && !isValidUTF8(v, 0, len) {
                            bad = r
                            return
                        }
                        let vs = s.count
                        let kind = kinds.isEmpty ? 0 : kinds[r]
                        if kind == numberKind || kind == objectKind || kind == arrayKind, keepsKind(v, len, kind) {
                            // A number stays a number, a container stays raw JSON.
                            s.append(v, len)
                        } else {
                            s.reserve(jsonStringLength(v, len))
                            s.count += writeJSONString(v, len, s.base + s.count)
                        }
                        list.append(Edit(row: r, start: spans[2 * r], end: spans[2 * r + 1], valueStart: vs, valueEnd: s.count))
                    }
                }
            }
            if bad >= 0 {
                throw FormatError(
                    .unencodableValue, "column \(batch.names[j]), record \(batch.rowNumbers[bad]): value is not valid UTF-8")
            }
        }
        // Order the edits by row, then by position in the line.
        if list.count > 1 {
            list.sort { $0.row != $1.row ? $0.row < $1.row : $0.start < $1.start }
        }
        let terminators = layout.terminators
        var e = 0
        var k = 0
        withValues(layout.lines) { lb, lo in
            for r in 0..<n {
                if k < layout.leadingRows.count && layout.leadingRows[k] == r {
                    layout.leading.bytes.withUnsafeBufferPointer { b in
                        let range = layout.leading.range(k)
                        o.append(b.baseAddress! + range.lowerBound, range.count)
                    }
                    k += 1
                }
                if lastRowUnterminated { appendEnding(terminatorLF, &o) }
                let line = lb + lo[r]
                var p = 0
                while e < list.count && list[e].row == r {
                    let ed = list[e]
                    o.append(line + p, ed.start - p)
                    o.append(s.base + ed.valueStart, ed.valueEnd - ed.valueStart)
                    p = ed.end
                    e += 1
                }
                o.append(line + p, lo[r + 1] - lo[r] - p)
                let t = terminators.isEmpty ? terminatorLF : terminators[r]
                appendEnding(t, &o)
                lastRowUnterminated = t == terminatorNone
            }
        }
    }

    /// Whether a replacement for a cell of `kind` (number, object, array) is written raw: a valid
    /// JSON number for a number, a valid object (array) for an object (array).
    private func keepsKind(_ v: UnsafePointer<UInt8>, _ len: Int, _ kind: UInt8) -> Bool {
        guard len > 0 else { return false }
        if kind == CellKind.number.rawValue { return scanJSONNumber(v, 0, len) == len }
        let open = kind == CellKind.object.rawValue ? UInt8(ascii: "{") : UInt8(ascii: "[")
        return v[0] == open && skipJSONValue(v, 0, len, depth: 0, maxDepth: 256) == len
    }

    /// One object per row from the values (batches not read from JSON Lines).
    private func encodeRows(_ batch: Batch, _ o: inout OutputBuffer) throws {
        let n = batch.rowCount
        let m = batch.columnCount
        let keys: [[UInt8]] = batch.names.map { name in
            Array(name.utf8).withUnsafeBufferPointer { b in
                let src = b.baseAddress ?? UnsafePointer(emptyBytes)
                var enc = [UInt8](repeating: 0, count: jsonStringLength(src, b.count) + 1)
                let w = enc.withUnsafeMutableBufferPointer { writeJSONString(src, b.count, $0.baseAddress!) }
                enc[w] = UInt8(ascii: ":")
                return enc
            }
        }
        let ending = options.lineEnding == .crlf ? terminatorCRLF : terminatorLF
        for c in 0..<m {
            let bad = withValues(batch.columns[c]) { vb, ob -> Int in
                for r in 0..<n {
                    let len = ob[r + 1] - ob[r]
                    if !isASCII(vb + ob[r], 0, len) && !isValidUTF8(vb + ob[r], 0, len) { return r }
                }
                return -1
            }
            if bad >= 0 {
                throw FormatError(
                    .unencodableValue, "column \(batch.names[c]), record \(batch.rowNumbers[bad]): value is not valid UTF-8")
            }
        }
        // Row by row; the column arrays are reached through one closure each per row, which is
        // fine for this conversion path (the JSON Lines passthrough above is the fast one).
        let absent = CellKind.absent.rawValue
        for r in 0..<n {
            if lastRowUnterminated { appendEnding(terminatorLF, &o) }
            o.append(UInt8(ascii: "{"))
            var first = true
            for c in 0..<m {
                let kinds = batch.layout.kinds[c]
                if !kinds.isEmpty && kinds[r] == absent { continue }
                if !first { o.append(UInt8(ascii: ",")) }
                first = false
                o.append(keys[c])
                withValues(batch.columns[c]) { vb, ob in
                    let len = ob[r + 1] - ob[r]
                    o.reserve(jsonStringLength(vb + ob[r], len))
                    o.count += writeJSONString(vb + ob[r], len, o.base + o.count)
                }
            }
            o.append(UInt8(ascii: "}"))
            appendEnding(ending, &o)
            lastRowUnterminated = false
        }
    }
}

/// Bytes `writeJSONString` writes for these bytes (quotes included).
@inline(__always)
func jsonStringLength(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    var len = 2 + n
    for i in 0..<n {
        let c = p[i]
        if c == quote || c == 0x5C {
            len += 1
        } else if c < 0x20 {
            len += (c == 0x08 || c == 0x0C || c == 0x0A || c == 0x0D || c == 0x09) ? 1 : 5
        }
    }
    return len
}

/// Writes the bytes as a JSON string at `w` (quotes, backslash and control characters escaped;
/// UTF-8 written as is); returns the bytes written.
@inline(__always)
func writeJSONString(_ p: UnsafePointer<UInt8>, _ n: Int, _ w: UnsafeMutablePointer<UInt8>) -> Int {
    let hex: StaticString = "0123456789abcdef"
    var o = w
    o.pointee = quote
    o += 1
    for i in 0..<n {
        let c = p[i]
        if c >= 0x20 && c != quote && c != 0x5C {
            o.pointee = c
            o += 1
            continue
        }
        o.pointee = 0x5C
        switch c {
        case quote, 0x5C: o[1] = c
        case 0x08: o[1] = UInt8(ascii: "b")
        case 0x0C: o[1] = UInt8(ascii: "f")
        case 0x0A: o[1] = UInt8(ascii: "n")
        case 0x0D: o[1] = UInt8(ascii: "r")
        case 0x09: o[1] = UInt8(ascii: "t")
        default:
            o[1] = UInt8(ascii: "u")
            o[2] = UInt8(ascii: "0")
            o[3] = UInt8(ascii: "0")
            o[4] = hex.utf8Start[Int(c >> 4)]
            o[5] = hex.utf8Start[Int(c & 0xF)]
            o += 4
        }
        o += 2
    }
    o.pointee = quote
    o += 1
    return w.distance(to: o)
}
