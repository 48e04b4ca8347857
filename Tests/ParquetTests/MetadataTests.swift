import Foundation
import Parquet
import TestSupport
import Testing

/// Fixtures/parquet/footer-nested-snappy.parquet: 3 rows written by pyarrow 26.0.1 (snappy,
/// page index on, dictionary on) with columns `id` (optional int64), `name` (required string),
/// `items` (list<struct<a: int32, b: string>>) and `attrs` (map<string, int32>), made with
/// `pq.write_table(t, path, compression="snappy", write_page_index=True, store_schema=False)`
/// for rows id [1, None, 3], name ["x", "yy", "zzz"], items [[{a: 1, b: "p"}], [], None],
/// attrs [[("k", 1)], None, [("k2", 2), ("k3", 3)]].
struct NestedFixture {
    let file: [UInt8]
    let range: Range<Int>
    let footer: [UInt8]
    let meta: FileMetaData

    init() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/parquet/footer-nested-snappy.parquet").path
        file = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        range = try ParquetFooter.metadataRange(fileSize: file.count, tail: Array(file.suffix(8)))
        footer = Array(file[range])
        meta = try ParquetFooter.parse(footer)
    }
}

func element(_ name: String, _ type: PhysicalType? = nil, _ repetition: FieldRepetition? = .optional, children: Int32? = nil) -> SchemaElement {
    SchemaElement(name: name, type: type, repetition: repetition, numChildren: children)
}

@Suite struct FooterTests {
    @Test func aPyarrowFooterParses() throws {
        let f = try NestedFixture()
        let m = f.meta
        #expect(m.numRows == 3)
        #expect(m.version == 2)
        #expect(m.createdBy?.hasPrefix("parquet-cpp-arrow") == true)
        #expect(m.schema.map(\.name) == ["schema", "id", "name", "items", "list", "element", "a", "b", "attrs", "key_value", "key", "value"])
        #expect(m.schema[1].type == .int64 && m.schema[1].repetition == .optional)
        #expect(m.schema[2].logicalType == .string && m.schema[2].repetition == .required)
        #expect(m.schema[3].logicalType == .list)
        #expect(m.schema[8].logicalType == .map)
        #expect(m.rowGroups.count == 1)
        let rg = m.rowGroups[0]
        #expect(rg.numRows == 3)
        #expect(rg.columns.count == 6)
        #expect(!m.hasEncryptionAlgorithm)
        for c in rg.columns {
            let md = try #require(c.metaData)
            #expect(md.codec == .snappy)
            #expect(!c.hasCryptoMetadata)
            #expect(c.columnIndexOffset != nil && c.offsetIndexOffset != nil)
        }
        let items = try #require(rg.columns[2].metaData)
        #expect(items.pathInSchema == ["items", "list", "element", "a"])
        #expect(items.type == .int32)
        let id = try #require(rg.columns[0].metaData)
        #expect(id.dictionaryPageOffset == 4)
        #expect(id.dataPageOffset == 36)
        #expect(id.numValues == 3)
        #expect(id.statistics?.nullCount == 1)
        #expect(id.statistics?.minValue == [1, 0, 0, 0, 0, 0, 0, 0])
        #expect(rg.columns[4].metaData?.numValues == 4)
        #expect(m.columnOrders?.count == 6)
    }

    @Test func aRealFooterReencodesToIdenticalBytes() throws {
        let f = try NestedFixture()
        let (tree, n) = try ThriftCompact.decodeStruct(f.footer, what: "footer")
        #expect(n == f.footer.count)
        #expect(ThriftCompact.encode(tree) == f.footer)
        // Through the typed views too: writing every property back changes nothing.
        #expect(ThriftCompact.encode(f.meta.thrift) == f.footer)
        #expect(ParquetFooter.serialize(f.meta) == Array(f.file.suffix(f.footer.count + 8)))
    }

    @Test func everyTruncationOfARealFooterThrowsCorrupt() throws {
        let f = try NestedFixture()
        for cut in 0..<f.footer.count {
            let prefix = Array(f.footer[..<cut])
            #expect(corruptReason { _ = try ParquetFooter.parse(prefix) } != nil, "cut at \(cut)")
        }
        #expect(corruptReason { _ = try ParquetFooter.parse(f.footer + [0]) }?.contains("follow the FileMetaData") == true)
    }

    @Test func mutatedFootersAndPageHeadersThrowOrParseButNeverTrap() throws {
        let f = try NestedFixture()
        var rng = SplitMix64(seed: 0x666F_6F74)
        var parsed = 0
        for _ in 0..<3000 {
            var bytes = f.footer
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                let m = try ParquetFooter.parse(bytes)
                _ = try? ParquetSchema(m.schema)
                parsed += 1
            } catch is ParquetError {
            }
            var page = Array(f.file[4..<36])
            page[Int.random(in: 0..<8, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            _ = try? page.withUnsafeBytes { try PageHeader.decode($0, at: 0) }
        }
        #expect(parsed > 0)
    }

    @Test func editAndWriteKeepsEveryOtherField() throws {
        let f = try NestedFixture()
        var m = f.meta
        m.rowGroups[0].columns[2].metaData?.dataPageOffset = 999_999
        m.rowGroups[0].columns[2].columnIndexOffset = nil
        let out = ParquetFooter.serialize(m)
        #expect(Array(out.suffix(4)) == Array("PAR1".utf8))
        let back = try ParquetFooter.parse(Array(out.dropLast(8)))

        // The expected tree: the original with exactly those two changes.
        var expected = f.meta.raw
        var groups = try #require(expected.structList(4))
        var columns = try #require(groups[0].structList(1))
        var chunk = columns[2]
        var md = try #require(chunk.structure(3))
        md.set(9, .i64(999_999))
        chunk.set(3, .structure(md))
        chunk.set(6, nil)
        columns[2] = chunk
        groups[0].set(1, .list(.structure, columns.map { .structure($0) }))
        expected.set(4, .list(.structure, groups.map { .structure($0) }))
        #expect(back.raw == expected)
        #expect(back.rowGroups[0].columns[2].columnIndexLength == f.meta.rowGroups[0].columns[2].columnIndexLength)
        #expect(back.rowGroups[0].columns[3] == f.meta.rowGroups[0].columns[3])
        #expect(back.schema == f.meta.schema)
    }

    @Test func pageHeadersOfARealFileDecodeAndReencode() throws {
        let f = try NestedFixture()
        let (dict, dictLength) = try f.file.withUnsafeBytes { try PageHeader.decode($0, at: 4) }
        #expect(dict.type == .dictionaryPage)
        #expect(dict.dictionaryPageHeader?.numValues == 2)
        #expect(dictLength + Int(dict.compressedPageSize) == 36 - 4)
        #expect(dict.encoded() == Array(f.file[4..<(4 + dictLength)]))
        let (data, dataLength) = try f.file.withUnsafeBytes { try PageHeader.decode($0, at: 36) }
        #expect(data.type == .dataPage)
        let v1 = try #require(data.dataPageHeader)
        #expect(v1.numValues == 3)
        #expect(v1.encoding == .rleDictionary || v1.encoding == .plainDictionary)
        #expect(v1.definitionLevelEncoding == .rle)
        #expect(data.encoded() == Array(f.file[36..<(36 + dataLength)]))
        let reason = corruptReason { _ = try f.file.withUnsafeBytes { try PageHeader.decode($0, at: f.file.count - 2) } }
        #expect(reason?.hasPrefix("page header at offset \(f.file.count - 2):") == true)
    }

    @Test func metadataRangeChecksSizeMagicAndLength() throws {
        let f = try NestedFixture()
        #expect(f.range == (f.file.count - 8 - f.footer.count)..<(f.file.count - 8))
        #expect(corruptReason { _ = try ParquetFooter.metadataRange(fileSize: 11, tail: Array(f.file.suffix(8))) } != nil)
        var bad = Array(f.file.suffix(8))
        bad[7] = UInt8(ascii: "X")
        #expect(corruptReason { _ = try ParquetFooter.metadataRange(fileSize: f.file.count, tail: bad) } != nil)
        bad[7] = UInt8(ascii: "E")
        #expect(throws: ParquetError(.unsupported, "")) { try ParquetFooter.metadataRange(fileSize: f.file.count, tail: bad) }
        // A length that runs into the leading magic; the largest that fits.
        let tooLong: [UInt8] = [5, 0, 0, 0] + Array("PAR1".utf8)
        #expect(corruptReason { _ = try ParquetFooter.metadataRange(fileSize: 16, tail: tooLong) } != nil)
        let fits: [UInt8] = [4, 0, 0, 0] + Array("PAR1".utf8)
        #expect(try ParquetFooter.metadataRange(fileSize: 16, tail: fits) == 4..<8)
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF] + Array("PAR1".utf8)
        #expect(corruptReason { _ = try ParquetFooter.metadataRange(fileSize: 100, tail: huge) } != nil)
        #expect(corruptReason { _ = try ParquetFooter.metadataRange(fileSize: 100, tail: [1, 2]) } != nil)
    }

    @Test func aNewFooterRoundTrips() throws {
        let md = ColumnMetaData(
            type: .byteArray, encodings: [.plain, .rle], pathInSchema: ["name"], codec: .zstd, numValues: 10, totalUncompressedSize: 100,
            totalCompressedSize: 80, dataPageOffset: 4, statistics: Statistics(nullCount: 0, maxValue: [0x7A], minValue: [0x61]),
            encodingStats: [PageEncodingStats(pageType: .dataPage, encoding: .plain, count: 1)])
        let m = FileMetaData(
            schema: [element("schema", nil, nil, children: 1), SchemaElement(name: "name", type: .byteArray, repetition: .optional, logicalType: .string)],
            numRows: 10, rowGroups: [RowGroup(columns: [ColumnChunk(metaData: md, fileOffset: 4)], totalByteSize: 100, numRows: 10)],
            keyValueMetadata: [KeyValue(key: "k", value: "v"), KeyValue(key: "empty", value: nil)], createdBy: "tokengate")
        let bytes = ParquetFooter.serialize(m)
        let range = try ParquetFooter.metadataRange(fileSize: bytes.count + 4, tail: Array(bytes.suffix(8)))
        #expect(range == 4..<(bytes.count - 4))
        let back = try ParquetFooter.parse(Array(bytes.dropLast(8)))
        #expect(back.thrift == m.thrift)
        #expect(back.rowGroups[0].columns[0].metaData?.statistics?.maxValue == [0x7A])
        #expect(back.keyValueMetadata?.map(\.value) == ["v", nil])
        #expect(back.schema[1].logicalType == .string)
    }
}

@Suite struct MetadataTests {
    @Test func missingOrMistypedRequiredFieldsAreCorrupt() throws {
        let noName = ThriftStruct([ThriftField(id: 1, value: .i32(1))])
        #expect(corruptReason { _ = try SchemaElement(noName) }?.contains("SchemaElement.name (field 4) is missing") == true)
        let mistyped = ThriftStruct([ThriftField(id: 4, value: .i32(1))])
        #expect(corruptReason { _ = try SchemaElement(mistyped) }?.contains("SchemaElement.name (field 4) has the wrong type") == true)
        let badUTF8 = ThriftStruct([ThriftField(id: 4, value: .binary([0xC3]))])
        #expect(corruptReason { _ = try SchemaElement(badUTF8) } != nil)

        let f = try NestedFixture()
        var tree = f.meta.raw
        var groups = try #require(tree.structList(4))
        groups[0].set(3, nil)
        tree.set(4, .list(.structure, groups.map { .structure($0) }))
        let reason = corruptReason { _ = try FileMetaData(tree) }
        #expect(reason == "FileMetaData.row_groups[0]: RowGroup.num_rows (field 3) is missing", "\(reason ?? "")")

        var md = try #require(f.meta.rowGroups[0].columns[0].metaData).raw
        md.set(9, nil)
        #expect(corruptReason { _ = try ColumnMetaData(md) }?.contains("data_page_offset") == true)
    }

    @Test func logicalTypesRoundTripThroughTheUnion() throws {
        let all: [LogicalType] = [
            .string, .map, .list, .enumType, .decimal(scale: 2, precision: 9), .date, .time(isAdjustedToUTC: true, unit: .millis),
            .time(isAdjustedToUTC: false, unit: .nanos), .timestamp(isAdjustedToUTC: true, unit: .micros), .integer(bitWidth: 16, isSigned: false),
            .unknown, .json, .bson, .uuid, .float16,
            .other(ThriftStruct([ThriftField(id: 16, value: .structure(ThriftStruct([ThriftField(id: 1, value: .byte(1))])))])),
        ]
        for t in all {
            let bytes = ThriftCompact.encode(t.thrift)
            let (s, _) = try ThriftCompact.decodeStruct(bytes, what: "logical type")
            #expect(try LogicalType(s) == t)
        }
        // A time unit this code does not know is kept whole.
        let futureUnit = ThriftStruct([
            ThriftField(
                id: 8,
                value: .structure(
                    ThriftStruct([
                        ThriftField(id: 1, value: .bool(true)),
                        ThriftField(id: 2, value: .structure(ThriftStruct([ThriftField(id: 4, value: .structure(ThriftStruct()))]))),
                    ])))
        ])
        #expect(try LogicalType(futureUnit) == .other(futureUnit))
        let noScale = LogicalType.decimal(scale: 1, precision: 2).thrift.fields.map { f in
            ThriftField(id: f.id, value: .structure(ThriftStruct([ThriftField(id: 2, value: .i32(2))])))
        }
        #expect(corruptReason { _ = try LogicalType(ThriftStruct(noScale)) }?.contains("DecimalType.scale") == true)
    }

    @Test func unknownFieldsSurviveAnEdit() throws {
        var raw = SchemaElement(name: "c", type: .int32, repetition: .optional).thrift
        raw.set(11, .i32(4))  // vector_length, not modelled
        raw.set(30, .binary([1, 2, 3]))
        var e = try SchemaElement(raw)
        e.name = "renamed"
        e.fieldID = nil
        let back = e.thrift
        #expect(back.i32(11) == 4)
        #expect(back.binary(30) == [1, 2, 3])
        #expect(back.string(4) == "renamed")
    }

    @Test func pageHeadersAreValidated() throws {
        func decode(_ h: PageHeader) throws -> PageHeader {
            let bytes = h.encoded()
            return try bytes.withUnsafeBytes { try PageHeader.decode($0, at: 0, what: "page 7") }.0
        }
        let v2 = PageHeader(
            type: .dataPageV2, uncompressedPageSize: 50, compressedPageSize: 40, crc: -5,
            dataPageHeaderV2: DataPageHeaderV2(
                numValues: 10, numNulls: 2, numRows: 5, encoding: .deltaBinaryPacked, definitionLevelsByteLength: 3, repetitionLevelsByteLength: 2))
        let back = try decode(v2)
        #expect(back.thrift == v2.thrift)
        #expect(back.dataPageHeaderV2?.isCompressed == true)
        #expect(back.raw.structure(8)?[7] == nil)
        var uncompressed = v2
        uncompressed.dataPageHeaderV2?.isCompressed = false
        #expect(try decode(uncompressed).dataPageHeaderV2?.isCompressed == false)

        var negative = v2
        negative.compressedPageSize = -1
        #expect(corruptReason { _ = try decode(negative) }?.hasPrefix("page 7: PageHeader sizes are negative") == true)
        var levels = v2
        levels.compressedPageSize = 4
        #expect(corruptReason { _ = try decode(levels) }?.contains("level lengths") == true)
        var missing = v2
        missing.type = .dataPage
        #expect(corruptReason { _ = try decode(missing) }?.contains("lacks its DATA_PAGE header") == true)
        let dict = PageHeader(type: .dictionaryPage, uncompressedPageSize: 8, compressedPageSize: 8, dictionaryPageHeader: DictionaryPageHeader(numValues: 2))
        #expect(try decode(dict).dictionaryPageHeader?.numValues == 2)
        var negativeCount = dict
        negativeCount.dictionaryPageHeader?.numValues = -1
        #expect(corruptReason { _ = try decode(negativeCount) } != nil)
    }
}

@Suite struct SchemaTests {
    @Test func levelsOfOptionalRequiredListAndMapColumns() throws {
        let f = try NestedFixture()
        let schema = try ParquetSchema(f.meta.schema)
        let leaves = schema.leaves
        #expect(leaves.map(\.dottedPath) == ["id", "name", "items.list.element.a", "items.list.element.b", "attrs.key_value.key", "attrs.key_value.value"])
        #expect(leaves.map(\.maxDefinitionLevel) == [1, 0, 4, 4, 2, 3])
        #expect(leaves.map(\.maxRepetitionLevel) == [0, 0, 1, 1, 1, 1])
        #expect(leaves.map(\.topLevelIndex) == [0, 1, 2, 2, 3, 3])
        #expect(leaves.map(\.isNested) == [false, false, true, true, true, true])
        #expect(leaves.map(\.physicalType) == [.int64, .byteArray, .int32, .byteArray, .byteArray, .int32])
        #expect(leaves.map(\.elementIndex) == [1, 2, 6, 7, 10, 11])
        #expect(leaves.map(\.path) == f.meta.rowGroups[0].columns.map { $0.metaData?.pathInSchema ?? [] })
        #expect(
            schema.topLevel == [
                TopLevelField(name: "id", elementIndex: 1, firstLeaf: 0, leafCount: 1),
                TopLevelField(name: "name", elementIndex: 2, firstLeaf: 1, leafCount: 1),
                TopLevelField(name: "items", elementIndex: 3, firstLeaf: 2, leafCount: 2),
                TopLevelField(name: "attrs", elementIndex: 8, firstLeaf: 4, leafCount: 2),
            ])
    }

    @Test func legacyRepeatedAndRequiredGroupLevels() throws {
        let schema = try ParquetSchema([
            element("root", nil, nil, children: 2),
            element("nums", .int32, .repeated),
            element("g", nil, .required, children: 1),
            element("x", .double, .required),
        ])
        #expect(schema.leaves.map(\.maxDefinitionLevel) == [1, 0])
        #expect(schema.leaves.map(\.maxRepetitionLevel) == [1, 0])
        #expect(schema.leaves.map(\.isNested) == [true, true])
        #expect(schema.leaves.map(\.dottedPath) == ["nums", "g.x"])
    }

    @Test func badNumChildrenIsRejected() throws {
        let leaf = element("a", .int32)
        let cases: [(String, [SchemaElement])] = [
            ("empty", []),
            ("root without children", [element("root", nil, nil)]),
            ("root claims 3 of 2", [element("root", nil, nil, children: 3), leaf, leaf]),
            ("leftover", [element("root", nil, nil, children: 1), leaf, leaf]),
            ("group runs off the end", [element("root", nil, nil, children: 2), leaf, element("g", children: 2), leaf]),
            ("negative", [element("root", nil, nil, children: 1), element("g", children: -1)]),
            ("leaf without type", [element("root", nil, nil, children: 1), element("g")]),
            ("no repetition", [element("root", nil, nil, children: 1), element("a", .int32, nil)]),
            ("huge count", [element("root", nil, nil, children: Int32.max), leaf]),
            ("too deep", [element("root", nil, nil, children: 1)] + (0..<70).map { _ in element("g", children: 1) } + [leaf]),
        ]
        for (name, elements) in cases {
            #expect(corruptReason { _ = try ParquetSchema(elements) } != nil, "\(name)")
        }
        let vector = [element("root", nil, nil, children: 1), element("v", .int32, FieldRepetition(rawValue: 3))]
        #expect(throws: ParquetError(.unsupported, "")) { try ParquetSchema(vector) }
        let reason = corruptReason { _ = try ParquetSchema([element("root", nil, nil, children: 2), leaf, element("g", children: 2), leaf]) }
        #expect(reason == "schema: element 2 ('g') declares 2 children but the schema ends after 1 (4 elements)", "\(reason ?? "")")
    }
}
