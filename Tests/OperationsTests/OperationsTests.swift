import Audit
import Crypto
import Foundation
import Keyring
import Operations
import Sealing
import Synchronization
import TestSupport
import Testing
import Tokenize

/// Every Operations entry point called in-process, as the CLI and the server call them: each one
/// that touches data or keys leaves its audit record, with its files and keys and without values.
@Suite(.serialized) struct OperationsAudit {
    /// A keyring config on the shared in-process test tokens, with keys unique to this suite and
    /// its own audit log named by the config.
    static func setUp() throws -> (gateway: Gateway, dir: String, log: String, policy: String) {
        let fx = SoftHSMFixture.shared
        let dir = fx.directory + "/ops-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pin = try fx.writePINFile(name: "ops.pin")
        let log = dir + "/audit.jsonl"
        let domains = ["pan", "ssn", "email", "phone", "iban", "date", "generic"].map { "ops-\($0)" }
        // The custodians' detokenize grant lives in the keyring config.
        let detokPIN = try fx.writePINFile(name: "ops-detok.pin", pin: "ops-approver")
        var pinBytes = Array("ops-approver".utf8)
        let verifier = try DetokenizeGrant.verifier(for: SecretBytes(consumingArray: &pinBytes))
        let yaml = """
            version: 1
            module: \(fx.modulePath)
            audit-log: \(log)
            purposes:
              at-rest: { token: tg-test-at-rest, pin: { file: \(pin) }, keys: [ops-datasets] }
              in-transit: { token: tg-test-in-transit, pin: { file: \(pin) }, keys: [ops-streams] }
              in-use: { token: tg-test-in-use, pin: { file: \(pin) }, keys: [\(domains.joined(separator: ", "))] }
              audit: { token: tg-test-audit, pin: { file: \(pin) }, keys: [log] }
            grants:
              detokenize: { pin-verifier: '\(verifier)' }

            """
        try yaml.write(toFile: dir + "/keyring.yaml", atomically: true, encoding: .utf8)
        // The default policy with this suite's domains, and where the detokenize PIN comes from.
        var policy = try String(contentsOfFile: repository + "/keys-config/policy.default.yaml", encoding: .utf8)
        for d in ["pan", "ssn", "email", "phone", "iban", "date", "generic"] {
            policy = policy.replacingOccurrences(of: "domain: \(d) }", with: "domain: ops-\(d) }")
        }
        policy = policy.replacingOccurrences(
            of: "detokenize:\n  allowed: false", with: "detokenize:\n  allowed: true\n  pin: { file: \(detokPIN) }")
        try policy.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
        return (try Gateway(keyringPath: dir + "/keyring.yaml"), dir, log, dir + "/policy.yaml")
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let feed = repository + "/Fixtures/feeds/customers.csv"

    /// The log's records after the first `skip`.
    static func records(_ log: String, after skip: Int) throws -> [AuditRecord] {
        let text = try String(contentsOfFile: log, encoding: .utf8)
        return try text.split(separator: "\n").dropFirst(skip).map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
    }

    /// Runs `body` and returns the record it appended (`expected`: how many it must append).
    static func recordOf(_ log: String, expected: Int = 1, _ body: () throws -> Void) throws -> AuditRecord? {
        let before = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").count ?? 0
        try body()
        let all = try records(log, after: before)
        // Write-ahead: each audited operation appends its started record, then the outcome
        // record that names it.
        let started = all.filter { $0.outcome == .started }
        let new = all.filter { $0.outcome != .started }
        #expect(new.count == expected, "expected \(expected) record(s), got \(new.map(\.operation))")
        for r in new where r.operation != "keys init" {
            #expect(started.contains { $0.sequence == r.startedRecord && $0.operation == r.operation }, "\(r.operation) closes no started record")
        }
        return new.last
    }

    @Test func everyOperationInProcessLeavesItsAuditRecord() throws {
        let (g, dir, log, policyPath) = try Self.setUp()
        #expect(g.auditLogPath == log)

        // keys init: recorded even though it may create the audit key itself.
        let initRec = try Self.recordOf(log) { _ = try g.initializeKeys() }
        #expect(initRec?.operation == "keys init" && initRec?.outcome == .success)

        // tokenize (sealed) → open → seal → inspect (not recorded) → rewrap.
        var t = DataRequest(policyPath: policyPath)
        t.job.input = Self.feed
        t.job.output = dir + "/safe.tgs"
        var so = TokenizeJob.SealOptions()
        so.keyName = "ops-datasets"
        so.maxOverheadPercent = 100
        t.job.seal = so
        var summary: RunSummary?
        let tok = try Self.recordOf(log) { summary = try g.tokenize(t) }
        #expect(tok?.operation == "tokenize" && tok?.outcome == .success)
        #expect(tok?.rowsIn == summary?.rowsIn && tok?.rowsIn ?? 0 > 0)
        #expect(tok?.inputs.first?.path == Self.feed && tok?.inputs.first?.sha256 != nil)
        #expect(tok?.outputs.first?.path == dir + "/safe.tgs")
        #expect(tok?.keys.contains { $0.label == "tokengate/at-rest/ops-datasets/v1" } == true)
        #expect(tok?.keys.contains { $0.label.hasPrefix("tokengate/in-use/ops-pan/") } == true)

        let openRec = try Self.recordOf(log) { _ = try g.open(path: dir + "/safe.tgs", output: dir + "/safe.csv") }
        #expect(openRec?.operation == "open" && openRec?.outputs.first?.path == dir + "/safe.csv")
        let sealRec = try Self.recordOf(log) { _ = try g.seal(input: dir + "/safe.csv", output: dir + "/again.tgs", keyName: "ops-datasets") }
        #expect(sealRec?.operation == "seal" && sealRec?.details["sealedFileID"] != nil)
        let inspected = try Self.recordOf(log, expected: 0, { _ = try Gateway.inspect(path: dir + "/again.tgs") })
        #expect(inspected == nil, "inspect needs no key and is not recorded")
        _ = try Self.recordOf(log) { _ = try g.rotateKey(KeyRef(.atRest, "ops-datasets")) }
        let rewrapRec = try Self.recordOf(log) {
            let r = try g.rewrap(path: dir + "/again.tgs")
            #expect(r.changed && r.toVersion == r.fromVersion + 1)
        }
        #expect(rewrapRec?.operation == "rewrap" && rewrapRec?.details["changed"] == "true")

        // keys retire refuses while a sealed file still needs the version (nothing recorded, key
        // kept), then succeeds once it is rewrapped.
        let v1 = try #require(g.listKeys().first { $0.label == "tokengate/at-rest/ops-datasets/v1" })
        let refusal = try Self.recordOf(log, expected: 0) {
            #expect(throws: OperationError(.keyStillNeeded, "")) { try g.retireKey(v1.ref, version: 1, datasets: dir) }
        }
        #expect(refusal == nil)
        // A sealed file whose header cannot be read may need the version: the scan goes on past
        // it, and the retirement is refused naming it.
        let broken = dir + "-broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try Data(Array("TGSF".utf8) + [UInt8](repeating: 0xA5, count: 64)).write(to: URL(fileURLWithPath: broken + "/damaged.tgs"))
        try FileManager.default.copyItem(atPath: dir + "/again.tgs", toPath: broken + "/fine.tgs")
        do {
            _ = try g.retireKey(v1.ref, version: 1, datasets: broken)
            Issue.record("retire must refuse while a sealed header cannot be read")
        } catch let e as OperationError {
            #expect(e.code == .keyStillNeeded && e.reason.contains("damaged.tgs"), "\(e)")
        }
        _ = try Self.recordOf(log) { _ = try g.rewrap(path: dir + "/safe.tgs") }
        let retireRec = try Self.recordOf(log) { _ = try g.retireKey(v1.ref, version: 1, datasets: dir) }
        #expect(retireRec?.operation == "keys retire" && retireRec?.keys.first?.label == v1.label)

        // detokenize of a clear tokenize run; retokenize of the sealed one.
        var clear = DataRequest(policyPath: policyPath)
        clear.job.input = Self.feed
        clear.job.output = dir + "/tok.csv"
        _ = try Self.recordOf(log) { _ = try g.tokenize(clear) }
        var detok = DataRequest(policyPath: policyPath)
        detok.job.input = dir + "/tok.csv"
        detok.job.output = dir + "/clear.csv"
        let detokRec = try Self.recordOf(log) { _ = try g.detokenize(detok) }
        #expect(detokRec?.operation == "detokenize" && detokRec?.outcome == .success)
        #expect(detokRec?.details["grantedBy"] == URL(fileURLWithPath: dir + "/keyring.yaml").standardizedFileURL.path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/clear.csv")) == Data(contentsOf: URL(fileURLWithPath: Self.feed)))
        var retok = RetokenizeRequest(input: dir + "/safe.tgs", output: dir + "/safe.v2.tgs", policyPath: policyPath)
        retok.sealKey = "ops-datasets"
        let retokRec = try Self.recordOf(log) { _ = try g.retokenize(retok) }
        #expect(retokRec?.operation == "retokenize" && retokRec?.outcome == .success)

        // send → receive over loopback, both in this process: two records.
        let before = try Self.records(log, after: 0).count
        let ready = DispatchSemaphore(value: 0)
        let port = Mutex<UInt16>(0)
        let received = Mutex<(any Error)?>(nil)
        let receiver = Thread {
            do {
                _ = try g.receive(port: 0, output: dir + "/received.csv", timeout: 20) { p in
                    port.withLock { $0 = p }
                    ready.signal()
                }
            } catch {
                received.withLock { $0 = error }
                ready.signal()
            }
        }
        receiver.start()
        ready.wait()
        let sent = try g.send(path: dir + "/again.tgs", host: "127.0.0.1", port: port.withLock { $0 }, transitKey: "ops-streams")
        #expect(sent.frames > 0)
        var transit: [AuditRecord] = []
        for _ in 0..<200 where transit.filter({ $0.outcome != .started }).count < 2 {
            transit = try Self.records(log, after: before)
            if transit.filter({ $0.outcome != .started }).count < 2 { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(received.withLock { $0 } == nil)
        transit = transit.filter { $0.outcome != .started }
        #expect(Set(transit.map(\.operation)) == ["send", "receive"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/received.csv")) == Data(contentsOf: URL(fileURLWithPath: dir + "/safe.csv")))

        // A failed operation is recorded with its reason.
        let failed = try Self.recordOf(log) {
            #expect(throws: (any Error).self) { try g.open(path: dir + "/missing.tgs", output: dir + "/never.csv") }
        }
        #expect(failed?.operation == "open" && failed?.outcome == .failure && failed?.error?.isEmpty == false)

        // The audit key version that MAC'd the log cannot be retired, even after a rotation.
        let auditV1 = try #require(g.listKeys().first { $0.label == "tokengate/audit/log/v1" })
        _ = try Self.recordOf(log) { _ = try g.rotateKey(auditV1.ref) }
        let auditRefusal = try Self.recordOf(log, expected: 0) {
            #expect(throws: OperationError(.keyStillNeeded, "")) { try g.retireKey(auditV1.ref, version: 1) }
            #expect(throws: OperationError(.keyStillNeeded, "")) { try g.retireKey(auditV1.ref, version: 1, force: true) }
        }
        #expect(auditRefusal == nil)

        // The chain holds, and no clear value of the feed is in it.
        let (path, v) = try g.verifyAudit()
        let total = try Self.records(log, after: 0).count
        #expect(path == log && v.intact && v.records == total && v.unclosed.isEmpty, "\(v.summary)")
        #expect(try AuditLog.occurrences(of: ["carolramirez384@example.net", "717-16-8887", "3583874487771971"], inLogAt: log).isEmpty)
        #expect(try g.auditRecords(matching: AuditQuery(operation: "tokenize")).filter { $0.outcome != .started }.count == 2)
        #expect(try g.auditLineage(of: dir + "/safe.csv").upstream.contains { $0.operation == "open" })
    }

    /// `sha256sum`'s digest of a file (independent of the digests under test).
    static func sha256sum(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: out, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    static func size(_ path: String) throws -> Int64 {
        Int64(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? -1)
    }

    /// Issue 17: `scan` of a Parquet Modular Encryption file decrypts it (the unwraps of `open`),
    /// so it is an audited operation naming its data keys; the key-less static scan refuses it and
    /// records nothing, and a plaintext file's scan stays unrecorded.
    @Test func scanOfAPMEFileIsAnAuditedOpen() throws {
        let (g, dir, log, _) = try Self.setUp()
        _ = try Self.recordOf(log) { _ = try g.initializeKeys() }
        let plain = try PythonOracle.corpus.get().dir + "/pa_snappy_v1_dict.parquet"
        var o = ParquetSealOptions()
        o.keyName = "ops-datasets"
        let sealed = dir + "/sealed.parquet"
        _ = try Self.recordOf(log) { _ = try g.sealParquet(input: plain, output: sealed, options: o) }
        let refused = try Self.recordOf(log, expected: 0) {
            #expect(throws: JobError(.encryptedInputRefused, "")) { _ = try Gateway.scan(ScanRequest(path: sealed)) }
        }
        #expect(refused == nil)
        var names: [String] = []
        let rec = try Self.recordOf(log) { names = try g.scan(ScanRequest(path: sealed)).map(\.name) }
        #expect(rec?.operation == "scan" && rec?.details["inputEncryption"] == "parquet-pme")
        // (The suite's at-rest key is rotated by another test: whichever version is primary.)
        #expect(rec?.keys.count == 1 && rec?.keys.first?.label.hasPrefix("tokengate/at-rest/ops-datasets/v") == true, "\(rec?.keys ?? [])")
        #expect(rec?.inputs.first?.sha256 != nil)
        let clearNames = try Gateway.scan(ScanRequest(path: plain)).map(\.name)
        #expect(!names.isEmpty && names == clearNames)
        _ = try Self.recordOf(log, expected: 0) { _ = try g.scan(ScanRequest(path: plain)) }
    }

    @Test func sealAndOpenRecordTheDigestsSha256sumGives() throws {
        let (g, dir, log, _) = try Self.setUp()
        _ = try g.initializeKeys()
        // A multi-frame file: 9 frames of 4 KiB and a short last one.
        var bytes: [UInt8] = []
        var x: UInt64 = 0x1234_5678
        for _ in 0..<(9 * 4096 + 300) {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes.append(UInt8(truncatingIfNeeded: x >> 33))
        }
        let input = dir + "/plain.bin", sealed = dir + "/plain.tgs", opened = dir + "/opened.bin", part = dir + "/part.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: input))

        var sealResult: SealResult?
        let sealRec = try Self.recordOf(log) { sealResult = try g.seal(input: input, output: sealed, keyName: "ops-datasets", frameSize: 4096) }
        #expect(sealResult?.frames == 10 && sealResult?.bytes == bytes.count)
        #expect(try sealRec?.inputs == [AuditFile(path: input, bytes: Int64(bytes.count), sha256: Self.sha256sum(input))])
        #expect(try sealRec?.outputs == [AuditFile(path: sealed, bytes: Self.size(sealed), sha256: Self.sha256sum(sealed))])
        #expect(sealRec?.keys.first?.label.hasPrefix("tokengate/at-rest/ops-datasets/v") == true)
        #expect(try sealRec?.details["sealedFileID"] == Hex.encode(Gateway.inspect(path: sealed).header.fileID))

        let openRec = try Self.recordOf(log) { _ = try g.open(path: sealed, output: opened) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: opened)) == Data(bytes))
        #expect(try openRec?.inputs == [AuditFile(path: sealed, bytes: Self.size(sealed), sha256: Self.sha256sum(sealed))])
        #expect(try openRec?.outputs == [AuditFile(path: opened, bytes: Int64(bytes.count), sha256: Self.sha256sum(opened))])
        #expect(openRec?.keys == sealRec?.keys)

        // A frame subset: the released bytes are hashed as released; the input is still named
        // with its digest.
        let partRec = try Self.recordOf(log) { _ = try g.open(path: sealed, output: part, frames: [9, 0]) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: part)) == Data(bytes[(9 * 4096)...] + bytes[0..<4096]))
        #expect(try partRec?.inputs == [AuditFile(path: sealed, bytes: Self.size(sealed), sha256: Self.sha256sum(sealed))])
        #expect(try partRec?.outputs == [AuditFile(path: part, bytes: Int64(300 + 4096), sha256: Self.sha256sum(part))])
    }

    @Test func nothingRunsWithoutTheAuditTrail() throws {
        let (_, dir, _, policyPath) = try Self.setUp()
        // The same keyring without an audit purpose: every audited operation refuses before work.
        let cfg =
            try String(contentsOfFile: dir + "/keyring.yaml", encoding: .utf8)
            .split(separator: "\n").filter { !$0.contains("audit:") }.joined(separator: "\n") + "\n"
        try cfg.write(toFile: dir + "/no-audit.yaml", atomically: true, encoding: .utf8)
        let g = try Gateway(keyringPath: dir + "/no-audit.yaml")
        var t = DataRequest(policyPath: policyPath)
        t.job.input = Self.feed
        t.job.output = dir + "/never.csv"
        #expect(throws: OperationError(.auditUnavailable, "")) { try g.tokenize(t) }
        #expect(throws: OperationError(.auditUnavailable, "")) { try g.seal(input: Self.feed, output: dir + "/never.tgs", keyName: "ops-datasets") }
        #expect(throws: OperationError(.auditUnavailable, "")) { try g.rotateKey(KeyRef(.inUse, "ops-pan")) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/never.csv"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/never.tgs"))
    }

    /// Issue 12, item 1, as the attacker with a shell account tried it: whoever can tokenize
    /// copies the keyring config (their copy has no grant, or one of their own in a file others
    /// can write), writes a policy allowing detokenize, and asks for clear values. Refused before
    /// any output, and the refusal is in the audit trail; the custodians' config still admits.
    @Test func detokenizeIsGrantedByTheCustodiansConfigOnly() throws {
        let (g, dir, log, policyPath) = try Self.setUp()
        _ = try g.initializeKeys()
        var t = DataRequest(policyPath: policyPath)
        t.job.input = Self.feed
        t.job.output = dir + "/tok.csv"
        _ = try g.tokenize(t)
        let custodians = try String(contentsOfFile: dir + "/keyring.yaml", encoding: .utf8)
        let ungranted =
            custodians.split(separator: "\n").filter { !$0.contains("grants:") && !$0.contains("pin-verifier") }
            .joined(separator: "\n") + "\n"
        try ungranted.write(toFile: dir + "/mine.yaml", atomically: true, encoding: .utf8)
        var attackerPIN = Array("mine".utf8)
        let own = try DetokenizeGrant.verifier(for: SecretBytes(consumingArray: &attackerPIN))
        let selfGranted = ungranted + "grants:\n  detokenize: { pin-verifier: '\(own)' }\n"
        try selfGranted.write(toFile: dir + "/writable.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: dir + "/writable.yaml")
        let minePIN = try SoftHSMFixture.shared.writePINFile(name: "ops-mine.pin", pin: "mine")
        let policy = try String(contentsOfFile: policyPath, encoding: .utf8)
        let minePolicy = dir + "/mine.policy.yaml"
        try policy.replacing(#/pin: \{ file: [^}]+\}/#, with: "pin: { file: \(minePIN) }")
            .write(toFile: minePolicy, atomically: true, encoding: .utf8)

        for (config, needle) in [("mine.yaml", "has no grants.detokenize"), ("writable.yaml", "writable by group or others")] {
            let attacker = try Gateway(keyringPath: dir + "/" + config)
            var d = DataRequest(policyPath: minePolicy)
            d.job.input = dir + "/tok.csv"
            d.job.output = dir + "/stolen.csv"
            let rec = try Self.recordOf(log) {
                do {
                    _ = try attacker.detokenize(d)
                    Issue.record("\(config): detokenize was granted")
                } catch let e as JobError {
                    #expect(e.code == .permissionDenied && e.reason.contains(needle), "\(e)")
                }
            }
            #expect(rec?.operation == "detokenize" && rec?.outcome == .failure && rec?.error?.contains(needle) == true)
            #expect(!FileManager.default.fileExists(atPath: dir + "/stolen.csv"))
        }
        // The custodians' config with the attacker's PIN: wrong PIN; with the approver's: clear values.
        var wrong = DataRequest(policyPath: minePolicy)
        wrong.job.input = dir + "/tok.csv"
        wrong.job.output = dir + "/stolen.csv"
        #expect(throws: JobError(.permissionDenied, "")) { try g.detokenize(wrong) }
        var right = wrong
        right.policyPath = policyPath
        right.job.output = dir + "/clear.csv"
        _ = try g.detokenize(right)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/clear.csv")) == Data(contentsOf: URL(fileURLWithPath: Self.feed)))
    }

    /// The residual output scan is a control: `--no-verify-output` is refused unless the
    /// custodians' keyring config grants it (a caller cannot switch it off alone).
    @Test func turningTheOutputScanOffNeedsTheCustodians() throws {
        let (g, dir, log, policyPath) = try Self.setUp()
        _ = try g.initializeKeys()
        var t = DataRequest(policyPath: policyPath)
        t.job.input = Self.feed
        t.job.output = dir + "/unverified.csv"
        t.job.verifyOutput = false
        let rec = try Self.recordOf(log) {
            do {
                _ = try g.tokenize(t)
                Issue.record("--no-verify-output ran without the grant")
            } catch let e as JobError {
                #expect(e.code == .permissionDenied && e.reason.contains("grants.unverified-output"), "\(e)")
            }
        }
        #expect(rec?.outcome == .failure && !FileManager.default.fileExists(atPath: dir + "/unverified.csv"))
        let granted = try String(contentsOfFile: dir + "/keyring.yaml", encoding: .utf8)
            .replacingOccurrences(of: "grants:\n", with: "grants:\n  unverified-output: true\n")
        try granted.write(toFile: dir + "/granted.yaml", atomically: true, encoding: .utf8)
        let ok = try Self.recordOf(log) { _ = try Gateway(keyringPath: dir + "/granted.yaml").tokenize(t) }
        #expect(ok?.outcome == .success && ok?.details["unverifiedOutputGrantedBy"] != nil)
    }
}
