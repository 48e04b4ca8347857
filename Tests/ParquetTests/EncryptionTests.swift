import Crypto
import Foundation
import Parquet
import SystemIO
import TestSupport
import Testing

/// Parquet Modular Encryption against stock pyarrow, with the oracle's test KMS (`--kms plain`:
/// the key material's `wrappedDEK` is the base64 DEK itself), so these tests need no HSM; the
/// HSM-wrapped keys are tested end to end in TokenizeTests/PMETests.swift.
@Suite(.serialized) struct ParquetEncryptionInterop {
    static func key(footer: Bool, master: String) throws -> (ParquetEncryptionKey, [UInt8]) {
        var dek = try SecureRandom.bytes(32)
        let raw = dek
        // Footer key material names the KMS instance (pyarrow requires it there).
        let kms = footer ? #""kmsInstanceID":"DEFAULT","kmsInstanceURL":"DEFAULT","# : ""
        let json =
            #"{"keyMaterialType":"PKMT1","internalStorage":true,"isFooterKey":\#(footer),"# + kms
            + #""masterKeyID":"\#(master)","wrappedDEK":"\#(Data(raw).base64EncodedString())","doubleWrapping":false}"#
        let k = try ParquetEncryptionKey(secret: SecretBytes(consumingArray: &dek), metadata: Array(json.utf8))
        return (k, raw)
    }

    /// The test KMS on the Swift side: the DEK inside the key material.
    static func resolve(_ metadata: [UInt8]) throws -> ParquetEncryptionKey {
        let obj = try JSONSerialization.jsonObject(with: Data(metadata)) as! [String: Any]
        var dek = [UInt8](Data(base64Encoded: obj["wrappedDEK"] as! String)!)
        return try ParquetEncryptionKey(secret: SecretBytes(consumingArray: &dek), metadata: metadata)
    }

    static func encrypt(_ input: String, _ output: String, plaintextFooter: Bool, columnKeyFor columns: [String], ctr: Bool = false) throws {
        let source = try ParquetFile(path: input)
        let (footer, _) = try key(footer: true, master: "footer")
        let (column, _) = try key(footer: false, master: "column")
        let enc = try ParquetEncryption(
            footerKey: footer, columnKeys: Dictionary(uniqueKeysWithValues: columns.map { ($0, column) }), plaintextFooter: plaintextFooter,
            ctr: ctr)
        let out = try FileDescriptor.open(output, [.writeOnly, .create, .truncate], mode: 0o600)
        defer { try? out.close() }
        try ParquetFileWriter.encrypt(source, to: out, encryption: enc)
    }

    func dir() throws -> String {
        let d = NSTemporaryDirectory() + "tg-pme-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test(arguments: [false, true])
    func pyarrowReadsWhatTokengateEncryptsAndRefusesItWithoutKeysOrTampered(plaintextFooter: Bool) throws {
        let (cdir, _) = try corpus.get()
        let d = try dir()
        for name in ["pa_snappy_v1_dict.parquet", "pa_zstd_v2_plain.parquet"] {
            let input = cdir + "/" + name
            let enc = d + "/enc-\(name)"
            try Self.encrypt(input, enc, plaintextFooter: plaintextFooter, columnKeyFor: ["card", "ssn", "email"])
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: enc)))
            #expect(Array(bytes[0..<4]) == Array((plaintextFooter ? "PAR1" : "PARE").utf8))
            #expect(Array(bytes.suffix(4)) == Array((plaintextFooter ? "PAR1" : "PARE").utf8))
            let out = try PythonOracle.check("pme_check.py", ["read", enc, input, "--kms", "plain"])
            #expect(out.hasPrefix("ok: 1050 rows, 4 row groups"))
            // Without keys: pyarrow cannot read it.
            try PythonOracle.check("pme_check.py", ["must-fail", enc, "--no-kms"])
            // One flipped byte inside the first page module (after the magic, the header
            // module's length, nonce and ciphertext) and the read fails.
            var bad = bytes
            bad[4 + 4 + 12 + 2] ^= 0x01
            try Data(bad).write(to: URL(fileURLWithPath: d + "/bad.parquet"))
            try PythonOracle.check("pme_check.py", ["must-fail", d + "/bad.parquet", "--kms", "plain"])
            // tokengate decrypts its own file back to the plaintext Parquet.
            let back = d + "/back-\(name)"
            try decrypt(enc, back)
            try PythonOracle.check("pme_check.py", ["read", back, input, "--kms", "plain"])
        }
    }

    func decrypt(_ input: String, _ output: String) throws {
        let f = try FileDescriptor.open(input, .readOnly)
        defer { try? f.close() }
        let out = try FileDescriptor.open(output, [.writeOnly, .create, .truncate], mode: 0o600)
        defer { try? out.close() }
        try ParquetDecryption.decrypt(file: f, path: input, output: out, key: Self.resolve)
    }

    /// A PME file decrypted a row group at a time: the copy a tokenize run makes of it (a reader
    /// and a writer copying chunks, in step) equals the file's plaintext, yet never holds more
    /// than two row groups' plaintext, and gives every byte back at the end; a reader that comes
    /// later gets its row groups decrypted again, not freed memory.
    @Test(arguments: [false, true])
    func aWindowHoldsTheRowGroupsBeingReadNotTheFile(ctr: Bool) throws {
        let (cdir, _) = try corpus.get()
        let d = try dir()
        let input = cdir + "/pa_snappy_v1_dict.parquet"
        let enc = d + "/enc.parquet"
        try Self.encrypt(input, enc, plaintextFooter: false, columnKeyFor: ["card", "ssn"], ctr: ctr)
        let f = try FileDescriptor.open(enc, .readOnly)
        let memory = try FileDescriptor.anonymousMemory(label: "window test")
        let window = try ParquetDecryption.decryptLazily(file: f, path: enc, output: memory, key: Self.resolve)
        let file = try ParquetFile(window: window, path: enc)
        let groups = file.metadata.rowGroups.count
        #expect(groups == 4)
        let sizes = (0..<groups).map { window.plaintextBytes(rowGroup: $0) }
        #expect(window.peakResidentBytes == 0 && window.decryptions == 0, "nothing decrypted before it is read")

        let copy = d + "/copy.parquet"
        let out = try FileDescriptor.open(copy, [.writeOnly, .create, .truncate], mode: 0o600)
        do {
            let reader = ParquetBatchReader(file: file, batchRows: 100)
            let writer = try ParquetCopyWriter(source: file, output: out, reencode: [], drop: [])
            while let r = try reader.next() { try writer.write(r.batch) }
            try writer.finish()
        }
        try out.close()
        try PythonOracle.check("pme_check.py", ["read", copy, input, "--kms", "plain"])
        let pairs = (0..<(groups - 1)).map { sizes[$0] + sizes[$0 + 1] }.max() ?? 0
        #expect(window.peakResidentBytes > 0 && window.peakResidentBytes <= pairs, "peak \(window.peakResidentBytes), two row groups \(pairs)")
        #expect(window.peakResidentBytes < sizes.reduce(0, +))
        #expect(window.decryptions == groups, "each row group decrypted once")
        // Every chunk's pages given back: what is left is the footer (and the magic).
        let held = try memory.allocatedBytes()
        #expect(held <= file.size - sizes.reduce(0, +) + 3 * 4096, "\(held) bytes held")

        // A reader after the others: the row groups are decrypted again.
        let late = ParquetBatchReader(file: file, batchRows: 1000)
        var rows = 0
        while let r = try late.next() { rows += r.batch.rowCount }
        #expect(rows == 1050 && window.decryptions == 2 * groups)
        try f.close()
    }

    /// AES_GCM_CTR_V1 on request: pages in AES-CTR (not authenticated), headers and metadata GCM.
    @Test func aesGcmCtrBothWays() throws {
        let (cdir, _) = try corpus.get()
        let d = try dir()
        let input = cdir + "/pa_snappy_v2_dict.parquet"
        try Self.encrypt(input, d + "/ctr.parquet", plaintextFooter: false, columnKeyFor: ["card"], ctr: true)
        try PythonOracle.check("pme_check.py", ["read", d + "/ctr.parquet", input, "--kms", "plain"])
        let f = try FileDescriptor.open(d + "/ctr.parquet", .readOnly)
        #expect(try ParquetDecryption.inspect(file: f, path: d + "/ctr.parquet")?.algorithm == "AES_GCM_CTR_V1")
        try f.close()
        try PythonOracle.check(
            "pme_check.py", ["write", input, d + "/pyarrow-ctr.parquet", "--kms", "plain", "--footer-key", "fk", "--algorithm", "AES_GCM_CTR_V1"])
        try decrypt(d + "/pyarrow-ctr.parquet", d + "/back.parquet")
        try PythonOracle.check("pme_check.py", ["read", d + "/back.parquet", input, "--kms", "plain"])
        // A page header is still GCM: a flipped byte in it fails.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: d + "/ctr.parquet")))
        bytes[4 + 4 + 12 + 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: d + "/bad.parquet"))
        try PythonOracle.check("pme_check.py", ["must-fail", d + "/bad.parquet", "--kms", "plain"])
        #expect(throws: ParquetError.self) { try decrypt(d + "/bad.parquet", d + "/bad-out.parquet") }
    }

    @Test(arguments: [false, true])
    func tokengateDecryptsWhatPyarrowEncrypts(plaintextFooter: Bool) throws {
        let (cdir, _) = try corpus.get()
        let d = try dir()
        let input = cdir + "/pa_gzip_v1_dict.parquet"
        let enc = d + "/pyarrow.parquet"
        var args = ["write", input, enc, "--kms", "plain", "--footer-key", "fk", "--column-key", "ck:card,ssn"]
        if plaintextFooter { args.append("--plaintext-footer") }
        try PythonOracle.check("pme_check.py", args)
        let f = try FileDescriptor.open(enc, .readOnly)
        let info = try ParquetDecryption.inspect(file: f, path: enc)
        try f.close()
        #expect(info?.plaintextFooter == plaintextFooter)
        let back = d + "/back.parquet"
        try decrypt(enc, back)
        _ = try ParquetFile(path: back)
        try PythonOracle.check("pme_check.py", ["read", back, input, "--kms", "plain"])
        // A tampered module is refused by tokengate too: the last byte of the footer module's
        // tag (encrypted footer) or of the footer signature (plaintext footer). The columns
        // pyarrow's configuration names no key for are not encrypted at all.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: enc)))
        bytes[bytes.count - 9] ^= 0x80
        try Data(bytes).write(to: URL(fileURLWithPath: d + "/bad.parquet"))
        #expect(throws: ParquetError.self) { try decrypt(d + "/bad.parquet", d + "/bad-out.parquet") }
    }
}
