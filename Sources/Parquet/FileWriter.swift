public import Columns
public import SystemIO

/// One column chunk encoded by ``ColumnChunkEncoder``: its pages (dictionary page first) and
/// what its metadata records.
public struct EncodedChunk: Sendable {
    public var bytes: [UInt8]
    /// Bytes of the dictionary page (header included) at the start of ``bytes``; 0: none.
    public var dictionaryPageLength: Int
    public var encodings: [Encoding]
    public var totalUncompressedSize: Int
    public var numValues: Int
    public var statistics: ThriftStruct
}

/// Encodes the text values of one flat column (see ``ValueText``) into Parquet pages of its
/// physical type: data page v1, definition levels RLE, values PLAIN or (byte arrays, when asked)
/// dictionary-encoded with a fallback to PLAIN once the dictionary passes 1 MiB, pages of about
/// 1 MiB or 20 000 rows, compressed with the chunk's codec. Statistics (`null_count`,
/// `min_value`, `max_value`) cover every value written.
public struct ColumnChunkEncoder {
    public let column: ColumnDescriptor
    public let text: ValueText
    public let codec: CompressionCodec
    private var dictionary: ByteArrayDictionary?
    private var dictionaryUsed = false
    private var plainUsed = false
    private var levels: [UInt32] = []
    private var plain: [UInt8] = []
    private var indices: [UInt32] = []
    private var pageRows = 0
    private var pages: [UInt8] = []
    private var body: [UInt8] = []
    private var compressed: [UInt8] = []
    private var uncompressedTotal = 0
    private var rows = 0
    private var nulls = 0
    private var minBytes: [UInt8]?
    private var maxBytes: [UInt8]?
    private var minInt = Int64.max
    private var maxInt = Int64.min
    private var minUInt = UInt64.max
    private var maxUInt = UInt64.min
    private var anyValue = false

    static let pageBytes = 1 << 20
    static let pageRowLimit = 20_000
    static let dictionaryLimit = 1 << 20

    /// - Throws: `.invalidOptions` when the column is nested or its type cannot take text back
    ///   (``ValueText/isWritable``).
    public init(column: ColumnDescriptor, codec: CompressionCodec, dictionary: Bool) throws {
        guard column.maxRepetitionLevel == 0, column.maxDefinitionLevel <= 1 else {
            throw ParquetError(.invalidOptions, "column '\(column.dottedPath)' is nested: it cannot be re-encoded")
        }
        let t = ValueText(column)
        guard t.isWritable, [PhysicalType.byteArray, .fixedLenByteArray, .int32, .int64].contains(column.physicalType) else {
            throw ParquetError(
                .invalidOptions,
                "column '\(column.dottedPath)' (\(column.physicalType)\(t == .bytes ? "" : ", \(t)")) cannot be transformed: tokengate writes back byte arrays, integers and dates"
            )
        }
        self.column = column
        text = t
        self.codec = codec
        if dictionary && (column.physicalType == .byteArray || column.physicalType == .fixedLenByteArray) {
            self.dictionary = ByteArrayDictionary()
        }
    }

    /// Appends rows `range` of `values` (kinds: ``CellKind`` raw values, empty when none is null;
    /// a null in a required column is refused).
    /// - Parameter record: names a row in messages (`record N`).
    public mutating func append(_ values: ByteColumn, kinds: [UInt8], rows range: Range<Int>, record: (Int) -> String) throws {
        try values.bytes.withUnsafeBytes { raw in
            for r in range {
                let isNull = !kinds.isEmpty && (kinds[r] == CellKind.null.rawValue || kinds[r] == CellKind.absent.rawValue)
                if isNull {
                    guard column.maxDefinitionLevel == 1 else {
                        throw ParquetError(.unencodable, "\(record(r)), column '\(column.dottedPath)': a null in a REQUIRED column")
                    }
                    levels.append(0)
                    nulls += 1
                } else {
                    if column.maxDefinitionLevel == 1 { levels.append(1) }
                    try appendValue(UnsafeRawBufferPointer(rebasing: raw[values.offsets[r]..<values.offsets[r + 1]]), record: record, row: r)
                }
                pageRows += 1
                rows += 1
                if pageRows >= Self.pageRowLimit || plain.count + 4 * indices.count >= Self.pageBytes { try flushPage() }
            }
        }
    }

    private mutating func appendValue(_ v: UnsafeRawBufferPointer, record: (Int) -> String, row: Int) throws {
        anyValue = true
        switch column.physicalType {
        case .byteArray, .fixedLenByteArray:
            if column.physicalType == .fixedLenByteArray, v.count != Int(column.element.typeLength ?? -1) {
                throw ParquetError(
                    .unencodable,
                    "\(record(row)), column '\(column.dottedPath)': a value of \(v.count) bytes for FIXED_LEN_BYTE_ARRAY(\(column.element.typeLength ?? 0))")
            }
            if minBytes == nil || Self.less(v, minBytes!) { minBytes = Array(v) }
            if maxBytes == nil || Self.less(maxBytes!, v) { maxBytes = Array(v) }
            if dictionary != nil {
                indices.append(dictionary!.index(of: v))
                if dictionary!.byteSize > Self.dictionaryLimit { try fallBack() }
            } else {
                if column.physicalType == .byteArray {
                    withUnsafeBytes(of: UInt32(v.count).littleEndian) { plain.append(contentsOf: $0) }
                }
                plain.append(contentsOf: v)
            }
        case .int32, .int64:
            let s = ArraySlice(v.bindMemory(to: UInt8.self))
            let is32 = column.physicalType == .int32
            switch text {
            case .unsigned:
                guard let u = TextRender.parseUnsigned(s), !is32 || u <= UInt64(UInt32.max) else {
                    throw ParquetError(
                        .unencodable, "\(record(row)), column '\(column.dottedPath)': the value is not an unsigned \(is32 ? 32 : 64)-bit integer")
                }
                minUInt = min(minUInt, u)
                maxUInt = max(maxUInt, u)
                appendInteger(bits: u, is32: is32)
            default:
                let parsed = text == .date ? TextRender.parseDate(s) : TextRender.parseSigned(s)
                guard let x = parsed, !is32 || (Int64(Int32.min)...Int64(Int32.max)).contains(x) else {
                    let what = text == .date ? "a YYYY-MM-DD date" : "a \(is32 ? 32 : 64)-bit integer without leading zeros"
                    throw ParquetError(.unencodable, "\(record(row)), column '\(column.dottedPath)': the value is not \(what)")
                }
                minInt = min(minInt, x)
                maxInt = max(maxInt, x)
                appendInteger(bits: UInt64(bitPattern: x), is32: is32)
            }
        default:
            throw ParquetError(.invalidOptions, "column '\(column.dottedPath)': \(column.physicalType) cannot be re-encoded")
        }
    }

    /// PLAIN INT32 (the low 32 bits) or INT64, little-endian.
    private mutating func appendInteger(bits: UInt64, is32: Bool) {
        if is32 {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: bits).littleEndian) { plain.append(contentsOf: $0) }
        } else {
            withUnsafeBytes(of: bits.littleEndian) { plain.append(contentsOf: $0) }
        }
    }

    private static func less(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        b.withUnsafeBytes { less(a, $0) }
    }
    private static func less(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        a.withUnsafeBytes { less($0, b) }
    }
    private static func less(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = min(a.count, b.count)
        for i in 0..<n where a[i] != b[i] { return a[i] < b[i] }
        return a.count < b.count
    }

    /// The dictionary grew past the limit: the page so far stays dictionary-encoded, the rest
    /// of the chunk is PLAIN.
    private mutating func fallBack() throws {
        try flushPage()
        dictionaryUsed = true
        // Keep the dictionary for the pages already written; stop adding to it.
        let d = dictionary
        dictionary = nil
        frozenDictionary = d
    }
    private var frozenDictionary: ByteArrayDictionary?

    private mutating func flushPage() throws {
        guard pageRows > 0 else { return }
        body.removeAll(keepingCapacity: true)
        if column.maxDefinitionLevel == 1 {
            var runs: [UInt8] = []
            levels.withUnsafeBufferPointer { RLEHybrid.encode($0, bitWidth: 1, into: &runs) }
            withUnsafeBytes(of: UInt32(runs.count).littleEndian) { body.append(contentsOf: $0) }
            body.append(contentsOf: runs)
        }
        let encoding: Encoding
        if let d = dictionary {
            encoding = .rleDictionary
            dictionaryUsed = true
            let width = RLEHybrid.bitWidth(forMax: UInt32(max(0, d.count - 1)))
            body.append(UInt8(width))
            indices.withUnsafeBufferPointer { RLEHybrid.encode($0, bitWidth: width, into: &body) }
        } else {
            encoding = .plain
            plainUsed = true
            body.append(contentsOf: plain)
        }
        compressed.removeAll(keepingCapacity: true)
        try body.withUnsafeBytes { _ = try PageCodec.compress(codec, $0, into: &compressed) }
        var dph = ThriftStruct()
        dph.set(1, .i32(Int32(pageRows)))
        dph.set(2, .i32(encoding.rawValue))
        dph.set(3, .i32(Encoding.rle.rawValue))
        dph.set(4, .i32(Encoding.rle.rawValue))
        let header = Self.pageHeader(type: .dataPage, uncompressed: body.count, compressed: compressed.count, field: 5, sub: dph)
        uncompressedTotal += header.count + body.count
        pages.append(contentsOf: header)
        pages.append(contentsOf: compressed)
        levels.removeAll(keepingCapacity: true)
        plain.removeAll(keepingCapacity: true)
        indices.removeAll(keepingCapacity: true)
        pageRows = 0
    }

    static func pageHeader(type: PageType, uncompressed: Int, compressed: Int, field: Int16, sub: ThriftStruct) -> [UInt8] {
        var h = ThriftStruct()
        h.set(1, .i32(type.rawValue))
        h.set(2, .i32(Int32(uncompressed)))
        h.set(3, .i32(Int32(compressed)))
        h.set(field, .structure(sub))
        var out: [UInt8] = []
        ThriftCompact.encode(h, into: &out)
        return out
    }

    /// Bytes held for the chunk so far (encoded pages and the page being filled).
    public var bufferedBytes: Int { pages.count + plain.count + 4 * indices.count + (dictionary?.byteSize ?? frozenDictionary?.byteSize ?? 0) }

    /// The chunk: dictionary page (when one was used) and the data pages, with its statistics.
    public mutating func finish() throws -> EncodedChunk {
        try flushPage()
        var bytes: [UInt8] = []
        var dictLength = 0
        var encodings: [Encoding] = [.rle]
        if dictionaryUsed, let d = dictionary ?? frozenDictionary {
            var dbody: [UInt8] = []
            if column.physicalType == .fixedLenByteArray { d.encodePlainFixed(into: &dbody) } else { d.encodePlain(into: &dbody) }
            var dc: [UInt8] = []
            try dbody.withUnsafeBytes { _ = try PageCodec.compress(codec, $0, into: &dc) }
            var dph = ThriftStruct()
            dph.set(1, .i32(Int32(d.count)))
            dph.set(2, .i32(Encoding.plain.rawValue))
            dph.set(3, .bool(false))
            let header = Self.pageHeader(type: .dictionaryPage, uncompressed: dbody.count, compressed: dc.count, field: 7, sub: dph)
            bytes = header + dc
            dictLength = bytes.count
            uncompressedTotal += header.count + dbody.count
            encodings.append(.plain)
            encodings.append(.rleDictionary)
        }
        if plainUsed && !encodings.contains(.plain) { encodings.append(.plain) }
        bytes.append(contentsOf: pages)
        var stats = ThriftStruct()
        stats.set(3, .i64(Int64(nulls)))
        if anyValue {
            let (lo, hi) = statBytes()
            stats.set(5, .binary(hi))
            stats.set(6, .binary(lo))
        }
        let chunk = EncodedChunk(
            bytes: bytes, dictionaryPageLength: dictLength, encodings: encodings.sorted { $0.rawValue < $1.rawValue },
            totalUncompressedSize: uncompressedTotal, numValues: rows, statistics: stats)
        pages.removeAll()
        return chunk
    }

    /// min and max, PLAIN-encoded without a length prefix.
    private func statBytes() -> ([UInt8], [UInt8]) {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        switch column.physicalType {
        case .int32:
            return text == .unsigned ? (le(UInt32(minUInt)), le(UInt32(maxUInt))) : (le(Int32(minInt)), le(Int32(maxInt)))
        case .int64:
            return text == .unsigned ? (le(minUInt), le(maxUInt)) : (le(minInt), le(maxInt))
        default:
            return (minBytes ?? [], maxBytes ?? [])
        }
    }
}

/// Writes a Parquet file sequentially to a descriptor: the magic, row groups of column chunks
/// (copied verbatim from a source file or encoded), and the footer last.
public final class ParquetFileWriter {
    /// nil: the bytes are buffered for the caller (``takeBuffered()``).
    private let out: FileDescriptor?
    private var buffered: [UInt8] = []
    private(set) public var offset = 0
    private var rowGroups: [ThriftValue] = []
    private var chunks: [ThriftValue] = []
    private var groupStart = 0
    private var groupUncompressed: Int64 = 0
    private var groupRows = 0
    private var groupSource: ThriftStruct?
    private var groupReencoded = false
    private(set) public var rows = 0

    /// Sees every byte written, in order (the run's output digest); nil: copied chunks go
    /// through the kernel (`copy_file_range`) without passing through this process.
    private let observer: ((UnsafeRawBufferPointer) throws -> Void)?
    private var copyBuffer: [UInt8] = []

    /// Writes the leading magic.
    /// The observer sees the bytes from this output offset on (those before are known to equal
    /// the source's, whose digest covers them); copies that end before it stay in the kernel.
    private let observeFrom: Int
    /// Parquet Modular Encryption of every chunk and the footer; nil: a plaintext file.
    private let encryption: ParquetEncryption?
    /// Time spent encrypting modules (PME), in seconds.
    private(set) public var encryptionSeconds = 0.0
    /// Row groups written so far.
    public var rowGroupsWritten: Int { rowGroups.count }

    /// - Parameter encryption: write a PME file (``ParquetEncryption``): `PARE` at the start unless
    ///   the footer stays plaintext.
    public init(
        descriptor: FileDescriptor, observer: ((UnsafeRawBufferPointer) throws -> Void)? = nil, observeFrom: Int = 0,
        encryption: ParquetEncryption? = nil
    ) throws {
        out = descriptor
        self.observer = observer
        self.observeFrom = observeFrom
        self.encryption = encryption
        try write(encryption.map { $0.plaintextFooter ? ParquetFooter.magic : ParquetFooter.encryptedMagic } ?? ParquetFooter.magic)
    }

    /// A writer that buffers what it writes; the caller takes it with ``takeBuffered()`` (to
    /// seal it, frame by frame).
    public init(buffering: Void) throws {
        out = nil
        observer = nil
        observeFrom = 0
        encryption = nil
        try write(Array("PAR1".utf8))
    }

    /// The bytes written since the last call (a buffering writer).
    public func takeBuffered() -> [UInt8] {
        defer { buffered.removeAll(keepingCapacity: true) }
        return buffered
    }

    private func write(_ b: [UInt8]) throws {
        try b.withUnsafeBytes { try write($0) }
    }

    private func write(_ b: UnsafeRawBufferPointer) throws {
        if let observer, offset + b.count > observeFrom {
            try observer(offset >= observeFrom ? b : UnsafeRawBufferPointer(rebasing: b[(observeFrom - offset)...]))
        }
        if let out {
            do { try out.write(b) } catch { throw ParquetError(.io, "\(error)") }
        } else {
            buffered.append(contentsOf: b)
        }
        offset += b.count
    }

    /// Appends `count` bytes of `source` from `at`: in the kernel, or (with an observer) through
    /// a buffer the observer sees.
    private func copy(from source: FileDescriptor, at start: Int, count: Int) throws {
        if observer == nil || offset + count <= observeFrom, let out {
            do { try out.append(from: source, at: start, count: count) } catch { throw ParquetError(.io, "\(error)") }
            offset += count
            return
        }
        if copyBuffer.isEmpty { copyBuffer = [UInt8](repeating: 0, count: 1 << 20) }
        var done = 0
        while done < count {
            let want = min(copyBuffer.count, count - done)
            let got: Int
            do {
                got = try copyBuffer.withUnsafeMutableBytes { try source.read(at: start + done, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            } catch { throw ParquetError(.io, "\(error)") }
            guard got == want else { throw ParquetError(.corrupt, "the source ends inside a column chunk at \(start + done + got)") }
            try copyBuffer.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<want])) }
            done += want
        }
    }

    /// Starts a row group of `rows` rows; `source`: the row group it copies (its sorting columns
    /// and ordinal are kept unless a column is re-encoded).
    public func beginRowGroup(rows: Int, source: ThriftStruct? = nil) {
        chunks = []
        groupStart = offset
        groupUncompressed = 0
        groupRows = rows
        groupSource = source
        groupReencoded = false
    }

    /// Copies a column chunk of `file` byte for byte; its metadata is the source's, offsets
    /// moved, and the page index and bloom filter references removed (they point into the
    /// source file).
    public func copyChunk(from file: ParquetFile, rowGroup g: Int, column c: Int) throws {
        try file.ensure(rowGroup: g)
        let md = file.metadata.rowGroups[g].columns[c].metaData!
        let what = "\(file.path): row group \(g), column \(c)"
        let r = try ParquetFile.byteRange(of: md, what: what)
        guard let rawChunk = file.footer.structList(4)?[g].structList(1)?[c], var meta = rawChunk.structure(3) else {
            throw ParquetError(.corrupt, "\(file.path): row group \(g), column \(c): no column metadata")
        }
        var chunk = rawChunk
        for id: Int16 in [4, 5, 6, 7] { chunk.set(id, nil) }
        meta.set(14, nil)
        meta.set(15, nil)
        groupUncompressed += md.totalUncompressedSize
        if let encryption {
            // The chunk's pages are read and encrypted module by module.
            var plain = [UInt8](repeating: 0, count: r.count)
            let got: Int
            do { got = try plain.withUnsafeMutableBytes { try file.file.read(at: r.lowerBound, into: $0) } } catch { throw ParquetError(.io, "\(error)") }
            guard got == r.count else { throw ParquetError(.corrupt, "\(what): the file ends inside the chunk") }
            try writeEncrypted(plain, meta: meta, chunk: chunk, column: file.schema.leaves[c], encryption: encryption, what: what)
            return
        }
        let start = offset
        try copy(from: file.file, at: r.lowerBound, count: r.count)
        let delta = Int64(start - r.lowerBound)
        for id: Int16 in [9, 10, 11] {
            if let v = meta.i64(id), v > 0 { meta.set(id, .i64(v + delta)) }
        }
        chunk.set(3, .structure(meta))
        chunk.set(2, .i64(Int64(start)))
        chunks.append(.structure(chunk))
    }

    /// Writes an encoded chunk of `column`; `sourceMetadata`: the source chunk's ColumnMetaData
    /// (its key-value metadata is kept).
    public func writeChunk(_ e: EncodedChunk, column: ColumnDescriptor, codec: CompressionCodec, sourceMetadata: ThriftStruct? = nil) throws {
        let start = offset
        if encryption == nil { try write(e.bytes) }
        var meta = ThriftStruct()
        meta.set(1, .i32(column.physicalType.rawValue))
        meta.set(2, .list(.i32, e.encodings.map { .i32($0.rawValue) }))
        meta.set(3, .list(.binary, column.path.map { .binary(Array($0.utf8)) }))
        meta.set(4, .i32(codec.rawValue))
        meta.set(5, .i64(Int64(e.numValues)))
        meta.set(6, .i64(Int64(e.totalUncompressedSize)))
        meta.set(7, .i64(Int64(e.bytes.count)))
        if let kv = sourceMetadata?[8] { meta.set(8, kv) }
        meta.set(9, .i64(Int64(start + e.dictionaryPageLength)))
        if e.dictionaryPageLength > 0 { meta.set(11, .i64(Int64(start))) }
        meta.set(12, .structure(e.statistics))
        groupUncompressed += Int64(e.totalUncompressedSize)
        groupReencoded = true
        if let encryption {
            try writeEncrypted(e.bytes, meta: meta, chunk: ThriftStruct(), column: column, encryption: encryption, what: "column '\(column.dottedPath)'")
            return
        }
        var chunk = ThriftStruct()
        chunk.set(2, .i64(Int64(start)))
        chunk.set(3, .structure(meta))
        chunks.append(.structure(chunk))
    }

    private static func seconds(since t0: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - t0
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Encrypts a plaintext chunk's pages (``ParquetEncryption/encryptChunk``), writes them, and
    /// records the chunk with its offsets and size in the output and its crypto metadata.
    private func writeEncrypted(
        _ plain: [UInt8], meta source: ThriftStruct, chunk base: ThriftStruct, column: ColumnDescriptor, encryption: ParquetEncryption, what: String
    ) throws {
        let ordinal = chunks.count
        let key = encryption.columnKey(column) ?? encryption.footerKey
        let t0 = ContinuousClock.now
        let (bytes, dictionaryLength) = try plain.withUnsafeBytes {
            try encryption.encryptChunk($0, rowGroup: rowGroups.count, column: ordinal, key: key, what: what)
        }
        encryptionSeconds += Self.seconds(since: t0)
        let start = offset
        try write(bytes)
        var meta = source
        meta.set(7, .i64(Int64(bytes.count)))
        meta.set(9, .i64(Int64(start + dictionaryLength)))
        meta.set(10, nil)
        meta.set(11, dictionaryLength > 0 ? .i64(Int64(start)) : nil)
        var chunk = base
        chunk.set(2, .i64(Int64(start)))
        try encryption.protect(chunk: &chunk, meta: meta, column: column, rowGroup: rowGroups.count, ordinal: ordinal)
        chunks.append(.structure(chunk))
    }

    /// Ends the row group started last.
    public func endRowGroup() {
        var rg = groupSource ?? ThriftStruct()
        rg.set(1, .list(.structure, chunks))
        rg.set(2, .i64(groupUncompressed))
        rg.set(3, .i64(Int64(groupRows)))
        rg.set(5, .i64(Int64(groupStart)))
        rg.set(6, .i64(Int64(offset - groupStart)))
        if groupReencoded { rg.set(4, nil) }  // a re-encoded column is no longer sorted
        rg.set(7, .i16(Int16(truncatingIfNeeded: rowGroups.count)))
        rowGroups.append(.structure(rg))
        rows += groupRows
        chunks = []
    }

    /// Writes the footer: `base` (version, schema, key-value metadata, created_by, column
    /// orders) with this file's row groups and row count.
    public func finish(base: ThriftStruct) throws {
        var f = base
        f.set(3, .i64(Int64(rows)))
        f.set(4, .list(.structure, rowGroups))
        if let encryption {
            f.set(8, nil)
            f.set(9, nil)
            let t0 = ContinuousClock.now
            let tail = try encryption.tail(footer: f)
            encryptionSeconds += Self.seconds(since: t0)
            try write(tail)
            return
        }
        var bytes: [UInt8] = []
        ThriftCompact.encode(f, into: &bytes)
        withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array("PAR1".utf8))
        try write(bytes)
    }
}
