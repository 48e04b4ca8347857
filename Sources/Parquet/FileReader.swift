public import Columns
public import SystemIO

/// A Parquet file opened for reading: its footer parsed and checked, its column chunks read with
/// positioned reads (so several decoders share the descriptor).
public final class ParquetFile: Sendable {
    public let path: String
    public let file: FileDescriptor
    public let size: Int
    public let metadata: FileMetaData
    /// The footer as parsed (every field, also those ``FileMetaData`` does not model).
    public let footer: ThriftStruct
    public let schema: ParquetSchema
    /// A PME file's plaintext decrypted a row group at a time: the readers of this file ask it for
    /// each row group first (``ensure(rowGroup:)``). Nil: the file is all there.
    public let window: DecryptedParquetWindow?

    /// Opens and checks `path`: magic at both ends, footer inside the file, schema consistent,
    /// every row group's column chunks inside the file and matching the schema's leaves.
    public convenience init(path: String) throws {
        let f: FileDescriptor
        do { f = try FileDescriptor.open(path, .readOnly) } catch { throw ParquetError(.io, "\(error)") }
        try self.init(file: f, path: path)
    }

    /// Opens the plaintext of a PME file decrypted a row group at a time.
    public convenience init(window: DecryptedParquetWindow, path: String) throws {
        try self.init(file: window.output, path: path, window: window)
    }

    /// Makes row group `g`'s chunks readable (a window decrypts them if it must).
    public func ensure(rowGroup g: Int) throws {
        try window?.ensure(rowGroup: g)
    }

    public convenience init(file f: FileDescriptor, path: String) throws {
        try self.init(file: f, path: path, window: nil)
    }

    private init(file f: FileDescriptor, path: String, window: DecryptedParquetWindow?) throws {
        self.path = path
        self.window = window
        file = f
        let size: Int
        do { size = try f.size() } catch { throw ParquetError(.io, "\(error)") }
        self.size = size
        guard size >= 12 else { throw ParquetError(.corrupt, "\(path): \(size) bytes is too short for a Parquet file") }
        var head = [UInt8](repeating: 0, count: 4)
        var tail = [UInt8](repeating: 0, count: 8)
        do {
            _ = try head.withUnsafeMutableBytes { try f.read(at: 0, into: $0) }
            _ = try tail.withUnsafeMutableBytes { try f.read(at: size - 8, into: $0) }
        } catch { throw ParquetError(.io, "\(error)") }
        guard head == Array("PAR1".utf8) else { throw ParquetError(.corrupt, "\(path): no PAR1 magic at the start (not a Parquet file)") }
        let range: Range<Int>
        do { range = try ParquetFooter.metadataRange(fileSize: size, tail: tail) } catch let e as ParquetError {
            throw ParquetError(e.code, "\(path): \(e.reason)")
        }
        var bytes = [UInt8](repeating: 0, count: range.count)
        do { _ = try bytes.withUnsafeMutableBytes { try f.read(at: range.lowerBound, into: $0) } } catch { throw ParquetError(.io, "\(error)") }
        do {
            let (tree, _) = try ThriftCompact.decodeStruct(bytes, what: "footer")
            footer = tree
            metadata = try FileMetaData(tree)
            schema = try ParquetSchema(metadata.schema)
        } catch let e as ParquetError {
            throw ParquetError(e.code, "\(path): \(e.reason)")
        }
        if metadata.hasEncryptionAlgorithm {
            throw ParquetError(
                .unsupported, "\(path): encrypted columns (Parquet Modular Encryption): `tokengate open` decrypts the file to plaintext Parquet first")
        }
        var totalRows: Int64 = 0
        for (g, rg) in metadata.rowGroups.enumerated() {
            let (sum, overflow) = totalRows.addingReportingOverflow(rg.numRows)
            guard rg.numRows >= 0, !overflow else { throw ParquetError(.corrupt, "\(path): row group \(g) has \(rg.numRows) rows") }
            totalRows = sum
            guard rg.columns.count == schema.leaves.count else {
                throw ParquetError(.corrupt, "\(path): row group \(g) has \(rg.columns.count) column chunks for \(schema.leaves.count) columns")
            }
            for (c, chunk) in rg.columns.enumerated() {
                let what = "\(path): row group \(g), column '\(schema.leaves[c].dottedPath)'"
                if chunk.filePath != nil { throw ParquetError(.unsupported, "\(what) lives in another file (file_path)") }
                if chunk.hasCryptoMetadata { throw ParquetError(.unsupported, "\(what) is encrypted") }
                guard let md = chunk.metaData else { throw ParquetError(.corrupt, "\(what) has no column metadata") }
                guard md.numValues >= 0 else { throw ParquetError(.corrupt, "\(what): \(md.numValues) values") }
                let r = try Self.byteRange(of: md, what: what)
                guard r.lowerBound >= 4, r.upperBound <= range.lowerBound else {
                    throw ParquetError(.corrupt, "\(what): chunk bytes \(r.lowerBound)..<\(r.upperBound) lie outside the data (\(range.lowerBound) bytes)")
                }
            }
        }
    }

    /// Where a column chunk's pages lie: from its dictionary page (when it has one) or first data
    /// page, `total_compressed_size` bytes (page headers included).
    public static func byteRange(of md: ColumnMetaData, what: String) throws -> Range<Int> {
        var start = md.dataPageOffset
        // Some writers record a dictionary_page_offset of 0 for chunks without a dictionary, and
        // pyarrow a data_page_offset of 0 for the chunks of an empty row group (no data page).
        if let d = md.dictionaryPageOffset, d > 0, d < start || start == 0 { start = d }
        let length = md.totalCompressedSize
        if length == 0 { return 4..<4 }
        guard start >= 0, length >= 0, start <= Int64(Int.max) - length else {
            throw ParquetError(.corrupt, "\(what): chunk offset \(start) / size \(length) out of range")
        }
        return Int(start)..<Int(start + length)
    }

    /// Rows of a row group.
    public func rows(inRowGroup g: Int) -> Int { Int(metadata.rowGroups[g].numRows) }
}

/// Decodes one flat column chunk page by page into text values (``ValueText``): a null becomes
/// an empty value with kind ``CellKind/null``.
public struct ColumnChunkDecoder {
    public let column: ColumnDescriptor
    public let text: ValueText
    private let what: String
    private let codec: CompressionCodec
    /// The chunk is read a window at a time (at least one page), not whole: memory stays at a
    /// page or two per decoded column whatever the row group's size.
    private let source: FileDescriptor
    private let chunkStart: Int
    private let chunkLength: Int
    private var chunk: [UInt8] = []
    private var windowStart = 0
    /// Position in the chunk (from its first byte) of the next page header.
    private var pos = 0
    private var valuesLeft: Int
    private var dictionary: ByteColumn?
    // The current page: definition levels (empty for a required column) and its non-null values.
    private var levels: [UInt32] = []
    private var pageRows = 0
    private var pageRow = 0
    private var values = ByteColumn()
    private var valueIndex = 0
    private var scratch: [UInt8] = []
    private var indices: [UInt32] = []
    /// FLOAT and DOUBLE values that are whole numbers the type holds exactly (|x| < 2^24, 2^53)
    /// are written as integers (`4111111111111111`, not `4111111111111111.0`), so the tagger and
    /// the output scan see a card number or SSN stored as a floating-point number for what it is.
    public let integralFloatsAsIntegers: Bool

    /// - Parameters:
    ///   - integralFloatsAsIntegers: see the property (the tokenize job's reading; false for the
    ///     faithful text that equals other readers').
    public init(file: ParquetFile, rowGroup g: Int, column c: Int, integralFloatsAsIntegers: Bool = false) throws {
        self.integralFloatsAsIntegers = integralFloatsAsIntegers
        column = file.schema.leaves[c]
        what = "\(file.path): row group \(g), column '\(column.dottedPath)'"
        guard column.maxRepetitionLevel == 0, column.maxDefinitionLevel <= 1 else {
            throw ParquetError(.unsupported, "\(what) is nested (repeated or inside a group): it can be copied, not decoded")
        }
        text = ValueText(column)
        let md = file.metadata.rowGroups[g].columns[c].metaData!
        codec = md.codec
        valuesLeft = Int(md.numValues)
        let r = try ParquetFile.byteRange(of: md, what: what)
        source = file.file
        chunkStart = r.lowerBound
        chunkLength = r.count
    }

    static let window = 1 << 20

    /// Makes the window hold chunk bytes `from..<from + count` (reading at least ``window``
    /// bytes, never past the chunk).
    private mutating func ensure(_ from: Int, _ count: Int) throws {
        if from >= windowStart && from + count <= windowStart + chunk.count { return }
        let want = min(chunkLength - from, max(count, Self.window))
        if chunk.count != want { chunk = [UInt8](repeating: 0, count: want) }
        let n: Int
        do { n = try chunk.withUnsafeMutableBytes { try source.read(at: chunkStart + from, into: $0) } } catch { throw ParquetError(.io, "\(error)") }
        guard n == want else { throw ParquetError(.corrupt, "\(what): the file ends inside the chunk") }
        windowStart = from
    }

    private func headerAtPos() throws -> (PageHeader, Int) {
        try chunk.withUnsafeBytes { raw in
            do { return try PageHeader.decode(UnsafeRawBufferPointer(rebasing: raw[(pos - windowStart)...]), at: 0) } catch let e as ParquetError {
                throw ParquetError(e.code, "\(what), page at chunk offset \(pos): \(e.reason)")
            }
        }
    }

    /// Appends the next `n` rows' values to `out` and their kinds to `kinds` (``CellKind`` raw
    /// values: `.null` or `.text`).
    public mutating func read(_ n: Int, into out: inout ByteColumn, kinds: inout [UInt8]) throws {
        var left = n
        while left > 0 {
            if pageRow == pageRows { try nextPage() }
            let take = min(left, pageRows - pageRow)
            if levels.isEmpty {
                appendValues(take, to: &out)
                kinds.append(contentsOf: repeatElement(CellKind.text.rawValue, count: take))
            } else {
                // Runs of present values are copied at once; a null is an empty value.
                var k = pageRow
                let end = pageRow + take
                while k < end {
                    var run = k
                    while run < end && levels[run] == 1 { run += 1 }
                    if run > k {
                        appendValues(run - k, to: &out)
                        kinds.append(contentsOf: repeatElement(CellKind.text.rawValue, count: run - k))
                        k = run
                    } else {
                        out.offsets.append(out.bytes.count)
                        kinds.append(CellKind.null.rawValue)
                        k += 1
                    }
                }
            }
            pageRow += take
            left -= take
        }
    }

    /// Appends the page's next `n` decoded values to `out`: one copy of their bytes, offsets shifted.
    private mutating func appendValues(_ n: Int, to out: inout ByteColumn) {
        guard n > 0 else { return }
        let lo = values.offsets[valueIndex]
        let hi = values.offsets[valueIndex + n]
        let shift = out.bytes.count - lo
        out.bytes.append(contentsOf: values.bytes[lo..<hi])
        out.offsets.reserveCapacity(out.offsets.count + n)
        for i in (valueIndex + 1)...(valueIndex + n) { out.offsets.append(values.offsets[i] + shift) }
        valueIndex += n
    }

    /// Reads page headers until a data page, decoding a dictionary page on the way.
    private mutating func nextPage() throws {
        while true {
            guard valuesLeft > 0, pos < chunkLength else {
                throw ParquetError(.corrupt, "\(what): the chunk ends before its rows (\(valuesLeft) values missing)")
            }
            // A header longer than the window (large statistics): read the rest of the chunk.
            try ensure(pos, min(chunkLength - pos, 64 << 10))
            let parsed: (PageHeader, Int)
            do { parsed = try headerAtPos() } catch  where windowStart + chunk.count < chunkLength {
                try ensure(pos, chunkLength - pos)
                parsed = try headerAtPos()
            }
            let (header, used) = parsed
            let compressed = Int(header.compressedPageSize)
            let uncompressed = Int(header.uncompressedPageSize)
            guard compressed >= 0, uncompressed >= 0, pos + used <= chunkLength - compressed else {
                throw ParquetError(.corrupt, "\(what): page at chunk offset \(pos) runs past the chunk")
            }
            try ensure(pos, used + compressed)
            // From here on, offsets are in the window.
            let bodyStart = pos + used - windowStart
            let page = "\(what), page at chunk offset \(pos)"
            pos += used + compressed
            switch header.type {
            case .dictionaryPage:
                guard let dh = header.dictionaryPageHeader else { throw ParquetError(.corrupt, "\(page): dictionary page without its header") }
                guard dh.encoding == .plain || dh.encoding == .plainDictionary else {
                    throw ParquetError(.unsupported, "\(page): dictionary page encoded \(dh.encoding)")
                }
                try decompress(bodyStart, compressed, uncompressed, page)
                var dict = ByteColumn()
                try scratch.withUnsafeBytes { raw in
                    _ = try decodePlain(raw, count: Int(dh.numValues), into: &dict, page)
                }
                dictionary = dict
            case .dataPage:
                guard let dh = header.dataPageHeader else { throw ParquetError(.corrupt, "\(page): data page without its header") }
                try decompress(bodyStart, compressed, uncompressed, page)
                let count = Int(dh.numValues)
                guard count >= 0, count <= valuesLeft else { throw ParquetError(.corrupt, "\(page): \(count) values, more than the chunk's") }
                try scratch.withUnsafeBytes { raw in
                    var at = 0
                    levels.removeAll(keepingCapacity: true)
                    if column.maxDefinitionLevel > 0 {
                        guard dh.definitionLevelEncoding == .rle else {
                            throw ParquetError(.unsupported, "\(page): definition levels encoded \(dh.definitionLevelEncoding)")
                        }
                        guard raw.count >= 4 else { throw ParquetError(.corrupt, "\(page): no definition levels") }
                        let len = Int(raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian)
                        guard len <= raw.count - 4 else { throw ParquetError(.corrupt, "\(page): definition levels run past the page") }
                        try RLEHybrid.decode(UnsafeRawBufferPointer(rebasing: raw[4..<(4 + len)]), bitWidth: 1, count: count, into: &levels)
                        at = 4 + len
                    }
                    try decodeValues(UnsafeRawBufferPointer(rebasing: raw[at...]), encoding: dh.encoding, rows: count, page)
                }
                valuesLeft -= count
                return
            case .dataPageV2:
                guard let dh = header.dataPageHeaderV2 else { throw ParquetError(.corrupt, "\(page): data page v2 without its header") }
                let count = Int(dh.numValues)
                let defLen = Int(dh.definitionLevelsByteLength)
                let repLen = Int(dh.repetitionLevelsByteLength)
                guard count >= 0, count <= valuesLeft, defLen >= 0, repLen >= 0, repLen + defLen <= compressed, repLen + defLen <= uncompressed else {
                    throw ParquetError(.corrupt, "\(page): level lengths or value count out of range")
                }
                levels.removeAll(keepingCapacity: true)
                if column.maxDefinitionLevel > 0 {
                    try chunk.withUnsafeBytes { raw in
                        let s = bodyStart + repLen
                        try RLEHybrid.decode(UnsafeRawBufferPointer(rebasing: raw[s..<(s + defLen)]), bitWidth: 1, count: count, into: &levels)
                    }
                }
                let valuesStart = bodyStart + repLen + defLen
                if dh.isCompressed {
                    try decompress(valuesStart, compressed - repLen - defLen, uncompressed - repLen - defLen, page)
                } else {
                    guard compressed == uncompressed else { throw ParquetError(.corrupt, "\(page): uncompressed page with two different sizes") }
                    scratch.removeAll(keepingCapacity: true)
                    scratch.append(contentsOf: chunk[valuesStart..<(bodyStart + compressed)])
                }
                try scratch.withUnsafeBytes { raw in try decodeValues(raw, encoding: dh.encoding, rows: count, page) }
                valuesLeft -= count
                return
            case .indexPage:
                continue
            default:
                throw ParquetError(.unsupported, "\(page): \(header.type)")
            }
        }
    }

    private mutating func decompress(_ start: Int, _ compressed: Int, _ uncompressed: Int, _ page: String) throws {
        scratch.removeAll(keepingCapacity: true)
        do {
            try chunk.withUnsafeBytes { raw in
                try PageCodec.decompress(
                    codec, UnsafeRawBufferPointer(rebasing: raw[start..<(start + compressed)]), uncompressedSize: uncompressed, into: &scratch)
            }
        } catch let e as ParquetError { throw ParquetError(e.code, "\(page): \(e.reason)") }
    }

    /// Decodes a page's values (the non-null ones) into ``values`` as text.
    private mutating func decodeValues(_ raw: UnsafeRawBufferPointer, encoding: Encoding, rows: Int, _ page: String) throws {
        pageRows = rows
        pageRow = 0
        valueIndex = 0
        let present = levels.isEmpty ? rows : levels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
        values.removeAll(keepingCapacity: true)
        do {
            switch encoding {
            case .plain:
                _ = try decodePlain(raw, count: present, into: &values, page)
            case .plainDictionary, .rleDictionary:
                guard let dictionary else { throw ParquetError(.corrupt, "dictionary-encoded page without a dictionary page") }
                guard present > 0 else { return }
                guard raw.count >= 1 else { throw ParquetError(.corrupt, "no index bit width") }
                let width = Int(raw[0])
                guard width <= 32 else { throw ParquetError(.corrupt, "index bit width \(width)") }
                indices.removeAll(keepingCapacity: true)
                try RLEHybrid.decode(UnsafeRawBufferPointer(rebasing: raw[1...]), bitWidth: width, count: present, into: &indices)
                let n = UInt32(dictionary.count)
                dictionary.bytes.withUnsafeBytes { d in
                    for i in indices where i < n {
                        values.append(bytes: UnsafeRawBufferPointer(rebasing: d[dictionary.offsets[Int(i)]..<dictionary.offsets[Int(i) + 1]]))
                    }
                }
                guard values.count == present else { throw ParquetError(.corrupt, "a dictionary index past the dictionary's \(n) entries") }
            case .rle where column.physicalType == .boolean:
                guard raw.count >= 4 else { throw ParquetError(.corrupt, "no RLE length") }
                let len = Int(raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian)
                guard len <= raw.count - 4 else { throw ParquetError(.corrupt, "RLE booleans run past the page") }
                indices.removeAll(keepingCapacity: true)
                try RLEHybrid.decode(UnsafeRawBufferPointer(rebasing: raw[4..<(4 + len)]), bitWidth: 1, count: present, into: &indices)
                for b in indices { appendBool(b != 0) }
            case .deltaBinaryPacked where column.physicalType == .int32:
                var v: [Int32] = []
                _ = try Delta.decodeBinaryPacked32(raw, count: present, into: &v)
                for x in v { renderInteger(Int64(x)) }
            case .deltaBinaryPacked where column.physicalType == .int64:
                var v: [Int64] = []
                _ = try Delta.decodeBinaryPacked64(raw, count: present, into: &v)
                for x in v { renderInteger(x) }
            case .deltaLengthByteArray where column.physicalType == .byteArray:
                var col = ByteColumn()
                _ = try Delta.decodeLengthByteArray(raw, count: present, into: &col)
                try renderBytes(col)
            case .deltaByteArray where column.physicalType == .byteArray || column.physicalType == .fixedLenByteArray:
                var col = ByteColumn()
                _ = try Delta.decodeByteArray(raw, count: present, into: &col)
                try renderBytes(col)
            default:
                throw ParquetError(.unsupported, "values encoded \(encoding) for \(column.physicalType)")
            }
        } catch let e as ParquetError { throw ParquetError(e.code, e.reason.hasPrefix(what) ? e.reason : "\(page): \(e.reason)") }
        guard values.count == present else { throw ParquetError(.corrupt, "\(page): \(values.count) values decoded for \(present) expected") }
    }

    /// PLAIN values of the column's physical type, rendered as text into `out`.
    private func decodePlain(_ raw: UnsafeRawBufferPointer, count: Int, into out: inout ByteColumn, _ page: String) throws -> Int {
        switch column.physicalType {
        case .byteArray:
            if text == .bytes { return try Plain.decodeByteArray(raw, count: count, into: &out) }
            var col = ByteColumn()
            let n = try Plain.decodeByteArray(raw, count: count, into: &col)
            try render(bytes: col, into: &out)
            return n
        case .fixedLenByteArray:
            guard let w = column.element.typeLength, w >= 0 else { throw ParquetError(.corrupt, "FIXED_LEN_BYTE_ARRAY without a type length") }
            if text == .bytes { return try Plain.decodeFixedLenByteArray(raw, count: count, width: Int(w), into: &out) }
            var col = ByteColumn()
            let n = try Plain.decodeFixedLenByteArray(raw, count: count, width: Int(w), into: &col)
            try render(bytes: col, into: &out)
            return n
        case .int32:
            var v: [Int32] = []
            let n = try Plain.decodeInt32(raw, count: count, into: &v)
            for x in v { render(integer: Int64(x), width32: true, into: &out) }
            return n
        case .int64:
            var v: [Int64] = []
            let n = try Plain.decodeInt64(raw, count: count, into: &v)
            for x in v { render(integer: x, width32: false, into: &out) }
            return n
        case .boolean:
            var v: [Bool] = []
            let n = try Plain.decodeBoolean(raw, count: count, into: &v)
            for b in v { out.append(b ? "true" : "false") }
            return n
        case .float:
            var v: [Float] = []
            let n = try Plain.decodeFloat(raw, count: count, into: &v)
            for x in v {
                if integralFloatsAsIntegers && x.magnitude < 0x1p24 && x == x.rounded(.towardZero) {
                    TextRender.appendSigned(Int64(x), to: &out)
                } else {
                    out.append(x.description)
                }
            }
            return n
        case .double:
            var v: [Double] = []
            let n = try Plain.decodeDouble(raw, count: count, into: &v)
            for x in v {
                if integralFloatsAsIntegers && x.magnitude < 0x1p53 && x == x.rounded(.towardZero) {
                    TextRender.appendSigned(Int64(x), to: &out)
                } else {
                    out.append(x.description)
                }
            }
            return n
        case .int96:
            guard raw.count >= count * 12 else { throw ParquetError(.corrupt, "\(page): INT96 values run past the page") }
            for k in 0..<count {
                let nanos = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 12 * k, as: Int64.self))
                let julian = Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 12 * k + 8, as: Int32.self)))
                let (t, o1) = (julian - 2_440_588).multipliedReportingOverflow(by: 86_400_000_000_000)
                let (v, o2) = t.addingReportingOverflow(nanos)
                guard !o1, !o2 else { throw ParquetError(.unsupported, "\(page): an INT96 timestamp outside the 64-bit nanosecond range") }
                TextRender.appendTime(v, digits: 9, withDate: true, utc: false, to: &out)
            }
            return count * 12
        default:
            throw ParquetError(.unsupported, "\(page): physical type \(column.physicalType)")
        }
    }

    private mutating func renderInteger(_ x: Int64) {
        var out = values
        values = ByteColumn()
        render(integer: x, width32: column.physicalType == .int32, into: &out)
        values = out
    }

    private mutating func renderBytes(_ col: ByteColumn) throws {
        var out = values
        values = ByteColumn()
        try render(bytes: col, into: &out)
        values = out
    }

    private mutating func appendBool(_ b: Bool) { values.append(b ? "true" : "false") }

    private func render(integer x: Int64, width32: Bool, into out: inout ByteColumn) {
        switch text {
        case .unsigned:
            TextRender.appendMagnitude(width32 ? UInt64(UInt32(truncatingIfNeeded: x)) : UInt64(bitPattern: x), negative: false, to: &out)
        case .date: TextRender.appendDate(days: x, to: &out)
        case .decimal(let scale): TextRender.appendDecimal(Int128(x), scale: scale, to: &out)
        case .timestamp(let unit, let utc): TextRender.appendTime(x, digits: unit, withDate: true, utc: utc, to: &out)
        case .time(let unit): TextRender.appendTime(x, digits: unit, withDate: false, utc: false, to: &out)
        default: TextRender.appendSigned(x, to: &out)
        }
    }

    private func render(bytes col: ByteColumn, into out: inout ByteColumn) throws {
        guard case .decimal(let scale) = text else {
            for i in 0..<col.count { out.append(col[i]) }
            return
        }
        try col.bytes.withUnsafeBytes { raw in
            for i in 0..<col.count {
                TextRender.appendDecimal(try TextRender.decimalValue(UnsafeRawBufferPointer(rebasing: raw[col.range(i)])), scale: scale, to: &out)
            }
        }
    }
}
