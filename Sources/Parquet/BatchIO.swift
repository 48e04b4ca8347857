public import Columns
public import Formats
public import SystemIO

/// Reads a Parquet file as batches of text values (``ValueText``) for the tagger and the
/// transforms: per batch up to `batchRows` rows of one row group, only the flat top-level
/// columns that can hold sensitive values (every flat type but BOOLEAN: strings, integers,
/// dates, timestamps, and FLOAT / DOUBLE, which hold a card number or SSN exactly — their whole
/// numbers are read as integers for the tagger and the output scan), and of those only the ones
/// still asked for (``decodeOnly(_:)``).
/// A row group without rows gives a batch without rows, so the writer keeps it.
public final class ParquetBatchReader: BatchReader {
    public let file: ParquetFile
    /// The columns batches can hold, in schema order.
    public let names: [String]
    /// Top-level columns no batch holds: nested ones (LIST, MAP, groups) and BOOLEAN ones, with why.
    public let uninspected: [(name: String, why: String)]
    private let leafOf: [Int]
    private var decoding: [Bool]
    private let batchRows: Int
    private var group = 0
    private var rowInGroup = 0
    private var rowBase = 0
    private var decoders: [ColumnChunkDecoder?] = []
    public private(set) var stats = ReadStats()
    /// A file decrypted a row group at a time: this reader's registration.
    private let windowReader: DecryptedParquetWindow.Reader?

    /// - Parameter allFlatColumns: a full, faithful read: BOOLEAN columns too, and FLOAT / DOUBLE
    ///   values in their shortest round-trip form (`1.0`, as other readers print them) rather than
    ///   as integers.
    public init(file: ParquetFile, batchRows: Int, allFlatColumns: Bool = false) {
        self.file = file
        windowReader = file.window?.reader()
        self.batchRows = max(1, batchRows)
        var names: [String] = []
        var leafOf: [Int] = []
        var other: [(String, String)] = []
        for top in file.schema.topLevel {
            let leaf = file.schema.leaves[top.firstLeaf]
            if top.leafCount != 1 || leaf.isNested || leaf.maxDefinitionLevel > 1 {
                other.append((top.name, "nested"))
            } else if allFlatColumns || leaf.physicalType != .boolean {
                names.append(top.name)
                leafOf.append(top.firstLeaf)
            } else {
                other.append((top.name, "\(leaf.physicalType)"))
            }
        }
        self.names = names
        self.leafOf = leafOf
        uninspected = other
        decoding = Array(repeating: true, count: names.count)
        integralFloats = !allFlatColumns
    }
    private let integralFloats: Bool

    /// From the next batch on, decode only these columns (never more than before: a column
    /// dropped from decoding is not decoded again).
    public func decodeOnly(_ keep: Set<String>) {
        for (i, n) in names.enumerated() where !keep.contains(n) {
            decoding[i] = false
            if i < decoders.count { decoders[i] = nil }
        }
    }

    public func next() throws -> ReadResult? {
        let groups = file.metadata.rowGroups.count
        guard group < groups else { return nil }
        let rowsInGroup = file.rows(inRowGroup: group)
        if rowInGroup == 0 {
            try file.ensure(rowGroup: group)
            decoders = try names.indices.map { i in
                decoding[i] ? try ColumnChunkDecoder(file: file, rowGroup: group, column: leafOf[i], integralFloatsAsIntegers: integralFloats) : nil
            }
            stats.bytes += Int(file.metadata.rowGroups[group].columns.reduce(Int64(0)) { $0 + ($1.metaData?.totalCompressedSize ?? 0) })
        }
        let n = min(batchRows, rowsInGroup - rowInGroup)
        var cols: [ByteColumn] = []
        var kinds: [[UInt8]] = []
        var batchNames: [String] = []
        for i in names.indices {
            guard decoders[i] != nil else { continue }
            var col = ByteColumn(reservingValues: n, bytes: n * 16)
            var k: [UInt8] = []
            k.reserveCapacity(n)
            try decoders[i]!.read(n, into: &col, kinds: &k)
            batchNames.append(names[i])
            cols.append(col)
            kinds.append(k.contains(CellKind.null.rawValue) ? k : [])
        }
        var layout = SourceLayout(format: .parquet, columnCount: cols.count)
        layout.kinds = kinds
        layout.parquet = ParquetSlice(rowGroup: group, firstRow: rowInGroup, rowsInGroup: rowsInGroup)
        let first = rowBase + rowInGroup + 1
        let batch = Batch(
            names: batchNames, columns: cols, rowNumbers: Array(first..<(first + n)), prologue: [], epilogue: [], layout: layout)
        stats.records += n
        stats.rows += n
        rowInGroup += n
        if rowInGroup == rowsInGroup {
            try windowReader?.finished(rowGroup: group)
            rowBase += rowsInGroup
            group += 1
            rowInGroup = 0
            decoders = []
        }
        return ReadResult(batch: batch, rejects: [])
    }
}

/// Writes the tokenized copy of a Parquet file from the batches of its ``ParquetBatchReader``:
/// per row group, the transformed columns are encoded again from the batches (same codec,
/// dictionary where the source used one, fresh statistics), every other column chunk is copied
/// as its compressed bytes with its metadata, and dropped columns are left out. Row groups, row
/// order, schema, key-value metadata and column order stay as they were; page indexes and bloom
/// filters of the source are not carried over (they would describe other bytes).
///
/// Every row of every row group must arrive: a batch that lost rows (a rejected record) cannot
/// be written, since the copied columns still hold them.
public final class ParquetCopyWriter {
    private let source: ParquetFile
    private let writer: ParquetFileWriter
    private let reencode: [Int: String]
    private let dropLeaves: Set<Int>
    private let dropTop: Set<Int>
    private var group = 0
    private var seen = 0
    private var encoders: [Int: ColumnChunkEncoder] = [:]
    /// A source decrypted a row group at a time: this writer's registration (it copies chunks).
    private let windowReader: DecryptedParquetWindow.Reader?

    /// - Parameters:
    ///   - reencode: columns whose values the batches carry transformed.
    ///   - drop: top-level columns to leave out.
    ///   - output: the descriptor to write; nil: buffer the output for ``takeBuffered()``.
    ///   - observer: sees the bytes of the output in order (its digest), from `observeFrom` on
    ///     (``sharedPrefix(source:reencode:drop:)`` or less).
    ///   - encryption: write a Parquet Modular Encryption file (needs `output`).
    public init(
        source: ParquetFile, output: FileDescriptor?, reencode: Set<String>, drop: Set<String>,
        observer: ((UnsafeRawBufferPointer) throws -> Void)? = nil, observeFrom: Int = 0, encryption: ParquetEncryption? = nil
    ) throws {
        self.source = source
        windowReader = source.window?.reader()
        var re: [Int: String] = [:]
        var dl = Set<Int>()
        var dt = Set<Int>()
        for (t, top) in source.schema.topLevel.enumerated() {
            if drop.contains(top.name) {
                dt.insert(t)
                for l in top.firstLeaf..<(top.firstLeaf + top.leafCount) { dl.insert(l) }
            } else if reencode.contains(top.name) {
                let leaf = source.schema.leaves[top.firstLeaf]
                guard top.leafCount == 1, !leaf.isNested, leaf.maxDefinitionLevel <= 1 else {
                    throw ParquetError(.invalidOptions, "\(source.path): column '\(top.name)' is nested: tokengate does not transform nested Parquet columns")
                }
                // Checks the type can be written back before any output.
                _ = try ColumnChunkEncoder(column: leaf, codec: .uncompressed, dictionary: false)
                re[top.firstLeaf] = top.name
            }
        }
        self.reencode = re
        dropLeaves = dl
        dropTop = dt
        if encryption != nil && output == nil { throw ParquetError(.invalidOptions, "an encrypted Parquet output is written to a descriptor") }
        writer =
            try output.map { try ParquetFileWriter(descriptor: $0, observer: observer, observeFrom: observeFrom, encryption: encryption) }
            ?? ParquetFileWriter(buffering: ())
    }

    /// How many leading bytes the output will have in common with the source, byte for byte: the
    /// magic and the copied chunks up to the first one that is re-encoded, dropped, or not where
    /// the output puts it (a gap in the source, chunks out of column order). A digest of the
    /// output can start from the source digest's state there.
    public static func sharedPrefix(source: ParquetFile, reencode: Set<String>, drop: Set<String>) -> Int {
        var expected = 4
        var changed = Set<Int>()
        for top in source.schema.topLevel where reencode.contains(top.name) || drop.contains(top.name) {
            for l in top.firstLeaf..<(top.firstLeaf + top.leafCount) { changed.insert(l) }
        }
        for g in source.metadata.rowGroups.indices {
            for leaf in source.schema.leaves.indices {
                guard !changed.contains(leaf), let md = source.metadata.rowGroups[g].columns[leaf].metaData,
                    let r = try? ParquetFile.byteRange(of: md, what: "")
                else { return expected }
                if r.isEmpty { continue }
                guard r.lowerBound == expected else { return expected }
                expected = r.upperBound
            }
        }
        return expected
    }

    /// Rows of the row groups written so far.
    public var rowsWritten: Int { writer.rows }

    /// What a buffering writer wrote since the last call.
    public func takeBuffered() -> [UInt8] { writer.takeBuffered() }

    public func write(_ batch: Batch) throws {
        guard let slice = batch.layout.parquet else {
            throw ParquetError(.invalidOptions, "Parquet output copies a Parquet input: the batches are not from one")
        }
        guard slice.rowGroup == group, slice.firstRow == seen else { throw lostRows(at: batch.rowNumbers.first ?? 0) }
        if seen == 0 {
            encoders = [:]
            for (leaf, _) in reencode {
                let md = source.metadata.rowGroups[group].columns[leaf].metaData!
                let dict = md.encodings.contains(.rleDictionary) || md.encodings.contains(.plainDictionary)
                encoders[leaf] = try ColumnChunkEncoder(column: source.schema.leaves[leaf], codec: md.codec, dictionary: dict)
            }
        }
        for (leaf, name) in reencode {
            guard let ci = batch.columnIndex(named: name) else {
                throw ParquetError(.invalidOptions, "column '\(name)' is missing from a batch of row group \(group)")
            }
            let rows = batch.rowNumbers
            try encoders[leaf]!.append(batch.columns[ci], kinds: batch.kinds(column: ci), rows: 0..<batch.rowCount) { "record \(rows[$0])" }
        }
        seen += batch.rowCount
        if seen > slice.rowsInGroup { throw lostRows(at: batch.rowNumbers.first ?? 0) }
        if seen == slice.rowsInGroup { try endGroup() }
    }

    private func lostRows(at record: Int) -> ParquetError {
        ParquetError(
            .invalidOptions,
            "\(source.path): row group \(group) did not arrive whole (near record \(record)): a Parquet output keeps every row, since its untouched columns are copied as they are"
        )
    }

    private func endGroup() throws {
        let rawGroup = source.footer.structList(4)?[group]
        writer.beginRowGroup(rows: source.rows(inRowGroup: group), source: rawGroup)
        for leaf in source.schema.leaves.indices where !dropLeaves.contains(leaf) {
            if var e = encoders[leaf] {
                let md = source.metadata.rowGroups[group].columns[leaf].metaData!
                let chunk = try e.finish()
                try writer.writeChunk(chunk, column: source.schema.leaves[leaf], codec: md.codec, sourceMetadata: rawGroup?.structList(1)?[leaf].structure(3))
            } else {
                try writer.copyChunk(from: source, rowGroup: group, column: leaf)
            }
        }
        writer.endRowGroup()
        try windowReader?.finished(rowGroup: group)
        encoders = [:]
        group += 1
        seen = 0
    }

    /// Bytes written to the output so far.
    public var bytesWritten: Int { writer.offset }

    /// Time spent encrypting (a PME output), in seconds.
    public var encryptionSeconds: Double { writer.encryptionSeconds }
    /// Row groups written so far.
    public var rowGroupsWritten: Int { writer.rowGroupsWritten }

    /// Writes the footer. Every row group of the source must have been written.
    public func finish() throws {
        // Row groups without rows that no batch announced (a reader always announces them).
        guard group == source.metadata.rowGroups.count, seen == 0 else { throw lostRows(at: 0) }
        var base = source.footer
        if !dropTop.isEmpty {
            // Schema without the dropped fields (each with its whole subtree).
            var kept: [ThriftValue] = []
            let elements = source.footer.structList(2) ?? []
            var root = elements[0]
            root.set(5, .i32(Int32(source.schema.topLevel.count - dropTop.count)))
            kept.append(.structure(root))
            let tops = source.schema.topLevel
            for (t, top) in tops.enumerated() where !dropTop.contains(t) {
                let end = t + 1 < tops.count ? tops[t + 1].elementIndex : elements.count
                for e in top.elementIndex..<end { kept.append(.structure(elements[e])) }
            }
            base.set(2, .list(.structure, kept))
            if let orders = source.footer.list(7) {
                base.set(7, .list(.structure, orders.enumerated().filter { !dropLeaves.contains($0.offset) }.map(\.element)))
            }
            // pyarrow's serialized Arrow schema would name the dropped fields.
            if let kv = source.footer.structList(5) {
                base.set(5, .list(.structure, kv.filter { $0.string(1) != "ARROW:schema" }.map { .structure($0) }))
            }
        }
        try writer.finish(base: base)
    }
}

/// Writes the batches of a CSV or JSON Lines run as a new Parquet file, so a feed lands as a
/// training-ready table: every column an OPTIONAL BYTE_ARRAY (STRING), in the first batch's
/// order; a JSON null or missing key is a null, every other value its text (a CSV empty field
/// stays an empty string); snappy, dictionary-encoded where it helps (PLAIN past 1 MiB of
/// dictionary), row groups of up to `rowGroupRows` rows or 64 MiB of encoded pages, statistics
/// for every chunk. Memory: one row group's encoded pages.
public final class ParquetTableWriter {
    private let writer: ParquetFileWriter
    private let codec: CompressionCodec
    private let rowGroupRows: Int
    private var names: [String]?
    private var schema: ParquetSchema?
    private var encoders: [ColumnChunkEncoder] = []
    private var rowsInGroup = 0
    static let rowGroupBytes = 64 << 20

    public init(
        output: FileDescriptor, codec: CompressionCodec = .snappy, rowGroupRows: Int = 1 << 20,
        observer: ((UnsafeRawBufferPointer) throws -> Void)? = nil, encryption: ParquetEncryption? = nil
    ) throws {
        writer = try ParquetFileWriter(descriptor: output, observer: observer, encryption: encryption)
        self.codec = codec
        self.rowGroupRows = max(1, rowGroupRows)
    }

    public func write(_ batch: Batch) throws {
        if names == nil {
            guard Set(batch.names).count == batch.names.count else {
                throw ParquetError(.invalidOptions, "a Parquet output needs distinct column names")
            }
            names = batch.names
            var elements = [SchemaElement(name: "schema", numChildren: Int32(batch.names.count))]
            for n in batch.names {
                elements.append(SchemaElement(name: n, type: .byteArray, repetition: .optional, convertedType: 0, logicalType: .string))
            }
            let s = try ParquetSchema(elements)
            schema = s
            try startGroup()
        }
        guard let names else { return }
        if batch.rowCount == 0 { return }
        guard batch.names == names else {
            let extra = batch.names.filter { !names.contains($0) }
            throw ParquetError(
                .invalidOptions,
                "record \(batch.rowNumbers.first ?? 0): \(extra.isEmpty ? "the columns changed" : "key '\(extra[0])' first appears here"): a Parquet output's columns are fixed by the first batch"
            )
        }
        var start = 0
        while start < batch.rowCount {
            let take = min(batch.rowCount - start, rowGroupRows - rowsInGroup)
            let rows = batch.rowNumbers
            for c in 0..<names.count {
                try encoders[c].append(batch.columns[c], kinds: batch.kinds(column: c), rows: start..<(start + take)) { "record \(rows[$0])" }
            }
            rowsInGroup += take
            start += take
            if rowsInGroup >= rowGroupRows || encoders.reduce(0, { $0 + $1.bufferedBytes }) >= Self.rowGroupBytes {
                try endGroup()
                try startGroup()
            }
        }
    }

    /// Bytes written to the output so far.
    public var bytesWritten: Int { writer.offset }

    /// Time spent encrypting (a PME output), in seconds.
    public var encryptionSeconds: Double { writer.encryptionSeconds }
    /// Row groups written so far.
    public var rowGroupsWritten: Int { writer.rowGroupsWritten }

    private func startGroup() throws {
        guard let schema else { return }
        encoders = try schema.leaves.map { try ColumnChunkEncoder(column: $0, codec: codec, dictionary: true) }
        rowsInGroup = 0
    }

    private func endGroup() throws {
        guard let schema, rowsInGroup > 0 else { return }
        writer.beginRowGroup(rows: rowsInGroup)
        for (c, leaf) in schema.leaves.enumerated() {
            try writer.writeChunk(try encoders[c].finish(), column: leaf, codec: codec)
        }
        writer.endRowGroup()
        rowsInGroup = 0
    }

    /// Writes the last row group and the footer (an input without rows gives a file with its
    /// columns, when a batch named them, and no row group).
    public func finish() throws {
        try endGroup()
        var f = ThriftStruct()
        f.set(1, .i32(1))
        let elements = schema?.elements ?? [SchemaElement(name: "schema", numChildren: 0)]
        f.set(2, .list(.structure, elements.map { .structure($0.thrift) }))
        f.set(6, .binary(Array("tokengate".utf8)))
        // TypeDefinedOrder for every column, so readers use min_value / max_value.
        var typeDefined = ThriftStruct()
        typeDefined.set(1, .structure(ThriftStruct()))
        f.set(7, .list(.structure, (schema?.leaves ?? []).map { _ in .structure(typeDefined) }))
        try writer.finish(base: f)
    }
}

extension ParquetFileWriter {
    /// Writes `source` again as a Parquet Modular Encryption file: the same row groups, chunks,
    /// pages and footer, every page encrypted (no value decoded or re-encoded). Page indexes and
    /// bloom filters are not carried over.
    /// - Returns: row groups and rows written.
    @discardableResult
    public static func encrypt(
        _ source: ParquetFile, to output: FileDescriptor, encryption: ParquetEncryption,
        observer: ((UnsafeRawBufferPointer) throws -> Void)? = nil
    ) throws -> (rowGroups: Int, rows: Int) {
        let w = try ParquetFileWriter(descriptor: output, observer: observer, encryption: encryption)
        let raw = source.footer.structList(4) ?? []
        for g in source.metadata.rowGroups.indices {
            w.beginRowGroup(rows: source.rows(inRowGroup: g), source: raw[g])
            for c in source.schema.leaves.indices { try w.copyChunk(from: source, rowGroup: g, column: c) }
            w.endRowGroup()
        }
        try w.finish(base: source.footer)
        return (source.metadata.rowGroups.count, w.rows)
    }
}
