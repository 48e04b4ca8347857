import Audit
public import Crypto
import Foundation
public import Keyring
public import Parquet
public import Sealing
import Tokenize

extension Gateway {
    /// Seals a plaintext Parquet file as Parquet Modular Encryption (pyarrow decrypts it with
    /// tokengate's KmsClient): footer key and, for `options.columnKeyColumns`, a column key, both
    /// drawn from the HSM's RNG and wrapped by the at-rest key. Audited as `seal`.
    public func sealParquet(input: String, output: String, options: ParquetSealOptions) throws -> ParquetSealResult {
        try audited("seal", inputs: [AuditFile(path: absolute(input, stream: "stdin"))]) { record in
            let r = try Sealing.sealParquet(input: input, output: output, keyring: keyring, options: options)
            record.inputs = [AuditFile(absolute(input, stream: "stdin"), r.input)]
            record.outputs = [AuditFile(absolute(output, stream: "stdout"), r.output)]
            record.keys = r.envelopes.map(AuditKey.init(envelope:))
            record.details = [
                "format": "parquet-pme", "algorithm": options.ctr ? "AES_GCM_CTR_V1" : "AES_GCM_V1",
                "footer": options.plaintextFooter ? "plaintext" : "encrypted", "rowGroups": "\(r.rowGroups)",
                "fileUnique": r.fileID,
            ]
            if !options.columnKeyColumns.isEmpty { record.details["columnKeyColumns"] = options.columnKeyColumns.joined(separator: ",") }
            if options.aadPrefix != nil { record.details["aadPrefix"] = options.storeAADPrefix ? "stored" : "not stored" }
            // Every data key by its envelope (the footer key and the column key share the at-rest
            // key version, so `keys` names that version once).
            record.keys = record.keys.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
            record.details["dataKeys"] = AuditRecord.describe(
                try r.envelopes.enumerated().map { i, w in
                    try DataKeyReport(role: i == 0 ? "footer" : "column", columns: i == 0 ? nil : options.columnKeyColumns, envelope: w)
                })
            return r
        }
    }

    /// Decrypts a Parquet Modular Encryption file (written by tokengate, or by pyarrow with
    /// tokengate's KmsClient) into a plaintext Parquet file; every module is authenticated.
    /// Audited as `open`, naming every data key unwrapped.
    /// - Parameter aadPrefix: the AAD prefix of a file that does not store its own (a file that
    ///   needs one and is given none is refused, `aadPrefixRequired`).
    public func openParquet(path: String, output: String, mode: UInt32 = 0o600, aadPrefix: [UInt8]? = nil) throws -> ParquetOpenResult {
        try audited("open", inputs: [AuditFile(path: absolute(path, stream: "stdin"))]) { record in
            let r = try Sealing.openParquet(path: path, output: output, keyring: keyring, mode: mode, aadPrefix: aadPrefix)
            record.inputs = [AuditFile(absolute(path, stream: "stdin"), r.input)]
            record.outputs = [AuditFile(absolute(output, stream: "stdout"), r.output)]
            record.keys = r.envelopes.map(AuditKey.init(envelope:))
            record.details = ["format": "parquet-pme", "rowGroups": "\(r.rowGroups)"]
            if aadPrefix != nil { record.details["aadPrefix"] = "supplied" }
            return r
        }
    }

    /// Unwraps one Parquet data key inside the HSM for pyarrow's KmsClient (`keys unwrap`):
    /// `wrappedDEK` is the key material's base64 envelope, `masterKeyID` its master key id. The
    /// key is handed to `deliver` and released (zeroized) when it returns. Audited as
    /// `keys unwrap` (the key version, never the key), authorized like `open`: by the at-rest
    /// token's PIN. `details` adds to the record (`tokengate serve`: the client and role).
    public func unwrapParquetKey(
        masterKeyID: String, wrappedDEK: String, details: [String: String] = [:], deliver: (borrowing SecretBytes) throws -> Void
    ) throws {
        try audited("keys unwrap") { record in
            record.details = details.merging(["masterKeyID": masterKeyID, "format": "parquet-pme"]) { _, ours in ours }
            let w = try ParquetKeyMaterial.envelope(base64: wrappedDEK)
            record.keys = [AuditKey(envelope: w)]
            let secret = try ParquetKeyMaterial.unwrap(w, masterKeyID: masterKeyID, keyring: keyring)
            try deliver(secret)
        }
    }

    /// Wraps a caller's 32-byte Parquet data key under the primary version of the at-rest key
    /// `masterKeyID` names (`keys wrap`, pyarrow's KmsClient writing PME files). Audited as
    /// `keys wrap`.
    /// - Returns: the envelope, base64 (the key material's `wrappedDEK`).
    public func wrapParquetKey(masterKeyID: String, key: borrowing SecretBytes) throws -> String {
        guard key.count == WrappedDataKey.dataKeyLength else {
            throw OperationError(.invalidArgument, "a Parquet data key for tokengate is 32 bytes (AES-256), got \(key.count)")
        }
        return try audited("keys wrap") { record in
            record.details = ["masterKeyID": masterKeyID, "format": "parquet-pme"]
            let w = try ParquetKeyMaterial.wrap(key, masterKeyID: masterKeyID, keyring: keyring)
            record.keys = [AuditKey(envelope: w)]
            return Data(w.serialized).base64EncodedString()
        }
    }

    /// A PME file's encryption (footer mode, footer key material), nil for a plaintext Parquet
    /// file. Needs no key; not audited.
    public static func inspectParquet(path: String) throws -> ParquetEncryptionInfo? {
        try Sealing.inspectParquet(path: path)
    }
}

extension AuditKey {
    /// The at-rest key version that wraps a data key.
    init(envelope w: WrappedDataKey) {
        self.init(label: w.ref.label(version: w.keyVersion), id: Hex.encode(w.keyID), version: w.keyVersion)
    }
}
