import Audit
import Crypto
import Foundation
import HSM
import Keyring
import TestSupport
import Testing

/// A keyring over the fixture's audit token with audit keys unique to the calling test.
func makeKeyring(_ prefix: String, initialize: Bool = true, token: String = "tg-test-audit") throws -> Keyring {
    let fx = SoftHSMFixture.shared
    let pin = try PINSource.file(fx.writePINFile(name: "pin-audit-\(prefix)"))
    let kr = try Keyring(
        config: KeyringConfig(
            module: fx.modulePath,
            purposes: [.audit: PurposeConfig(token: token, pin: pin, keys: ["\(prefix)-log"])]))
    if initialize { try kr.initialize() }
    return kr
}

func tempDir(_ name: String) throws -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("tg-audit-\(name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func makeLog(_ prefix: String) throws -> AuditLog {
    let kr = try makeKeyring(prefix)
    return AuditLog(path: try tempDir(prefix) + "/audit.jsonl", keyring: kr, keyName: "\(prefix)-log")
}

func sample(_ i: Int) -> AuditRecord {
    AuditRecord(
        operation: i % 2 == 0 ? "tokenize" : "seal",
        inputs: [AuditFile(path: "/data/in-\(i).csv", bytes: Int64(100 + i), sha256: String(repeating: "a", count: 64))],
        outputs: [AuditFile(path: "/data/out-\(i).csv", bytes: Int64(200 + i), sha256: String(repeating: "b", count: 64))],
        rowsIn: 10 + i, rowsOut: 9 + i, rowsRejected: 1,
        columns: [AuditColumn(name: "pan", tag: "pan", transform: "fpe", keyLabel: "tokengate/in-use/pan/v1", keyID: "00ff", keyVersion: 1)],
        keys: [AuditKey(label: "tokengate/in-use/pan/v1", id: "00ff", version: 1)],
        policyDigest: String(repeating: "c", count: 64), throughputMBps: 123.456, encryptionOverheadPercent: 1.5,
        details: ["note": "run \(i)"])
}

/// The file a child of `concurrentProcessesKeepTheChain` creates once its step is done.
func childMarker(_ logPath: String, _ mode: String, _ id: Int) -> String { "\(logPath).\(mode)-\(id).done" }

func lines(_ path: String) throws -> [String] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
}

func write(_ lines: [String], to path: String) throws {
    try (lines.map { $0 + "\n" }.joined()).write(toFile: path, atomically: true, encoding: .utf8)
}

/// Fails the test if any of `values` occurs in the log file (no sensitive value is ever recorded).
func expectNoValues(_ values: [String], inLogAt path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let found = try AuditLog.occurrences(of: values, inLogAt: path)
    #expect(found.isEmpty, "audit log \(path) contains sensitive values: \(found)", sourceLocation: sourceLocation)
}

@Suite struct AuditChain {
    @Test func appendThenVerifyIntact() throws {
        let log = try makeLog("intact")
        #expect(try log.verify().summary == "0 records, chain intact")
        var prev = AuditLog.zeroMAC
        for i in 0..<5 {
            let r = try log.append(sample(i))
            #expect(r.sequence == i + 1)
            #expect(r.previousMAC == prev)
            #expect(r.mac?.count == 64)
            #expect(r.auditKey?.label == "tokengate/audit/intact-log/v1")
            prev = r.mac!
        }
        let v = try log.verify()
        #expect(v.intact && v.records == 5)
        #expect(v.summary == "5 records, chain intact")
        let recs = try log.records()
        #expect(recs.count == 5 && recs[3].rowsIn == 13 && recs[0].details["note"] == "run 0")
        #expect(recs[0].user == AuditRecord.currentUser() && !recs[0].host.isEmpty)
        // Canonical form: sorted keys, no whitespace, mac excluded.
        let canon = String(decoding: try recs[0].canonicalBytes(), as: UTF8.self)
        #expect(!canon.contains("\"mac\"") && !canon.contains(" \"") && !canon.contains("\n"))
        #expect(canon.hasPrefix("{\"auditKey\":"))
    }

    @Test func editingAnyFieldOfAnyRecordIsCaught() throws {
        let log = try makeLog("edit")
        for i in 0..<4 { try log.append(sample(i)) }
        let original = try lines(log.path)
        let edits: [(String, Any)] = [
            ("operation", "open"), ("outcome", "failure"), ("user", "mallory"), ("host", "elsewhere"),
            ("time", "2020-01-01T00:00:00.000Z"), ("rowsIn", 999), ("rowsRejected", 0), ("policyDigest", "00"),
            ("throughputMBps", 1.0), ("details", ["note": "x"]), ("inputs", [[String: Any]]()),
            ("columns", [[String: Any]]()), ("keys", [[String: Any]]()), ("sequence", 42),
            ("previousMAC", String(repeating: "1", count: 64)), ("mac", String(repeating: "2", count: 64)),
            ("error", "injected"),
        ]
        for idx in 0..<original.count {
            for (field, value) in edits {
                var obj = try JSONSerialization.jsonObject(with: Data(original[idx].utf8)) as! [String: Any]
                obj[field] = value
                var edited = original
                edited[idx] = String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self)
                try write(edited, to: log.path)
                let v = try log.verify()
                #expect(v.firstBroken == idx + 1 && v.problem == .edited, "edit \(field) of record \(idx + 1): \(v.summary)")
            }
        }
        try write(original, to: log.path)
        #expect(try log.verify().intact)
    }

    @Test func deletingInsertingReorderingAreCaught() throws {
        let log = try makeLog("structure")
        for i in 0..<5 { try log.append(sample(i)) }
        let original = try lines(log.path)
        // Deleting any record but the last.
        for k in 0..<4 {
            var l = original
            l.remove(at: k)
            try write(l, to: log.path)
            let v = try log.verify()
            #expect(v.firstBroken == k + 1 && v.problem == .deleted, "delete \(k + 1): \(v.summary)")
            #expect(v.summary.contains("deleted"))
        }
        // Inserting a copy of a record, before or after the original.
        for (src, at) in [(0, 3), (3, 1), (4, 5), (2, 3)] {
            var l = original
            l.insert(original[src], at: at)
            try write(l, to: log.path)
            let v = try log.verify()
            #expect(v.firstBroken == at + 1, "insert copy of \(src + 1) at \(at + 1): \(v.summary)")
            #expect(v.problem == .inserted, "insert copy of \(src + 1) at \(at + 1): \(v.summary)")
        }
        // Reordering two records.
        for k in 0..<4 {
            var l = original
            l.swapAt(k, k + 1)
            try write(l, to: log.path)
            let v = try log.verify()
            #expect(v.firstBroken == k + 1 && v.problem == .reordered, "swap \(k + 1),\(k + 2): \(v.summary)")
        }
        try write(original, to: log.path)
        #expect(try log.verify().summary == "5 records, chain intact")
    }

    @Test func incompleteLastLineIsReportedAndAppendRefuses() throws {
        let log = try makeLog("crash")
        for i in 0..<3 { try log.append(sample(i)) }
        let partial = try String(decoding: sample(9).line().prefix(40), as: UTF8.self)
        let h = try #require(FileHandle(forWritingAtPath: log.path))
        try h.seekToEnd()
        try h.write(contentsOf: Data(partial.utf8))
        try h.close()
        let v = try log.verify()
        #expect(v.firstBroken == 4 && v.problem == .incomplete && v.records == 3)
        #expect(v.summary == "record 4 is incomplete (crash during append?)")
        do {
            try log.append(sample(4))
            Issue.record("append after an incomplete line must refuse")
        } catch let e as AuditError {
            #expect(e.code == .incompleteLog)
            #expect(e.reason.contains("tokengate audit verify"))
        }
        #expect(try log.records().count == 3)
    }

    @Test func concurrentAppendersKeepTheChain() throws {
        let kr = try makeKeyring("concurrent")
        let path = try tempDir("concurrent") + "/audit.jsonl"
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            let log = AuditLog(path: path, keyring: kr, keyName: "concurrent-log")
            for i in 0..<50 {
                do { try log.append(sample(t * 100 + i)) } catch { failures.add("\(t)/\(i): \(error)") }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let log = AuditLog(path: path, keyring: kr, keyName: "concurrent-log")
        let v = try log.verify()
        #expect(v.summary == "100 records, chain intact")
        #expect(try log.records().map(\.sequence) == Array(1...100))
    }

    /// Two processes (this test binary again, with only `childProcess` selected) append at once.
    /// They use a SoftHSM2 token directory of their own, never touched by this process, so the
    /// fixture's tokens see no second process.
    @Test func concurrentProcessesKeepTheChain() throws {
        let fx = SoftHSMFixture.shared
        let dir = try tempDir("procs")
        try FileManager.default.createDirectory(atPath: dir + "/tokens", withIntermediateDirectories: true)
        let conf = dir + "/softhsm2.conf"
        try "directories.tokendir = \(dir)/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
            .write(toFile: conf, atomically: true, encoding: .utf8)
        try SoftHSMFixture.run("softhsm2-util", ["--init-token", "--free", "--label", "tg-procs-audit", "--pin", fx.userPIN, "--so-pin", fx.soPIN], conf: conf)
        let pin = dir + "/pin"
        _ = FileManager.default.createFile(atPath: pin, contents: Data(fx.userPIN.utf8), attributes: [.posixPermissions: 0o600])
        let path = dir + "/audit.jsonl"
        let exe = Bundle.main.executablePath ?? CommandLine.arguments[0]
        func child(_ mode: String, _ id: Int = 0) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["--testing-library", "swift-testing", "--filter", "childProcess"]
            var env = ProcessInfo.processInfo.environment
            env["TG_AUDIT_CHILD"] = [mode, path, fx.modulePath, conf, pin, String(id)].joined(separator: "\n")
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }
        // Each child leaves a marker after its last step: an exit status of 0 alone would also come
        // from a child whose filter selected no test, so the markers prove the children ran.
        func ran(_ mode: String, _ id: Int = 0) -> Bool { FileManager.default.fileExists(atPath: childMarker(path, mode, id)) }
        let setup = try child("init")
        setup.waitUntilExit()
        try #require(setup.terminationStatus == 0, "key creation in the child failed")
        try #require(ran("init"), "the init child did not run childProcess")
        let appenders = try (0..<2).map { try child("append", $0) }
        for p in appenders { p.waitUntilExit() }
        #expect(appenders.allSatisfy { $0.terminationStatus == 0 }, "\(appenders.map(\.terminationStatus))")
        #expect(ran("append", 0) && ran("append", 1), "an append child did not run childProcess")
        let check = try child("verify")
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "verify in a child: chain not intact")
        #expect(ran("verify"), "the verify child did not run childProcess")
        // The chain's structure, checked here too: 1…100, each linked to its predecessor.
        let recs = try lines(path).map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
        #expect(recs.map(\.sequence) == Array(1...100))
        #expect(zip(recs.dropFirst(), recs).allSatisfy { $0.previousMAC == $1.mac })
        #expect(Set(recs.compactMap { $0.details["child"] }) == ["0", "1"])
    }

    /// The child side of `concurrentProcessesKeepTheChain`: enabled only in the processes it starts
    /// (reported as skipped in a normal run instead of passing without asserting anything).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TG_AUDIT_CHILD"] != nil, "runs only as a child of concurrentProcessesKeepTheChain"))
    func childProcess() throws {
        let spec = try #require(ProcessInfo.processInfo.environment["TG_AUDIT_CHILD"])
        let a = spec.components(separatedBy: "\n")
        let kr = try Keyring(
            config: KeyringConfig(
                module: a[2], moduleEnvironment: ["SOFTHSM2_CONF": a[3]],
                purposes: [.audit: PurposeConfig(token: "tg-procs-audit", pin: .file(a[4]), keys: ["log"])]))
        // SoftHSM2 2.6 can miss a token in C_GetSlotList/C_GetTokenInfo while another process
        // rewrites that token's files (the sibling child logging in); the harness waits it out.
        // This is test set-up only: the chain assertions below are unchanged.
        for attempt in 1...20 {
            do {
                _ = try kr.token(.audit)
                break
            } catch let e as HSMError where e.code == .tokenNotFound && attempt < 20 {
                usleep(50_000)
            }
        }
        let log = AuditLog(path: a[1], keyring: kr)
        switch a[0] {
        case "init":
            try kr.initialize()
        case "append":
            for i in 0..<50 {
                var r = sample(i)
                r.details["child"] = a[5]
                try log.append(r)
            }
        default:
            let v = try log.verify()
            #expect(v.summary == "100 records, chain intact")
        }
        _ = FileManager.default.createFile(atPath: childMarker(a[1], a[0], Int(a[5]) ?? 0), contents: nil)
    }

    @Test func missingAuditKeyRefuses() throws {
        let kr = try makeKeyring("missing", initialize: false)
        let dir = try tempDir("missing")
        let log = AuditLog(path: dir + "/audit.jsonl", keyring: kr, keyName: "missing-log")
        #expect(throws: AuditError(.auditKeyUnavailable, "")) { try log.append(sample(0)) }
        #expect(throws: AuditError(.auditKeyUnavailable, "")) { try log.checkAvailable() }
        // A key name not in the config.
        let other = AuditLog(path: dir + "/audit.jsonl", keyring: kr, keyName: "not-configured")
        #expect(throws: AuditError(.auditKeyUnavailable, "")) { try other.append(sample(0)) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/audit.jsonl"), "nothing written")
    }

    @Test func rotatedAuditKeyKeepsOldRecordsVerifiable() throws {
        let log = try makeLog("rotate")
        try log.append(sample(0))
        try log.append(sample(1))
        _ = try log.keyring.rotate(KeyRef(.audit, "rotate-log"))
        try log.append(sample(2))
        let recs = try log.records()
        #expect(recs.map { $0.auditKey?.version } == [1, 1, 2])
        #expect(try log.verify().summary == "3 records, chain intact")
        // Retiring the version that signed old records makes them unverifiable, and verify says so.
        try log.keyring.retire(KeyRef(.audit, "rotate-log"), version: 1)
        let v = try log.verify()
        #expect(v.firstBroken == 1 && v.problem == .keyUnavailable, "\(v.summary)")
        #expect(v.summary.contains("tokengate/audit/rotate-log/v1"))
    }
}

@Suite struct AuditQueries {
    @Test func showFiltersAndLineage() throws {
        let log = try makeLog("lineage")
        let dir = try tempDir("lineage-files")
        let feed = dir + "/feed.csv", tok = dir + "/feed.tok.csv", sealed = dir + "/feed.tok.csv.sealed", opened = dir + "/opened.csv"
        try "pan\n4111111111111111\n".write(toFile: feed, atomically: true, encoding: .utf8)
        try "pan\n4929000000006\n".write(toFile: tok, atomically: true, encoding: .utf8)
        try "SEALED".write(toFile: sealed, atomically: true, encoding: .utf8)
        try "pan\n4929000000006\n".write(toFile: opened, atomically: true, encoding: .utf8)
        let pan = AuditKey(label: "tokengate/in-use/pan/v1", id: "aa", version: 1)
        let rest = AuditKey(label: "tokengate/at-rest/data/v1", id: "bb", version: 1)
        try log.append(AuditRecord(operation: "keys init", keys: [pan, rest]))
        try log.append(
            AuditRecord(
                operation: "tokenize", inputs: [try AuditFile.describe(path: feed)], outputs: [try AuditFile.describe(path: tok)],
                keys: [pan], policyDigest: "p1", time: Date(timeIntervalSince1970: 1_800_000_000)))
        try log.append(
            AuditRecord(
                operation: "tokenize", inputs: [AuditFile(path: dir + "/other.csv")], outputs: [AuditFile(path: dir + "/other.tok.csv")],
                keys: [pan], policyDigest: "p2", time: Date(timeIntervalSince1970: 1_800_000_100)))
        try log.append(
            AuditRecord(operation: "seal", inputs: [try AuditFile.describe(path: tok)], outputs: [try AuditFile.describe(path: sealed)], keys: [rest]))
        try log.append(
            AuditRecord(operation: "open", inputs: [try AuditFile.describe(path: sealed)], outputs: [try AuditFile.describe(path: opened)], keys: [rest]))
        try log.append(AuditRecord(operation: "seal", outcome: .failure, error: "disk full", inputs: [AuditFile(path: sealed)]))

        #expect(try log.records(filter: AuditFilter(operation: "tokenize")).count == 2)
        #expect(try log.records(filter: AuditFilter(path: "feed.tok")).map(\.operation) == ["tokenize", "seal", "open", "seal"])
        #expect(try log.records(filter: AuditFilter(keyLabel: "at-rest/data")).map(\.operation) == ["keys init", "seal", "open"])
        let since = try #require(AuditRecord.parseTime("2027-01-15T08:00:00Z"))
        let until = try #require(AuditRecord.parseTime("2027-01-15T08:01:00Z"))
        #expect(try log.records(filter: AuditFilter(since: since, until: until)).map(\.policyDigest) == ["p1"])

        let lin = try log.lineage(of: sealed)
        #expect(lin.upstream.map(\.operation) == ["seal", "tokenize"])
        #expect(lin.sources.map(\.path) == [URL(fileURLWithPath: feed).standardizedFileURL.path])
        #expect(lin.policies == ["p1"])
        #expect(lin.keys == [rest, pan])
        #expect(lin.downstream.map(\.operation) == ["open"])
        // Found by digest even when the file was moved.
        let moved = dir + "/moved.sealed"
        try FileManager.default.moveItem(atPath: sealed, toPath: moved)
        #expect(try log.lineage(of: moved).upstream.map(\.operation) == ["seal", "tokenize"])
        // The feed: forward to everything derived from it.
        #expect(try log.lineage(of: feed).downstream.map(\.operation) == ["tokenize", "seal", "open"])

        try expectNoValues(["4111111111111111", "4929000000006", SoftHSMFixture.shared.userPIN], inLogAt: log.path)
        #expect(try AuditLog.occurrences(of: ["disk full", "absent"], inLogAt: log.path) == ["disk full"])
    }

    /// Fields the MAC does not cover — an unknown field added to a record — and oversized
    /// records fail verification (issue 12, item 2).
    @Test func unknownFieldsAndOversizedRecordsFailVerify() throws {
        let log = try makeLog("strict")
        for i in 0..<3 { try log.append(sample(i)) }
        let original = try lines(log.path)
        var edited = original
        edited[1] = String(original[1].dropLast()) + ",\"zzApproved\":true}"
        try write(edited, to: log.path)
        let v = try log.verify()
        #expect(v.firstBroken == 2 && v.problem == .malformed, "\(v.summary)")
        var big = original
        big[2] = String(original[2].dropLast()) + ",\"pad\":\"" + String(repeating: "x", count: AuditLog.maxRecordBytes) + "\"}"
        try write(big, to: log.path)
        let w = try log.verify()
        #expect(w.firstBroken == 3 && w.problem == .malformed && w.summary.contains("MiB"), "\(w.summary.prefix(200))")
        try write(original, to: log.path)
        #expect(try log.verify().intact)
    }

    @Test func defaultPathIsNextToTheKeyringConfigFolder() throws {
        var config = KeyringConfig(module: "/x.so", purposes: [:])
        config.baseDirectory = "/repo/keys-config"
        if ProcessInfo.processInfo.environment["TOKENGATE_AUDIT_LOG"] == nil {
            #expect(AuditLog.defaultPath(for: config) == "/repo/.dev/audit/audit.jsonl")
        }
        #expect(AuditLog.defaultPath(for: config, explicit: "/tmp/a.jsonl") == "/tmp/a.jsonl")
    }
}

/// Issue 19: the `previousMAC` link is what catches a record spliced in from a fork of the log
/// (same audit key, right sequence number, its own MAC valid): no sequence, MAC or duplicate
/// check sees it, so only `.chainBroken` can.
@Suite struct ForkedLogSplice {
    @Test func aValidRecordFromAForkBreaksTheChain() throws {
        let kr = try makeKeyring("fork")
        let dir = try tempDir("fork")
        let main = AuditLog(path: dir + "/main.jsonl", keyring: kr, keyName: "fork-log")
        for i in 0..<3 { try main.append(sample(i)) }
        try FileManager.default.copyItem(atPath: dir + "/main.jsonl", toPath: dir + "/fork.jsonl")
        let fork = AuditLog(path: dir + "/fork.jsonl", keyring: kr, keyName: "fork-log")
        try main.append(sample(10))
        try main.append(sample(11))
        try fork.append(sample(20))
        try fork.append(sample(21))
        #expect(try main.verify().intact && fork.verify().intact)
        // main's record 5 replaced by fork's record 5: valid MAC, sequence 5, wrong predecessor.
        var spliced = try lines(dir + "/main.jsonl")
        spliced[4] = try lines(dir + "/fork.jsonl")[4]
        try write(spliced, to: dir + "/main.jsonl")
        let v = try main.verify()
        #expect(!v.intact && v.firstBroken == 5 && v.problem == .chainBroken, "\(v.summary)")
    }
}
