import Foundation
import TestSupport
import Testing

extension ExecutableRuns {
    /// Parallel runs (issue 12, item 5): 8 concurrent processes — tokenize, tokenize --seal,
    /// seal, open and keys list mixed — × 10 rounds all succeed on one set of SoftHSM2 tokens,
    /// each is audited (started and closed), and the chain stays intact. Before the cross-process
    /// lock around module initialization, slot enumeration and login, a third of such runs failed
    /// ("no token labelled …", `C_Login` → `CKR_GENERAL_ERROR` / `CKR_USER_PIN_NOT_INITIALIZED`).
    @Test func eightConcurrentJobsTimesTenRoundsAllSucceed() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/parallel-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let feed = Self.root.appendingPathComponent("Fixtures/feeds/customers.csv").path
        let sealed = dir + "/feed.tgs"
        let first = try Self.run(["seal", feed, "--out", sealed, "--keyring", cfg])
        #expect(first.status == 0, "\(first.stderr)")
        let log = dir + "/audit.jsonl"
        try (try String(contentsOfFile: cfg, encoding: .utf8) + "audit-log: \(log)\n").write(toFile: dir + "/keyring.yaml", atomically: true, encoding: .utf8)
        let keyring = dir + "/keyring.yaml"

        func job(_ i: Int, round: Int) -> [String] {
            let out = "\(dir)/r\(round)-j\(i)"
            switch i % 5 {
            // The overhead bound is not what this test is about: 8 processes on 2 cores skew it.
            case 0: return ["tokenize", "--in", feed, "--out", out + ".csv", "--max-encryption-overhead", "1000"]
            case 1: return ["tokenize", "--in", feed, "--out", out + ".tgs", "--seal", "--max-encryption-overhead", "1000"]
            case 2: return ["seal", feed, "--out", out + ".tgs"]
            case 3: return ["open", sealed, "--out", out + ".opened.csv"]
            default: return ["keys", "list"]
            }
        }
        var failures: [String] = []
        var runs = 0
        for round in 0..<10 {
            var procs: [(Process, URL, [String])] = []
            for i in 0..<8 {
                let p = Process()
                p.executableURL = try Self.executable()
                let args = job(i + round, round: round) + ["--keyring", keyring]
                p.arguments = args
                let err = URL(fileURLWithPath: "\(dir)/r\(round)-j\(i).err")
                FileManager.default.createFile(atPath: err.path, contents: nil)
                p.standardError = try FileHandle(forWritingTo: err)
                p.standardOutput = FileHandle.nullDevice
                try p.run()
                procs.append((p, err, args))
            }
            for (p, err, args) in procs {
                p.waitUntilExit()
                runs += 1
                if p.terminationStatus != 0 {
                    failures.append(
                        "round \(round) `\(args.prefix(2).joined(separator: " "))` exited \(p.terminationStatus): \((try? String(contentsOf: err, encoding: .utf8)) ?? "")"
                    )
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(runs) runs failed:\n\(failures.joined(separator: "\n"))")
        let verify = try Self.run(["audit", "verify", log, "--json", "--keyring", keyring])
        let v = try #require(try JSONSerialization.jsonObject(with: verify.stdout) as? [String: Any], "\(verify.stderr)")
        #expect(v["intact"] as? Bool == true && (v["unclosed"] as? [Int])?.isEmpty == true, "\(v)")
        let records = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        // keys list reads no data and is not audited; every other run wrote started + success.
        let audited = (0..<10).reduce(0) { n, round in n + (0..<8).filter { ($0 + round) % 5 != 4 }.count }
        #expect(records.filter { $0["outcome"] as? String == "success" }.count == audited)
        #expect(records.filter { $0["outcome"] as? String == "started" }.count == audited)
    }
}
