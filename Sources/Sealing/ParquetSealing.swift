public import Crypto
import Foundation
public import Keyring
public import Parquet
public import SystemIO

/// The key material of tokengate's Parquet Modular Encryption files: pyarrow's PKMT1 JSON with
/// internal storage and single wrapping, whose `wrappedDEK` is the base64 of a ``WrappedDataKey``
/// (the data key wrapped inside the HSM by an at-rest key) and whose `masterKeyID` is that key's
/// label and version (`tokengate/at-rest/<name>/v<N>`).
public enum ParquetKeyMaterial {
    /// The caller context bound into every PME data key's wrap: pyarrow's `unwrap_key` knows only
    /// the wrapped key and the master key id, so the context is fixed (it keeps a PME data key
    /// from unwrapping as a sealed file's, and the reverse).
    public static let context = Array("tokengate/parquet-pme/v1".utf8)

    /// What one key material names.
    public struct Material: Sendable, Equatable {
        public let masterKeyID: String
        public let wrapped: WrappedDataKey
        public let isFooterKey: Bool
    }

    /// The key material JSON (pyarrow requires the KMS instance fields on the footer key's).
    public static func json(_ wrapped: WrappedDataKey, isFooterKey: Bool) -> [UInt8] {
        let id = wrapped.ref.label(version: wrapped.keyVersion)
        let kms = isFooterKey ? #""kmsInstanceID":"DEFAULT","kmsInstanceURL":"DEFAULT","# : ""
        let text =
            #"{"keyMaterialType":"PKMT1","internalStorage":true,"isFooterKey":\#(isFooterKey),"# + kms
            + #""masterKeyID":"\#(id)","wrappedDEK":"\#(Data(wrapped.serialized).base64EncodedString())","doubleWrapping":false}"#
        return Array(text.utf8)
    }

    /// Parses key material written by tokengate or by pyarrow with tokengate's KmsClient.
    /// - Throws: ``SealingError/Code/invalidFormat`` for anything else (external storage, double
    ///   wrapping, another KMS's envelope).
    public static func parse(_ metadata: [UInt8]) throws -> Material {
        func bad(_ why: String) -> SealingError { SealingError(.envelopeInvalid, "Parquet key metadata: \(why)") }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(metadata)) as? [String: Any] else { throw bad("not JSON key material") }
        guard obj["keyMaterialType"] as? String == "PKMT1" else { throw bad("keyMaterialType is not PKMT1") }
        guard obj["internalStorage"] as? Bool == true else { throw bad("external key material storage is not supported") }
        guard obj["doubleWrapping"] as? Bool != true else { throw bad("double wrapping is not supported (write with double_wrapping=False)") }
        guard let id = obj["masterKeyID"] as? String, let w = obj["wrappedDEK"] as? String else { throw bad("no masterKeyID or wrappedDEK") }
        return Material(masterKeyID: id, wrapped: try envelope(base64: w), isFooterKey: obj["isFooterKey"] as? Bool ?? false)
    }

    /// The envelope of a base64 `wrappedDEK`.
    public static func envelope(base64 text: String) throws -> WrappedDataKey {
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SealingError(.envelopeInvalid, "wrapped data key is not base64")
        }
        do { return try WrappedDataKey(serialized: [UInt8](raw)) } catch {
            throw SealingError(.envelopeInvalid, "wrapped data key is not a tokengate envelope: \(error)")
        }
    }

    /// The at-rest key a master key id names: `tokengate/at-rest/<name>/v<N>` (that version),
    /// `at-rest/<name>` or `<name>` (any version).
    public static func masterKey(_ id: String) throws -> (ref: KeyRef, version: Int?) {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var name: String?
        var version: Int?
        switch parts.count {
        case 1: name = parts[0]
        case 2 where parts[0] == KeyPurpose.atRest.rawValue: name = parts[1]
        case 4 where parts[0] == "tokengate" && parts[1] == KeyPurpose.atRest.rawValue && parts[3].hasPrefix("v"):
            name = parts[2]
            version = Int(parts[3].dropFirst())
            if version == nil || version! < 1 { name = nil }
        default: name = nil
        }
        guard let name, let ref = try? KeyRef(parsing: "\(KeyPurpose.atRest.rawValue)/\(name)") else {
            throw SealingError(.parquetInvalid, "master key id '\(id)' is not tokengate/at-rest/<name>/v<N>, at-rest/<name> or <name>")
        }
        return (ref, version)
    }

    /// Checks that an envelope is the at-rest key `masterKeyID` names (and its version, when it
    /// names one), so a key material cannot point at one key and carry another's envelope.
    public static func check(_ wrapped: WrappedDataKey, masterKeyID: String) throws {
        let (ref, version) = try masterKey(masterKeyID)
        guard wrapped.ref == ref, version == nil || version == wrapped.keyVersion else {
            throw SealingError(
                .parquetInvalid,
                "the wrapped data key is wrapped by \(wrapped.ref.label(version: wrapped.keyVersion)), not by the master key \(masterKeyID)")
        }
    }

    /// Unwraps one data key inside the HSM (the `keys unwrap` operation pyarrow's KmsClient calls).
    public static func unwrap(_ wrapped: WrappedDataKey, masterKeyID: String, keyring: Keyring) throws -> SecretBytes {
        try check(wrapped, masterKeyID: masterKeyID)
        do { return try keyring.unwrapDataKey(wrapped, purpose: .atRest, context: context) } catch {
            throw sealingError(unwrapping: error, path: "Parquet data key")
        }
    }

    /// Wraps a caller's 32-byte data key under the primary version of the master key (the
    /// `keys wrap` operation, for pyarrow writing PME files).
    public static func wrap(_ secret: borrowing SecretBytes, masterKeyID: String, keyring: Keyring) throws -> WrappedDataKey {
        let (ref, version) = try masterKey(masterKeyID)
        let w = try keyring.wrapDataKey(secret, ref: ref, context: context)
        if let version, version != w.keyVersion {
            throw SealingError(.parquetInvalid, "master key id \(masterKeyID) names v\(version), but the primary version is v\(w.keyVersion)")
        }
        return w
    }

    /// A fresh data key from the HSM's RNG wrapped by the primary version of `at-rest/<keyName>`.
    public static func generate(keyring: Keyring, keyName: String, isFooterKey: Bool) throws -> (ParquetEncryptionKey, WrappedDataKey) {
        let dk = try keyring.generateDataKey(KeyRef(.atRest, keyName), context: context)
        let key = try ParquetEncryptionKey(secret: dk.secret, metadata: json(dk.wrapped, isFooterKey: isFooterKey))
        return (key, dk.wrapped)
    }

    /// Resolves a file's key metadata to its data key, unwrapped in the HSM; `used` collects the
    /// envelopes (for the audit record).
    public static func resolver(keyring: Keyring, used: SealedKeysBox) -> ([UInt8]) throws -> ParquetEncryptionKey {
        { metadata in
            let m = try parse(metadata)
            let secret = try unwrap(m.wrapped, masterKeyID: m.masterKeyID, keyring: keyring)
            used.append(m.wrapped)
            return try ParquetEncryptionKey(secret: secret, metadata: metadata)
        }
    }
}

/// The envelopes a PME open unwrapped, in order, without repeats (filled by the resolver of one
/// synchronous decryption, read after it).
public final class SealedKeysBox {
    public private(set) var keys: [WrappedDataKey] = []
    public init() {}
    func append(_ w: WrappedDataKey) { if !keys.contains(w) { keys.append(w) } }
}

/// A PME reader's error as the sealing error it is: a module or signature that does not
/// authenticate, a prefix to supply, or a malformed file.
func sealingError(pme e: ParquetError) -> SealingError {
    switch e.code {
    case .corrupt: SealingError(.moduleAuthenticationFailed, e.reason)
    case .aadPrefixRequired: SealingError(.aadPrefixRequired, e.reason)
    default: SealingError(.parquetInvalid, e.reason)
    }
}

/// How `seal` (and `tokenize --seal`) encrypts a Parquet file.
public struct ParquetSealOptions: Sendable {
    /// The at-rest key that wraps the footer key (and the column key).
    public var keyName = "datasets"
    /// Columns (top-level names) under a data key of their own, not the footer key.
    public var columnKeyColumns: [String] = []
    /// A plaintext footer (`PAR1`, signed) instead of an encrypted one.
    public var plaintextFooter = false
    /// AES_GCM_CTR_V1 (pages in AES-CTR, not authenticated) instead of AES_GCM_V1.
    public var ctr = false
    /// An AAD prefix bound into every module (e.g. the table's name), nil: none.
    public var aadPrefix: [UInt8]?
    /// Store the AAD prefix in the file (readers then need not supply it); false: readers must.
    public var storeAADPrefix = true
    public init() {}
}

/// The data keys of one PME output: the footer key and, when columns are named, one column key.
public struct ParquetSealKeys: Sendable {
    public let encryption: ParquetEncryption
    /// Footer key's envelope first.
    public let envelopes: [WrappedDataKey]

    /// Draws and wraps the data keys (HSM), before any output is written.
    public static func make(_ o: ParquetSealOptions, keyring: Keyring) throws -> ParquetSealKeys {
        let (footer, fw) = try ParquetKeyMaterial.generate(keyring: keyring, keyName: o.keyName, isFooterKey: true)
        var columns: [String: ParquetEncryptionKey] = [:]
        var envelopes = [fw]
        if !o.columnKeyColumns.isEmpty {
            let (ck, cw) = try ParquetKeyMaterial.generate(keyring: keyring, keyName: o.keyName, isFooterKey: false)
            for c in o.columnKeyColumns { columns[c] = ck }
            envelopes.append(cw)
        }
        do {
            return ParquetSealKeys(
                encryption: try ParquetEncryption(
                    footerKey: footer, columnKeys: columns, plaintextFooter: o.plaintextFooter, ctr: o.ctr, aadPrefix: o.aadPrefix,
                    storeAADPrefix: o.storeAADPrefix),
                envelopes: envelopes)
        } catch let e as ParquetError { throw SealingError(e.code == .invalidOptions ? .invalidArgument : .io, e.reason) } catch {
            throw SealingError(.io, "\(error)")
        }
    }
}

/// What sealing a Parquet file as PME did.
public struct ParquetSealResult: Sendable {
    public let rowGroups: Int
    public let rows: Int
    public let envelopes: [WrappedDataKey]
    /// `aad_file_unique`, hex (the file's id).
    public let fileID: String
    public let input: StreamDigest
    public let output: StreamDigest
}

/// What opening a PME file released.
public struct ParquetOpenResult: Sendable {
    public let rowGroups: Int
    public let rows: Int64
    public let envelopes: [WrappedDataKey]
    public let input: StreamDigest
    public let output: StreamDigest
}

extension Sealing {
    /// Whether `path` is a Parquet file (`PAR1` or `PARE` at its start).
    public static func parquetMagic(path: String) -> (parquet: Bool, encrypted: Bool) {
        guard let f = try? FileDescriptor.open(path, .readOnly) else { return (false, false) }
        defer { try? f.close() }
        return parquetMagic(file: f, path: path)
    }

    /// ``parquetMagic(path:)`` of an open file, by positioned reads only: a pipe (where they
    /// fail) is neither, and no byte of it is consumed.
    static func parquetMagic(file f: FileDescriptor, path: String) -> (parquet: Bool, encrypted: Bool) {
        var head = [UInt8](repeating: 0, count: 4)
        guard (try? head.withUnsafeMutableBytes { try f.read(at: 0, into: $0) }) == 4 else { return (false, false) }
        if head == ParquetFooter.encryptedMagic { return (true, true) }
        if head == ParquetFooter.magic {
            let info = try? ParquetDecryption.inspect(file: f, path: path)
            return (true, info.map { $0 != nil } ?? false)
        }
        return (false, false)
    }

    /// Whether an open file is a PME file (`PARE` at its start, or `PAR1` with an encryption
    /// algorithm in its footer), by positioned reads only: a pipe (where they fail) is not one,
    /// and no byte of it is consumed.
    public static func isEncryptedParquet(file f: FileDescriptor, path: String) -> Bool {
        parquetMagic(file: f, path: path).encrypted
    }

    /// A PME file's encryption (no key), nil when it is a plaintext Parquet file.
    public static func inspectParquet(path: String) throws -> ParquetEncryptionInfo? {
        let f = try openRead(path)
        defer { try? f.close() }
        do { return try ParquetDecryption.inspect(file: f, path: path) } catch let e as ParquetError { throw SealingError(.parquetInvalid, e.reason) }
    }

    /// Seals a plaintext Parquet file as Parquet Modular Encryption (AES_GCM_V1): same row
    /// groups, chunks and pages, each encrypted; the output is written to a temporary name and
    /// renamed when complete.
    public static func sealParquet(input: String, output: String, keyring: Keyring, options: ParquetSealOptions) throws -> ParquetSealResult {
        let source: ParquetFile
        do { source = try ParquetFile(path: input) } catch { throw SealingError(.parquetInvalid, "\(error)") }
        let keys = try ParquetSealKeys.make(options, keyring: keyring)
        let out = try temporaryOutput(output)
        var done = false
        defer { if !done { out.discard() } }
        let hasher = try SHA256Hasher()
        let written: (rowGroups: Int, rows: Int)
        do {
            written = try ParquetFileWriter.encrypt(source, to: out.descriptor, encryption: keys.encryption, observer: { try hasher.update($0) })
        } catch let e as ParquetError { throw SealingError(.parquetInvalid, "\(input): \(e.reason)") }
        let size = Int(lseek(out.fd, 0, SEEK_CUR))
        let outputDigest = StreamDigest(bytes: size, sha256: try hasher.finalize())
        done = true
        try commit(out)
        return ParquetSealResult(
            rowGroups: written.rowGroups, rows: written.rows, envelopes: keys.envelopes, fileID: Hex.encode(keys.encryption.fileUnique),
            input: try digest(of: source.file, size: source.size), output: outputDigest)
    }

    /// Decrypts a PME file (tokengate's or pyarrow's with tokengate's KmsClient) into a plaintext
    /// Parquet file, every module authenticated; written to a temporary name and renamed when
    /// complete.
    /// - Parameter aadPrefix: the AAD prefix of a file that does not store its own.
    public static func openParquet(
        path: String, output: String, keyring: Keyring, mode: UInt32 = 0o600, aadPrefix: [UInt8]? = nil
    ) throws -> ParquetOpenResult {
        let f = try openRead(path)
        defer { try? f.close() }
        let out = try temporaryOutput(output, mode: mode)
        var done = false
        defer { if !done { out.discard() } }
        let used = SealedKeysBox()
        let r: (rowGroups: Int, rows: Int64)
        do {
            r = try ParquetDecryption.decrypt(
                file: f, path: path, output: out.descriptor, aadPrefix: aadPrefix, key: ParquetKeyMaterial.resolver(keyring: keyring, used: used))
        } catch let e as ParquetError { throw sealingError(pme: e) }
        let size = Int(lseek(out.fd, 0, SEEK_CUR))
        let outputDigest = try digest(of: out.descriptor, size: size)
        done = true
        try commit(out)
        return ParquetOpenResult(
            rowGroups: r.rowGroups, rows: r.rows, envelopes: used.keys, input: try digest(of: f, size: try f.size()), output: outputDigest)
    }

    static func openRead(_ path: String) throws -> FileDescriptor {
        do { return try FileDescriptor.open(path, .readOnly) } catch { throw SealingError(.io, "\(error)") }
    }

    /// Size and SHA-256 of the first `size` bytes of a file.
    static func digest(of f: FileDescriptor, size: Int) throws -> StreamDigest {
        let h = try SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var at = 0
        while at < size {
            let n = try buffer.withUnsafeMutableBytes { b in
                try f.read(at: at, into: UnsafeMutableRawBufferPointer(rebasing: b[0..<min(b.count, size - at)]))
            }
            guard n > 0 else { throw SealingError(.io, "file ends at \(at) of \(size) bytes") }
            try buffer.withUnsafeBytes { try h.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            at += n
        }
        return StreamDigest(bytes: size, sha256: try h.finalize())
    }
}

extension Sealing {
    /// Moves a PME file's data keys to the primary version of their at-rest key: each key is
    /// unwrapped and wrapped again inside the HSM (the same data key), the key material rewritten,
    /// and the footer encrypted (or signed) again with the same footer key. No page, header or
    /// column metadata is re-encrypted: the column data is copied in the kernel to a temporary
    /// file that gets the new tail, then renamed over the file. Idempotent.
    /// - Parameter aadPrefix: the AAD prefix of a file that does not store its own (the footer is
    ///   encrypted or signed again under it; it stays not stored).
    @discardableResult
    public static func rewrapParquet(path: String, keyring: Keyring, aadPrefix: [UInt8]? = nil) throws -> RewrapResult {
        let f = try openRead(path)
        defer { try? f.close() }
        var from: WrappedDataKey?
        var to: WrappedDataKey?
        func moved(_ old: [UInt8], footer: Bool) throws -> (WrappedDataKey, [UInt8]) {
            let m = try ParquetKeyMaterial.parse(old)
            try ParquetKeyMaterial.check(m.wrapped, masterKeyID: m.masterKeyID)
            let new: WrappedDataKey?
            do { new = try keyring.rewrapDataKey(m.wrapped, purpose: .atRest, context: ParquetKeyMaterial.context) } catch {
                throw sealingError(unwrapping: error, path: path)
            }
            if from == nil || m.wrapped.keyVersion < from!.keyVersion { from = m.wrapped }
            let current = new ?? m.wrapped
            to = current
            return (current, new.map { ParquetKeyMaterial.json($0, isFooterKey: footer) } ?? old)
        }
        let rewritten: (dataEnd: Int, tail: [UInt8])?
        do {
            rewritten = try ParquetDecryption.rewrittenTail(
                file: f, path: path, aadPrefix: aadPrefix,
                footerKey: { old in
                    let m = try ParquetKeyMaterial.parse(old)
                    let secret = try ParquetKeyMaterial.unwrap(m.wrapped, masterKeyID: m.masterKeyID, keyring: keyring)
                    let (_, metadata) = try moved(old, footer: true)
                    return try ParquetEncryptionKey(secret: secret, metadata: metadata)
                },
                columnKey: { old in try moved(old, footer: false).1 })
        } catch let e as ParquetError { throw sealingError(pme: e) }
        guard let from, let to else { throw SealingError(.parquetInvalid, "\(path): no key material") }
        guard let rewritten else {
            return RewrapResult(path: path, keyName: from.keyName, fromVersion: from.keyVersion, toVersion: to.keyVersion, changed: false)
        }
        let mode = ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.uint32Value ?? 0o600
        let out = try temporaryOutput(path, mode: mode)
        var done = false
        defer { if !done { out.discard() } }
        do {
            try out.descriptor.append(from: f, at: 0, count: rewritten.dataEnd)
            try out.descriptor.write(rewritten.tail)
        } catch { throw SealingError(.io, "\(error)") }
        done = true
        try commit(out)
        return RewrapResult(path: path, keyName: from.keyName, fromVersion: from.keyVersion, toVersion: to.keyVersion, changed: true)
    }

    /// The footer key's envelope of a PME file written with tokengate's key material (no key
    /// needed); nil for any other file.
    static func parquetFooterEnvelope(path: String) throws -> WrappedDataKey? {
        guard parquetMagic(path: path).encrypted, let info = try inspectParquet(path: path) else { return nil }
        return try ParquetKeyMaterial.parse(info.footerKeyMetadata).wrapped
    }
}

/// A sealed input decrypted into anonymous memory (``FileDescriptor/anonymousMemory(label:)``)
/// for a run that reads it as plaintext Parquet (`retokenize`, `tokenize`, `scan`): never on a
/// file system, gone when the descriptor is closed.
public struct DecryptedInput: Sendable {
    public enum Kind: String, Sendable {
        /// Parquet Modular Encryption.
        case pme = "parquet-pme"
        /// The sealed frame format (docs/sealed-format.md) holding a Parquet file.
        case framed = "sealed"
    }
    public let kind: Kind
    /// The plaintext Parquet file, in memory.
    public let file: FileDescriptor
    /// The at-rest envelopes unwrapped to decrypt it (PME: every distinct data key; framed: the file's).
    public let envelopes: [WrappedDataKey]
    /// Size and SHA-256 of the sealed file as it lies on disk.
    public let input: StreamDigest
    /// A sealed frame file's metadata (its manifest); nil for PME.
    public let metadata: SealedMetadata?
    /// A PME file's AAD prefix, stored in it or supplied (retokenize binds its output to the same
    /// prefix, stored as the input stored it).
    public var aadPrefix: [UInt8]? = nil
    /// The input stored its AAD prefix (false: it was supplied).
    public var aadPrefixStored = true
    /// PME: the plaintext is decrypted a row group at a time as it is read (``file`` is its
    /// output); read it through ``ParquetFile/init(window:path:)``.
    public var window: DecryptedParquetWindow? = nil

    /// The plaintext as a Parquet file (through the window, when there is one).
    public func parquetFile(name: String) throws -> ParquetFile {
        if let window { return try ParquetFile(window: window, path: name) }
        return try ParquetFile(file: file, path: name)
    }
}

extension Sealing {
    /// Decrypts a PME file (every module authenticated) into anonymous memory a row group at a
    /// time, as it is read (the memory of the row groups being read, not of the file): the same
    /// unwraps, and so the same authorization (the at-rest token), as `open`, all made here.
    /// - Parameter aadPrefix: the AAD prefix of a file that does not store its own.
    public static func decryptParquetInMemory(path: String, keyring: Keyring, aadPrefix: [UInt8]? = nil) throws -> DecryptedInput {
        // Kept open by the window, which decrypts from it as row groups are read.
        let f = try openRead(path)
        let memory: FileDescriptor
        do { memory = try FileDescriptor.anonymousMemory(label: "\(path) (decrypted in memory)") } catch { throw SealingError(.io, "\(error)") }
        let used = SealedKeysBox()
        let window: DecryptedParquetWindow
        do {
            window = try ParquetDecryption.decryptLazily(
                file: f, path: path, output: memory, aadPrefix: aadPrefix, key: ParquetKeyMaterial.resolver(keyring: keyring, used: used))
        } catch let e as ParquetError { throw sealingError(pme: e) }
        var d = DecryptedInput(
            kind: .pme, file: memory, envelopes: used.keys, input: try digest(of: f, size: try f.size()), metadata: nil,
            aadPrefix: window.info.aadPrefix ?? aadPrefix, aadPrefixStored: window.info.aadPrefix != nil)
        d.window = window
        return d
    }

    /// Opens the frames of a sealed file (every frame authenticated; the reader unwrapped its
    /// data key) into anonymous memory.
    public static func openFramesInMemory(reader: SealedReader) throws -> DecryptedInput {
        let path = reader.path
        let memory: FileDescriptor
        do { memory = try FileDescriptor.anonymousMemory(label: "\(path) (decrypted in memory)") } catch { throw SealingError(.io, "\(error)") }
        for i in 0..<reader.frameCount {
            let frame = try reader.frame(at: i)
            do { try frame.plaintext.withUnsafeBytes { try memory.write($0) } } catch { throw SealingError(.io, "\(error)") }
        }
        let f = try openRead(path)
        defer { try? f.close() }
        return DecryptedInput(
            kind: .framed, file: memory, envelopes: [reader.header.envelope], input: try digest(of: f, size: try f.size()),
            metadata: reader.header.metadata)
    }
}
