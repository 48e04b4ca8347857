import Crypto
import Foundation
import Keyring
import TestSupport
import Testing

extension ExecutableRuns {
    /// The CLI keyring with the custodians' detokenize grant, and a policy that lets it apply.
    static func grantedSetUp(_ dir: String) throws -> (keyring: String, policy: String) {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        var pin = Array("cli-approver".utf8)
        let verifier = try DetokenizeGrant.verifier(for: SecretBytes(consumingArray: &pin))
        let keyring = dir + "/keyring.yaml"
        try (try String(contentsOfFile: cfg, encoding: .utf8) + "grants:\n  detokenize: { pin-verifier: '\(verifier)' }\n")
            .write(toFile: keyring, atomically: true, encoding: .utf8)
        let pinFile = try SoftHSMFixture.shared.writePINFile(name: "cli-detok-\(UUID().uuidString).pin", pin: "cli-approver")
        let policy = try String(contentsOfFile: Self.root.appendingPathComponent("keys-config/policy.default.yaml").path, encoding: .utf8)
            .replacingOccurrences(of: "  allowed: false", with: "  allowed: true\n  pin: { file: \(pinFile) }\n  #")
        try policy.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
        return (keyring, dir + "/policy.yaml")
    }

    /// Issue 12, items 2 and 6: `kill -9` of a running detokenize (nothing in the process can run)
    /// leaves no clear temporary file readable by anyone but the owner, and its started record,
    /// which `audit verify` lists as never closed; the next run in that folder removes the
    /// leftover. A finished detokenize output is 0600 unless `--mode` says otherwise.
    @Test func aKilledDetokenizeLeavesNoReadableClearFileAndAnUnclosedRecord() throws {
        let dir = SoftHSMFixture.shared.directory + "/detok-kill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (keyring, policy) = try Self.grantedSetUp(dir)
        let lines = try String(contentsOfFile: Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path, encoding: .utf8)
            .split(separator: "\n")
        var big = String(lines[0]) + "\n"
        for _ in 0..<100 { big += lines.dropFirst().joined(separator: "\n") + "\n" }  // 30,000 rows
        try big.write(toFile: dir + "/big.csv", atomically: true, encoding: .utf8)
        let t = try Self.run(["tokenize", "--in", dir + "/big.csv", "--out", dir + "/safe.csv", "--policy", policy, "--keyring", keyring])
        #expect(t.status == 0, "\(t.stderr)")

        let p = Process()
        p.executableURL = try Self.executable()
        p.arguments = ["detokenize", "--in", dir + "/safe.csv", "--out", dir + "/clear.csv", "--policy", policy, "--keyring", keyring]
        var env = ProcessInfo.processInfo.environment
        env["TOKENGATE_AUDIT_LOG"] = Self.auditLog
        p.environment = env
        p.standardError = FileHandle.nullDevice
        try p.run()
        let temp = dir + "/.clear.csv.tokengate-\(p.processIdentifier).tmp"
        // Wait until clear values are being written, then kill without warning.
        for _ in 0..<6000 {
            if let size = (try? FileManager.default.attributesOfItem(atPath: temp))?[.size] as? Int, size > 0 { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL)
        let attrs = try FileManager.default.attributesOfItem(atPath: temp)
        #expect((attrs[.size] as? Int ?? 0) > 0, "the run was killed before it wrote clear values")
        #expect((attrs[.posixPermissions] as? Int).map { $0 & 0o077 } == 0, "temporary clear output mode \(attrs[.posixPermissions] ?? "?")")
        #expect(!FileManager.default.fileExists(atPath: dir + "/clear.csv"))

        let started = try String(contentsOfFile: Self.auditLog, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.last { $0["operation"] as? String == "detokenize" && $0["outcome"] as? String == "started" }
        let seq = try #require(started?["sequence"] as? Int)
        #expect((started?["inputs"] as? [[String: Any]])?.first?["path"] as? String == dir + "/safe.csv")
        let verify = try Self.run(["audit", "verify", Self.auditLog, "--json", "--keyring", keyring])
        let v = try #require(try JSONSerialization.jsonObject(with: verify.stdout) as? [String: Any])
        #expect((v["unclosed"] as? [Int])?.contains(seq) == true && v["intact"] as? Bool == true, "\(v)")

        // The next detokenize there removes the dead run's file; its output is 0600, or --mode.
        let again = try Self.run(["detokenize", "--in", dir + "/safe.csv", "--out", dir + "/clear.csv", "--policy", policy, "--keyring", keyring])
        #expect(again.status == 0 && again.stderr.contains("removed \(temp)"), "\(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: temp))
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/clear.csv")[.posixPermissions] as? Int == 0o600)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/clear.csv")) == Data(big.utf8))
        let feed = Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        #expect(try Self.run(["tokenize", "--in", feed, "--out", dir + "/small.csv", "--policy", policy, "--keyring", keyring]).status == 0)
        let shared = try Self.run(
            ["detokenize", "--in", dir + "/small.csv", "--out", dir + "/shared.csv", "--mode", "640", "--policy", policy, "--keyring", keyring])
        #expect(shared.status == 0, "\(shared.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/shared.csv")[.posixPermissions] as? Int == 0o640)
        #expect(try Self.run(["detokenize", "--in", dir + "/safe.csv", "--out", dir + "/x.csv", "--mode", "4755"]).status != 0)
    }

    /// `open --out` writes plaintext: 0600 unless `--mode` says otherwise; a bad mode is refused.
    @Test func openedOutputsAre600UnlessModeSaysOtherwise() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/open-mode-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let feed = Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        #expect(try Self.run(["seal", feed, "--out", dir + "/f.tgs", "--keyring", cfg]).status == 0)
        #expect(try Self.run(["open", dir + "/f.tgs", "--out", dir + "/a.csv", "--keyring", cfg]).status == 0)
        #expect(try Self.run(["open", dir + "/f.tgs", "--out", dir + "/b.csv", "--mode", "640", "--keyring", cfg]).status == 0)
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/a.csv")[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/b.csv")[.posixPermissions] as? Int == 0o640)
        let bad = try Self.run(["open", dir + "/f.tgs", "--out", dir + "/c.csv", "--mode", "rw-r--r--", "--keyring", cfg])
        #expect(bad.status != 0 && bad.stderr.contains("--mode must be octal"), "\(bad.stderr)")
    }
}
