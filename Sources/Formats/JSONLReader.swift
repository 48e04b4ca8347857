internal import Columns

/// Options of ``JSONLReader``.
public struct JSONLReadOptions: Sendable {
    /// Most rows per batch (rows and rejects together never exceed it).
    public var batchRows = 8192
    /// A batch also ends once its lines hold this many bytes.
    public var maxBatchBytes = 64 << 20
    /// Bytes requested from the source per read.
    public var chunkSize = 1 << 20
    /// A line longer than this is rejected (raw bytes truncated) and skipped, bounding memory.
    public var maxRecordBytes = 16 << 20
    /// Deepest nesting accepted inside a value.
    public var maxDepth = 256

    public init(batchRows: Int = 8192, chunkSize: Int = 1 << 20, maxRecordBytes: Int = 16 << 20) {
        self.batchRows = batchRows
        self.chunkSize = chunkSize
        self.maxRecordBytes = maxRecordBytes
    }
}

/// Reads JSON Lines (one JSON object per line) into batches, streaming with bounded memory.
///
/// - Columns are the keys in first-seen order across the stream, so a later batch may have more
///   columns than an earlier one (the earlier ones come first, in the same order). A key missing
///   from a row is ``CellKind/absent`` (empty value) and stays absent on output.
/// - Values: a string's content unescaped to UTF-8 (``CellKind/string``); numbers, `true`,
///   `false`, `null`, nested objects and arrays as their source text, untouched.
/// - Each row keeps its raw line, so ``JSONLWriter`` writes untouched rows byte for byte and
///   splices replaced values into the line (key order and spacing kept).
/// - Blank lines (empty or only spaces, tabs, CR) are not records: they pass through to the
///   output at their place. A UTF-8 byte-order mark is kept in the first batch's prologue.
/// - A line that is not one JSON object (invalid JSON, an array or scalar, text after the
///   object, a duplicate key, invalid UTF-8) becomes a ``RowReject``; reading goes on.
public final class JSONLReader: BatchReader {
    public let options: JSONLReadOptions
    public private(set) var stats = ReadStats()
    /// Column names seen so far.
    public private(set) var names: [String] = []

    private var source: any ByteSource
    private var input: InputBuffer
    /// Columns being built; moved into a local while a batch is parsed (see ``JSONLColumns``).
    private var table: JSONLColumns?
    private var lines = ColumnBuilder()
    private var started = false
    private var finished = false
    private var prologue: [UInt8] = []
    private var prologueSent = false
    private var pendingLeading: [UInt8] = []
    private var lineNumber = 0
    private var skipping = false
    /// The stream's line terminator byte: LF (LF and CRLF lines) or CR (CR and CRLF lines),
    /// decided from the first line ending.
    private var terminatorByte = lf

    /// - Throws: ``FormatError/Code/invalidOptions`` for non-positive sizes.
    public init(source: some ByteSource, options: JSONLReadOptions = .init()) throws {
        guard options.batchRows > 0, options.chunkSize > 0, options.maxRecordBytes > 0, options.maxBatchBytes > 0,
            options.maxDepth > 0
        else { throw FormatError(.invalidOptions, "sizes must be positive") }
        self.options = options
        self.source = source
        input = InputBuffer(capacity: min(options.chunkSize, 1 << 26) + 64)
        table = JSONLColumns(maxDepth: options.maxDepth)
    }

    public convenience init(fileDescriptor: Int32, options: JSONLReadOptions = .init()) throws {
        try self.init(source: FileDescriptorSource(fileDescriptor: fileDescriptor), options: options)
    }

    public convenience init(bytes: [UInt8], options: JSONLReadOptions = .init()) throws {
        try self.init(source: MemorySource(bytes), options: options)
    }

    deinit {
        input.free()
        table?.free()
        lines.free()
    }

    private func refill(atLeast: Int = 0) throws {
        stats.bytes += try input.refill(from: &source, chunkSize: options.chunkSize, atLeast: atLeast)
    }

    public func next() throws -> ReadResult? {
        if finished { return nil }
        if !started {
            started = true
            while input.available < 3 && !input.eof { try refill() }
            if input.available >= 3 && input.base[input.start] == 0xEF && input.base[input.start + 1] == 0xBB
                && input.base[input.start + 2] == 0xBF
            {
                prologue.append(contentsOf: [0xEF, 0xBB, 0xBF])
                input.start += 3
            }
            let limit = min(options.maxRecordBytes, 1 << 20)
            while true {
                if let t = detectTerminator(input.base, input.start, input.end, eof: input.eof, delimiter: nil) {
                    terminatorByte = t
                    break
                }
                if input.available >= limit { break }
                try refill()
            }
        }
        let term = terminatorByte
        var t = table!
        table = nil
        defer { table = t }
        t.builders.resetAll()
        lines.reset()
        var rows = 0
        var rejects: [RowReject] = []
        var rowNumbers: [Int] = []
        var terminators: [UInt8] = []
        var leadingRows: [Int] = []
        var leading = ByteColumn()
        var batchBytes = 0

        while rows + rejects.count < options.batchRows && batchBytes < options.maxBatchBytes {
            if skipping {
                let i = find(term, input.base, input.start, input.end)
                if i < input.end {
                    input.start = i + 1
                    skipping = false
                } else {
                    input.start = input.end
                    if input.eof { skipping = false } else { try refill() }
                }
                continue
            }
            if input.available == 0 {
                if input.eof {
                    finished = true
                    break
                }
                try refill()
                continue
            }
            let base = UnsafePointer(input.base)
            let start = input.start
            let end = input.end
            let i = find(term, base, start, end)
            var contentEnd = i
            var recordEnd = i + 1
            var terminator = terminatorLF
            if term == cr && i < end {
                // CR, or CRLF when an LF follows.
                if i + 1 == end && !input.eof {
                    try refill()
                    continue
                }
                if i + 1 < end && base[i + 1] == lf {
                    recordEnd = i + 2
                    terminator = terminatorCRLF
                } else {
                    terminator = terminatorCR
                }
            } else if i == end {
                let partial = end - start
                if !input.eof {
                    if partial > options.maxRecordBytes {
                        lineNumber += 1
                        stats.records += 1
                        stats.rejects += 1
                        rejects.append(
                            RowReject(
                                record: lineNumber, line: lineNumber,
                                reason: "line longer than \(options.maxRecordBytes) bytes",
                                raw: Array(UnsafeBufferPointer(start: base + start, count: options.maxRecordBytes)),
                                truncated: true))
                        input.start = end
                        skipping = true
                        continue
                    }
                    try refill(atLeast: partial >= options.chunkSize ? partial : 0)
                    continue
                }
                recordEnd = end
                terminator = terminatorNone
            } else if i > start && base[i - 1] == cr {
                contentEnd = i - 1
                terminator = terminatorCRLF
            }
            lineNumber += 1
            input.start = recordEnd

            var k = start
            while k < contentEnd && isJSONSpace(base[k]) { k += 1 }
            if k == contentEnd {
                pendingLeading.append(contentsOf: UnsafeBufferPointer(start: base + start, count: recordEnd - start))
                stats.blankLines += 1
                continue
            }

            stats.records += 1
            let columnsBefore = t.builders.count
            var reason: String? = nil
            if !isValidUTF8(base, start, contentEnd) {
                reason = "invalid UTF-8"
            } else {
                reason = t.parseObject(base, start, contentEnd, row: rows)
            }
            if let reason {
                t.builders.truncateAll(values: rows)
                t.removeColumns(from: columnsBefore)
                stats.rejects += 1
                rejects.append(
                    RowReject(
                        record: lineNumber, line: lineNumber, reason: reason,
                        raw: Array(UnsafeBufferPointer(start: base + start, count: recordEnd - start))))
                continue
            }
            // Keys missing from this row are absent.
            let absent = CellKind.absent.rawValue
            let bs = t.builders.base
            for c in 0..<t.builders.count where bs[c].count == rows {
                bs[c].finishValue(kind: absent)
                bs[c].setSpan(rows, start: 0, end: 0)
            }
            lines.append(base + start, contentEnd - start, kind: 0)
            if !pendingLeading.isEmpty {
                leadingRows.append(rows)
                leading.append(pendingLeading[...])
                pendingLeading.removeAll(keepingCapacity: true)
            }
            rows += 1
            rowNumbers.append(lineNumber)
            terminators.append(terminator)
            batchBytes += recordEnd - start
        }

        stats.rows += rows
        let columnCount = t.builders.count
        names = t.names
        var layout = SourceLayout(format: .jsonl, columnCount: columnCount)
        layout.terminators = terminators
        layout.leadingRows = leadingRows
        layout.leading = leading
        layout.lines = lines.makeColumn()
        var columns: [ByteColumn] = []
        columns.reserveCapacity(columnCount)
        layout.spans.reserveCapacity(columnCount)
        for j in 0..<columnCount {
            columns.append(t.builders.base[j].makeColumn())
            layout.kinds[j] = t.builders.base[j].makeKinds()
            layout.spans.append(t.builders.base[j].makeSpans())
        }
        var epilogue: [UInt8] = []
        if finished {
            epilogue = pendingLeading
            pendingLeading = []
        }
        let pro = prologueSent ? [] : prologue
        prologueSent = true
        if rows == 0 && rejects.isEmpty && pro.isEmpty && epilogue.isEmpty && finished { return nil }
        let batch = Batch(
            names: names, columns: columns, rowNumbers: rowNumbers, prologue: pro, epilogue: epilogue, layout: layout)
        return ReadResult(batch: batch, rejects: rejects)
    }
}

/// The columns a ``JSONLReader`` builds and its key → column table. The reader moves this out of
/// its storage while it parses a batch, so the per-key path works on a local value: no dynamic
/// exclusivity checks or reference counting per key.
struct JSONLColumns {
    var builders = BuilderSet()
    var names: [String] = []
    /// Value `c`: the UTF-8 name of column `c`.
    var nameStore = ColumnBuilder(byteCapacity: 1024, valueCapacity: 64)
    var nameIndex: [[UInt8]: Int] = [:]
    /// Column of the k-th key of the previous row (key order usually repeats).
    var predicted: [Int] = []
    var keyScratch = ColumnBuilder(byteCapacity: 256, valueCapacity: 16)
    let maxDepth: Int

    init(maxDepth: Int) { self.maxDepth = maxDepth }

    func free() {
        builders.free()
        nameStore.free()
        keyScratch.free()
    }

    /// Forgets the columns from index `n` on (keys first seen on a rejected line).
    mutating func removeColumns(from n: Int) {
        guard builders.count > n else { return }
        for c in n..<builders.count {
            let o = nameStore.offsets[c]
            nameIndex[Array(UnsafeBufferPointer(start: nameStore.bytes + o, count: nameStore.offsets[c + 1] - o))] = nil
        }
        builders.removeLast(from: n)
        nameStore.truncate(values: n)
        names.removeLast(names.count - n)
        for p in predicted.indices where predicted[p] >= n { predicted[p] = 0 }
    }

    /// Parses the object in `[s, e)` into the builders as row `row`; returns why not, or `nil`.
    mutating func parseObject(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int, row: Int) -> String? {
        @inline(__always) func at(_ i: Int) -> String { " at byte \(i - s + 1)" }
        var p = skipSpace(b, s, e)
        guard p < e, b[p] == UInt8(ascii: "{") else { return "not a JSON object" }
        p = skipSpace(b, p + 1, e)
        if p < e && b[p] == UInt8(ascii: "}") {
            p += 1
        } else {
            var keyPosition = 0
            while true {
                guard p < e, b[p] == quote else { return JSONScanError.expectedKey.reason + at(p) }
                // The key: compared in place when it has no escapes.
                let ks = p + 1
                var ke = ks
                var escaped = false
                while ke < e && b[ke] != quote {
                    if b[ke] == 0x5C {
                        escaped = true
                        ke += 1
                    } else if b[ke] < 0x20 {
                        return JSONScanError.controlCharacter.reason + at(ke)
                    }
                    ke += 1
                }
                guard ke < e else { return JSONScanError.unterminatedString.reason + at(ks) }
                let column: Int
                if escaped {
                    keyScratch.reset()
                    let r = withUnsafeMutablePointer(to: &keyScratch) { scanJSONString(b, ks, e, $0) }
                    if r < 0 { return JSONScanError(rawValue: r)!.reason + at(ks) }
                    column = lookupColumn(keyScratch.bytes, keyScratch.byteCount, position: keyPosition, row: row)
                } else {
                    column = lookupColumn(b + ks, ke - ks, position: keyPosition, row: row)
                }
                p = skipSpace(b, ke + 1, e)
                guard p < e, b[p] == UInt8(ascii: ":") else { return JSONScanError.expectedColon.reason + at(p) }
                p = skipSpace(b, p + 1, e)
                let builder = builders.base + column
                if builder.pointee.count > row { return "duplicate key" + at(ks) }
                guard p < e else { return JSONScanError.invalidValue.reason + at(p) }
                let vs = p
                let kind: CellKind
                switch b[p] {
                case quote:
                    kind = .string
                    p = scanJSONString(b, p + 1, e, builder)
                case UInt8(ascii: "{"):
                    kind = .object
                    p = skipJSONValue(b, p, e, depth: 0, maxDepth: maxDepth)
                case UInt8(ascii: "["):
                    kind = .array
                    p = skipJSONValue(b, p, e, depth: 0, maxDepth: maxDepth)
                case UInt8(ascii: "t"), UInt8(ascii: "f"):
                    kind = .boolean
                    p = scanLiteral(b, p, e, b[p] == UInt8(ascii: "t") ? "true" : "false")
                case UInt8(ascii: "n"):
                    kind = .null
                    p = scanLiteral(b, p, e, "null")
                default:
                    kind = .number
                    p = scanJSONNumber(b, p, e)
                }
                if p < 0 { return JSONScanError(rawValue: p)!.reason + at(vs) }
                if kind != .string { builder.pointee.appendPartial(b + vs, p - vs) }
                builder.pointee.finishValue(kind: kind.rawValue)
                builder.pointee.setSpan(row, start: vs - s, end: p - s)
                p = skipSpace(b, p, e)
                guard p < e else { return JSONScanError.expectedCommaOrClose.reason + at(p) }
                if b[p] == UInt8(ascii: "}") {
                    p += 1
                    break
                }
                guard b[p] == UInt8(ascii: ",") else { return JSONScanError.expectedCommaOrClose.reason + at(p) }
                p = skipSpace(b, p + 1, e)
                keyPosition += 1
            }
        }
        p = skipSpace(b, p, e)
        if p != e { return "unexpected text after the object" + at(p) }
        return nil
    }

    /// The column of a key (decoded UTF-8), adding a column when the key is new.
    mutating func lookupColumn(_ key: UnsafePointer<UInt8>, _ n: Int, position: Int, row: Int) -> Int {
        if position < predicted.count {
            let c = predicted[position]
            if c < nameStore.count {
                let o = nameStore.offsets[c]
                if nameStore.offsets[c + 1] - o == n && bytesEqual(nameStore.bytes + o, key, n) { return c }
            }
        }
        let k = Array(UnsafeBufferPointer(start: key, count: n))
        let c: Int
        if let found = nameIndex[k] {
            c = found
        } else {
            c = builders.count
            nameIndex[k] = c
            nameStore.append(key, n, kind: 0)
            names.append(String(decoding: k, as: UTF8.self))
            var b = ColumnBuilder(byteCapacity: 4096, valueCapacity: max(1024, row + 1), spans: true)
            for r in 0..<row {
                b.finishValue(kind: CellKind.absent.rawValue)
                b.setSpan(r, start: 0, end: 0)
            }
            builders.add(b)
        }
        if position < predicted.count { predicted[position] = c } else { predicted.append(c) }
        return c
    }
}
