// Parquet Modular Encryption (apache/parquet-format Encryption.md), AES_GCM_V1: every page
// header, page, column metadata and the footer is a GCM module
// `<4-byte LE length> <12-byte nonce> <ciphertext> <16-byte tag>` whose additional data binds
// it to the file, its module type and its row group, column and page ordinals — so a module
// moved to another place, file or key does not decrypt.

public import Crypto
import Synchronization

/// One data key of a PME file in process memory (an initialized AES-256-GCM context) and the key
/// metadata a reader resolves it by (for tokengate: PKMT1 key material, see docs/parquet.md).
///
/// `@unchecked Sendable`: the cipher context is stateful and is touched only under `lock`
/// (a writer or reader is single-threaded; the lock makes handing the key to its thread safe).
public final class ParquetEncryptionKey: @unchecked Sendable {
    private let cipher: AESGCM
    /// The page cipher of AES_GCM_CTR_V1.
    private let ctr: AESCTR
    private let lock = Mutex(())
    public let metadata: [UInt8]

    /// - Parameter secret: the 32-byte data key (copied into the OpenSSL context, which
    ///   cleanses it when released; the caller releases its own buffer).
    public init(secret: borrowing SecretBytes, metadata: [UInt8]) throws {
        cipher = try AESGCM(key: secret)
        ctr = try AESCTR(key: secret)
        self.metadata = metadata
    }

    private func locked<R>(_ body: () throws -> R) throws -> R {
        try lock.withLock { _ in try body() }
    }

    /// Appends the GCM module of `plaintext` (length, fresh random nonce, ciphertext, tag) to `out`.
    func appendModule(_ plaintext: UnsafeRawBufferPointer, aad: [UInt8], to out: inout [UInt8]) throws {
        let total = PME.nonceSize + plaintext.count + PME.tagSize
        guard total <= Int(Int32.max) else { throw ParquetError(.invalidOptions, "a module of \(plaintext.count) bytes is too large to encrypt") }
        let nonce = try SecureRandom.bytes(PME.nonceSize)
        let start = out.count
        withUnsafeBytes(of: UInt32(total).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: nonce)
        out.append(contentsOf: repeatElement(0, count: plaintext.count))
        let tag = try out.withUnsafeMutableBytes { o in
            try locked {
                try cipher.seal(
                    nonce: nonce, aad: aad, plaintext: plaintext,
                    into: UnsafeMutableRawBufferPointer(rebasing: o[(start + 4 + PME.nonceSize)...]))
            }
        }
        out.append(contentsOf: tag)
    }

    /// Appends the CTR module of `plaintext` (length, fresh random nonce, ciphertext: no tag) to
    /// `out` — a page of AES_GCM_CTR_V1.
    func appendCTRModule(_ plaintext: UnsafeRawBufferPointer, to out: inout [UInt8]) throws {
        let total = PME.nonceSize + plaintext.count
        guard total <= Int(Int32.max) else { throw ParquetError(.invalidOptions, "a module of \(plaintext.count) bytes is too large to encrypt") }
        let nonce = try SecureRandom.bytes(PME.nonceSize)
        let start = out.count
        withUnsafeBytes(of: UInt32(total).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: nonce)
        out.append(contentsOf: repeatElement(0, count: plaintext.count))
        try out.withUnsafeMutableBytes { o in
            try locked { try ctr.apply(nonce: nonce, plaintext, into: UnsafeMutableRawBufferPointer(rebasing: o[(start + 4 + PME.nonceSize)...])) }
        }
    }

    /// Decrypts the CTR module `nonce ‖ ciphertext` (its length prefix already read).
    func openCTR(_ module: UnsafeRawBufferPointer, what: String) throws -> [UInt8] {
        guard module.count >= PME.nonceSize else { throw ParquetError(.corrupt, "\(what): an encrypted module of \(module.count) bytes") }
        let nonce = Array(module[0..<PME.nonceSize])
        var plain = [UInt8](repeating: 0, count: module.count - PME.nonceSize)
        try plain.withUnsafeMutableBytes { o in
            try locked { try ctr.apply(nonce: nonce, UnsafeRawBufferPointer(rebasing: module[PME.nonceSize...]), into: o) }
        }
        return plain
    }

    /// The GCM tag of `plaintext` under `nonce` (the plaintext-footer signature).
    func tag(_ plaintext: UnsafeRawBufferPointer, nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var scratch = [UInt8](repeating: 0, count: plaintext.count)
        return try scratch.withUnsafeMutableBytes { o in try locked { try cipher.seal(nonce: nonce, aad: aad, plaintext: plaintext, into: o) } }
    }

    /// Decrypts the module `nonce ‖ ciphertext ‖ tag` (its length prefix already read).
    /// - Throws: `.corrupt` naming `what` when it does not authenticate.
    func open(_ module: UnsafeRawBufferPointer, aad: [UInt8], what: String) throws -> [UInt8] {
        guard module.count >= PME.nonceSize + PME.tagSize else { throw ParquetError(.corrupt, "\(what): an encrypted module of \(module.count) bytes") }
        let n = module.count - PME.nonceSize - PME.tagSize
        let nonce = Array(module[0..<PME.nonceSize])
        let tag = Array(module[(module.count - PME.tagSize)...])
        var plain = [UInt8](repeating: 0, count: n)
        do {
            try plain.withUnsafeMutableBytes { o in
                try locked {
                    try cipher.open(
                        nonce: nonce, aad: aad, ciphertext: UnsafeRawBufferPointer(rebasing: module[PME.nonceSize..<(PME.nonceSize + n)]), tag: tag,
                        into: o)
                }
            }
        } catch let e as CryptoError where e.code == .authenticationFailed {
            throw ParquetError(.corrupt, "\(what): the encrypted module does not authenticate (wrong key, tampered or moved module)")
        }
        return plain
    }
}

/// Constants and the additional data of Parquet Modular Encryption.
public enum PME {
    public static let nonceSize = 12
    public static let tagSize = 16
    /// Bytes a GCM module adds to its plaintext: length, nonce, tag.
    public static let moduleOverhead = 4 + nonceSize + tagSize
    /// Length of the random `aad_file_unique` (as parquet-cpp writes it).
    public static let fileUniqueLength = 8

    /// Module types (the byte after the file AAD).
    public enum Module: UInt8, Sendable {
        case footer = 0
        case columnMetaData = 1
        case dataPage = 2
        case dictionaryPage = 3
        case dataPageHeader = 4
        case dictionaryPageHeader = 5
        case columnIndex = 6
        case offsetIndex = 7
        case bloomFilterHeader = 8
        case bloomFilterBitset = 9
    }

    /// The additional data of one module: the file AAD, the module type, then (all but the
    /// footer) the row group and column ordinals, and for data pages and their headers the page
    /// ordinal, each 2 bytes little-endian.
    public static func aad(file: [UInt8], _ module: Module, rowGroup: Int = 0, column: Int = 0, page: Int? = nil) throws -> [UInt8] {
        var a = file
        a.append(module.rawValue)
        if module == .footer { return a }
        func short(_ v: Int, _ what: String) throws {
            guard v >= 0, v <= Int(Int16.max) else {
                throw ParquetError(.invalidOptions, "Parquet Modular Encryption numbers \(what)s with 2 bytes: \(what) \(v) is past \(Int16.max)")
            }
            a.append(UInt8(v & 0xFF))
            a.append(UInt8(v >> 8))
        }
        try short(rowGroup, "row group")
        try short(column, "column")
        if module == .dataPage || module == .dataPageHeader { try short(page ?? 0, "page") }
        return a
    }

    /// The `EncryptionAlgorithm` union naming AES_GCM_V1 (or AES_GCM_CTR_V1) with the file's
    /// unique AAD part and, when the file has one, its AAD prefix: stored in the file, or only
    /// flagged (`supply_aad_prefix`) for the reader to supply.
    static func algorithm(fileUnique: [UInt8], aadPrefix: [UInt8]? = nil, storeAADPrefix: Bool = true, ctr: Bool = false) -> ThriftStruct {
        var gcm = ThriftStruct()
        if let aadPrefix {
            if storeAADPrefix { gcm.set(1, .binary(aadPrefix)) } else { gcm.set(3, .bool(true)) }
        }
        gcm.set(2, .binary(fileUnique))
        var alg = ThriftStruct()
        alg.set(ctr ? 2 : 1, .structure(gcm))
        return alg
    }

    /// What an `EncryptionAlgorithm` names: the file's unique AAD part, its stored AAD prefix,
    /// whether the reader must supply the prefix, and whether pages are CTR.
    static func fileAAD(algorithm alg: ThriftStruct, what: String) throws -> (unique: [UInt8], prefix: [UInt8]?, supply: Bool, ctr: Bool) {
        let ctr = alg.structure(2) != nil
        guard let gcm = alg.structure(1) ?? alg.structure(2) else { throw ParquetError(.corrupt, "\(what): unknown encryption algorithm") }
        return (gcm.binary(2) ?? [], gcm.binary(1), gcm.bool(3) == true, ctr)
    }

    /// Reads one module (length prefix first) at `at` of `bytes`; returns the module body
    /// (nonce, ciphertext, tag) range. `ctr`: a CTR page module (no tag).
    static func moduleRange(_ bytes: UnsafeRawBufferPointer, at: Int, what: String, ctr: Bool = false) throws -> Range<Int> {
        guard at >= 0, bytes.count - at >= 4 else { throw ParquetError(.corrupt, "\(what): truncated encrypted module") }
        let n = Int(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
        guard n >= nonceSize + (ctr ? 0 : tagSize), n <= bytes.count - at - 4 else {
            throw ParquetError(.corrupt, "\(what): encrypted module length \(n) does not fit the \(bytes.count - at - 4) bytes left")
        }
        return (at + 4)..<(at + 4 + n)
    }
}

/// How a PME file is encrypted: the footer key (footer, and the columns without a key of their
/// own), column keys by top-level column name, and whether the footer stays readable.
public final class ParquetEncryption: Sendable {
    public let footerKey: ParquetEncryptionKey
    /// Column (top-level name, or dotted leaf path) → its key.
    public let columnKeys: [String: ParquetEncryptionKey]
    /// A plaintext footer (`PAR1`, signed with the footer key) instead of an encrypted one (`PARE`).
    public let plaintextFooter: Bool
    /// The random `aad_file_unique` (the file's id).
    public let fileUnique: [UInt8]
    /// The AAD prefix (e.g. a table name the file belongs to), nil: none.
    public let aadPrefix: [UInt8]?
    /// The AAD prefix is stored in the file (else readers must supply it).
    public let storeAADPrefix: Bool
    /// The file AAD every module's additional data starts with: AAD prefix ‖ `aad_file_unique`.
    public var fileAAD: [UInt8] { (aadPrefix ?? []) + fileUnique }
    /// AES_GCM_CTR_V1: pages (data and dictionary) in AES-CTR, every other module GCM.
    public let ctr: Bool

    /// - Parameters:
    ///   - ctr: AES_GCM_CTR_V1 instead of AES_GCM_V1 (pages not authenticated, only their
    ///     headers and the metadata: faster, weaker; on request only).
    ///   - aadPrefix: an AAD prefix bound into every module (a file moved to another table does
    ///     not decrypt under that table's prefix); `storeAADPrefix` false leaves it out of the
    ///     file, so readers must supply it.
    public init(
        footerKey: ParquetEncryptionKey, columnKeys: [String: ParquetEncryptionKey] = [:], plaintextFooter: Bool = false, ctr: Bool = false,
        aadPrefix: [UInt8]? = nil, storeAADPrefix: Bool = true
    ) throws {
        if let aadPrefix, aadPrefix.isEmpty || aadPrefix.count > 1024 {
            throw ParquetError(.invalidOptions, "an AAD prefix is 1 to 1024 bytes, not \(aadPrefix.count)")
        }
        self.footerKey = footerKey
        self.columnKeys = columnKeys
        self.plaintextFooter = plaintextFooter
        self.ctr = ctr
        self.aadPrefix = aadPrefix
        self.storeAADPrefix = storeAADPrefix
        fileUnique = try SecureRandom.bytes(PME.fileUniqueLength)
    }

    /// An existing file's encryption (its file AAD parts), to write its tail again.
    init(footerKey: ParquetEncryptionKey, info: ParquetEncryptionInfo, aadPrefix: [UInt8]?) {
        self.footerKey = footerKey
        columnKeys = [:]
        plaintextFooter = info.plaintextFooter
        ctr = info.ctr
        fileUnique = info.fileUnique
        self.aadPrefix = aadPrefix
        storeAADPrefix = !info.supplyAADPrefix
    }

    /// The key of a column: its own, or nil (the footer key).
    func columnKey(_ column: ColumnDescriptor) -> ParquetEncryptionKey? {
        columnKeys[column.dottedPath] ?? column.path.first.flatMap { columnKeys[$0] }
    }

    /// Encrypts a column chunk's pages (a plaintext chunk: page headers and pages): every page
    /// header and page becomes a module, each header's `compressed_page_size` the size of its
    /// page's module (its CRC is dropped: it covered the plaintext).
    /// - Returns: the encrypted chunk, and the bytes of its dictionary page's modules at its start.
    func encryptChunk(
        _ plain: UnsafeRawBufferPointer, rowGroup: Int, column: Int, key: ParquetEncryptionKey, what: String
    ) throws -> (bytes: [UInt8], dictionaryLength: Int) {
        var out: [UInt8] = []
        out.reserveCapacity(plain.count + plain.count / 4096 + 1024)
        var pos = 0
        var page = 0
        var dictionaryLength = 0
        while pos < plain.count {
            var (header, used) = try ThriftCompact.decodeStruct(plain, at: pos, what: "\(what), page header at chunk offset \(pos)")
            guard let type = header.i32(1), let size = header.i32(3), size >= 0, Int(size) <= plain.count - pos - used else {
                throw ParquetError(.corrupt, "\(what): page at chunk offset \(pos) runs past the chunk")
            }
            let body = UnsafeRawBufferPointer(rebasing: plain[(pos + used)..<(pos + used + Int(size))])
            let isDictionary: Bool
            switch type {
            case PageType.dictionaryPage.rawValue: isDictionary = true
            case PageType.dataPage.rawValue, PageType.dataPageV2.rawValue: isDictionary = false
            default: throw ParquetError(.unsupported, "\(what): page type \(type) cannot be encrypted (data and dictionary pages can)")
            }
            var pageModule: [UInt8] = []
            if ctr {
                try key.appendCTRModule(body, to: &pageModule)
            } else {
                try key.appendModule(
                    body,
                    aad: try PME.aad(
                        file: fileAAD, isDictionary ? .dictionaryPage : .dataPage, rowGroup: rowGroup, column: column, page: isDictionary ? nil : page),
                    to: &pageModule)
            }
            header.set(3, .i32(Int32(pageModule.count)))
            header.set(4, nil)  // crc: it covered the plaintext page
            let encoded = ThriftCompact.encode(header)
            try encoded.withUnsafeBytes { h in
                try key.appendModule(
                    h,
                    aad: try PME.aad(
                        file: fileAAD, isDictionary ? .dictionaryPageHeader : .dataPageHeader, rowGroup: rowGroup, column: column,
                        page: isDictionary ? nil : page),
                    to: &out)
            }
            out.append(contentsOf: pageModule)
            if isDictionary {
                if page == 0 { dictionaryLength = out.count }
            } else {
                page += 1
            }
            pos += used + Int(size)
        }
        return (out, dictionaryLength)
    }

    /// The ColumnChunk fields of an encrypted chunk: `crypto_metadata` and, for a column key, the
    /// encrypted ColumnMetaData (and, with a plaintext footer, a copy without statistics).
    func protect(chunk: inout ThriftStruct, meta: ThriftStruct, column: ColumnDescriptor, rowGroup: Int, ordinal: Int) throws {
        var crypto = ThriftStruct()
        if let key = columnKey(column) {
            var withKey = ThriftStruct()
            withKey.set(1, .list(.binary, column.path.map { .binary(Array($0.utf8)) }))
            withKey.set(2, .binary(key.metadata))
            crypto.set(2, .structure(withKey))
            var sealed: [UInt8] = []
            let encoded = ThriftCompact.encode(meta)
            try encoded.withUnsafeBytes { m in
                try key.appendModule(m, aad: try PME.aad(file: fileAAD, .columnMetaData, rowGroup: rowGroup, column: ordinal), to: &sealed)
            }
            chunk.set(9, .binary(sealed))
            if plaintextFooter {
                var redacted = meta
                redacted.set(12, nil)  // statistics
                redacted.set(13, nil)  // encoding_stats
                chunk.set(3, .structure(redacted))
            } else {
                chunk.set(3, nil)
            }
        } else {
            crypto.set(1, .structure(ThriftStruct()))
            chunk.set(3, .structure(meta))
        }
        chunk.set(8, .structure(crypto))
    }

    /// The file's tail after the last row group: an encrypted footer (`FileCryptoMetaData`, the
    /// footer module, length, `PARE`) or a plaintext one with its signature (nonce and tag),
    /// length, `PAR1`.
    func tail(footer: ThriftStruct) throws -> [UInt8] {
        var out: [UInt8] = []
        if plaintextFooter {
            var f = footer
            f.set(8, .structure(PME.algorithm(fileUnique: fileUnique, aadPrefix: aadPrefix, storeAADPrefix: storeAADPrefix, ctr: ctr)))
            f.set(9, .binary(footerKey.metadata))
            ThriftCompact.encode(f, into: &out)
            let nonce = try SecureRandom.bytes(PME.nonceSize)
            let tag = try out.withUnsafeBytes { try footerKey.tag($0, nonce: nonce, aad: try PME.aad(file: fileAAD, .footer)) }
            out += nonce + tag
            withUnsafeBytes(of: UInt32(out.count).littleEndian) { out.append(contentsOf: $0) }
            out += ParquetFooter.magic
            return out
        }
        var crypto = ThriftStruct()
        crypto.set(1, .structure(PME.algorithm(fileUnique: fileUnique, aadPrefix: aadPrefix, storeAADPrefix: storeAADPrefix, ctr: ctr)))
        crypto.set(2, .binary(footerKey.metadata))
        ThriftCompact.encode(crypto, into: &out)
        let encoded = ThriftCompact.encode(footer)
        try encoded.withUnsafeBytes { try footerKey.appendModule($0, aad: try PME.aad(file: fileAAD, .footer), to: &out) }
        withUnsafeBytes(of: UInt32(out.count).littleEndian) { out.append(contentsOf: $0) }
        out += ParquetFooter.encryptedMagic
        return out
    }
}
