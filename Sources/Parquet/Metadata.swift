// Typed views of parquet.thrift's footer and page-header structs (apache/parquet-format,
// src/main/thrift/parquet.thrift; field ids as there). Each view keeps the struct it was read
// from in `raw`, and `thrift` writes the typed properties back over it (nil removes the field),
// so fields this code does not model survive a read-edit-write.

/// Reads one struct's typed fields, naming the struct and field in errors.
struct FieldReader {
    let s: ThriftStruct
    let name: String

    init(_ s: ThriftStruct, _ name: String) {
        self.s = s
        self.name = name
    }

    /// The field if present; throws when it is present with another type.
    func optional<T>(_ id: Int16, _ field: String, _ get: (ThriftValue) -> T?) throws -> T? {
        guard let v = s[id] else { return nil }
        guard let t = get(v) else {
            throw ParquetError(.corrupt, "\(name).\(field) (field \(id)) has the wrong type (\(v.type)) or invalid UTF-8")
        }
        return t
    }

    /// The field; throws when it is missing or of another type.
    func required<T>(_ id: Int16, _ field: String, _ get: (ThriftValue) -> T?) throws -> T {
        guard let t = try optional(id, field, get) else {
            throw ParquetError(.corrupt, "\(name).\(field) (field \(id)) is missing")
        }
        return t
    }

    /// A struct field converted by `make`, its errors prefixed with the field's name.
    func optionalStruct<T>(_ id: Int16, _ field: String, _ make: (ThriftStruct) throws -> T) throws -> T? {
        guard let s = try optional(id, field, \.asStruct) else { return nil }
        return try prefixed("\(name).\(field)") { try make(s) }
    }

    /// A list-of-structs field converted element by element, errors naming the index.
    func optionalStructs<T>(_ id: Int16, _ field: String, _ make: (ThriftStruct) throws -> T) throws -> [T]? {
        guard let list = try optional(id, field, \.asStructList) else { return nil }
        var out: [T] = []
        out.reserveCapacity(list.count)
        for (i, s) in list.enumerated() {
            out.append(try prefixed("\(name).\(field)[\(i)]") { try make(s) })
        }
        return out
    }

    func requiredStructs<T>(_ id: Int16, _ field: String, _ make: (ThriftStruct) throws -> T) throws -> [T] {
        guard let list = try optionalStructs(id, field, make) else {
            throw ParquetError(.corrupt, "\(name).\(field) (field \(id)) is missing")
        }
        return list
    }

    private func prefixed<T>(_ prefix: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ParquetError {
            throw ParquetError(e.code, "\(prefix): \(e.reason)")
        }
    }
}

extension ThriftValue {
    static func structs(_ items: [ThriftStruct]) -> ThriftValue { .list(.structure, items.map { .structure($0) }) }
    static func strings(_ items: [String]) -> ThriftValue { .list(.binary, items.map { .binary(Array($0.utf8)) }) }
    static func string(_ s: String) -> ThriftValue { .binary(Array(s.utf8)) }
}

// MARK: - Schema

/// A time unit of ``LogicalType/time(isAdjustedToUTC:unit:)`` and
/// ``LogicalType/timestamp(isAdjustedToUTC:unit:)`` (the `TimeUnit` union).
public enum TimeUnit: Sendable, Equatable {
    case millis, micros, nanos

    var fieldID: Int16 {
        switch self {
        case .millis: 1
        case .micros: 2
        case .nanos: 3
        }
    }
}

/// A schema element's logical type annotation (the `LogicalType` union). A union this code
/// does not know (VARIANT, GEOMETRY, GEOGRAPHY, a future member, an unknown time unit) is kept
/// whole as `other`.
public enum LogicalType: Sendable, Equatable {
    case string
    case map
    case list
    case enumType
    case decimal(scale: Int32, precision: Int32)
    case date
    case time(isAdjustedToUTC: Bool, unit: TimeUnit)
    case timestamp(isAdjustedToUTC: Bool, unit: TimeUnit)
    case integer(bitWidth: Int8, isSigned: Bool)
    /// The NULL type (`UNKNOWN` in parquet.thrift): a column of only nulls.
    case unknown
    case json
    case bson
    case uuid
    case float16
    case other(ThriftStruct)

    /// Reads the union; throws `.corrupt` when a known member lacks a required field.
    public init(_ s: ThriftStruct) throws {
        guard s.fields.count == 1, let field = s.fields.first, case .structure(let member) = field.value else {
            self = .other(s)
            return
        }
        func timeParts(_ name: String) throws -> (Bool, TimeUnit)? {
            let r = FieldReader(member, name)
            let utc = try r.required(1, "isAdjustedToUTC", \.asBool)
            let unit = try r.required(2, "unit", \.asStruct)
            guard unit.fields.count == 1, let u = unit.fields.first, case .structure = u.value else { return nil }
            switch u.id {
            case 1: return (utc, .millis)
            case 2: return (utc, .micros)
            case 3: return (utc, .nanos)
            default: return nil
            }
        }
        switch field.id {
        case 1: self = .string
        case 2: self = .map
        case 3: self = .list
        case 4: self = .enumType
        case 5:
            let r = FieldReader(member, "DecimalType")
            self = .decimal(scale: try r.required(1, "scale", \.asI32), precision: try r.required(2, "precision", \.asI32))
        case 6: self = .date
        case 7:
            guard let (utc, unit) = try timeParts("TimeType") else {
                self = .other(s)
                return
            }
            self = .time(isAdjustedToUTC: utc, unit: unit)
        case 8:
            guard let (utc, unit) = try timeParts("TimestampType") else {
                self = .other(s)
                return
            }
            self = .timestamp(isAdjustedToUTC: utc, unit: unit)
        case 10:
            let r = FieldReader(member, "IntType")
            self = .integer(bitWidth: try r.required(1, "bitWidth", \.asByte), isSigned: try r.required(2, "isSigned", \.asBool))
        case 11: self = .unknown
        case 12: self = .json
        case 13: self = .bson
        case 14: self = .uuid
        case 15: self = .float16
        default: self = .other(s)
        }
    }

    /// The union struct.
    public var thrift: ThriftStruct {
        func union(_ id: Int16, _ member: ThriftStruct = ThriftStruct()) -> ThriftStruct {
            ThriftStruct([ThriftField(id: id, value: .structure(member))])
        }
        func time(_ utc: Bool, _ unit: TimeUnit) -> ThriftStruct {
            ThriftStruct([
                ThriftField(id: 1, value: .bool(utc)),
                ThriftField(id: 2, value: .structure(union(unit.fieldID))),
            ])
        }
        switch self {
        case .string: return union(1)
        case .map: return union(2)
        case .list: return union(3)
        case .enumType: return union(4)
        case .decimal(let scale, let precision):
            return union(5, ThriftStruct([ThriftField(id: 1, value: .i32(scale)), ThriftField(id: 2, value: .i32(precision))]))
        case .date: return union(6)
        case .time(let utc, let unit): return union(7, time(utc, unit))
        case .timestamp(let utc, let unit): return union(8, time(utc, unit))
        case .integer(let bitWidth, let isSigned):
            return union(10, ThriftStruct([ThriftField(id: 1, value: .byte(bitWidth)), ThriftField(id: 2, value: .bool(isSigned))]))
        case .unknown: return union(11)
        case .json: return union(12)
        case .bson: return union(13)
        case .uuid: return union(14)
        case .float16: return union(15)
        case .other(let s): return s
        }
    }
}

/// One node of the flattened schema (`SchemaElement`): a group when `numChildren` is set and
/// positive, otherwise a leaf with a physical `type`.
public struct SchemaElement: Sendable, Equatable {
    /// The struct read (or an empty one for a new element); fields not modelled here survive.
    public var raw: ThriftStruct
    public var type: PhysicalType?  // 1
    public var typeLength: Int32?  // 2
    public var repetition: FieldRepetition?  // 3
    public var name: String  // 4, required
    public var numChildren: Int32?  // 5
    /// `ConvertedType` (deprecated), as its raw value.
    public var convertedType: Int32?  // 6
    public var scale: Int32?  // 7
    public var precision: Int32?  // 8
    public var fieldID: Int32?  // 9
    public var logicalType: LogicalType?  // 10

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "SchemaElement")
        raw = s
        type = try r.optional(1, "type", \.asI32).map(PhysicalType.init(rawValue:))
        typeLength = try r.optional(2, "type_length", \.asI32)
        repetition = try r.optional(3, "repetition_type", \.asI32).map(FieldRepetition.init(rawValue:))
        name = try r.required(4, "name", \.asString)
        numChildren = try r.optional(5, "num_children", \.asI32)
        convertedType = try r.optional(6, "converted_type", \.asI32)
        scale = try r.optional(7, "scale", \.asI32)
        precision = try r.optional(8, "precision", \.asI32)
        fieldID = try r.optional(9, "field_id", \.asI32)
        logicalType = try r.optionalStruct(10, "logicalType", LogicalType.init)
    }

    /// A new element: a leaf when `type` is given, a group when `numChildren` is.
    public init(
        name: String, type: PhysicalType? = nil, repetition: FieldRepetition? = nil, numChildren: Int32? = nil,
        typeLength: Int32? = nil, convertedType: Int32? = nil, scale: Int32? = nil, precision: Int32? = nil,
        fieldID: Int32? = nil, logicalType: LogicalType? = nil
    ) {
        raw = ThriftStruct()
        self.name = name
        self.type = type
        self.repetition = repetition
        self.numChildren = numChildren
        self.typeLength = typeLength
        self.convertedType = convertedType
        self.scale = scale
        self.precision = precision
        self.fieldID = fieldID
        self.logicalType = logicalType
    }

    /// `raw` with the typed properties written over it.
    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, type.map { .i32($0.rawValue) })
        s.set(2, typeLength.map { .i32($0) })
        s.set(3, repetition.map { .i32($0.rawValue) })
        s.set(4, .string(name))
        s.set(5, numChildren.map { .i32($0) })
        s.set(6, convertedType.map { .i32($0) })
        s.set(7, scale.map { .i32($0) })
        s.set(8, precision.map { .i32($0) })
        s.set(9, fieldID.map { .i32($0) })
        // An unchanged logical type keeps its bytes (members' unknown fields included).
        if let read = raw.structure(10), let logicalType, (try? LogicalType(read)) == logicalType {
        } else {
            s.set(10, logicalType.map { .structure($0.thrift) })
        }
        return s
    }
}

// MARK: - Statistics and key/value metadata

/// Column chunk or page statistics (`Statistics`); all fields optional.
public struct Statistics: Sendable, Equatable {
    public var raw: ThriftStruct
    /// Deprecated signed-order max (field 1).
    public var max: [UInt8]?
    /// Deprecated signed-order min (field 2).
    public var min: [UInt8]?
    public var nullCount: Int64?  // 3
    public var distinctCount: Int64?  // 4
    public var maxValue: [UInt8]?  // 5
    public var minValue: [UInt8]?  // 6
    public var isMaxValueExact: Bool?  // 7
    public var isMinValueExact: Bool?  // 8
    public var nanCount: Int64?  // 9

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "Statistics")
        raw = s
        max = try r.optional(1, "max", \.asBinary)
        min = try r.optional(2, "min", \.asBinary)
        nullCount = try r.optional(3, "null_count", \.asI64)
        distinctCount = try r.optional(4, "distinct_count", \.asI64)
        maxValue = try r.optional(5, "max_value", \.asBinary)
        minValue = try r.optional(6, "min_value", \.asBinary)
        isMaxValueExact = try r.optional(7, "is_max_value_exact", \.asBool)
        isMinValueExact = try r.optional(8, "is_min_value_exact", \.asBool)
        nanCount = try r.optional(9, "nan_count", \.asI64)
    }

    public init(
        nullCount: Int64? = nil, distinctCount: Int64? = nil, maxValue: [UInt8]? = nil, minValue: [UInt8]? = nil,
        isMaxValueExact: Bool? = nil, isMinValueExact: Bool? = nil, nanCount: Int64? = nil, max: [UInt8]? = nil, min: [UInt8]? = nil
    ) {
        raw = ThriftStruct()
        self.nullCount = nullCount
        self.distinctCount = distinctCount
        self.maxValue = maxValue
        self.minValue = minValue
        self.isMaxValueExact = isMaxValueExact
        self.isMinValueExact = isMinValueExact
        self.nanCount = nanCount
        self.max = max
        self.min = min
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, max.map { .binary($0) })
        s.set(2, min.map { .binary($0) })
        s.set(3, nullCount.map { .i64($0) })
        s.set(4, distinctCount.map { .i64($0) })
        s.set(5, maxValue.map { .binary($0) })
        s.set(6, minValue.map { .binary($0) })
        s.set(7, isMaxValueExact.map { .bool($0) })
        s.set(8, isMinValueExact.map { .bool($0) })
        s.set(9, nanCount.map { .i64($0) })
        return s
    }
}

/// A key/value metadata entry (`KeyValue`). Both strings must be valid UTF-8.
public struct KeyValue: Sendable, Equatable {
    public var raw: ThriftStruct
    public var key: String  // 1, required
    public var value: String?  // 2

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "KeyValue")
        raw = s
        key = try r.required(1, "key", \.asString)
        value = try r.optional(2, "value", \.asString)
    }

    public init(key: String, value: String?) {
        raw = ThriftStruct()
        self.key = key
        self.value = value
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, .string(key))
        s.set(2, value.map { .string($0) })
        return s
    }
}

/// How many pages of a type used an encoding (`PageEncodingStats`).
public struct PageEncodingStats: Sendable, Equatable {
    public var raw: ThriftStruct
    public var pageType: PageType  // 1
    public var encoding: Encoding  // 2
    public var count: Int32  // 3

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "PageEncodingStats")
        raw = s
        pageType = PageType(rawValue: try r.required(1, "page_type", \.asI32))
        encoding = Encoding(rawValue: try r.required(2, "encoding", \.asI32))
        count = try r.required(3, "count", \.asI32)
    }

    public init(pageType: PageType, encoding: Encoding, count: Int32) {
        raw = ThriftStruct()
        self.pageType = pageType
        self.encoding = encoding
        self.count = count
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, .i32(pageType.rawValue))
        s.set(2, .i32(encoding.rawValue))
        s.set(3, .i32(count))
        return s
    }
}

// MARK: - Column chunks, row groups, file

/// A column chunk's metadata (`ColumnMetaData`). `sizeStatistics` (16) and
/// `geospatialStatistics` (17) are kept as raw structs.
public struct ColumnMetaData: Sendable, Equatable {
    public var raw: ThriftStruct
    public var type: PhysicalType  // 1
    public var encodings: [Encoding]  // 2
    public var pathInSchema: [String]  // 3
    public var codec: CompressionCodec  // 4
    public var numValues: Int64  // 5
    public var totalUncompressedSize: Int64  // 6
    public var totalCompressedSize: Int64  // 7
    public var keyValueMetadata: [KeyValue]?  // 8
    public var dataPageOffset: Int64  // 9
    public var indexPageOffset: Int64?  // 10
    public var dictionaryPageOffset: Int64?  // 11
    public var statistics: Statistics?  // 12
    public var encodingStats: [PageEncodingStats]?  // 13
    public var bloomFilterOffset: Int64?  // 14
    public var bloomFilterLength: Int32?  // 15
    public var sizeStatistics: ThriftStruct?  // 16
    public var geospatialStatistics: ThriftStruct?  // 17

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "ColumnMetaData")
        raw = s
        type = PhysicalType(rawValue: try r.required(1, "type", \.asI32))
        encodings = try r.required(2, "encodings", \.asI32List).map(Encoding.init(rawValue:))
        pathInSchema = try r.required(3, "path_in_schema", \.asStringList)
        codec = CompressionCodec(rawValue: try r.required(4, "codec", \.asI32))
        numValues = try r.required(5, "num_values", \.asI64)
        totalUncompressedSize = try r.required(6, "total_uncompressed_size", \.asI64)
        totalCompressedSize = try r.required(7, "total_compressed_size", \.asI64)
        keyValueMetadata = try r.optionalStructs(8, "key_value_metadata", KeyValue.init)
        dataPageOffset = try r.required(9, "data_page_offset", \.asI64)
        indexPageOffset = try r.optional(10, "index_page_offset", \.asI64)
        dictionaryPageOffset = try r.optional(11, "dictionary_page_offset", \.asI64)
        statistics = try r.optionalStruct(12, "statistics", Statistics.init)
        encodingStats = try r.optionalStructs(13, "encoding_stats", PageEncodingStats.init)
        bloomFilterOffset = try r.optional(14, "bloom_filter_offset", \.asI64)
        bloomFilterLength = try r.optional(15, "bloom_filter_length", \.asI32)
        sizeStatistics = try r.optional(16, "size_statistics", \.asStruct)
        geospatialStatistics = try r.optional(17, "geospatial_statistics", \.asStruct)
    }

    public init(
        type: PhysicalType, encodings: [Encoding], pathInSchema: [String], codec: CompressionCodec, numValues: Int64,
        totalUncompressedSize: Int64, totalCompressedSize: Int64, dataPageOffset: Int64, dictionaryPageOffset: Int64? = nil,
        statistics: Statistics? = nil, encodingStats: [PageEncodingStats]? = nil, keyValueMetadata: [KeyValue]? = nil
    ) {
        raw = ThriftStruct()
        self.type = type
        self.encodings = encodings
        self.pathInSchema = pathInSchema
        self.codec = codec
        self.numValues = numValues
        self.totalUncompressedSize = totalUncompressedSize
        self.totalCompressedSize = totalCompressedSize
        self.dataPageOffset = dataPageOffset
        self.dictionaryPageOffset = dictionaryPageOffset
        self.statistics = statistics
        self.encodingStats = encodingStats
        self.keyValueMetadata = keyValueMetadata
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, .i32(type.rawValue))
        s.set(2, .list(.i32, encodings.map { .i32($0.rawValue) }))
        s.set(3, .strings(pathInSchema))
        s.set(4, .i32(codec.rawValue))
        s.set(5, .i64(numValues))
        s.set(6, .i64(totalUncompressedSize))
        s.set(7, .i64(totalCompressedSize))
        s.set(8, keyValueMetadata.map { .structs($0.map(\.thrift)) })
        s.set(9, .i64(dataPageOffset))
        s.set(10, indexPageOffset.map { .i64($0) })
        s.set(11, dictionaryPageOffset.map { .i64($0) })
        s.set(12, statistics.map { .structure($0.thrift) })
        s.set(13, encodingStats.map { .structs($0.map(\.thrift)) })
        s.set(14, bloomFilterOffset.map { .i64($0) })
        s.set(15, bloomFilterLength.map { .i32($0) })
        s.set(16, sizeStatistics.map { .structure($0) })
        s.set(17, geospatialStatistics.map { .structure($0) })
        return s
    }
}

/// One column of a row group (`ColumnChunk`). `crypto_metadata` (8) is kept raw; a missing
/// `file_offset` (required, default 0) reads as 0.
public struct ColumnChunk: Sendable, Equatable {
    public var raw: ThriftStruct
    public var filePath: String?  // 1
    public var fileOffset: Int64  // 2
    public var metaData: ColumnMetaData?  // 3
    public var offsetIndexOffset: Int64?  // 4
    public var offsetIndexLength: Int32?  // 5
    public var columnIndexOffset: Int64?  // 6
    public var columnIndexLength: Int32?  // 7
    public var encryptedColumnMetadata: [UInt8]?  // 9

    /// Whether the chunk carries `crypto_metadata` (field 8): the column is encrypted.
    public var hasCryptoMetadata: Bool { raw[8] != nil }

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "ColumnChunk")
        raw = s
        filePath = try r.optional(1, "file_path", \.asString)
        fileOffset = try r.optional(2, "file_offset", \.asI64) ?? 0
        metaData = try r.optionalStruct(3, "meta_data", ColumnMetaData.init)
        offsetIndexOffset = try r.optional(4, "offset_index_offset", \.asI64)
        offsetIndexLength = try r.optional(5, "offset_index_length", \.asI32)
        columnIndexOffset = try r.optional(6, "column_index_offset", \.asI64)
        columnIndexLength = try r.optional(7, "column_index_length", \.asI32)
        encryptedColumnMetadata = try r.optional(9, "encrypted_column_metadata", \.asBinary)
    }

    public init(metaData: ColumnMetaData, fileOffset: Int64 = 0) {
        raw = ThriftStruct()
        self.metaData = metaData
        self.fileOffset = fileOffset
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, filePath.map { .string($0) })
        s.set(2, .i64(fileOffset))
        s.set(3, metaData.map { .structure($0.thrift) })
        s.set(4, offsetIndexOffset.map { .i64($0) })
        s.set(5, offsetIndexLength.map { .i32($0) })
        s.set(6, columnIndexOffset.map { .i64($0) })
        s.set(7, columnIndexLength.map { .i32($0) })
        s.set(9, encryptedColumnMetadata.map { .binary($0) })
        return s
    }
}

/// A row group (`RowGroup`). `sortingColumns` are kept as raw `SortingColumn` structs.
public struct RowGroup: Sendable, Equatable {
    public var raw: ThriftStruct
    public var columns: [ColumnChunk]  // 1
    public var totalByteSize: Int64  // 2
    public var numRows: Int64  // 3
    public var sortingColumns: [ThriftStruct]?  // 4
    public var fileOffset: Int64?  // 5
    public var totalCompressedSize: Int64?  // 6
    public var ordinal: Int16?  // 7

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "RowGroup")
        raw = s
        columns = try r.requiredStructs(1, "columns", ColumnChunk.init)
        totalByteSize = try r.required(2, "total_byte_size", \.asI64)
        numRows = try r.required(3, "num_rows", \.asI64)
        sortingColumns = try r.optional(4, "sorting_columns", \.asStructList)
        fileOffset = try r.optional(5, "file_offset", \.asI64)
        totalCompressedSize = try r.optional(6, "total_compressed_size", \.asI64)
        ordinal = try r.optional(7, "ordinal", \.asI16)
    }

    public init(
        columns: [ColumnChunk], totalByteSize: Int64, numRows: Int64, fileOffset: Int64? = nil, totalCompressedSize: Int64? = nil,
        ordinal: Int16? = nil
    ) {
        raw = ThriftStruct()
        self.columns = columns
        self.totalByteSize = totalByteSize
        self.numRows = numRows
        self.fileOffset = fileOffset
        self.totalCompressedSize = totalCompressedSize
        self.ordinal = ordinal
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, .structs(columns.map(\.thrift)))
        s.set(2, .i64(totalByteSize))
        s.set(3, .i64(numRows))
        s.set(4, sortingColumns.map { .structs($0) })
        s.set(5, fileOffset.map { .i64($0) })
        s.set(6, totalCompressedSize.map { .i64($0) })
        s.set(7, ordinal.map { .i16($0) })
        return s
    }
}

/// The footer (`FileMetaData`). `columnOrders` are kept as raw `ColumnOrder` unions.
public struct FileMetaData: Sendable, Equatable {
    public var raw: ThriftStruct
    public var version: Int32  // 1
    /// The flattened schema, element 0 the root (see ``ParquetSchema``).
    public var schema: [SchemaElement]  // 2
    public var numRows: Int64  // 3
    public var rowGroups: [RowGroup]  // 4
    public var keyValueMetadata: [KeyValue]?  // 5
    public var createdBy: String?  // 6
    public var columnOrders: [ThriftStruct]?  // 7
    public var footerSigningKeyMetadata: [UInt8]?  // 9

    /// Whether the footer names an `encryption_algorithm` (field 8): an encrypted file with a
    /// plaintext footer.
    public var hasEncryptionAlgorithm: Bool { raw[8] != nil }

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "FileMetaData")
        raw = s
        version = try r.required(1, "version", \.asI32)
        schema = try r.requiredStructs(2, "schema", SchemaElement.init)
        numRows = try r.required(3, "num_rows", \.asI64)
        rowGroups = try r.requiredStructs(4, "row_groups", RowGroup.init)
        keyValueMetadata = try r.optionalStructs(5, "key_value_metadata", KeyValue.init)
        createdBy = try r.optional(6, "created_by", \.asString)
        columnOrders = try r.optional(7, "column_orders", \.asStructList)
        footerSigningKeyMetadata = try r.optional(9, "footer_signing_key_metadata", \.asBinary)
    }

    public init(
        version: Int32 = 1, schema: [SchemaElement], numRows: Int64, rowGroups: [RowGroup], keyValueMetadata: [KeyValue]? = nil,
        createdBy: String? = nil, columnOrders: [ThriftStruct]? = nil
    ) {
        raw = ThriftStruct()
        self.version = version
        self.schema = schema
        self.numRows = numRows
        self.rowGroups = rowGroups
        self.keyValueMetadata = keyValueMetadata
        self.createdBy = createdBy
        self.columnOrders = columnOrders
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, .i32(version))
        s.set(2, .structs(schema.map(\.thrift)))
        s.set(3, .i64(numRows))
        s.set(4, .structs(rowGroups.map(\.thrift)))
        s.set(5, keyValueMetadata.map { .structs($0.map(\.thrift)) })
        s.set(6, createdBy.map { .string($0) })
        s.set(7, columnOrders.map { .structs($0) })
        s.set(9, footerSigningKeyMetadata.map { .binary($0) })
        return s
    }
}

// MARK: - Page headers

/// A v1 data page's header (`DataPageHeader`).
public struct DataPageHeader: Sendable, Equatable {
    public var raw: ThriftStruct
    public var numValues: Int32  // 1
    public var encoding: Encoding  // 2
    public var definitionLevelEncoding: Encoding  // 3
    public var repetitionLevelEncoding: Encoding  // 4
    public var statistics: Statistics?  // 5

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "DataPageHeader")
        raw = s
        numValues = try r.required(1, "num_values", \.asI32)
        encoding = Encoding(rawValue: try r.required(2, "encoding", \.asI32))
        definitionLevelEncoding = Encoding(rawValue: try r.required(3, "definition_level_encoding", \.asI32))
        repetitionLevelEncoding = Encoding(rawValue: try r.required(4, "repetition_level_encoding", \.asI32))
        statistics = try r.optionalStruct(5, "statistics", Statistics.init)
        guard numValues >= 0 else { throw ParquetError(.corrupt, "DataPageHeader.num_values \(numValues) is negative") }
    }

    public init(
        numValues: Int32, encoding: Encoding, definitionLevelEncoding: Encoding = .rle, repetitionLevelEncoding: Encoding = .rle,
        statistics: Statistics? = nil
    ) {
        raw = ThriftStruct()
        self.numValues = numValues
        self.encoding = encoding
        self.definitionLevelEncoding = definitionLevelEncoding
        self.repetitionLevelEncoding = repetitionLevelEncoding
        self.statistics = statistics
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, .i32(numValues))
        s.set(2, .i32(encoding.rawValue))
        s.set(3, .i32(definitionLevelEncoding.rawValue))
        s.set(4, .i32(repetitionLevelEncoding.rawValue))
        s.set(5, statistics.map { .structure($0.thrift) })
        return s
    }
}

/// A dictionary page's header (`DictionaryPageHeader`).
public struct DictionaryPageHeader: Sendable, Equatable {
    public var raw: ThriftStruct
    public var numValues: Int32  // 1
    public var encoding: Encoding  // 2
    public var isSorted: Bool?  // 3

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "DictionaryPageHeader")
        raw = s
        numValues = try r.required(1, "num_values", \.asI32)
        encoding = Encoding(rawValue: try r.required(2, "encoding", \.asI32))
        isSorted = try r.optional(3, "is_sorted", \.asBool)
        guard numValues >= 0 else { throw ParquetError(.corrupt, "DictionaryPageHeader.num_values \(numValues) is negative") }
    }

    public init(numValues: Int32, encoding: Encoding = .plain, isSorted: Bool? = nil) {
        raw = ThriftStruct()
        self.numValues = numValues
        self.encoding = encoding
        self.isSorted = isSorted
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, .i32(numValues))
        s.set(2, .i32(encoding.rawValue))
        s.set(3, isSorted.map { .bool($0) })
        return s
    }
}

/// A v2 data page's header (`DataPageHeaderV2`). `isCompressed` reads as true when absent
/// (the field's default) and is written only where it was present or is false.
public struct DataPageHeaderV2: Sendable, Equatable {
    public var raw: ThriftStruct
    public var numValues: Int32  // 1
    public var numNulls: Int32  // 2
    public var numRows: Int32  // 3
    public var encoding: Encoding  // 4
    public var definitionLevelsByteLength: Int32  // 5
    public var repetitionLevelsByteLength: Int32  // 6
    public var isCompressed: Bool  // 7
    public var statistics: Statistics?  // 8

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "DataPageHeaderV2")
        raw = s
        numValues = try r.required(1, "num_values", \.asI32)
        numNulls = try r.required(2, "num_nulls", \.asI32)
        numRows = try r.required(3, "num_rows", \.asI32)
        encoding = Encoding(rawValue: try r.required(4, "encoding", \.asI32))
        definitionLevelsByteLength = try r.required(5, "definition_levels_byte_length", \.asI32)
        repetitionLevelsByteLength = try r.required(6, "repetition_levels_byte_length", \.asI32)
        isCompressed = try r.optional(7, "is_compressed", \.asBool) ?? true
        statistics = try r.optionalStruct(8, "statistics", Statistics.init)
        for (name, v) in [
            ("num_values", numValues), ("num_nulls", numNulls), ("num_rows", numRows),
            ("definition_levels_byte_length", definitionLevelsByteLength), ("repetition_levels_byte_length", repetitionLevelsByteLength),
        ] where v < 0 {
            throw ParquetError(.corrupt, "DataPageHeaderV2.\(name) \(v) is negative")
        }
        guard numNulls <= numValues else {
            throw ParquetError(.corrupt, "DataPageHeaderV2.num_nulls \(numNulls) exceeds num_values \(numValues)")
        }
    }

    public init(
        numValues: Int32, numNulls: Int32, numRows: Int32, encoding: Encoding, definitionLevelsByteLength: Int32,
        repetitionLevelsByteLength: Int32, isCompressed: Bool = true, statistics: Statistics? = nil
    ) {
        raw = ThriftStruct()
        self.numValues = numValues
        self.numNulls = numNulls
        self.numRows = numRows
        self.encoding = encoding
        self.definitionLevelsByteLength = definitionLevelsByteLength
        self.repetitionLevelsByteLength = repetitionLevelsByteLength
        self.isCompressed = isCompressed
        self.statistics = statistics
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, .i32(numValues))
        s.set(2, .i32(numNulls))
        s.set(3, .i32(numRows))
        s.set(4, .i32(encoding.rawValue))
        s.set(5, .i32(definitionLevelsByteLength))
        s.set(6, .i32(repetitionLevelsByteLength))
        if isCompressed && raw[7] == nil {
            s.set(7, nil)
        } else {
            s.set(7, .bool(isCompressed))
        }
        s.set(8, statistics.map { .structure($0.thrift) })
        return s
    }
}

/// A page's header (`PageHeader`). Reading validates that the sizes are non-negative, that the
/// page type's own header is present (for the four known types), and for a v2 data page that
/// the level lengths fit in the compressed size.
public struct PageHeader: Sendable, Equatable {
    public var raw: ThriftStruct
    public var type: PageType  // 1
    public var uncompressedPageSize: Int32  // 2
    public var compressedPageSize: Int32  // 3
    public var crc: Int32?  // 4
    public var dataPageHeader: DataPageHeader?  // 5
    public var dictionaryPageHeader: DictionaryPageHeader?  // 7
    public var dataPageHeaderV2: DataPageHeaderV2?  // 8

    /// Whether an `index_page_header` (field 6) is present.
    public var hasIndexPageHeader: Bool { raw[6] != nil }

    public init(_ s: ThriftStruct) throws {
        let r = FieldReader(s, "PageHeader")
        raw = s
        type = PageType(rawValue: try r.required(1, "type", \.asI32))
        uncompressedPageSize = try r.required(2, "uncompressed_page_size", \.asI32)
        compressedPageSize = try r.required(3, "compressed_page_size", \.asI32)
        crc = try r.optional(4, "crc", \.asI32)
        dataPageHeader = try r.optionalStruct(5, "data_page_header", DataPageHeader.init)
        _ = try r.optional(6, "index_page_header", \.asStruct)
        dictionaryPageHeader = try r.optionalStruct(7, "dictionary_page_header", DictionaryPageHeader.init)
        dataPageHeaderV2 = try r.optionalStruct(8, "data_page_header_v2", DataPageHeaderV2.init)
        guard uncompressedPageSize >= 0, compressedPageSize >= 0 else {
            throw ParquetError(
                .corrupt, "PageHeader sizes are negative (uncompressed \(uncompressedPageSize), compressed \(compressedPageSize))")
        }
        let present: Bool
        switch type {
        case .dataPage: present = dataPageHeader != nil
        case .indexPage: present = s[6] != nil
        case .dictionaryPage: present = dictionaryPageHeader != nil
        case .dataPageV2: present = dataPageHeaderV2 != nil
        default: present = true
        }
        guard present else { throw ParquetError(.corrupt, "PageHeader of type \(type) lacks its \(type) header") }
        if let v2 = dataPageHeaderV2, type == .dataPageV2 {
            let levels = Int(v2.definitionLevelsByteLength) + Int(v2.repetitionLevelsByteLength)
            guard levels <= Int(compressedPageSize) else {
                throw ParquetError(.corrupt, "DataPageHeaderV2 level lengths (\(levels) bytes) exceed compressed_page_size \(compressedPageSize)")
            }
        }
    }

    public init(
        type: PageType, uncompressedPageSize: Int32, compressedPageSize: Int32, crc: Int32? = nil, dataPageHeader: DataPageHeader? = nil,
        dictionaryPageHeader: DictionaryPageHeader? = nil, dataPageHeaderV2: DataPageHeaderV2? = nil
    ) {
        raw = ThriftStruct()
        self.type = type
        self.uncompressedPageSize = uncompressedPageSize
        self.compressedPageSize = compressedPageSize
        self.crc = crc
        self.dataPageHeader = dataPageHeader
        self.dictionaryPageHeader = dictionaryPageHeader
        self.dataPageHeaderV2 = dataPageHeaderV2
    }

    public var thrift: ThriftStruct {
        var s = raw
        s.set(1, .i32(type.rawValue))
        s.set(2, .i32(uncompressedPageSize))
        s.set(3, .i32(compressedPageSize))
        s.set(4, crc.map { .i32($0) })
        s.set(5, dataPageHeader.map { .structure($0.thrift) })
        s.set(7, dictionaryPageHeader.map { .structure($0.thrift) })
        s.set(8, dataPageHeaderV2.map { .structure($0.thrift) })
        return s
    }

    /// Decodes and validates the page header starting at `offset`; returns it and its encoded
    /// length (the page's data follows). `what` names it in errors (default: "page header at
    /// offset N").
    public static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int, what: String? = nil) throws -> (PageHeader, Int) {
        let name = what ?? "page header at offset \(offset)"
        let (s, n) = try ThriftCompact.decodeStruct(bytes, at: offset, what: name)
        do {
            return (try PageHeader(s), n)
        } catch let e as ParquetError {
            throw ParquetError(e.code, "\(name): \(e.reason)")
        }
    }

    /// The encoded header (append the page's data after it).
    public func encoded() -> [UInt8] { ThriftCompact.encode(thrift) }
}
