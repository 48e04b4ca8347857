public import Crypto
import Synchronization
public import SystemIO

/// What a Parquet file says about its encryption without any key.
public struct ParquetEncryptionInfo: Sendable, Equatable {
    /// `PAR1` with `encryption_algorithm` in the footer (signed with the footer key), or `PARE`.
    public let plaintextFooter: Bool
    /// The footer key's metadata (PKMT1 key material for tokengate's and pyarrow's files).
    public let footerKeyMetadata: [UInt8]
    /// `aad_file_unique`.
    public let fileUnique: [UInt8]
    /// AES_GCM_CTR_V1 (pages in CTR) rather than AES_GCM_V1.
    public let ctr: Bool
    /// The AAD prefix stored in the file (nil: none stored).
    public var aadPrefix: [UInt8]? = nil
    /// The file was written with an AAD prefix it does not store: readers must supply it.
    public var supplyAADPrefix = false

    /// `AES_GCM_V1` or `AES_GCM_CTR_V1`.
    public var algorithm: String { ctr ? "AES_GCM_CTR_V1" : "AES_GCM_V1" }

    /// The file AAD its modules are bound to: AAD prefix ‖ `aad_file_unique`.
    /// - Parameter supplied: the AAD prefix the caller supplies (needed when the file does not
    ///   store it; when it does, a supplied one must equal it).
    /// - Throws: `.aadPrefixRequired` for a file whose prefix must be supplied and was not;
    ///   `.invalidOptions` for a supplied prefix that differs from the stored one.
    public func fileAAD(supplied: [UInt8]?, path: String) throws -> [UInt8] {
        if let aadPrefix, let supplied, supplied != aadPrefix {
            throw ParquetError(.invalidOptions, "\(path): the AAD prefix supplied differs from the one stored in the file")
        }
        if supplied != nil && aadPrefix == nil && !supplyAADPrefix {
            throw ParquetError(.invalidOptions, "\(path): an AAD prefix was supplied, but the file was not written with one")
        }
        if supplyAADPrefix && aadPrefix == nil && supplied == nil {
            throw ParquetError(
                .aadPrefixRequired,
                "\(path): written with an AAD prefix that is not stored in the file (supply_aad_prefix): the reader must supply it (`--aad-prefix`)")
        }
        return (supplied ?? aadPrefix ?? []) + fileUnique
    }
}

/// Reads Parquet Modular Encryption (AES_GCM_V1, encrypted or plaintext footer): the footer is
/// decrypted (or its signature checked), every encrypted column's metadata and pages are
/// decrypted and authenticated, and the result is written as a plaintext Parquet file.
public enum ParquetDecryption {
    /// The encryption of the Parquet file at `path`, or nil when it is not encrypted. No key.
    /// - Throws: `.corrupt` when it is not a Parquet file or its tail does not parse.
    public static func inspect(file: FileDescriptor, path: String) throws -> ParquetEncryptionInfo? {
        let t = try Tail(file: file, path: path)
        return t.info
    }

    /// Decrypts `file` into a plaintext Parquet file written to `output` (sequentially).
    /// - Parameter key: resolves a key metadata (the footer's, a column's) to its data key.
    /// - Returns: row groups and rows written.
    /// - Throws: `.corrupt` for a module that does not authenticate (a wrong key, a tampered or
    ///   moved module) or a footer signature that does not verify; `.aadPrefixRequired` for a
    ///   file whose AAD prefix is not stored and was not supplied (`aadPrefix`); errors of `key`.
    @discardableResult
    public static func decrypt(
        file: FileDescriptor, path: String, output: FileDescriptor, aadPrefix: [UInt8]? = nil,
        key: (_ metadata: [UInt8]) throws -> ParquetEncryptionKey
    ) throws -> (rowGroups: Int, rows: Int64) {
        var offset = 0
        func write(_ b: [UInt8]) throws {
            do { try b.withUnsafeBytes { try output.write($0) } } catch { throw ParquetError(.io, "\(error)") }
            offset += b.count
        }
        try write(ParquetFooter.magic)
        let p = try plaintextFooter(file: file, path: path, aadPrefix: aadPrefix, key: key) { chunk in
            let start = offset
            try write(chunk.plaintext)
            return start
        }
        try write(tail(p.footer))
        return (p.rowGroups, p.rows)
    }

    /// Decrypts `file` into `output` (an in-memory file) a row group at a time, when a reader
    /// asks for it (``DecryptedParquetWindow/ensure(rowGroup:)``): the footer and every chunk's
    /// layout are made now (each chunk decrypted once, authenticated, and let go), a row group's
    /// chunks again when it is read, at the offsets they have in `file`, and freed once every
    /// reader of the window is done with it. Memory: the row groups being read, not the file.
    public static func decryptLazily(
        file: FileDescriptor, path: String, output: FileDescriptor, aadPrefix: [UInt8]? = nil,
        key: (_ metadata: [UInt8]) throws -> ParquetEncryptionKey
    ) throws -> DecryptedParquetWindow {
        var chunks: [[DecryptedParquetWindow.Chunk]] = []
        var dataEnd = 4
        let p = try plaintextFooter(file: file, path: path, aadPrefix: aadPrefix, key: key) { chunk in
            let plain = chunk.plaintext
            // Each plaintext goes where its chunk is stored: it must fit there.
            guard plain.count <= chunk.stored.count else {
                throw ParquetError(.corrupt, "\(path): row group \(chunk.rowGroup), column \(chunk.column): the plaintext is longer than the stored chunk")
            }
            if chunk.column == 0 { chunks.append([]) }
            chunks[chunk.rowGroup].append(
                DecryptedParquetWindow.Chunk(stored: chunk.stored, key: chunk.key, hasDictionary: chunk.hasDictionary, plainLength: plain.count))
            dataEnd = max(dataEnd, chunk.stored.upperBound)
            return chunk.stored.lowerBound
        }
        // Plaintexts go where their chunks are stored, so no two stored chunks may overlap.
        let stored = chunks.joined().map(\.stored).filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(stored, stored.dropFirst()) where b.lowerBound < a.upperBound {
            throw ParquetError(.corrupt, "\(path): column chunks overlap (bytes \(b.lowerBound)..<\(a.upperBound))")
        }
        do {
            try ParquetFooter.magic.withUnsafeBytes { try output.write($0, at: 0) }
            try tail(p.footer).withUnsafeBytes { try output.write($0, at: dataEnd) }
        } catch { throw ParquetError(.io, "\(error)") }
        return DecryptedParquetWindow(source: file, path: path, output: output, info: p.info, fileAAD: p.fileAAD, chunks: chunks)
    }

    /// A column chunk of the file being decrypted: where it is stored, its key (nil: not
    /// encrypted) and its plaintext (authenticated).
    struct ChunkToPlace {
        let rowGroup: Int
        let column: Int
        let stored: Range<Int>
        let key: ParquetEncryptionKey?
        let hasDictionary: Bool
        let plaintext: [UInt8]
    }

    private static func tail(_ footer: ThriftStruct) -> [UInt8] {
        var tail = ThriftCompact.encode(footer)
        withUnsafeBytes(of: UInt32(tail.count).littleEndian) { tail.append(contentsOf: $0) }
        tail += ParquetFooter.magic
        return tail
    }

    /// The plaintext footer of `file`: every chunk's metadata and pages decrypted, each chunk
    /// handed to `place` (in file order), which puts its plaintext and says at which offset.
    /// Also the file's encryption and its file AAD.
    private static func plaintextFooter(
        file: FileDescriptor, path: String, aadPrefix: [UInt8]?, key: (_ metadata: [UInt8]) throws -> ParquetEncryptionKey,
        place: (ChunkToPlace) throws -> Int
    ) throws -> (footer: ThriftStruct, rowGroups: Int, rows: Int64, info: ParquetEncryptionInfo, fileAAD: [UInt8]) {
        let t = try Tail(file: file, path: path)
        guard let info = t.info else { throw ParquetError(.invalidOptions, "\(path) is not encrypted") }
        // Before any key is unwrapped: a prefix the reader must supply and did not is refused.
        let fileAAD = try info.fileAAD(supplied: aadPrefix, path: path)
        let footerKey = try key(info.footerKeyMetadata)
        var footer = try plainFooter(t, info, fileAAD, footerKey, path)
        var groups = footer.structList(4) ?? []
        var rows: Int64 = 0
        for g in groups.indices {
            var chunks = groups[g].structList(1) ?? []
            for c in chunks.indices {
                let what = "\(path): row group \(g), column \(c)"
                var chunk = chunks[c]
                var meta: ThriftStruct
                var chunkKey: ParquetEncryptionKey?
                if let crypto = chunk.structure(8) {
                    if let withKey = crypto.structure(2) {
                        let k = try key(withKey.binary(2) ?? [])
                        chunkKey = k
                        guard let sealed = chunk.binary(9) else { throw ParquetError(.corrupt, "\(what): no encrypted_column_metadata") }
                        let plain = try sealed.withUnsafeBytes { raw in
                            let r = try PME.moduleRange(raw, at: 0, what: what)
                            return try k.open(
                                UnsafeRawBufferPointer(rebasing: raw[r]), aad: try PME.aad(file: fileAAD, .columnMetaData, rowGroup: g, column: c),
                                what: "\(what): column metadata")
                        }
                        meta = try ThriftCompact.decodeStruct(plain, what: "\(what): column metadata").0
                    } else {
                        chunkKey = footerKey
                        guard let m = chunk.structure(3) else { throw ParquetError(.corrupt, "\(what): no column metadata") }
                        meta = m
                    }
                } else {
                    guard let m = chunk.structure(3) else { throw ParquetError(.corrupt, "\(what): no column metadata") }
                    meta = m
                }
                let md = try ColumnMetaData(meta)
                let range = try ParquetFile.byteRange(of: md, what: what)
                guard range.lowerBound >= 4, range.upperBound <= t.dataEnd else { throw ParquetError(.corrupt, "\(what): chunk outside the data") }
                // A dictionary page first: its offset is set and before the first data page (or
                // the chunk has no data page: pyarrow's empty row groups record offset 0 then).
                let dictionaryAt = md.dictionaryPageOffset ?? 0
                let hasDictionary = dictionaryAt > 0 && (dictionaryAt < md.dataPageOffset || md.dataPageOffset == 0)
                let (plain, decryptedDictionary) = try Self.chunkPlaintext(
                    file: file, range: range, rowGroup: g, column: c, key: chunkKey, fileAAD: fileAAD, ctr: info.ctr, hasDictionary: hasDictionary,
                    what: what)
                let dictionaryLength =
                    chunkKey == nil && hasDictionary
                    ? (md.dataPageOffset == 0 ? plain.count : Int(md.dataPageOffset - dictionaryAt)) : decryptedDictionary
                let start = try place(
                    ChunkToPlace(rowGroup: g, column: c, stored: range, key: chunkKey, hasDictionary: hasDictionary, plaintext: plain))
                meta.set(7, .i64(Int64(plain.count)))
                meta.set(9, .i64(Int64(start + dictionaryLength)))
                meta.set(10, nil)
                meta.set(11, dictionaryLength > 0 ? .i64(Int64(start)) : nil)
                meta.set(14, nil)
                meta.set(15, nil)
                chunk.set(2, .i64(Int64(start)))
                chunk.set(3, .structure(meta))
                for id: Int16 in [4, 5, 6, 7, 8, 9] { chunk.set(id, nil) }
                chunks[c] = chunk
            }
            groups[g].set(1, .list(.structure, chunks.map { .structure($0) }))
            rows += groups[g].i64(3) ?? 0
        }
        footer.set(4, .list(.structure, groups.map { .structure($0) }))
        footer.set(8, nil)
        footer.set(9, nil)
        return (footer, groups.count, rows, info, fileAAD)
    }

    /// A chunk's plaintext (pages and headers decrypted and authenticated; a chunk without a key
    /// as stored) and the length of its dictionary page (with its header), 0 without one.
    static func chunkPlaintext(
        file: FileDescriptor, range: Range<Int>, rowGroup g: Int, column c: Int, key: ParquetEncryptionKey?, fileAAD: [UInt8], ctr: Bool,
        hasDictionary: Bool, what: String
    ) throws -> ([UInt8], Int) {
        var stored = [UInt8](repeating: 0, count: range.count)
        let got: Int
        do { got = try stored.withUnsafeMutableBytes { try file.read(at: range.lowerBound, into: $0) } } catch { throw ParquetError(.io, "\(error)") }
        guard got == range.count else { throw ParquetError(.corrupt, "\(what): the file ends inside the chunk") }
        guard let key else { return (stored, 0) }
        return try stored.withUnsafeBytes {
            try decryptChunk($0, rowGroup: g, column: c, key: key, fileAAD: fileAAD, ctr: ctr, hasDictionary: hasDictionary, what: what)
        }
    }

    /// The footer of a PME file with new key metadata, encrypted (or signed) again with the same
    /// footer key under a fresh nonce; the column chunks before it stay byte for byte.
    /// - Parameters:
    ///   - footerKey: given the footer key's current metadata, the footer key carrying its new
    ///     metadata (or the same).
    ///   - columnKey: a column key's current metadata → its new metadata (or the same).
    /// - Returns: where the column data ends and the new tail to put there; nil when no key
    ///   metadata changed.
    public static func rewrittenTail(
        file: FileDescriptor, path: String, aadPrefix: [UInt8]? = nil, footerKey: ([UInt8]) throws -> ParquetEncryptionKey,
        columnKey: ([UInt8]) throws -> [UInt8]
    ) throws -> (dataEnd: Int, tail: [UInt8])? {
        let t = try Tail(file: file, path: path)
        guard let info = t.info else { throw ParquetError(.invalidOptions, "\(path) is not encrypted") }
        let fileAAD = try info.fileAAD(supplied: aadPrefix, path: path)
        let key = try footerKey(info.footerKeyMetadata)
        var footer = try plainFooter(t, info, fileAAD, key, path)
        var changed = key.metadata != info.footerKeyMetadata
        var groups = footer.structList(4) ?? []
        for g in groups.indices {
            var chunks = groups[g].structList(1) ?? []
            for c in chunks.indices {
                guard var crypto = chunks[c].structure(8), var withKey = crypto.structure(2) else { continue }
                let old = withKey.binary(2) ?? []
                let new = try columnKey(old)
                guard new != old else { continue }
                withKey.set(2, .binary(new))
                crypto.set(2, .structure(withKey))
                chunks[c].set(8, .structure(crypto))
                changed = true
            }
            groups[g].set(1, .list(.structure, chunks.map { .structure($0) }))
        }
        guard changed else { return nil }
        footer.set(4, .list(.structure, groups.map { .structure($0) }))
        footer.set(8, nil)
        footer.set(9, nil)
        let encryption = ParquetEncryption(footerKey: key, info: info, aadPrefix: aadPrefix ?? info.aadPrefix)
        return (t.dataEnd, try encryption.tail(footer: footer))
    }

    /// The footer's FileMetaData: decrypted (encrypted footer) or signature-checked (plaintext).
    private static func plainFooter(
        _ t: Tail, _ info: ParquetEncryptionInfo, _ fileAAD: [UInt8], _ footerKey: ParquetEncryptionKey, _ path: String
    ) throws -> ThriftStruct {
        var footer: ThriftStruct
        if info.plaintextFooter {
            let tag = Array(t.signature[PME.nonceSize...])
            let expected = try t.footerBytes.withUnsafeBytes {
                try footerKey.tag($0, nonce: Array(t.signature[0..<PME.nonceSize]), aad: try PME.aad(file: fileAAD, .footer))
            }
            let ok = tag.withUnsafeBytes { a in expected.withUnsafeBytes { b in constantTimeEqual(a, b) } }
            guard ok else { throw ParquetError(.corrupt, "\(path): the plaintext footer's signature does not verify (wrong footer key or tampered footer)") }
            footer = t.footer
        } else {
            let plain = try t.footerBytes.withUnsafeBytes { raw in
                let r = try PME.moduleRange(raw, at: 0, what: "\(path): footer")
                guard r.upperBound == raw.count else { throw ParquetError(.corrupt, "\(path): bytes after the encrypted footer") }
                return try footerKey.open(UnsafeRawBufferPointer(rebasing: raw[r]), aad: try PME.aad(file: fileAAD, .footer), what: "\(path): footer")
            }
            let (s, n) = try ThriftCompact.decodeStruct(plain, what: "\(path): footer")
            guard n == plain.count else { throw ParquetError(.corrupt, "\(path): bytes after the decrypted FileMetaData") }
            footer = s
        }
        return footer
    }

    /// Decrypts a chunk's page header and page modules back into plaintext pages, each header's
    /// `compressed_page_size` the size of its plaintext page.
    /// - Returns: the plaintext chunk and the bytes of its dictionary page at the start.
    static func decryptChunk(
        _ stored: UnsafeRawBufferPointer, rowGroup: Int, column: Int, key: ParquetEncryptionKey, fileAAD: [UInt8], ctr: Bool, hasDictionary: Bool,
        what: String
    ) throws -> ([UInt8], Int) {
        var out: [UInt8] = []
        out.reserveCapacity(stored.count)
        var pos = 0
        var page = 0
        var dictionaryLength = 0
        var first = true
        while pos < stored.count {
            let isDictionary = first && hasDictionary
            first = false
            let at = "\(what), page module at chunk offset \(pos)"
            let hr = try PME.moduleRange(stored, at: pos, what: at)
            let headerBytes = try key.open(
                UnsafeRawBufferPointer(rebasing: stored[hr]),
                aad: try PME.aad(
                    file: fileAAD, isDictionary ? .dictionaryPageHeader : .dataPageHeader, rowGroup: rowGroup, column: column,
                    page: isDictionary ? nil : page),
                what: "\(at): page header")
            var (header, used) = try ThriftCompact.decodeStruct(headerBytes, what: "\(at): page header")
            guard used == headerBytes.count else { throw ParquetError(.corrupt, "\(at): bytes after the page header") }
            let pr = try PME.moduleRange(stored, at: hr.upperBound, what: at, ctr: ctr)
            guard header.i32(3).map(Int.init) == pr.count + 4 else {
                throw ParquetError(.corrupt, "\(at): the page header's size does not match its encrypted page")
            }
            let body =
                ctr
                ? try key.openCTR(UnsafeRawBufferPointer(rebasing: stored[pr]), what: "\(at): page")
                : try key.open(
                    UnsafeRawBufferPointer(rebasing: stored[pr]),
                    aad: try PME.aad(
                        file: fileAAD, isDictionary ? .dictionaryPage : .dataPage, rowGroup: rowGroup, column: column, page: isDictionary ? nil : page),
                    what: "\(at): page")
            header.set(3, .i32(Int32(body.count)))
            ThriftCompact.encode(header, into: &out)
            out += body
            if isDictionary { dictionaryLength = out.count } else { page += 1 }
            pos = pr.upperBound
        }
        return (out, dictionaryLength)
    }

    /// The end of a file: plaintext footer (with or without encryption) or `FileCryptoMetaData`
    /// and the encrypted footer.
    struct Tail {
        var info: ParquetEncryptionInfo?
        /// The FileMetaData bytes (plaintext footer) or the encrypted footer module.
        var footerBytes: [UInt8] = []
        /// A plaintext footer, parsed.
        var footer = ThriftStruct()
        /// Nonce and tag after a signed plaintext footer.
        var signature: [UInt8] = []
        /// Where the column data ends (the footer region starts).
        var dataEnd = 0

        init(file: FileDescriptor, path: String) throws {
            let size: Int
            var head = [UInt8](repeating: 0, count: 4)
            var tail = [UInt8](repeating: 0, count: 8)
            do {
                size = try file.size()
                guard size >= 12 else { throw ParquetError(.corrupt, "\(path): \(size) bytes is too short for a Parquet file") }
                _ = try head.withUnsafeMutableBytes { try file.read(at: 0, into: $0) }
                _ = try tail.withUnsafeMutableBytes { try file.read(at: size - 8, into: $0) }
            } catch let e as ParquetError { throw e } catch { throw ParquetError(.io, "\(error)") }
            let magic = Array(tail[4..<8])
            guard head == magic, magic == ParquetFooter.magic || magic == ParquetFooter.encryptedMagic else {
                throw ParquetError(.corrupt, "\(path): not a Parquet file (no PAR1 or PARE magic at both ends)")
            }
            let length = Int(UInt32(tail[0]) | UInt32(tail[1]) << 8 | UInt32(tail[2]) << 16 | UInt32(tail[3]) << 24)
            guard length <= size - 12 else { throw ParquetError(.corrupt, "\(path): footer length \(length) exceeds the file") }
            var region = [UInt8](repeating: 0, count: length)
            do { _ = try region.withUnsafeMutableBytes { try file.read(at: size - 8 - length, into: $0) } } catch { throw ParquetError(.io, "\(error)") }
            dataEnd = size - 8 - length
            let (s, used) = try ThriftCompact.decodeStruct(region, what: "\(path): footer")
            if magic == ParquetFooter.encryptedMagic {
                guard let alg = s.structure(1) else { throw ParquetError(.corrupt, "\(path): FileCryptoMetaData without an encryption algorithm") }
                let a = try PME.fileAAD(algorithm: alg, what: path)
                info = ParquetEncryptionInfo(
                    plaintextFooter: false, footerKeyMetadata: s.binary(2) ?? [], fileUnique: a.unique, ctr: a.ctr, aadPrefix: a.prefix,
                    supplyAADPrefix: a.supply)
                footerBytes = Array(region[used...])
                return
            }
            footer = s
            guard let alg = s.structure(8) else {
                info = nil
                return
            }
            let a = try PME.fileAAD(algorithm: alg, what: path)
            guard region.count - used == PME.nonceSize + PME.tagSize else {
                throw ParquetError(.corrupt, "\(path): a plaintext encrypted footer needs its 28-byte signature (\(region.count - used) bytes follow)")
            }
            info = ParquetEncryptionInfo(
                plaintextFooter: true, footerKeyMetadata: s.binary(9) ?? [], fileUnique: a.unique, ctr: a.ctr, aadPrefix: a.prefix,
                supplyAADPrefix: a.supply)
            footerBytes = Array(region[0..<used])
            signature = Array(region[used...])
        }
    }
}

/// A PME file's plaintext in an in-memory file, decrypted a row group at a time
/// (``ParquetDecryption/decryptLazily(file:path:output:aadPrefix:key:)``): the footer is there
/// from the start; a row group's chunks are decrypted when a reader first needs them
/// (``ensure(rowGroup:)``) and their memory given back once every registered reader has
/// finished the row group (``Reader/finished(rowGroup:)``). A row group needed again after that
/// is decrypted again, so a late or extra reader is only slower, never given freed bytes.
public final class DecryptedParquetWindow: Sendable {
    struct Chunk: Sendable {
        let stored: Range<Int>
        let key: ParquetEncryptionKey?
        let hasDictionary: Bool
        let plainLength: Int
    }

    private struct State {
        var resident = Set<Int>()
        var readers = Set<Int>()
        var nextReader = 0
        /// Row group → the readers that have finished it.
        var finished: [Int: Set<Int>] = [:]
        var residentBytes = 0
        var peakResidentBytes = 0
        var decryptions = 0
    }

    private let source: FileDescriptor
    private let path: String
    /// The plaintext Parquet file (in memory).
    public let output: FileDescriptor
    /// The encrypted file's encryption (footer mode, AAD prefix, algorithm).
    public let info: ParquetEncryptionInfo
    private let fileAAD: [UInt8]
    private let chunks: [[Chunk]]
    private let state = Mutex(State())

    init(source: FileDescriptor, path: String, output: FileDescriptor, info: ParquetEncryptionInfo, fileAAD: [UInt8], chunks: [[Chunk]]) {
        self.source = source
        self.path = path
        self.output = output
        self.info = info
        self.fileAAD = fileAAD
        self.chunks = chunks
    }

    /// The most plaintext chunk bytes held at once so far.
    public var peakResidentBytes: Int { state.withLock { $0.peakResidentBytes } }
    /// Row groups decrypted so far (a row group decrypted twice counts twice).
    public var decryptions: Int { state.withLock { $0.decryptions } }
    /// The plaintext bytes of row group `g`'s chunks.
    public func plaintextBytes(rowGroup g: Int) -> Int { chunks[g].reduce(0) { $0 + $1.plainLength } }

    /// A reader of the window: while it lives, no row group it has not finished is freed.
    public final class Reader: Sendable {
        let window: DecryptedParquetWindow
        let id: Int
        init(window: DecryptedParquetWindow, id: Int) {
            self.window = window
            self.id = id
        }
        /// This reader needs row group `g` no more.
        public func finished(rowGroup g: Int) throws { try window.finish(g, by: id) }
        deinit { window.unregister(id) }
    }

    /// Registers a reader (before it reads).
    public func reader() -> Reader {
        let id = state.withLock { s in
            s.nextReader += 1
            s.readers.insert(s.nextReader)
            return s.nextReader
        }
        return Reader(window: self, id: id)
    }

    /// Makes row group `g`'s plaintext present (decrypting it, authenticated, if it is not).
    public func ensure(rowGroup g: Int) throws {
        guard chunks.indices.contains(g) else { return }
        try state.withLock { s in
            guard !s.resident.contains(g) else { return }
            for (c, chunk) in chunks[g].enumerated() {
                let (plain, _) = try ParquetDecryption.chunkPlaintext(
                    file: source, range: chunk.stored, rowGroup: g, column: c, key: chunk.key, fileAAD: fileAAD, ctr: info.ctr,
                    hasDictionary: chunk.hasDictionary, what: "\(path): row group \(g), column \(c)")
                guard plain.count == chunk.plainLength else {
                    throw ParquetError(.corrupt, "\(path): row group \(g), column \(c) decrypts to another length than before")
                }
                do { try plain.withUnsafeBytes { try output.write($0, at: chunk.stored.lowerBound) } } catch { throw ParquetError(.io, "\(error)") }
            }
            s.resident.insert(g)
            s.decryptions += 1
            s.residentBytes += plaintextBytes(rowGroup: g)
            s.peakResidentBytes = max(s.peakResidentBytes, s.residentBytes)
        }
    }

    private func finish(_ g: Int, by reader: Int) throws {
        try state.withLock { s in
            s.finished[g, default: []].insert(reader)
            try releaseIfDone(g, &s)
        }
    }

    private func unregister(_ reader: Int) {
        state.withLock { s in
            s.readers.remove(reader)
            for g in s.resident { try? releaseIfDone(g, &s) }
        }
    }

    /// Frees row group `g` when every registered reader has finished it.
    private func releaseIfDone(_ g: Int, _ s: inout State) throws {
        guard s.resident.contains(g), s.readers.isSubset(of: s.finished[g] ?? []) else { return }
        // Whole stored ranges (the plaintext and the hole after it), adjacent ones in one call, so
        // that only the pages a neighbouring row group shares stay allocated.
        var spans: [Range<Int>] = []
        for r in chunks[g].map(\.stored).sorted(by: { $0.lowerBound < $1.lowerBound }) where !r.isEmpty {
            if let last = spans.last, last.upperBound == r.lowerBound {
                spans[spans.count - 1] = last.lowerBound..<r.upperBound
            } else {
                spans.append(r)
            }
        }
        for r in spans {
            do { try output.discard(offset: r.lowerBound, count: r.count) } catch { throw ParquetError(.io, "\(error)") }
        }
        s.resident.remove(g)
        s.residentBytes -= plaintextBytes(rowGroup: g)
    }
}
