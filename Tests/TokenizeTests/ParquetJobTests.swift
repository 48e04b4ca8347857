import Crypto
import Foundation
import Keyring
import Sealing
import TestSupport
import Testing
import Tokenize

/// Tags the corpus's PII columns by name (card numbers as strings and as INT64).
let parquetByName: TokenizeJob.Classifier = { batch in
    batch.names.map { ["card": "pan", "card_int": "pan", "ssn": "ssn", "email": "email"][$0] }
}

@Suite(.serialized) struct ParquetJobs {
    func policy(_ prefix: String, extra: String = "") throws -> Policy {
        try Policy.load(
            path: writePolicy(
                """
                version: 1
                tags:
                  pan: { transform: card, domain: \(prefix)-pan }
                  ssn: { transform: ssn, domain: \(prefix)-ssn }
                  email: { transform: email, domain: \(prefix)-email }
                detokenize: { allowed: true }
                \(extra)
                """))
    }

    func corpusFile(_ name: String) throws -> String {
        let c = try PythonOracle.corpus.get()
        let f = try #require(c.files.first { $0 == name }, "no corpus file \(name) in \(c.files)")
        return c.dir + "/" + f
    }

    /// The nested columns of the corpus, named keep after review.
    func nestedKept(_ input: String) throws -> String {
        let out = try PythonOracle.check("dump.py", [input, "--nested-names"])
        let names = out.split(separator: "\n").map(String.init)
        #expect(!names.isEmpty)
        return "columns:\n" + names.map { "  \($0): { action: keep }\n" }.joined()
    }

    @Test func aNestedColumnThePolicyDoesNotNameStopsTheRun() throws {
        let kr = try keyring(["pqn-pan", "pqn-ssn", "pqn-email"])
        let dir = try tempDir()
        var o = TokenizeJob.Options()
        o.input = try corpusFile("pa_snappy_v1_dict.parquet")
        o.output = dir + "/out.parquet"
        do {
            _ = try TokenizeJob.run(o, policy: policy("pqn"), keyring: kr, classify: parquetByName)
            Issue.record("a nested column passed unexamined")
        } catch let e as JobError {
            #expect(e.code == .columnUnresolved && e.reason.contains("nested"), "\(e)")
        }
        #expect(!FileManager.default.fileExists(atPath: o.output))
    }

    @Test func theResidualScanStopsAParquetRunNamingRecordAndColumn() throws {
        let kr = try keyring(["pqr-pan", "pqr-ssn", "pqr-email"])
        let dir = try tempDir()
        var o = TokenizeJob.Options()
        o.input = try corpusFile("pa_snappy_v1_dict.parquet")
        o.output = dir + "/out.parquet"
        o.rejectsPath = dir + "/rejects.jsonl"
        do {
            _ = try TokenizeJob.run(o, policy: policy("pqr", extra: nestedKept(o.input)), keyring: kr, classify: parquetByName)
            Issue.record("a clear card-like value in a kept column passed")
        } catch let e as JobError {
            // A Parquet output cannot set a row aside (its other columns are copied whole): it stops.
            #expect(e.code == .recordRejected && e.reason.contains("record 108, column 'int64'") && e.reason.contains("residual scan"), "\(e)")
        }
        #expect(!FileManager.default.fileExists(atPath: o.output))
    }

    /// pyarrow's files, and parquet-mr's (Spark SQL's writer: INT96, DELTA encodings, pages v2,
    /// dictionary-encoded cards, a card number stored as INT64).
    @Test(arguments: [
        "pa_snappy_v2_dict", "pa_zstd_v1_plain", "pa_gzip_v1_dict", "pa_none_v2_plain", "pa_lz4_v1_dict", "pa_empty_first",
        "mr_snappy_v1", "mr_zstd_v2",
    ])
    func tokenizeThenDetokenizeGivesTheInputBack(_ file: String) throws {
        let domain = String(file.prefix(2)) + file.dropFirst(3).prefix(3)
        let kr = try keyring(["\(domain)-pan", "\(domain)-ssn", "\(domain)-email"])
        let dir = try tempDir()
        let input = try corpusFile("\(file).parquet")
        let skip = file.contains("_v2") ? ["--skip-reader", "fastparquet"] : []
        let p = try policy(domain, extra: nestedKept(input))
        var o = TokenizeJob.Options()
        o.input = input
        o.output = dir + "/safe.parquet"
        o.batchRows = 512
        // The corpus's random int64 column holds a value that passes the card validators (see
        // theResidualScanStopsAParquetRunNamingRecordAndColumn); this test is about the round trip.
        o.verifyOutput = false
        let s = try TokenizeJob.run(o, policy: p, keyring: kr, classify: parquetByName)
        #expect(s.format == "parquet" && s.reconciles && s.rowsRejected == 0 && s.rowsIn > 0 && s.rowsOut == s.rowsIn)
        #expect(s.inputSHA256 != nil && s.outputSHA256 != nil)
        // The audit record's digests are those of the files (the output's shares the input's
        // state up to the first re-encoded chunk).
        #expect(s.inputSHA256 == Hex.encode(try SHA256.hash([UInt8](Data(contentsOf: URL(fileURLWithPath: input))))))
        #expect(s.outputSHA256 == Hex.encode(try SHA256.hash([UInt8](Data(contentsOf: URL(fileURLWithPath: o.output))))))
        let tokenized = s.columns.filter { $0.action == "tokenize" }.map(\.name).sorted()
        #expect(tokenized == ["card", "card_int", "email", "ssn"])
        try PythonOracle.check("verify_tokenized.py", [input, o.output, "--tokenized", tokenized.joined(separator: ",")] + skip)

        var d = TokenizeJob.Options()
        d.mode = .detokenize
        d.input = o.output
        d.output = dir + "/back.parquet"
        let s2 = try TokenizeJob.run(d, policy: p, keyring: kr, classify: parquetByName, authorization: grantedForTests)
        #expect(s2.reconciles && s2.rowsOut == s.rowsIn)
        // Every column equal to the input again (values, schema, metadata, statistics; three readers).
        try PythonOracle.check("verify_tokenized.py", [input, d.output] + skip)
    }

    /// Issue 17: `retokenize` of a sealed frame file holding Parquet (`tokenize --seal --out x.tgs`
    /// of a Parquet input): its frames are opened in memory, the card tokens moved to the rotated
    /// key and the Parquet file sealed again — equal to a fresh tokenize under the primary versions.
    @Test func aSealedParquetDatasetRetokenizes() throws {
        let kr = try keyring(["pqk-pan", "pqk-ssn", "pqk-email"])
        let dir = try tempDir()
        let input = try corpusFile("pa_snappy_v1_dict.parquet")
        let p = try policy("pqk", extra: nestedKept(input))
        var so = TokenizeJob.SealOptions()
        so.keyName = "pqk-pan"
        so.maxOverheadPercent = 100
        var o = TokenizeJob.Options()
        o.input = input
        o.output = dir + "/v1.tgs"
        o.seal = so
        o.verifyOutput = false  // the corpus's int64 column (see theResidualScanStopsAParquetRunNamingRecordAndColumn)
        _ = try TokenizeJob.run(o, policy: p, keyring: kr, classify: parquetByName)
        _ = try kr.rotate(KeyRef(.inUse, "pqk-pan"))

        var r = TokenizeJob.Options()
        r.mode = .retokenize
        r.input = dir + "/v1.tgs"
        r.output = dir + "/v2.tgs"
        r.seal = so
        let s = try TokenizeJob.run(r, policy: p, keyring: kr, classify: { _ in [] }, authorization: grantedForTests)
        #expect(s.reconciles && s.rowsOut == 1050 && s.format == "parquet" && s.decryptedInput?.kind == "sealed")
        #expect(s.columns.first { $0.name == "card" }?.keyVersion == 2 && s.columns.first { $0.name == "ssn" }?.keyVersion == 1)

        var fresh = o
        fresh.output = dir + "/fresh.parquet"
        fresh.seal = nil
        _ = try TokenizeJob.run(fresh, policy: p, keyring: kr, classify: parquetByName)
        try Sealing.openFile(path: dir + "/v1.tgs", output: dir + "/v1.parquet", keyring: kr)
        try Sealing.openFile(path: dir + "/v2.tgs", output: dir + "/v2.parquet", keyring: kr)
        func columns(_ path: String) throws -> [String: [String?]] {
            let dump = try JSONSerialization.jsonObject(with: Data(PythonOracle.check("dump.py", [path]).utf8)) as! [String: Any]
            return (dump["columns"] as! [String: [Any]]).mapValues { $0.map { $0 as? String } }
        }
        let (v1, v2) = (try columns(dir + "/v1.parquet"), try columns(dir + "/v2.parquet"))
        #expect(v2 == (try columns(dir + "/fresh.parquet")))
        #expect(v2["card"] != v1["card"] && v2["ssn"] == v1["ssn"] && v2["int64"] == v1["int64"])
    }

    @Test func aCSVFeedLandsAsParquetAndDetokenizesBack() throws {
        let kr = try keyring(["pqc-pan", "pqc-ssn", "pqc-email"])
        let dir = try tempDir()
        let csv =
            "id,card,ssn,email,note\n1,4111111111111111,123-45-6788,ada.l@example.com,\"hello, world\"\n2,5555555555554444,078-05-1121,alan.t@example.org,\n"
        try csv.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/safe.parquet"
        let s = try TokenizeJob.run(o, policy: policy("pqc"), keyring: kr, classify: parquetByName)
        #expect(s.reconciles && s.rowsOut == 2)
        func columns(_ path: String) throws -> [String: [String?]] {
            let dump = try JSONSerialization.jsonObject(with: Data(PythonOracle.check("dump.py", [path]).utf8)) as! [String: Any]
            return (dump["columns"] as! [String: [Any]]).mapValues { $0.map { $0 as? String } }
        }
        let safe = try columns(o.output)
        #expect(safe["id"] == ["1", "2"] && safe["note"] == ["hello, world", ""])
        #expect(safe["card"]?.allSatisfy { $0 != nil && $0!.count == 16 } == true && safe["card"] != ["4111111111111111", "5555555555554444"])
        #expect(safe["ssn"]?.contains("123-45-6788") == false)

        var d = TokenizeJob.Options()
        d.mode = .detokenize
        d.input = o.output
        d.output = dir + "/back.parquet"
        _ = try TokenizeJob.run(d, policy: policy("pqc"), keyring: kr, classify: parquetByName, authorization: grantedForTests)
        let back = try columns(d.output)
        #expect(back["card"] == ["4111111111111111", "5555555555554444"] && back["ssn"] == ["123-45-6788", "078-05-1121"])
        #expect(back["email"] == ["ada.l@example.com", "alan.t@example.org"] && back["note"] == ["hello, world", ""])
    }

    @Test func aSealedParquetRunHoldsTheTokenizedFileRowGroupByRowGroup() throws {
        let kr = try keyring(["pqs-pan", "pqs-ssn", "pqs-email"])
        let dir = try tempDir()
        let input = try corpusFile("pa_zstd_v1_dict.parquet")
        var o = TokenizeJob.Options()
        o.input = input
        o.output = dir + "/safe.tgs"
        o.seal = TokenizeJob.SealOptions()
        o.seal!.maxOverheadPercent = 100
        o.seal!.keyName = "pqs-pan"
        o.verifyOutput = false
        let s = try TokenizeJob.run(o, policy: policy("pqs", extra: nestedKept(input)), keyring: kr, classify: parquetByName)
        #expect(s.sealed != nil && s.reconciles)
        let reader = try SealedReader(path: o.output, keyring: kr)
        #expect(reader.header.metadata.attributes["format"] == "parquet")
        #expect(reader.totalRecords == s.rowsIn)
        var plain: [UInt8] = []
        for i in 0..<reader.frameCount { plain += try reader.frame(at: i).plaintext }
        try Data(plain).write(to: URL(fileURLWithPath: dir + "/opened.parquet"))
        try PythonOracle.check("verify_tokenized.py", [input, dir + "/opened.parquet", "--tokenized", "card,card_int,email,ssn"])
    }

    /// A passthrough (nothing tagged, every column copied): the output shares nearly all its bytes
    /// with the input, and both digests are still those of the files.
    @Test func aPassthroughCopiesEveryChunkAndItsDigestsAreTheFiles() throws {
        let kr = try keyring(["pqp-pan", "pqp-ssn", "pqp-email"])
        let dir = try tempDir()
        let input = try corpusFile("pa_gzip_v2_dict.parquet")
        var o = TokenizeJob.Options()
        o.input = input
        o.output = dir + "/copy.parquet"
        o.verifyOutput = false
        let s = try TokenizeJob.run(o, policy: policy("pqp", extra: nestedKept(input)), keyring: kr, classify: { b in b.names.map { _ in nil } })
        #expect(s.reconciles && s.rowsOut == s.rowsIn && s.columns.allSatisfy { $0.action == "keep" })
        #expect(s.inputSHA256 == Hex.encode(try SHA256.hash([UInt8](Data(contentsOf: URL(fileURLWithPath: input))))))
        #expect(s.outputSHA256 == Hex.encode(try SHA256.hash([UInt8](Data(contentsOf: URL(fileURLWithPath: o.output))))))
        try PythonOracle.check("verify_tokenized.py", [input, o.output, "--skip-reader", "fastparquet"])
    }

    /// Card numbers stored as DOUBLE (exact below 2^53) are not passed through unseen: the tagger
    /// reads whole doubles as integers and tags the column, which cannot take tokens, so the run
    /// stops naming it; kept by the policy, the output scan stops it; dropped, the run completes
    /// and the floating-point columns without sensitive values are copied as they were.
    @Test func cardNumbersStoredAsDoublesStopTheRunUnlessDropped() throws {
        let kr = try keyring(["pqf-pan", "pqf-ssn", "pqf-email"])
        let dir = try tempDir()
        let input = dir + "/float-cards.parquet"
        try PythonOracle.check("make_float_cards.py", [input])
        var o = TokenizeJob.Options()
        o.input = input
        o.output = dir + "/out.parquet"
        o.rejectsPath = dir + "/rejects.jsonl"
        /// The run stops with `code` and a reason holding `words`, leaving no output.
        func expectStop(_ extra: String, _ code: JobErrorCode, _ words: [String]) throws {
            let p = try policy("pqf", extra: extra)
            do {
                _ = try TokenizeJob.run(o, policy: p, keyring: kr, classify: Scan.classifier(policy: p))
                Issue.record("card numbers stored as DOUBLE passed (policy extra: \(extra))")
            } catch let e as JobError {
                #expect(e.code == code && words.allSatisfy { e.reason.contains($0) }, "\(e)")
            }
            #expect(!FileManager.default.fileExists(atPath: o.output))
        }
        try expectStop("", .outputUnsupported, ["column 'card_double'", "tagged pan"])
        try expectStop("columns:\n  card_double: { action: keep }\n", .recordRejected, ["record 1, column 'card_double'", "residual scan"])

        let dropped = try policy("pqf", extra: "columns:\n  card_double: { action: drop }\n")
        o.rejectsPath = nil
        let s = try TokenizeJob.run(o, policy: dropped, keyring: kr, classify: Scan.classifier(policy: dropped))
        #expect(s.reconciles && s.rowsOut == 500)
        #expect(s.columns.filter { $0.action != "keep" }.map(\.name) == ["card_double"], "\(s.columns.map { ($0.name, $0.action) })")
        try PythonOracle.check("verify_tokenized.py", [input, o.output, "--dropped", "card_double"])
    }

    /// `scan` lists every top-level column of a Parquet file in schema order: the nested ones it
    /// cannot look into as needing review (a tokenize run stops on them until the policy names them).
    @Test func scanListsNestedColumnsAsNeedingReview() throws {
        let path = PythonOracle.root + "/Fixtures/parquet/footer-nested-snappy.parquet"
        let cols = try Scan.file(path, format: nil)
        #expect(cols.map(\.name) == ["id", "name", "items", "attrs"])
        #expect(cols.map(\.index) == [0, 1, 2, 3])
        for c in cols where c.name == "items" || c.name == "attrs" {
            #expect(c.status == .needsReview && c.sampled == 0 && c.reason.contains("nested"), "\(c)")
        }
        #expect(cols.filter { $0.status == .needsReview }.count == 2)
    }
}
