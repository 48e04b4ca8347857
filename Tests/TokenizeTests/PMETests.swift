import Foundation
import TestSupport
import Testing

/// Parquet Modular Encryption end to end, as a training job sees it: the `tokengate` executable
/// seals Parquet with data keys from SoftHSM2 wrapped by the at-rest key, and stock pyarrow reads
/// it through the project's KmsClient (python/tokengate), which runs `tokengate keys unwrap`.
@Suite(.serialized) struct ParquetModularEncryption {
    /// The CLI fixture tokens' keyring with an audit log of this test's own.
    static func setUp() throws -> (cfg: String, dir: String, log: String) {
        let base = try ExecutableRuns.keyringConfig()
        #expect(try ExecutableRuns.run(["keys", "init", "--keyring", base]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/pme-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let log = dir + "/audit.jsonl"
        try (try String(contentsOfFile: base, encoding: .utf8) + "audit-log: \(log)\n").write(
            toFile: dir + "/keyring.yaml", atomically: true, encoding: .utf8)
        return (dir + "/keyring.yaml", dir, log)
    }

    static func corpusFile(_ name: String) throws -> String { try PythonOracle.corpus.get().dir + "/" + name }

    /// The oracle's `--kms tokengate` arguments.
    static func kms(_ cfg: String) throws -> [String] {
        ["--kms", "tokengate", "--tokengate", try ExecutableRuns.executable().path, "--keyring", cfg]
    }

    static func operations(_ log: String) throws -> [String] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], obj["outcome"] as? String == "success" else {
                return nil
            }
            return obj["operation"] as? String
        }
    }

    @Test(arguments: [false, true])
    func pyarrowReadsSealedParquetThroughTheKmsClientAndNothingElse(plaintextFooter: Bool) throws {
        let (cfg, dir, log) = try Self.setUp()
        let input = try Self.corpusFile("pa_snappy_v1_dict.parquet")
        let sealed = dir + "/sealed.parquet"
        var args = ["seal", input, "--out", sealed, "--column-key-columns", "card,ssn,email", "--keyring", cfg]
        if plaintextFooter { args.append("--plaintext-footer") }
        let s = try ExecutableRuns.run(args)
        #expect(s.status == 0, "\(s.stderr)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sealed)))
        #expect(Array(bytes.prefix(4)) == Array((plaintextFooter ? "PAR1" : "PARE").utf8))

        // Stock pyarrow, pq.read_table and pq.ParquetFile, with CryptoFactory + the KmsClient.
        let out = try PythonOracle.check("pme_check.py", ["read", sealed, input] + Self.kms(cfg))
        #expect(out.hasPrefix("ok: 1050 rows, 4 row groups"), "\(out)")
        // Without the KmsClient, pyarrow cannot read it.
        try PythonOracle.check("pme_check.py", ["must-fail", sealed, "--no-kms"])
        // One flipped byte in the first page header module, and pyarrow refuses it.
        var bad = bytes
        bad[4 + 4 + 12 + 2] ^= 0x01  // magic, module length, nonce
        try Data(bad).write(to: URL(fileURLWithPath: dir + "/bad.parquet"))
        try PythonOracle.check("pme_check.py", ["must-fail", dir + "/bad.parquet"] + Self.kms(cfg))

        // tokengate opens it back to the plaintext Parquet file; inspect needs no key.
        let opened = try ExecutableRuns.run(["open", sealed, "--out", dir + "/opened.parquet", "--keyring", cfg])
        #expect(opened.status == 0, "\(opened.stderr)")
        try PythonOracle.check("pme_check.py", ["read", dir + "/opened.parquet", input, "--kms", "plain"])
        let inspect = try ExecutableRuns.run(["inspect", sealed])
        let text = String(decoding: inspect.stdout, as: UTF8.self)
        #expect(text.contains("Parquet Modular Encryption") && text.contains("tokengate/at-rest/datasets/v1"), "\(text)")
        // Sealing, pyarrow's unwraps and the open are all in the audit trail.
        let ops = try Self.operations(log)
        #expect(ops.first == "seal" && ops.contains("keys unwrap") && ops.last == "open", "\(ops)")
    }

    @Test func aPyarrowWrittenPMEFileOpensInTokengate() throws {
        let (cfg, dir, log) = try Self.setUp()
        let input = try Self.corpusFile("pa_zstd_v2_dict.parquet")
        let enc = dir + "/pyarrow.parquet"
        // pyarrow writes it; tokengate wraps pyarrow's DEKs in the HSM (`keys wrap`).
        try PythonOracle.check(
            "pme_check.py", ["write", input, enc, "--footer-key", "at-rest/datasets", "--column-key", "at-rest/datasets:card,ssn"] + Self.kms(cfg))
        let opened = try ExecutableRuns.run(["open", enc, "--out", dir + "/opened.parquet", "--keyring", cfg])
        #expect(opened.status == 0, "\(opened.stderr)")
        try PythonOracle.check("pme_check.py", ["read", dir + "/opened.parquet", input, "--kms", "plain"])
        #expect(try Self.operations(log).filter { $0 == "keys wrap" }.count >= 2)  // footer and column DEKs
        // A DEK that is not 256 bits is refused by `keys wrap`, and a master key id naming
        // another key than the envelope's by `keys unwrap`.
        let short = try ExecutableRuns.run(["keys", "wrap", "--master-key-id", "at-rest/datasets", "--keyring", cfg], stdin: Data("AAAA\n".utf8))
        #expect(short.status != 0)
        let wrapped = try ExecutableRuns.run(
            ["keys", "wrap", "--master-key-id", "at-rest/datasets", "--keyring", cfg], stdin: Data((Data(count: 32).base64EncodedString() + "\n").utf8))
        #expect(wrapped.status == 0, "\(wrapped.stderr)")
        let other = try ExecutableRuns.run(["keys", "unwrap", "--master-key-id", "tokengate/at-rest/datasets/v9", "--keyring", cfg], stdin: wrapped.stdout)
        #expect(other.status != 0 && other.stderr.contains("not by the master key"), "\(other.stderr)")
        let back = try ExecutableRuns.run(["keys", "unwrap", "--master-key-id", "at-rest/datasets", "--keyring", cfg], stdin: wrapped.stdout)
        #expect(
            back.status == 0
                && String(decoding: back.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == Data(count: 32).base64EncodedString())
    }
}
