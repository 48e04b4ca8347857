import ArgumentParser
import Crypto
import Foundation
import Operations
import Sealing

struct SealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal a file with AES-256-GCM frames under an HSM-wrapped data key (at-rest key).",
        discussion: """
            Layout: docs/sealed-format.md. The output is written to a temporary name and renamed only \
            when complete. A Parquet file is sealed as Parquet Modular Encryption (docs/parquet.md): \
            stock pyarrow decrypts it with tokengate's KmsClient (python/); --framed seals it in \
            frames like any other file.
            Examples:
              tokengate seal safe.csv --out safe.csv.tgs
              cat safe.csv | tokengate seal - --out safe.csv.tgs
              tokengate seal safe.parquet --out sealed.parquet --column-key-columns card,ssn
              tokengate seal safe.parquet --out sealed.parquet --aad-prefix warehouse/customers
            """)
    @Argument(help: "File to seal, or - for stdin (default).") var path: String?
    @Option(name: .customLong("in"), help: "Same as the positional file (kept for scripts).") var inputOption: String?
    @Option(name: .customLong("out"), help: "Sealed file to write.") var output: String
    @Option(help: "At-rest key name.") var key = "datasets"
    @Option(help: "Frame size in bytes.") var frameSize = SealedFormat.defaultFrameSize
    @Flag(help: "Seal a Parquet file in frames (the sealed format) instead of Parquet Modular Encryption.") var framed = false
    @Flag(help: "Parquet Modular Encryption: keep the footer readable (PAR1, signed) instead of encrypting it (PARE).")
    var plaintextFooter = false
    @Option(help: "Parquet Modular Encryption: comma-separated columns under a column key of their own (the rest under the footer key).")
    var columnKeyColumns: String?
    @Flag(help: "Parquet Modular Encryption: AES_GCM_CTR_V1 (pages in AES-CTR, not authenticated; headers and metadata GCM) instead of AES_GCM_V1.")
    var gcmCtr = false
    @Option(
        help:
            "Parquet Modular Encryption: an AAD prefix (text, e.g. the table's name) bound into every module, stored in the file (readers then need not supply it)."
    )
    var aadPrefix: String?
    @Flag(help: "With --aad-prefix: do not store the prefix in the file; every reader must supply it (tokengate open --aad-prefix).")
    var aadPrefixNotStored = false
    @OptionGroup var keys: KeyringOptions

    /// The file to seal: the positional argument or `--in`, else stdin.
    var input: String { path ?? inputOption ?? "-" }

    func validate() throws {
        if let path, let inputOption, path != inputOption {
            throw ValidationError("give the file to seal once: '\(path)' and --in '\(inputOption)' differ")
        }
        if aadPrefixNotStored && aadPrefix == nil { throw ValidationError("--aad-prefix-not-stored needs --aad-prefix") }
        if let aadPrefix, aadPrefix.isEmpty || aadPrefix.utf8.count > 1024 { throw ValidationError("--aad-prefix is 1 to 1024 bytes") }
    }

    func run() throws {
        if !framed, input != "-", Sealing.parquetMagic(path: input).parquet {
            var o = ParquetSealOptions()
            o.keyName = key
            o.plaintextFooter = plaintextFooter
            o.ctr = gcmCtr
            o.aadPrefix = aadPrefix.map { Array($0.utf8) }
            o.storeAADPrefix = !aadPrefixNotStored
            o.columnKeyColumns = (columnKeyColumns ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let r = try keys.open().sealParquet(input: input, output: output, options: o)
            FileHandle.standardError.write(
                Data(
                    "sealed \(r.input.bytes) bytes of Parquet as Parquet Modular Encryption (\(r.rowGroups) row groups, \(r.rows) rows, \(r.envelopes.count) data key(s) wrapped by \(r.envelopes[0].ref.label(version: r.envelopes[0].keyVersion))): \(output)\n"
                        .utf8))
            return
        }
        if plaintextFooter || columnKeyColumns != nil || gcmCtr || aadPrefix != nil {
            throw ValidationError(
                "--plaintext-footer, --column-key-columns, --gcm-ctr and --aad-prefix apply to a Parquet file sealed as Parquet Modular Encryption")
        }
        let r = try keys.open().seal(input: input, output: output, keyName: key, frameSize: frameSize)
        FileHandle.standardError.write(Data("sealed \(r.bytes) bytes into \(r.frames) frames: \(output)\n".utf8))
    }
}

struct OpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Authenticate and decrypt a sealed file (all frames, or --frames for random access).",
        discussion: """
            Every frame is authenticated before a byte of it is released. With --out the plaintext goes \
            to a temporary file renamed only after everything was verified. A Parquet Modular Encryption \
            file opens to a plaintext Parquet file; one written with an AAD prefix it does not store \
            needs --aad-prefix (refused, aadPrefixRequired, without it).
            Examples:
              tokengate open safe.csv.tgs --out safe.csv
              tokengate open safe.csv.tgs --frames 3,7,11 | python3 train.py
              tokengate open sealed.parquet --out clear.parquet --aad-prefix warehouse/customers
            """)
    @Argument(help: "Sealed file.") var path: String
    @Option(name: .customLong("out"), help: "Output file, or - for stdout.") var output = "-"
    @Option(help: "Comma-separated frame indexes to release, in that order.") var frames: String?
    @Option(help: "Permission bits of the output file, octal, set when it is complete (default 600: it holds the plaintext).")
    var mode = "600"
    @Option(help: "Parquet Modular Encryption: the AAD prefix (text) of a file that does not store its own.") var aadPrefix: String?
    @OptionGroup var keys: KeyringOptions

    func validate() throws { _ = try fileMode(mode) }

    func run() throws {
        if Sealing.parquetMagic(path: path).encrypted {
            guard frames == nil else { throw ValidationError("--frames applies to sealed files; \(path) is Parquet Modular Encryption") }
            guard output != "-" else { throw ValidationError("a Parquet Modular Encryption file opens to a Parquet file: give --out FILE") }
            let r = try keys.open().openParquet(path: path, output: output, mode: try fileMode(mode), aadPrefix: aadPrefix.map { Array($0.utf8) })
            FileHandle.standardError.write(Data("opened \(r.rowGroups) row groups, \(r.rows) rows: \(output)\n".utf8))
            return
        }
        if aadPrefix != nil { throw ValidationError("--aad-prefix applies to Parquet Modular Encryption files; \(path) is not one") }
        let list = try frames.map { spec in
            try spec.split(separator: ",").map { s -> Int in
                guard let i = Int(s.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--frames: '\(s)' is not a frame index") }
                return i
            }
        }
        _ = try keys.open().open(path: path, output: output, frames: list, mode: try fileMode(mode))
    }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a sealed file's header (no key needed).",
        discussion: "Example: tokengate inspect safe.csv.tgs --json")
    @Argument(help: "Sealed file.") var path: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        if Sealing.parquetMagic(path: path).parquet {
            try inspectParquet()
            return
        }
        let info = try Gateway.inspect(path: path)
        let h = info.header
        struct Out: Encodable {
            let formatVersion: Int, frameSize: Int, fileID: String, key: String, keyID: String
            let frames: Int?, records: Int?, bytes: Int, metadata: SealedMetadata
        }
        let out = Out(
            formatVersion: Int(h.formatVersion), frameSize: h.frameSize, fileID: Hex.encode(h.fileID),
            key: h.envelope.ref.label(version: h.envelope.keyVersion), keyID: Hex.encode(h.envelope.keyID),
            frames: info.frameCount, records: info.totalRecords, bytes: info.fileSize, metadata: h.metadata)
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(out), as: UTF8.self))
            return
        }
        print("sealed file \(path): format v\(out.formatVersion), \(out.bytes) bytes")
        print("  file id   \(out.fileID)")
        print("  data key  wrapped by \(out.key) (CKA_ID \(out.keyID))")
        print(
            "  frames    \(out.frames.map(String.init) ?? "? (no trailer)") of up to \(out.frameSize) bytes, records \(out.records.map(String.init) ?? "?") (trailer, authenticated only on open)"
        )
        for c in out.metadata.columns {
            print(
                "  column    \(c.name)" + (c.tag.map { " [\($0)]" } ?? "")
                    + (c.key.map { " tokenized by \($0) v\(c.keyVersion ?? 0) id \(c.keyID ?? "?")" } ?? ""))
        }
        for (k, v) in out.metadata.attributes.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
    }
}

extension InspectCommand {
    /// A Parquet Modular Encryption file: footer mode and the footer key's material (the column
    /// keys' material is inside the encrypted footer).
    func inspectParquet() throws {
        guard let info = try Gateway.inspectParquet(path: path) else {
            throw ValidationError("\(path) is a plaintext Parquet file, not sealed")
        }
        let material = try? ParquetKeyMaterial.parse(info.footerKeyMetadata)
        struct Out: Encodable {
            let format: String, algorithm: String, footer: String, fileUnique: String
            let footerKey: String?, footerKeyID: String?
            let aadPrefix: String
        }
        let prefix =
            info.aadPrefix.map { "stored (\($0.count) bytes)" } ?? (info.supplyAADPrefix ? "not stored: readers must supply it (open --aad-prefix)" : "none")
        let out = Out(
            format: "parquet-pme", algorithm: info.algorithm, footer: info.plaintextFooter ? "plaintext (signed)" : "encrypted",
            fileUnique: Hex.encode(info.fileUnique), footerKey: material?.masterKeyID, footerKeyID: material.map { Hex.encode($0.wrapped.keyID) },
            aadPrefix: prefix)
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(out), as: UTF8.self))
            return
        }
        print("Parquet Modular Encryption file \(path): \(out.algorithm), \(out.footer) footer")
        print("  file unique  \(out.fileUnique)")
        print("  aad prefix   \(out.aadPrefix)")
        print("  footer key   \(out.footerKey ?? "not tokengate key material") \(out.footerKeyID.map { "(CKA_ID \($0))" } ?? "")")
    }
}

struct RewrapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewrap",
        abstract: "Move sealed files' key envelopes to the primary at-rest key version (frames untouched).",
        discussion: "Idempotent. Example: tokengate keys rotate at-rest/datasets && tokengate rewrap data/*.tgs")
    @Argument(help: "Sealed files.") var paths: [String]
    @Option(help: "The AAD prefix (text) of PME files that do not store their own (every file named must be PME, written with it).")
    var aadPrefix: String?
    @OptionGroup var keys: KeyringOptions

    func run() throws {
        let gateway = try keys.open()
        for p in paths {
            let r = try gateway.rewrap(path: p, aadPrefix: aadPrefix.map { Array($0.utf8) })
            print(
                r.changed
                    ? "\(p): rewrapped at-rest/\(r.keyName) v\(r.fromVersion) → v\(r.toVersion)"
                    : "\(p): already on at-rest/\(r.keyName) v\(r.toVersion), unchanged")
        }
    }
}
