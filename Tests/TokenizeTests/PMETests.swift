import Crypto
import Foundation
import Keyring
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

    /// A keyring with an in-use key of this test's own (rotating it disturbs no other test) and the
    /// custodians' detokenize grant; the default policy with card numbers under that key and the
    /// detokenize PIN's file.
    static func retokenizeSetUp() throws -> (cfg: String, dir: String, log: String, policy: String, key: String) {
        let (base, dir, log) = try setUp()
        let name = "pmerk\(UInt32.random(in: 0...UInt32.max))"
        let detokPIN = try SoftHSMFixture.shared.writePINFile(name: "pme-detok.pin", pin: "pme-approver")
        var pinBytes = Array("pme-approver".utf8)
        let verifier = try DetokenizeGrant.verifier(for: SecretBytes(consumingArray: &pinBytes))
        let yaml =
            try String(contentsOfFile: base, encoding: .utf8).replacingOccurrences(of: "date, generic]", with: "date, generic, \(name)]")
            + "grants:\n  detokenize: { pin-verifier: '\(verifier)' }\n"
        let cfg = dir + "/retokenize.yaml"
        try yaml.write(toFile: cfg, atomically: true, encoding: .utf8)
        #expect(try ExecutableRuns.run(["keys", "init", "--keyring", cfg]).status == 0)
        let policy = try String(contentsOfFile: ExecutableRuns.root.path + "/keys-config/policy.default.yaml", encoding: .utf8)
            .replacingOccurrences(of: "domain: pan }", with: "domain: \(name) }")
            .replacingOccurrences(of: "detokenize:\n  allowed: false", with: "detokenize:\n  allowed: true\n  pin: { file: \(detokPIN) }")
        try policy.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
        return (cfg, dir, log, dir + "/policy.yaml", name)
    }

    /// A file's flat columns as dump.py renders them: through pyarrow with the KmsClient (a PME
    /// file), or plain.
    static func columns(_ path: String, kms cfg: String?) throws -> [String: [String?]] {
        let out =
            try cfg.map { try PythonOracle.check("pme_check.py", ["dump", path] + kms($0)) } ?? PythonOracle.check("dump.py", [path])
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        let cols = try #require(obj?["columns"] as? [String: [Any]])
        return cols.mapValues { $0.map { $0 as? String } }
    }

    /// The audit records of `operation` (outcome success) in the log.
    static func records(_ log: String, _ operation: String) throws -> [[String: Any]] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], obj["outcome"] as? String == "success",
                obj["operation"] as? String == operation
            else { return nil }
            return obj
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
        // The reader helpers: read_table, and the row groups in a seeded shuffled order.
        let train = try PythonOracle.check("pme_check.py", ["train", sealed, input] + Self.kms(cfg))
        #expect(train.hasPrefix("ok: 1050 rows in 4 row groups, shuffled"), "\(train)")
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

    /// The README's training example: a CSV feed tokenized to sealed Parquet, read in Python in
    /// shuffled row-group order.
    @Test func theTrainingExampleRuns() throws {
        let (cfg, dir, log) = try Self.setUp()
        let feed = ExecutableRuns.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let safe = dir + "/customers.parquet"
        let t = try ExecutableRuns.run(["tokenize", "--in", feed, "--out", safe, "--seal", "--max-encryption-overhead", "100", "--keyring", cfg])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stderr.contains("sealed: Parquet Modular Encryption"), "\(t.stderr)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: safe)))
        #expect(Array(bytes.prefix(4)) == Array("PARE".utf8))
        let opened = try ExecutableRuns.run(["open", safe, "--out", dir + "/clear.parquet", "--keyring", cfg])
        #expect(opened.status == 0, "\(opened.stderr)")
        let train = try PythonOracle.check("pme_check.py", ["train", safe, dir + "/clear.parquet"] + Self.kms(cfg))
        #expect(train.hasPrefix("ok: 300 rows"), "\(train)")
        // The opened file holds tokens, never the feed's clear card numbers.
        let clear = try PythonOracle.check("dump.py", [dir + "/clear.parquet", "--columns", "card_number"])
        #expect(!clear.contains("4626-8855-6001-9") && clear.contains("card_number"))
        let ops = try Self.operations(log)
        #expect(ops.first == "tokenize" && ops.contains("keys unwrap"), "\(ops)")
    }

    /// Rewrap replaces only the key material (every data byte stays), and pyarrow still reads the
    /// file after the old at-rest version is retired; `keys retire --datasets` sees PME files.
    @Test func rewrapKeepsEveryDataByteAndTheFileOutlivesTheOldKeyVersion() throws {
        let (base, dir, log) = try Self.setUp()
        // A key of this test's own: rotating and retiring it disturbs no other test.
        let name = "pme\(UInt32.random(in: 0...UInt32.max))"
        let yaml = try String(contentsOfFile: base, encoding: .utf8).replacingOccurrences(of: "keys: [datasets]", with: "keys: [datasets, \(name)]")
        let cfg = dir + "/rewrap.yaml"
        try yaml.write(toFile: cfg, atomically: true, encoding: .utf8)
        #expect(try ExecutableRuns.run(["keys", "init", "--keyring", cfg]).status == 0)
        let input = try Self.corpusFile("pa_snappy_v2_dict.parquet")
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let sealed = data + "/sealed.parquet"
        let s = try ExecutableRuns.run(["seal", input, "--out", sealed, "--key", name, "--column-key-columns", "card,ssn", "--keyring", cfg])
        #expect(s.status == 0, "\(s.stderr)")
        // Beside it, a file whose AAD prefix is not stored: its footer is encrypted again under it.
        let hidden = data + "/hidden.parquet", prefix = "warehouse/cards"
        let h = try ExecutableRuns.run([
            "seal", input, "--out", hidden, "--key", name, "--aad-prefix", prefix, "--aad-prefix-not-stored", "--keyring", cfg,
        ])
        #expect(h.status == 0, "\(h.stderr)")
        let before = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sealed)))
        let n = before.count
        let dataEnd = n - 8 - Int(UInt32(before[n - 8]) | UInt32(before[n - 7]) << 8 | UInt32(before[n - 6]) << 16 | UInt32(before[n - 5]) << 24)
        #expect(try ExecutableRuns.run(["keys", "rotate", "at-rest/\(name)", "--keyring", cfg]).status == 0)
        // v1 still wraps the file's keys: retiring it is refused, naming the file.
        let refused = try ExecutableRuns.run(["keys", "retire", "at-rest/\(name)", "--version", "1", "--datasets", data, "--keyring", cfg])
        #expect(refused.status != 0 && refused.stderr.contains("sealed.parquet"), "\(refused.stderr)")
        let r = try ExecutableRuns.run(["rewrap", sealed, "--keyring", cfg])
        #expect(r.status == 0 && String(decoding: r.stdout, as: UTF8.self).contains("v1 → v2"), "\(r.stderr)")
        let after = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sealed)))
        #expect(Array(after[0..<dataEnd]) == Array(before[0..<dataEnd]), "a data byte changed")
        #expect(after != before)
        let again = try ExecutableRuns.run(["rewrap", sealed, "--keyring", cfg])
        #expect(String(decoding: again.stdout, as: UTF8.self).contains("unchanged"))
        let hiddenRefused = try ExecutableRuns.run(["rewrap", hidden, "--keyring", cfg])
        #expect(hiddenRefused.status != 0 && hiddenRefused.stderr.contains("aadPrefixRequired"), "\(hiddenRefused.stderr)")
        let hiddenWrong = try ExecutableRuns.run(["rewrap", hidden, "--aad-prefix", "warehouse/other", "--keyring", cfg])
        #expect(hiddenWrong.status != 0 && hiddenWrong.stderr.contains("moduleAuthenticationFailed"), "\(hiddenWrong.stderr)")
        let hr = try ExecutableRuns.run(["rewrap", hidden, "--aad-prefix", prefix, "--keyring", cfg])
        #expect(hr.status == 0 && String(decoding: hr.stdout, as: UTF8.self).contains("v1 → v2"), "\(hr.stderr)")
        let hiddenInspect = String(decoding: try ExecutableRuns.run(["inspect", hidden]).stdout, as: UTF8.self)
        #expect(hiddenInspect.contains("aad prefix   not stored"), "\(hiddenInspect)")
        let retired = try ExecutableRuns.run(["keys", "retire", "at-rest/\(name)", "--version", "1", "--datasets", data, "--keyring", cfg])
        #expect(retired.status == 0, "\(retired.stderr)")
        try PythonOracle.check("pme_check.py", ["read", sealed, input] + Self.kms(cfg))
        let hiddenOpened = try ExecutableRuns.run(["open", hidden, "--out", dir + "/hidden-clear.parquet", "--aad-prefix", prefix, "--keyring", cfg])
        #expect(hiddenOpened.status == 0, "\(hiddenOpened.stderr)")
        try PythonOracle.check("pme_check.py", ["read", dir + "/hidden-clear.parquet", input, "--kms", "plain"])
        #expect(try Self.operations(log).contains("rewrap"))
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

    /// Issue 17: `retokenize` of a PME file. The card numbers' in-use key is rotated; retokenize
    /// writes a fresh PME file (new data keys, every module encrypted anew) that pyarrow reads
    /// through the KmsClient: the card numbers (and the cards inside free text) are new tokens
    /// that detokenize back to the feed's values, every other column is equal.
    @Test func retokenizeOfAPMEFileMovesItsTokensToTheRotatedKey() throws {
        let (cfg, dir, log, policy, name) = try Self.retokenizeSetUp()
        let feed = ExecutableRuns.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let v1 = dir + "/v1.parquet", v2 = dir + "/v2.parquet"
        let t = try ExecutableRuns.run(
            ["tokenize", "--in", feed, "--out", v1, "--seal", "--max-encryption-overhead", "100", "--policy", policy, "--keyring", cfg])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(try ExecutableRuns.run(["keys", "rotate", "in-use/\(name)", "--keyring", cfg]).status == 0)
        let r = try ExecutableRuns.run(["retokenize", v1, "--out", v2, "--policy", policy, "--keyring", cfg])
        #expect(r.status == 0, "\(r.stderr)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: v2)))
        #expect(Array(bytes.prefix(4)) == Array("PARE".utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: v2)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)

        let old = try Self.columns(v1, kms: cfg)
        let new = try Self.columns(v2, kms: cfg)
        #expect(Set(old.keys) == Set(new.keys) && old.count > 10)
        let (oldCards, newCards) = (try #require(old["card_number"]), try #require(new["card_number"]))
        #expect(oldCards.count == 300 && newCards.count == 300)
        #expect(zip(oldCards, newCards).allSatisfy { $0 == nil ? $1 == nil : $0 != $1 }, "every card token changed")
        for (column, values) in old where column != "card_number" && column != "memo" {
            #expect(new[column] == values, "column \(column) changed")
        }

        // Back to the feed's values: tokengate opens the new file, detokenize follows its manifest.
        let opened = try ExecutableRuns.run(["open", v2, "--out", dir + "/v2-tokens.parquet", "--keyring", cfg])
        #expect(opened.status == 0, "\(opened.stderr)")
        let d = try ExecutableRuns.run([
            "detokenize", "--in", dir + "/v2-tokens.parquet", "--out", dir + "/back.parquet", "--manifest", v2 + ".manifest.json", "--policy", policy,
            "--keyring", cfg,
        ])
        #expect(d.status == 0, "\(d.stderr)")
        let back = try Self.columns(dir + "/back.parquet", kms: nil)
        let rows = try String(contentsOfFile: feed, encoding: .utf8).split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        #expect(back["card_number"]?.map { $0 ?? "" } == rows.map { $0[9] })
        #expect(back["memo"]?.map { $0 ?? "" } == rows.map { $0[20...].joined(separator: ",") })

        // The audit record: the new in-use version, the input's data keys, every output data key.
        let rec = try #require(try Self.records(log, "retokenize").last)
        let keys = (rec["keys"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String }
        #expect(keys.contains("tokengate/in-use/\(name)/v2") && keys.contains("tokengate/at-rest/datasets/v1"), "\(keys)")
        let details = rec["details"] as? [String: String] ?? [:]
        #expect(details["inputEncryption"] == "parquet-pme", "\(details)")
        #expect(details["dataKeys"]?.contains("footer=tokengate/at-rest/datasets/v1 envelope-sha256:") == true, "\(details)")
        #expect(details["dataKeys"]?.contains("column[") == true, "\(details)")
        let tok = try #require(try Self.records(log, "tokenize").last)
        #expect((tok["details"] as? [String: String])?["dataKeys"]?.split(separator: ";").count == 2, "tokenize --seal names both data keys")
        // Lineage: the new file goes back through the retokenize and the tokenize run to the feed.
        let lineage = try ExecutableRuns.run(["audit", "lineage", v2, "--keyring", cfg])
        let text = String(decoding: lineage.stdout, as: UTF8.self)
        #expect(lineage.status == 0 && text.contains("retokenize") && text.contains("customers.csv"), "\(text) \(lineage.stderr)")
    }

    /// Issue 17: a PME file is `scan` and `tokenize` input, decrypted in memory under the unwraps
    /// of `open` (both audited, naming its data keys): the same classification and the same
    /// tokens as its plaintext. A keyring that cannot unwrap its data keys is refused by name,
    /// before anything is read, and leaves no output.
    @Test func aPMEFileIsScanAndTokenizeInputUnderTheUnwrapsOfOpen() throws {
        let (cfg, dir, log) = try Self.setUp()
        let feed = ExecutableRuns.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let plain = dir + "/customers.parquet", sealed = dir + "/sealed"  // no extension: PARE names it Parquet
        try PythonOracle.check("pme_check.py", ["from-csv", feed, plain])
        let s = try ExecutableRuns.run(["seal", plain, "--out", sealed, "--column-key-columns", "card_number,ssn", "--keyring", cfg])
        #expect(s.status == 0, "\(s.stderr)")
        // The seal record names both data keys by their envelopes, the at-rest version once.
        let sealRec = try #require(try Self.records(log, "seal").last)
        let dataKeys = (sealRec["details"] as? [String: String])?["dataKeys"] ?? ""
        #expect(
            dataKeys.hasPrefix("footer=tokengate/at-rest/datasets/v1 envelope-sha256:")
                && dataKeys.contains("; column[card_number,ssn]=tokengate/at-rest/datasets/v1 envelope-sha256:"), "\(dataKeys)")
        #expect((sealRec["keys"] as? [[String: Any]])?.count == 1)

        let clearScan = try ExecutableRuns.run(["scan", plain, "--json"])
        let sealedScan = try ExecutableRuns.run(["scan", sealed, "--json", "--keyring", cfg])
        #expect(sealedScan.status == 0, "\(sealedScan.stderr)")
        #expect(sealedScan.stdout == clearScan.stdout && String(decoding: clearScan.stdout, as: UTF8.self).contains("\"pan\""))
        let scanRec = try #require(try Self.records(log, "scan").last)
        #expect((scanRec["details"] as? [String: String])?["inputEncryption"] == "parquet-pme")

        let a = try ExecutableRuns.run(["tokenize", "--in", plain, "--out", dir + "/a.parquet", "--keyring", cfg])
        let b = try ExecutableRuns.run(["tokenize", "--in", sealed, "--out", dir + "/b.parquet", "--keyring", cfg])
        #expect(a.status == 0 && b.status == 0, "\(b.stderr)")
        #expect(b.stderr.contains("input: Parquet Modular Encryption, decrypted in memory"), "\(b.stderr)")
        let (ta, tb) = (try Self.columns(dir + "/a.parquet", kms: nil), try Self.columns(dir + "/b.parquet", kms: nil))
        #expect(ta == tb && ta["card_number"] != nil)
        #expect(ta["card_number"] != (try Self.columns(plain, kms: nil))["card_number"], "the card numbers are tokens")
        let tok = try #require(try Self.records(log, "tokenize").last)
        #expect((tok["details"] as? [String: String])?["inputEncryption"] == "parquet-pme")
        #expect((tok["keys"] as? [[String: Any]] ?? []).contains { $0["label"] as? String == "tokengate/at-rest/datasets/v1" })

        // A keyring whose at-rest keys do not include the file's: refused by name, no output.
        let other = dir + "/other.yaml"
        try String(contentsOfFile: cfg, encoding: .utf8).replacingOccurrences(of: "keys: [datasets]", with: "keys: [pmenone]").write(
            toFile: other, atomically: true, encoding: .utf8)
        let refused = try ExecutableRuns.run(["tokenize", "--in", sealed, "--out", dir + "/c.parquet", "--keyring", other])
        #expect(refused.status != 0 && refused.stderr.contains("encryptedInputRefused"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/c.parquet"))
        // Declared as text, or on stdin (no file to decrypt from its end), it is refused, never parsed as text.
        let asCSV = try ExecutableRuns.run(["tokenize", "--in", sealed, "--format", "csv", "--out", dir + "/c.csv", "--keyring", cfg])
        #expect(asCSV.status != 0 && asCSV.stderr.contains("cannot be read as csv"), "\(asCSV.stderr)")
        let piped = try ExecutableRuns.run(["tokenize", "--keyring", cfg], stdin: try Data(contentsOf: URL(fileURLWithPath: sealed)))
        #expect(piped.status != 0 && piped.stderr.contains("PARE magic") && piped.stdout.isEmpty, "\(piped.stderr)")
        let refusedScan = try ExecutableRuns.run(["scan", sealed, "--keyring", other])
        #expect(refusedScan.status != 0 && refusedScan.stderr.contains("encryptedInputRefused") && refusedScan.stdout.isEmpty, "\(refusedScan.stderr)")
    }

    /// Issue 17: AAD prefixes. A prefix stored in the file: stock pyarrow (through the KmsClient)
    /// reads tokengate's file by itself, so the modules' additional data (prefix ‖ file unique ‖
    /// …) is the spec's, and tokengate opens it. A prefix not stored: pyarrow's KmsClient path
    /// cannot supply one and fails; tokengate refuses it by name (`aadPrefixRequired`, before any
    /// key is unwrapped) unless `--aad-prefix` gives it, and a wrong one does not authenticate.
    @Test func anAADPrefixStoredOpensAndOneToSupplyIsRefusedByNameUnlessGiven() throws {
        let (cfg, dir, _, policy, _) = try Self.retokenizeSetUp()
        let input = try Self.corpusFile("pa_snappy_v1_dict.parquet")
        let stored = dir + "/stored.parquet", hidden = dir + "/hidden.parquet"
        let prefix = "warehouse/customers"
        let s = try ExecutableRuns.run(["seal", input, "--out", stored, "--aad-prefix", prefix, "--column-key-columns", "card,ssn", "--keyring", cfg])
        #expect(s.status == 0, "\(s.stderr)")
        try PythonOracle.check("pme_check.py", ["read", stored, input] + Self.kms(cfg))
        let opened = try ExecutableRuns.run(["open", stored, "--out", dir + "/stored-clear.parquet", "--keyring", cfg])
        #expect(opened.status == 0, "\(opened.stderr)")
        try PythonOracle.check("pme_check.py", ["read", dir + "/stored-clear.parquet", input, "--kms", "plain"])
        let inspect = String(decoding: try ExecutableRuns.run(["inspect", stored]).stdout, as: UTF8.self)
        #expect(inspect.contains("aad prefix   stored (\(prefix.utf8.count) bytes)"), "\(inspect)")

        let h = try ExecutableRuns.run(["seal", input, "--out", hidden, "--aad-prefix", prefix, "--aad-prefix-not-stored", "--keyring", cfg])
        #expect(h.status == 0, "\(h.stderr)")
        try PythonOracle.check("pme_check.py", ["must-fail", hidden] + Self.kms(cfg))
        let refused = try ExecutableRuns.run(["open", hidden, "--out", dir + "/never.parquet", "--keyring", cfg])
        #expect(refused.status != 0 && refused.stderr.contains("aadPrefixRequired") && refused.stderr.contains("--aad-prefix"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/never.parquet"))
        let wrong = try ExecutableRuns.run(["open", hidden, "--out", dir + "/never.parquet", "--aad-prefix", "warehouse/orders", "--keyring", cfg])
        #expect(wrong.status != 0 && wrong.stderr.contains("moduleAuthenticationFailed"), "\(wrong.stderr)")
        let given = try ExecutableRuns.run(["open", hidden, "--out", dir + "/hidden-clear.parquet", "--aad-prefix", prefix, "--keyring", cfg])
        #expect(given.status == 0, "\(given.stderr)")
        try PythonOracle.check("pme_check.py", ["read", dir + "/hidden-clear.parquet", input, "--kms", "plain"])
        let scan = try ExecutableRuns.run(["scan", hidden, "--keyring", cfg])
        #expect(scan.status != 0 && scan.stderr.contains("aadPrefixRequired"), "\(scan.stderr)")
        let scanGiven = try ExecutableRuns.run(["scan", hidden, "--aad-prefix", prefix, "--keyring", cfg])
        #expect(scanGiven.status == 0 && String(decoding: scanGiven.stdout, as: UTF8.self).contains("card"), "\(scanGiven.stderr)")
        // tokenize reads such a file only with its prefix, into the tokens its plaintext gives.
        let customers = ExecutableRuns.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let flat = dir + "/customers.parquet", flatHidden = dir + "/customers-hidden.parquet"
        try PythonOracle.check("pme_check.py", ["from-csv", customers, flat])
        let fh = try ExecutableRuns.run(["seal", flat, "--out", flatHidden, "--aad-prefix", prefix, "--aad-prefix-not-stored", "--keyring", cfg])
        #expect(fh.status == 0, "\(fh.stderr)")
        let tokRefused = try ExecutableRuns.run(["tokenize", "--in", flatHidden, "--out", dir + "/never-tokens.parquet", "--keyring", cfg])
        #expect(tokRefused.status != 0 && tokRefused.stderr.contains("aadPrefixRequired"), "\(tokRefused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/never-tokens.parquet"))
        let tokGiven = try ExecutableRuns.run([
            "tokenize", "--in", flatHidden, "--aad-prefix", prefix, "--out", dir + "/hidden-tokens.parquet", "--keyring", cfg,
        ])
        let tokPlain = try ExecutableRuns.run(["tokenize", "--in", flat, "--out", dir + "/plain-tokens.parquet", "--keyring", cfg])
        #expect(tokGiven.status == 0 && tokPlain.status == 0, "\(tokGiven.stderr)")
        let (tg, tp) = (try Self.columns(dir + "/hidden-tokens.parquet", kms: nil), try Self.columns(dir + "/plain-tokens.parquet", kms: nil))
        let clearCards = try Self.columns(flat, kms: nil)["card_number"]
        #expect(tg == tp && tg["card_number"] != nil && tg["card_number"] != clearCards)

        // tokenize --seal writes the prefix into its PME output: stored (pyarrow reads it with the
        // KmsClient alone), or not stored (supplied to every reader); sealed frames take none.
        let sealedStored = dir + "/tok-stored.parquet", sealedHidden = dir + "/tok-hidden.parquet"
        let ts = try ExecutableRuns.run([
            "tokenize", "--in", customers, "--out", sealedStored, "--seal", "--seal-aad-prefix", prefix, "--max-encryption-overhead", "100",
            "--keyring", cfg,
        ])
        #expect(ts.status == 0, "\(ts.stderr)")
        let tsInspect = String(decoding: try ExecutableRuns.run(["inspect", sealedStored]).stdout, as: UTF8.self)
        #expect(tsInspect.contains("aad prefix   stored (\(prefix.utf8.count) bytes)"), "\(tsInspect)")
        try PythonOracle.check("pme_check.py", ["read", sealedStored, dir + "/plain-tokens.parquet"] + Self.kms(cfg))
        let th = try ExecutableRuns.run([
            "tokenize", "--in", customers, "--out", sealedHidden, "--seal", "--seal-aad-prefix", prefix, "--seal-aad-prefix-not-stored",
            "--max-encryption-overhead", "100", "--keyring", cfg,
        ])
        #expect(th.status == 0, "\(th.stderr)")
        try PythonOracle.check("pme_check.py", ["must-fail", sealedHidden] + Self.kms(cfg))
        let thOpen = try ExecutableRuns.run(["open", sealedHidden, "--out", dir + "/never.parquet", "--keyring", cfg])
        #expect(thOpen.status != 0 && thOpen.stderr.contains("aadPrefixRequired"), "\(thOpen.stderr)")
        let thGiven = try ExecutableRuns.run(["open", sealedHidden, "--out", dir + "/tok-hidden-clear.parquet", "--aad-prefix", prefix, "--keyring", cfg])
        #expect(thGiven.status == 0, "\(thGiven.stderr)")
        try PythonOracle.check("pme_check.py", ["read", dir + "/tok-hidden-clear.parquet", dir + "/plain-tokens.parquet", "--kms", "plain"])
        let framed = try ExecutableRuns.run([
            "tokenize", "--in", customers, "--out", dir + "/never.tgs", "--seal", "--seal-aad-prefix", prefix, "--keyring", cfg,
        ])
        #expect(framed.status != 0 && framed.stderr.contains("--seal-aad-prefix needs a Parquet Modular Encryption output"), "\(framed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/never.tgs"))

        // pyarrow writes AAD prefixes only under a direct key (no key metadata, so no key tokengate
        // could unwrap): tokengate reads where pyarrow put the prefix, and refuses both files by name.
        let pyStored = dir + "/py-stored.parquet", pyHidden = dir + "/py-hidden.parquet"
        try PythonOracle.check("pme_check.py", ["write-direct", input, pyStored, "--aad-prefix", prefix])
        try PythonOracle.check("pme_check.py", ["write-direct", input, pyHidden, "--aad-prefix", prefix, "--aad-prefix-not-stored"])
        let pyInspect = String(decoding: try ExecutableRuns.run(["inspect", pyStored]).stdout, as: UTF8.self)
        #expect(pyInspect.contains("aad prefix   stored (\(prefix.utf8.count) bytes)"), "\(pyInspect)")
        let pyRefused = try ExecutableRuns.run(["open", pyHidden, "--out", dir + "/never.parquet", "--keyring", cfg])
        #expect(pyRefused.status != 0 && pyRefused.stderr.contains("aadPrefixRequired"), "\(pyRefused.stderr)")
        let noKey = try ExecutableRuns.run(["open", pyStored, "--out", dir + "/never.parquet", "--keyring", cfg])
        #expect(noKey.status != 0 && noKey.stderr.contains("not JSON key material"), "\(noKey.stderr)")

        // retokenize keeps a PME file bound to its stored prefix.
        let feed = ExecutableRuns.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let tokens = dir + "/tokens.parquet", bound = dir + "/bound.parquet", moved = dir + "/moved.parquet"
        #expect(try ExecutableRuns.run(["tokenize", "--in", feed, "--out", tokens, "--policy", policy, "--keyring", cfg]).status == 0)
        #expect(try ExecutableRuns.run(["seal", tokens, "--out", bound, "--aad-prefix", prefix, "--keyring", cfg]).status == 0)
        let r = try ExecutableRuns.run([
            "retokenize", bound, "--out", moved, "--manifest", tokens + ".manifest.json", "--policy", policy, "--keyring", cfg,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let movedInspect = String(decoding: try ExecutableRuns.run(["inspect", moved]).stdout, as: UTF8.self)
        #expect(movedInspect.contains("aad prefix   stored (\(prefix.utf8.count) bytes)"), "\(movedInspect)")
        // ... and to one it must be given (--aad-prefix), which the output does not store either.
        let boundHidden = dir + "/bound-hidden.parquet", movedHidden = dir + "/moved-hidden.parquet"
        #expect(
            try ExecutableRuns.run(["seal", tokens, "--out", boundHidden, "--aad-prefix", prefix, "--aad-prefix-not-stored", "--keyring", cfg]).status
                == 0)
        let rh = try ExecutableRuns.run([
            "retokenize", boundHidden, "--out", movedHidden, "--aad-prefix", prefix, "--manifest", tokens + ".manifest.json", "--policy", policy,
            "--keyring", cfg,
        ])
        #expect(rh.status == 0, "\(rh.stderr)")
        let hiddenInspect = String(decoding: try ExecutableRuns.run(["inspect", movedHidden]).stdout, as: UTF8.self)
        #expect(hiddenInspect.contains("aad prefix   not stored"), "\(hiddenInspect)")
        let openedHidden = try ExecutableRuns.run(["open", movedHidden, "--out", dir + "/moved-hidden-clear.parquet", "--aad-prefix", prefix, "--keyring", cfg])
        #expect(openedHidden.status == 0, "\(openedHidden.stderr)")
    }
}
