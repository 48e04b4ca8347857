import Columns
import Crypto
import Foundation
import Keyring
import Sealing
import TestSupport
import Testing
import Tokenize

/// Tags columns by their names (the real tagger is tested on its own; here the job is under test).
let byName: TokenizeJob.Classifier = { batch in
    batch.names.map { ["card": "pan", "ssn": "ssn", "email": "email", "iban": "iban"][$0] }
}

func tempDir() throws -> String {
    let d = SoftHSMFixture.shared.directory + "/job-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func jobPolicy(_ prefix: String, detokenize: Bool) throws -> Policy {
    var yaml = """
        version: 1
        tags:
          pan: { transform: card, domain: \(prefix)-pan }
          ssn: { transform: ssn, domain: \(prefix)-ssn, algorithm: ff3-1, custody: hsm }
          email: { transform: email, domain: \(prefix)-email }
          iban: { transform: iban, domain: \(prefix)-pan }

        """
    if detokenize { yaml += "detokenize: { allowed: true }\n" }
    return try Policy.load(path: writePolicy(yaml))
}

/// What the gateway passes once the keyring config's detokenize grant admitted the caller: the
/// job tests exercise the job itself (the grant is tested in KeyringTests and OperationsTests).
let grantedForTests = DetokenizeAuthorization(user: "tests", grantSource: "TokenizeTests")

let sampleCSV = [
    "id,card,ssn,email,note,iban",
    "1,4111 1111 1111 1111,123-45-6788,ada.l@example.com,\"hello, world\",GB82WEST12345698765432",
    "2,5555555555554444,078-05-1121,alan.t@example.org,\"said \"\"hi\"\"\",DE89370400440532013000",
    "3,,219-09-9998,grace@navy.mil,,NL91ABNA0417164300",
].map { $0 + "\r\n" }.joined()

@Suite struct TokenizeJobs {
    @Test func csvRoundTripsByteForByteAndUntouchedColumnsStay() throws {
        let kr = try keyring(["jrt-pan", "jrt-ssn", "jrt-email"])
        let dir = try tempDir()
        try sampleCSV.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/safe.csv"
        let s = try TokenizeJob.run(o, policy: jobPolicy("jrt", detokenize: true), keyring: kr, classify: byName)
        #expect(s.rowsIn == 3 && s.rowsOut == 3 && s.rowsRejected == 0 && s.reconciles)
        let safe = try String(contentsOfFile: dir + "/safe.csv", encoding: .utf8)
        for secret in ["4111 1111 1111 1111", "5555555555554444", "123-45-6788", "ada.l@", "GB82WEST12345698765432"] {
            #expect(!safe.contains(secret), "\(secret) leaked")
        }
        for kept in ["\"hello, world\"", #""said ""hi"""#, "@example.com", "id,card,ssn,email,note,iban\r\n", "\r\n3,,"] {
            #expect(safe.contains(kept), "\(kept) not preserved")
        }
        let cols = Dictionary(uniqueKeysWithValues: s.columns.map { ($0.name, $0) })
        #expect(cols["card"]?.keyLabel == "tokengate/in-use/jrt-pan/v1" && cols["ssn"]?.custody == "hsm" && cols["ssn"]?.algorithm == "ff3-1")
        #expect(cols["note"]?.action == "keep")
        #expect(FileManager.default.fileExists(atPath: dir + "/safe.csv.manifest.json"))

        var d = TokenizeJob.Options()
        d.mode = .detokenize
        d.input = dir + "/safe.csv"
        d.output = dir + "/back.csv"
        let s2 = try TokenizeJob.run(d, policy: jobPolicy("jrt", detokenize: true), keyring: kr, classify: byName, authorization: grantedForTests)
        #expect(s2.reconciles && s2.rowsOut == 3)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/back.csv")) == Data(sampleCSV.utf8))
    }

    @Test func rejectsGoToTheRejectsFileAndReconcile() throws {
        let kr = try keyring(["jrj-pan", "jrj-ssn", "jrj-email"])
        let dir = try tempDir()
        let input = sampleCSV + "4,41111111111,123-45-6788,x@y.com,ragged\r\n5,4111111111111111,666-00-000,bob@example.com,n,GB82WEST12345698765432\r\n"
        try input.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/safe.csv"
        o.rejectsPath = dir + "/rejects.jsonl"
        let s = try TokenizeJob.run(o, policy: jobPolicy("jrj", detokenize: false), keyring: kr, classify: byName)
        #expect(s.rowsIn == 5 && s.rowsOut == 3 && s.rowsRejected == 2 && s.reconciles)
        let lines = try String(contentsOfFile: dir + "/rejects.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.contains { $0.contains("\"stage\":\"read\"") && $0.contains("\"record\":5") })
        #expect(lines.contains { $0.contains("\"column\":\"ssn\"") && $0.contains("\"record\":6") && $0.contains("666-00-000") })
        var st = stat()
        stat(dir + "/rejects.jsonl", &st)
        #expect(st.st_mode & 0o077 == 0, "rejects file holds clear values: mode 600")
        #expect(s.text.contains("5 in, 3 out, 2 rejected — reconciled"))
    }

    @Test func withoutARejectsFileTheRunFailsAndLeavesNoOutput() throws {
        let kr = try keyring(["jnf-pan", "jnf-ssn", "jnf-email"])
        let dir = try tempDir()
        try (sampleCSV + "4,41111111111,123-45-6788,x@y.com,n,GB82WEST12345698765432\r\n").write(
            toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/safe.csv"
        do {
            _ = try TokenizeJob.run(o, policy: jobPolicy("jnf", detokenize: false), keyring: kr, classify: byName)
            Issue.record("expected a failure")
        } catch let e as JobError {
            #expect(e.reason.contains("record 5, column 'card'"))
            #expect(e.reason.contains(dir + "/in.csv"))
            #expect(!e.reason.contains("41111111111"))
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(left == ["in.csv"], "no output or temporary file left: \(left)")
    }

    @Test func detokenizeIsRefusedWithoutPermission() throws {
        let kr = try keyring(["jdn-pan", "jdn-ssn", "jdn-email"])
        let dir = try tempDir()
        try sampleCSV.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/safe.csv"
        _ = try TokenizeJob.run(o, policy: jobPolicy("jdn", detokenize: false), keyring: kr, classify: byName)
        var d = TokenizeJob.Options()
        d.mode = .detokenize
        d.input = dir + "/safe.csv"
        d.output = dir + "/back.csv"
        #expect(throws: JobError(.permissionDenied, "")) {
            _ = try TokenizeJob.run(d, policy: jobPolicy("jdn", detokenize: false), keyring: kr, classify: byName)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/back.csv"))
    }

    @Test func jsonLinesRoundTrip() throws {
        let kr = try keyring(["jjl-pan", "jjl-ssn", "jjl-email"])
        let dir = try tempDir()
        let jsonl = [
            #"{"id": 1, "card": "4111111111111111", "email": "ada.l@example.com", "meta": {"a": [1, 2]}, "ok": true}"#,
            #"{"id": 2, "card": "5555 5555 5555 4444", "ssn": "123-45-6788", "email": null}"#,
            #"{"id": 3, "note": "no card here"}"#,
        ].map { $0 + "\n" }.joined()
        try jsonl.write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        var o = TokenizeJob.Options()
        o.input = dir + "/in.jsonl"
        o.output = dir + "/safe.jsonl"
        o.workers = 2
        let s = try TokenizeJob.run(o, policy: jobPolicy("jjl", detokenize: true), keyring: kr, classify: byName)
        #expect(s.rowsIn == 3 && s.rowsOut == 3 && s.reconciles)
        let safe = try String(contentsOfFile: dir + "/safe.jsonl", encoding: .utf8)
        #expect(!safe.contains("4111111111111111") && safe.contains("{\"a\": [1, 2]}") && safe.contains("\"email\": null"))
        var d = TokenizeJob.Options()
        d.mode = .detokenize
        d.input = dir + "/safe.jsonl"
        d.output = dir + "/back.jsonl"
        _ = try TokenizeJob.run(d, policy: jobPolicy("jjl", detokenize: true), keyring: kr, classify: byName, authorization: grantedForTests)
        #expect(try String(contentsOfFile: dir + "/back.jsonl", encoding: .utf8) == jsonl)
    }
}

@Suite struct FixtureRoundTrips {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The default policy's rules under this test's keys, plus the detokenize permission.
    func fixturePolicy(_ prefix: String) throws -> Policy {
        var p = Policy.default
        for (tag, rule) in p.tags where rule.domain != nil {
            var r = rule
            r.domain = "\(prefix)-\(rule.domain!)"
            p.tags[tag] = r
        }
        p.detokenize = DetokenizePermission(allowed: true)
        return p
    }

    @Test(arguments: ["customers.csv", "customers.jsonl"])
    func fixtureFeedsRoundTripByteForByteWithTheRealTagger(file: String) throws {
        let prefix = "fx" + (file.hasSuffix("csv") ? "c" : "j")
        let domains = ["pan", "ssn", "email", "phone", "iban", "date", "generic"].map { "\(prefix)-\($0)" }
        let kr = try keyring(domains)
        let policy = try fixturePolicy(prefix)
        let dir = try tempDir()
        let input = Self.root.appendingPathComponent("Fixtures/feeds/\(file)").path
        var o = TokenizeJob.Options()
        o.input = input
        o.output = dir + "/safe-" + file
        o.manifestPath = dir + "/manifest.json"
        o.workers = 2
        o.batchRows = 64  // many batches through the pipeline
        let s = try TokenizeJob.run(o, policy: policy, keyring: kr, classify: Scan.classifier(policy: policy))
        #expect(s.rowsIn == 300 && s.rowsOut == 300 && s.rowsRejected == 0 && s.reconciles)
        let tagged = Set(s.columns.filter { $0.action != "keep" }.map(\.name))
        #expect(
            tagged == [
                "first_name", "last_name", "email", "phone", "ssn", "date_of_birth", "street_address", "card_number", "iban", "routing_number", "ip_address",
                "memo",
            ])
        // Untouched columns byte-identical, tagged ones changed.
        let original = try String(contentsOfFile: input, encoding: .utf8)
        let safe = try String(contentsOfFile: o.output, encoding: .utf8)
        #expect(original != safe && original.utf8.count > 0)
        for secret in ["carolramirez384@example.net", "717-16-8887", "GB21RTMC81932427737065", "5020420888453816798"] {
            #expect(!safe.contains(secret), "\(secret) leaked")
        }
        for kept in ["552604810", "06200-1873", "4014089072871752", "0b6b318a-fcbb-4c8d-8b0c-ba6d8ca10c4a", "2024-09-14T13:23:54Z", "2.0.46.6"] {
            #expect(safe.contains(kept), "\(kept) changed")
        }
        var d = TokenizeJob.Options()
        d.mode = .detokenize
        d.input = o.output
        d.output = dir + "/back-" + file
        d.manifestPath = o.manifestPath
        d.workers = 2
        let s2 = try TokenizeJob.run(d, policy: policy, keyring: kr, classify: { _ in [] }, authorization: grantedForTests)
        #expect(s2.reconciles && s2.rowsOut == 300)
        #expect(try Data(contentsOf: URL(fileURLWithPath: d.output)) == Data(contentsOf: URL(fileURLWithPath: input)))
    }
}

@Suite struct DroppedColumns {
    @Test func dropRemovesTheColumnFromCSVAndKeepsTheRestByteIdentical() throws {
        let kr = try keyring(["jdr-pan", "jdr-ssn", "jdr-email"])
        let dir = try tempDir()
        let csv = "\u{FEFF}id,card,\"sec,ret\",note\r\n1,4111111111111111,x,\"a, b\"\r\n\r\n2,5555555555554444,y,c\r\n"
        try csv.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        let policy = try Policy.load(
            path: writePolicy(
                """
                version: 1
                tags:
                  pan: { transform: card, domain: jdr-pan }
                columns:
                  "sec,ret": { action: drop }
                """))
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/out.csv"
        let s = try TokenizeJob.run(o, policy: policy, keyring: kr, classify: byName)
        #expect(s.reconciles && s.rowsOut == 2)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: o.output))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF], "the byte-order mark stays")
        let out = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        let lines = out.components(separatedBy: "\r\n")
        #expect(lines[0] == "id,card,note")
        #expect(lines[1].hasPrefix("1,411111") && lines[1].hasSuffix("1111,\"a, b\""))
        #expect(lines[2] == "" && lines[3].hasPrefix("2,555555") && lines[3].hasSuffix(",c"))
        #expect(!out.contains(",x,") && !out.contains("sec,ret"))
    }

    @Test func dropCutsJSONMembersWithTheirCommas() throws {
        let kr = try keyring(["jdj-pan", "jdj-ssn", "jdj-email"])
        let dir = try tempDir()
        let jsonl = [
            #"{"id": 1, "secret": "s1", "card": "4111111111111111", "n": {"a": 1}}"#,
            #"{"secret":"s\"2","id":2}"#,
            #"{"id": 3, "secret": null}"#,
            #"{"id": 4}"#,
            #"{"secret": "only"}"#,
        ].map { $0 + "\n" }.joined()
        try jsonl.write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        let policy = try Policy.load(
            path: writePolicy(
                """
                version: 1
                tags:
                  pan: { transform: card, domain: jdj-pan }
                columns:
                  secret: { action: drop }
                """))
        var o = TokenizeJob.Options()
        o.input = dir + "/in.jsonl"
        o.output = dir + "/out.jsonl"
        _ = try TokenizeJob.run(o, policy: policy, keyring: kr, classify: byName)
        let lines = try String(contentsOfFile: o.output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].hasPrefix(#"{"id": 1, "card": "411111"#) && lines[0].hasSuffix(#"1111", "n": {"a": 1}}"#), "\(lines[0])")
        #expect(lines[1] == #"{"id":2}"#)
        #expect(lines[2] == #"{"id": 3}"#)
        #expect(lines[3] == #"{"id": 4}"#)
        #expect(lines[4] == "{}")
        for l in lines where !l.isEmpty { #expect((try? JSONSerialization.jsonObject(with: Data(l.utf8))) != nil, "\(l) is not JSON") }
    }
}

@Suite struct SealedOutput {
    @Test func tokenizeSealWritesASealedFileThatOpensToTheTokenizedFeed() throws {
        let kr = try keyring(["jsl-pan", "jsl-ssn", "jsl-email"])
        let dir = try tempDir()
        try sampleCSV.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        let policy = try jobPolicy("jsl", detokenize: false)
        var plain = TokenizeJob.Options()
        plain.input = dir + "/in.csv"
        plain.output = dir + "/plain.csv"
        _ = try TokenizeJob.run(plain, policy: policy, keyring: kr, classify: byName)
        var o = plain
        o.output = dir + "/safe.tgs"
        var so = TokenizeJob.SealOptions()
        so.keyName = "jsl-pan"  // an at-rest key of this keyring
        so.maxOverheadPercent = 100
        o.seal = so
        let s = try TokenizeJob.run(o, policy: policy, keyring: kr, classify: byName)
        #expect(s.reconciles && s.sealed?.keyLabel == "tokengate/at-rest/jsl-pan/v1")
        #expect(s.encryptionOverheadPercent != nil && s.text.contains("encryption overhead"))
        let sealedBytes = try Data(contentsOf: URL(fileURLWithPath: o.output))
        #expect(!String(decoding: sealedBytes, as: UTF8.self).contains("hello, world"), "sealed output is not plaintext")
        try Sealing.openFile(path: o.output, output: dir + "/opened.csv", keyring: kr)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/opened.csv")) == Data(contentsOf: URL(fileURLWithPath: plain.output)))
        let info = try Sealing.inspect(path: o.output)
        #expect(info.totalRecords == 3)
        #expect(info.header.metadata.columns.first { $0.name == "card" }?.keyVersion == 1)
    }

    @Test func anExceededOverheadBoundFailsTheRunAndLeavesNoOutput() throws {
        let kr = try keyring(["jso-pan", "jso-ssn", "jso-email"])
        let dir = try tempDir()
        try sampleCSV.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/safe.tgs"
        var so = TokenizeJob.SealOptions()
        so.keyName = "jso-pan"
        so.maxOverheadPercent = 0
        o.seal = so
        #expect(throws: JobError(.overheadExceeded, "")) {
            _ = try TokenizeJob.run(o, policy: jobPolicy("jso", detokenize: false), keyring: kr, classify: byName)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["in.csv"])
    }
}

@Suite struct Retokenize {
    @Test func retokenizeMovesASealedDatasetToThePrimaryKeyVersion() throws {
        let kr = try keyring(["jrk-pan", "jrk-ssn", "jrk-email"])
        let dir = try tempDir()
        try sampleCSV.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        let policy = try jobPolicy("jrk", detokenize: true)
        var so = TokenizeJob.SealOptions()
        so.keyName = "jrk-pan"
        so.maxOverheadPercent = 100
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/v1.tgs"
        o.seal = so
        _ = try TokenizeJob.run(o, policy: policy, keyring: kr, classify: byName)
        _ = try kr.rotate(KeyRef(.inUse, "jrk-pan"))

        var r = TokenizeJob.Options()
        r.mode = .retokenize
        r.input = dir + "/v1.tgs"
        r.output = dir + "/v2.tgs"
        r.seal = so
        let s = try TokenizeJob.run(r, policy: policy, keyring: kr, classify: { _ in [] }, authorization: grantedForTests)
        #expect(s.reconciles && s.rowsOut == 3)
        #expect(s.columns.first { $0.name == "card" }?.keyVersion == 2)
        #expect(s.columns.first { $0.name == "ssn" }?.keyVersion == 1, "columns of unrotated keys keep their version")

        // The retokenized dataset equals a fresh tokenize under the primary versions.
        var fresh = TokenizeJob.Options()
        fresh.input = dir + "/in.csv"
        fresh.output = dir + "/fresh.csv"
        _ = try TokenizeJob.run(fresh, policy: policy, keyring: kr, classify: byName)
        try Sealing.openFile(path: dir + "/v2.tgs", output: dir + "/v2.csv", keyring: kr)
        try Sealing.openFile(path: dir + "/v1.tgs", output: dir + "/v1.csv", keyring: kr)
        let v2 = try Data(contentsOf: URL(fileURLWithPath: dir + "/v2.csv"))
        #expect(v2 == (try Data(contentsOf: URL(fileURLWithPath: dir + "/fresh.csv"))))
        #expect(v2 != (try Data(contentsOf: URL(fileURLWithPath: dir + "/v1.csv"))))
        // After retiring v1 the new dataset still detokenizes through its recorded versions.
        try kr.retire(KeyRef(.inUse, "jrk-pan"), version: 1)
        var again = r
        again.input = dir + "/v2.tgs"
        again.output = dir + "/v2b.tgs"
        _ = try TokenizeJob.run(again, policy: policy, keyring: kr, classify: { _ in [] }, authorization: grantedForTests)
        #expect(throws: KeyringError(.versionNotFound, "")) {
            var old = r
            old.output = dir + "/v1b.tgs"
            _ = try TokenizeJob.run(old, policy: policy, keyring: kr, classify: { _ in [] }, authorization: grantedForTests)
        }
    }

    @Test func retokenizeNeedsTheDetokenizePermission() throws {
        let kr = try keyring(["jrp-pan", "jrp-ssn", "jrp-email"])
        var r = TokenizeJob.Options()
        r.mode = .retokenize
        r.input = "/nonexistent.tgs"
        r.output = "/tmp/never.tgs"
        r.seal = TokenizeJob.SealOptions()
        #expect(throws: JobError(.permissionDenied, "")) {
            _ = try TokenizeJob.run(r, policy: jobPolicy("jrp", detokenize: false), keyring: kr, classify: { _ in [] })
        }
    }
}

/// Issue 19: rows in = rows out + rows rejected is enforced — a stage that loses or duplicates a
/// row (injected) fails the run with no output.
@Suite struct Reconciliation {
    @Test(arguments: [JobFault.writerLosesARow, .writerDuplicatesARow])
    func aRunThatDoesNotReconcileLeavesNoOutput(fault: JobFault) throws {
        let kr = try keyring(["jrc-pan", "jrc-ssn", "jrc-email"])
        let dir = try tempDir()
        try sampleCSV.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/safe.csv"
        o.fault = fault
        #expect(throws: JobError(.reconciliation, "")) {
            _ = try TokenizeJob.run(o, policy: jobPolicy("jrc", detokenize: false), keyring: kr, classify: byName)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/safe.csv"))
        o.fault = nil
        let s = try TokenizeJob.run(o, policy: jobPolicy("jrc", detokenize: false), keyring: kr, classify: byName)
        #expect(s.reconciles && FileManager.default.fileExists(atPath: dir + "/safe.csv"))
    }
}
