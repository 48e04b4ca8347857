import Audit
import Foundation
import TestSupport
import Testing

/// Runs the built `tokengate` executable as a data engineer would: feeds through stdin/stdout.
@Suite(.serialized) struct ExecutableRuns {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func executable() throws -> URL {
        let dirs = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for dir in dirs where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("tokengate").path) {
            return dir.appendingPathComponent("tokengate")
        }
        throw FixtureError("tokengate executable not found next to the test bundle")
    }

    /// A keyring config for the CLI-only fixture tokens.
    static func keyringConfig() throws -> String {
        let fx = SoftHSMFixture.shared
        let pin = try fx.writePINFile(name: "cli.pin")
        let purposes = ["at-rest": "[datasets]", "in-transit": "[streams]", "in-use": "[pan, ssn, email, phone, iban, date, generic]", "audit": "[log]"]
        var yaml = "version: 1\nmodule: \(fx.modulePath)\nmodule-environment: { SOFTHSM2_CONF: \(fx.configPath) }\npurposes:\n"
        for (p, keys) in purposes.sorted(by: { $0.key < $1.key }) {
            yaml += "  \(p): { token: tg-cli-\(p), pin: { file: \(pin) }, keys: \(keys) }\n"
        }
        let path = fx.directory + "/cli-keyring.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    struct Output {
        let status: Int32
        let stdout: Data
        let stderr: String
    }

    /// The audit log every executable run of this suite appends to.
    static let auditLog = SoftHSMFixture.shared.directory + "/cli-audit.jsonl"

    static func run(_ args: [String], stdin: Data = Data()) throws -> Output {
        let p = Process()
        p.executableURL = try executable()
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["TOKENGATE_AUDIT_LOG"] = auditLog
        p.environment = env
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tg-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let inFile = dir.appendingPathComponent("in"), outFile = dir.appendingPathComponent("out"), errFile = dir.appendingPathComponent("err")
        try stdin.write(to: inFile)
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        p.standardInput = try FileHandle(forReadingFrom: inFile)
        p.standardOutput = try FileHandle(forWritingTo: outFile)
        p.standardError = try FileHandle(forWritingTo: errFile)
        try p.run()
        p.waitUntilExit()
        return Output(
            status: p.terminationStatus, stdout: try Data(contentsOf: outFile),
            stderr: try String(contentsOf: errFile, encoding: .utf8))
    }

    /// `scan --emit-policy` freezes the decisions: tokenize under the emitted policy (every
    /// column named, so the tagger decides nothing) writes exactly what the default run writes.
    @Test func emittedPolicyReproducesTheTaggedRun() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let feed = Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let dir = SoftHSMFixture.shared.directory + "/emit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let scan = try Self.run(["scan", feed, "--emit-policy", dir + "/feed.policy.yaml"])
        #expect(scan.status == 0 && scan.stderr.contains("policy written to"), "\(scan.stderr)")
        let text = try String(contentsOfFile: dir + "/feed.policy.yaml", encoding: .utf8)
        #expect(text.contains("card_number: {\"action\":\"tokenize\",\"domain\":\"pan\",\"transform\":\"card\"}"))
        #expect(text.contains("order_number: {\"action\":\"keep\"}") && text.contains("memo: {\"action\":\"tokenize-embedded\"}"))
        let tagged = try Self.run(["tokenize", "--in", feed, "--out", dir + "/a.csv", "--keyring", cfg])
        let frozen = try Self.run(["tokenize", "--in", feed, "--out", dir + "/b.csv", "--policy", dir + "/feed.policy.yaml", "--keyring", cfg])
        #expect(tagged.status == 0 && frozen.status == 0, "\(frozen.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/a.csv")) == Data(contentsOf: URL(fileURLWithPath: dir + "/b.csv")))
    }

    /// The keyring config's audit-log wins over $TOKENGATE_AUDIT_LOG (issue 12, item 2): the
    /// environment of the caller cannot move the trail away from where the custodians put it.
    @Test func configuredAuditLogCannotBeMovedByTheEnvironment() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/auditlog-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pinned = try String(contentsOfFile: cfg, encoding: .utf8) + "audit-log: \(dir)/configured.jsonl\n"
        try pinned.write(toFile: dir + "/keyring.yaml", atomically: true, encoding: .utf8)
        let feed = Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        // Self.run sets TOKENGATE_AUDIT_LOG to the suite's log: it must not be used here.
        let before = (try? String(contentsOfFile: Self.auditLog, encoding: .utf8))?.count ?? 0
        let r = try Self.run(["tokenize", "--in", feed, "--out", dir + "/safe.csv", "--keyring", dir + "/keyring.yaml"])
        #expect(r.status == 0, "\(r.stderr)")
        let configured = try String(contentsOfFile: dir + "/configured.jsonl", encoding: .utf8)
        #expect(configured.contains("\"operation\":\"tokenize\""))
        #expect(((try? String(contentsOfFile: Self.auditLog, encoding: .utf8))?.count ?? 0) == before)
    }

    /// Temporary outputs (issue 12, item 6): SIGTERM mid-run leaves no temporary file and no
    /// output; a temporary file left by a process that died (kill -9) is removed, and reported, by
    /// the next run that writes in that folder.
    @Test func temporaryOutputsNeverOutliveTheirRun() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/tmpout-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let lines = try String(contentsOfFile: Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path, encoding: .utf8)
            .split(separator: "\n")
        var big = String(lines[0]) + "\n"
        for _ in 0..<200 { big += lines.dropFirst().joined(separator: "\n") + "\n" }  // 60,000 rows
        try big.write(toFile: dir + "/big.csv", atomically: true, encoding: .utf8)

        let p = Process()
        p.executableURL = try Self.executable()
        p.arguments = ["tokenize", "--in", dir + "/big.csv", "--out", dir + "/out.csv", "--keyring", cfg]
        var env = ProcessInfo.processInfo.environment
        env["TOKENGATE_AUDIT_LOG"] = Self.auditLog
        p.environment = env
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until the temporary output exists, then stop the run.
        let temp = dir + "/.out.csv.tokengate-\(p.processIdentifier).tmp"
        for _ in 0..<400 where !FileManager.default.fileExists(atPath: temp) { Thread.sleep(forTimeInterval: 0.01) }
        #expect(FileManager.default.fileExists(atPath: temp), "the run did not start writing")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 128 + SIGTERM, "\(p.terminationReason.rawValue) \(p.terminationStatus)")
        #expect(!FileManager.default.fileExists(atPath: temp) && !FileManager.default.fileExists(atPath: dir + "/out.csv"))
        // Write-ahead audit: the stopped run left its started record, and verify lists it as never
        // closed (kill -9 leaves the same; only the cleanup above needs a catchable signal).
        let started = try String(contentsOfFile: Self.auditLog, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.last { $0["outcome"] as? String == "started" && ($0["inputs"] as? [[String: Any]])?.first?["path"] as? String == dir + "/big.csv" }
        let seq = try #require(started?["sequence"] as? Int)
        let verify = try Self.run(["audit", "verify", Self.auditLog, "--json", "--keyring", cfg])
        let v = try #require(try JSONSerialization.jsonObject(with: verify.stdout) as? [String: Any])
        #expect((v["unclosed"] as? [Int])?.contains(seq) == true && v["intact"] as? Bool == true, "\(v)")

        // A dead process's leftover is removed by the next run writing there.
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let stale = dir + "/.other.csv.tokengate-\(dead.processIdentifier).tmp"
        FileManager.default.createFile(atPath: stale, contents: Data("4111111111111111\n".utf8), attributes: [.posixPermissions: 0o640])
        let feed = Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let r = try Self.run(["tokenize", "--in", feed, "--out", dir + "/safe.csv", "--keyring", cfg])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: stale) && r.stderr.contains("removed \(stale)"), "\(r.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/safe.csv")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    /// The progress line goes to a terminal only: under a pseudo-terminal (util-linux `script`)
    /// stderr carries it, through a pipe it never appears.
    @Test func progressLineOnlyOnATerminal() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let feed = Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let dir = SoftHSMFixture.shared.directory + "/progress-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let piped = try Self.run(["tokenize", "--in", feed, "--out", dir + "/piped.csv", "--keyring", cfg])
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(!piped.stderr.contains("\u{1B}[K") && !piped.stderr.contains("MB/s  "), "\(piped.stderr)")

        let command = [try Self.executable().path, "tokenize", "--in", feed, "--out", dir + "/tty.csv", "--keyring", cfg]
            .map { "'" + $0 + "'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["script", "-qec", command, "/dev/null"]
        var env = ProcessInfo.processInfo.environment
        env["TOKENGATE_AUDIT_LOG"] = Self.auditLog
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let tty = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(tty)")
        #expect(tty.contains("\r\u{1B}[K300 records") && tty.contains("MB/s") && tty.contains("ETA"), "\(tty)")
        #expect(tty.contains("rows: 300 in, 300 out, 0 rejected"))
    }

    @Test func keysInitThenTokenizeAFeedThroughStdinAndStdout() throws {
        let cfg = try Self.keyringConfig()
        let initOut = try Self.run(["keys", "init", "--keyring", cfg])
        #expect(initOut.status == 0, "\(initOut.stderr)")
        let list = try Self.run(["keys", "list", "--json", "--keyring", cfg])
        let listed = try #require(try JSONSerialization.jsonObject(with: list.stdout) as? [String: Any])["keys"] as? [[String: Any]]
        // The fixture tokens are shared with other suites, which may add keys of their own
        // (listed as not configured here): this config's 10 keys are the configured ones.
        let keys = listed?.filter { $0["configured"] as? Bool == true }
        #expect(keys?.count == 10, "\(listed?.map { $0["label"] ?? "?" } ?? [])")
        #expect(keys?.allSatisfy { ($0["custodyViolations"] as? [Any])?.isEmpty == true } == true)

        let feed = try Data(contentsOf: Self.root.appendingPathComponent("Fixtures/feeds/customers.csv"))
        let out = try Self.run(["tokenize", "--keyring", cfg], stdin: feed)  // format sniffed from stdin
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("rows: 300 in, 300 out, 0 rejected — reconciled"))
        #expect(out.stderr.contains("column card_number [pan]: tokenize card"))
        let text = String(decoding: out.stdout, as: UTF8.self)
        #expect(text.split(separator: "\n").count == 301)
        #expect(!text.contains("carolramirez384@example.net") && text.contains("0b6b318a-fcbb-4c8d-8b0c-ba6d8ca10c4a"))

        // Malformed input without --rejects fails with file, record and reason; nothing on stdout.
        let original = String(decoding: feed, as: UTF8.self)
        let row2 = original.split(separator: "\n")[1].replacingOccurrences(of: "4626-8855-6001-9", with: "4111-1111-111")
        let bad = Data((original + row2 + "\n").utf8)
        let failed = try Self.run(["tokenize", "--format", "csv", "--keyring", cfg], stdin: bad)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("stdin: record 302, column 'card_number'"), "\(failed.stderr)")
        #expect(failed.stdout.isEmpty)
        #expect(!failed.stderr.contains("4111-1111-111"))
    }

    @Test func scanPrintsJSONWithoutKeys() throws {
        let out = try Self.run(["scan", Self.root.appendingPathComponent("Fixtures/feeds/customers.jsonl").path, "--json"])
        #expect(out.status == 0)
        let cols = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])["columns"] as? [[String: Any]]
        let tags = Dictionary(uniqueKeysWithValues: (cols ?? []).map { ($0["name"] as! String, $0["tag"] as? String) })
        #expect(tags["card_number"] == "pan" && tags["ssn"] == "ssn" && tags["order_number"] == .some(nil))
        #expect((cols ?? []).allSatisfy { $0["sampled"] != nil && $0["matched"] != nil && $0["confidence"] != nil && $0["index"] != nil })
    }

    /// Starts `tokengate receive --listen 0` and returns the process, its port and its stderr file.
    static func startReceiver(_ args: [String]) throws -> (Process, UInt16, URL) {
        let p = Process()
        p.executableURL = try executable()
        p.arguments = ["receive", "--listen", "0"] + args
        var env = ProcessInfo.processInfo.environment
        env["TOKENGATE_AUDIT_LOG"] = auditLog
        p.environment = env
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("tg-recv-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }),
                let port = UInt16(line.split(separator: ":").last ?? "")
            {
                return (p, port, err)
            }
            usleep(20_000)
        }
        p.terminate()
        throw FixtureError("receiver did not start listening")
    }

    @Test func sendAndReceiveOverLoopbackAndAKilledSenderLeavesNoFile() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/transit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let feed = Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        #expect(try Self.run(["seal", "--in", feed, "--out", dir + "/a.tgs", "--frame-size", "4096", "--keyring", cfg]).status == 0)

        // Round trip: the receiver seals again under its at-rest key.
        let (recv, port, _) = try Self.startReceiver(["--out", dir + "/b.tgs", "--seal", "--timeout", "20", "--keyring", cfg])
        let send = try Self.run(["send", dir + "/a.tgs", "--to", "127.0.0.1:\(port)", "--keyring", cfg])
        recv.waitUntilExit()
        #expect(send.status == 0, "\(send.stderr)")
        #expect(recv.terminationStatus == 0)
        let opened = try Self.run(["open", dir + "/b.tgs", "--keyring", cfg])
        let original = try Data(contentsOf: URL(fileURLWithPath: feed))
        #expect(opened.status == 0 && opened.stdout == original)

        // A sender killed right after it starts: the receiver fails (connection lost or timeout),
        // or — if the stream had already completed — holds the whole file; never a partial one.
        let (recv2, port2, _) = try Self.startReceiver(["--out", dir + "/c.csv", "--timeout", "3", "--keyring", cfg])
        let sender = Process()
        sender.executableURL = try Self.executable()
        sender.arguments = ["send", dir + "/a.tgs", "--to", "127.0.0.1:\(port2)", "--keyring", cfg]
        var senderEnv = ProcessInfo.processInfo.environment
        senderEnv["TOKENGATE_AUDIT_LOG"] = Self.auditLog
        sender.environment = senderEnv
        sender.standardError = FileHandle.nullDevice
        try sender.run()
        usleep(30_000)
        kill(sender.processIdentifier, SIGKILL)
        sender.waitUntilExit()
        recv2.waitUntilExit()
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("c.csv") || $0.contains("tokengate-") }
        if recv2.terminationStatus == 0 {
            let got = try Data(contentsOf: URL(fileURLWithPath: dir + "/c.csv"))
            #expect(got == original)
        } else {
            #expect(left.isEmpty, "partial output left: \(left)")
        }
    }

    @Test func everyCommandIsAuditedWithoutValuesAndNothingRunsUnaudited() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/audit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let feed = Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let before = (try? String(contentsOfFile: Self.auditLog, encoding: .utf8))?.split(separator: "\n").count ?? 0
        let steps: [(String, [String])] = [
            ("tokenize", ["tokenize", "--in", feed, "--out", dir + "/safe.tgs", "--seal", "--keyring", cfg]),
            ("open", ["open", dir + "/safe.tgs", "--out", dir + "/safe.csv", "--keyring", cfg]),
            ("seal", ["seal", dir + "/safe.csv", "--out", dir + "/again.tgs", "--keyring", cfg]),
            ("keys rotate", ["keys", "rotate", "at-rest/datasets", "--keyring", cfg]),
            ("rewrap", ["rewrap", dir + "/again.tgs", "--keyring", cfg]),
        ]
        for (_, args) in steps {
            let r = try Self.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        let failed = try Self.run(["open", dir + "/missing.tgs", "--keyring", cfg])
        #expect(failed.status != 0)
        let lines = try String(contentsOfFile: Self.auditLog, encoding: .utf8).split(separator: "\n").dropFirst(before)
        let all = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        // Write-ahead: a started record before each operation, closed by its outcome record.
        let ops = all.filter { $0["outcome"] as? String != "started" }
        let started = all.filter { $0["outcome"] as? String == "started" }
        #expect(started.count == ops.count && ops.allSatisfy { o in started.contains { $0["sequence"] as? Int == o["startedRecord"] as? Int } })
        #expect(ops.map { $0["operation"] as? String } == steps.map(\.0) + ["open"])
        #expect(ops.last?["outcome"] as? String == "failure")
        #expect((ops.first?["inputs"] as? [[String: Any]])?.first?["sha256"] != nil)
        let verify = try Self.run(["audit", "verify", Self.auditLog, "--keyring", cfg])
        #expect(verify.status == 0 && String(decoding: verify.stdout, as: UTF8.self).contains("chain intact"), "\(verify.stderr)")

        // No value and no token of the sensitive columns appears in the log.
        let rows = try String(contentsOfFile: feed, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let tokens = try String(contentsOfFile: dir + "/safe.csv", encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let sensitive = [
            "first_name", "last_name", "email", "phone", "ssn", "date_of_birth", "street_address", "card_number", "iban", "routing_number", "ip_address",
        ]
        let header = rows[0]
        var values: [String] = []
        for table in [rows, tokens] {
            for row in table.dropFirst() where row.count == header.count {
                for name in sensitive { if let i = header.firstIndex(of: name), row[i].count >= 6 { values.append(row[i]) } }
            }
        }
        #expect(values.count > 3000)
        let found = try AuditLog.occurrences(of: values, inLogAt: Self.auditLog)
        #expect(found.isEmpty, "values in the audit log: \(found.prefix(5))")

        // Without a usable audit key nothing runs.
        let noAudit = try String(contentsOfFile: cfg, encoding: .utf8).split(separator: "\n").filter { !$0.contains("audit:") }.joined(separator: "\n") + "\n"
        let cfg2 = SoftHSMFixture.shared.directory + "/cli-keyring-noaudit.yaml"
        try noAudit.write(toFile: cfg2, atomically: true, encoding: .utf8)
        let refused = try Self.run(["tokenize", "--in", feed, "--out", dir + "/never.csv", "--keyring", cfg2])
        #expect(refused.status != 0 && refused.stderr.contains("no unaudited processing"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/never.csv"))
    }
}
