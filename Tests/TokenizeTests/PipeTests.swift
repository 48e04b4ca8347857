import Foundation
import TestSupport
import Testing

/// `tokenize --pipe` (issue 18) with a real subprocess, and the Spark bridge on pyspark `local[2]`.
extension ExecutableRuns {
    /// A policy naming every column of the pipe tests' feed (pipe mode does not tag).
    static func pipePolicy(_ dir: String, detokenizePIN pinFile: String? = nil) throws -> String {
        var yaml = """
            version: 1
            columns:
              id: { action: keep }
              card: { transform: card, domain: pan }
              email: { transform: email, domain: email }
              ssn: { transform: ssn, domain: ssn }

            """
        if let pinFile { yaml += "detokenize:\n  allowed: true\n  pin: { file: \(pinFile) }\n" }
        let path = dir + "/pipe.policy.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Rows of the feed: `id,card,email,ssn` with Luhn-valid cards and SSA-valid SSNs.
    static func pipeRows(_ range: Range<Int>) -> [String] {
        range.map { i in
            var digits = [4] + (1..<15).map { ($0 * 7 + i * 13 + i / 7) % 10 }
            var sum = 0
            for (k, d) in digits.reversed().enumerated() { sum += k % 2 == 0 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d }
            digits.append((10 - sum % 10) % 10)
            let ssn = String(format: "%03d-%02d-%04d", 1 + i % 665, 1 + i % 99, 1 + i % 9999)
            return "\(i),\(digits.map(String.init).joined()),user\(i)@example\(i % 5).com,\(ssn)"
        }
    }

    /// One frame: the byte count, LF, the bytes.
    static func frame(_ csv: String) -> Data {
        let body = Data(csv.utf8)
        return Data("\(body.count)\n".utf8) + body
    }

    /// Reads one frame from `h`: its payload, empty for the end frame, nil at the end of the stream.
    static func readFrame(_ h: FileHandle) throws -> Data? {
        var header = Data()
        while true {
            guard let b = try h.read(upToCount: 1), let c = b.first else { return nil }
            if c == UInt8(ascii: "\n") { break }
            header.append(c)
            if header.count > 12 { return nil }
        }
        guard let n = Int(String(decoding: header, as: UTF8.self)) else { return nil }
        var body = Data()
        while body.count < n {
            guard let chunk = try h.read(upToCount: n - body.count), !chunk.isEmpty else { return nil }
            body += chunk
        }
        return body
    }

    /// Starts `tokengate <args>` with pipes on stdin and stdout (stderr to a file), and a
    /// watchdog that kills it after `limit` seconds: a pipe that waited for input it was not
    /// given would hang the test otherwise, so a deadlock fails it instead.
    static func startPipe(_ args: [String], errFile: String, limit: Double = 120) throws -> (Process, FileHandle, FileHandle, DispatchWorkItem) {
        let p = Process()
        p.executableURL = try executable()
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["TOKENGATE_AUDIT_LOG"] = auditLog
        p.environment = env
        let stdin = Pipe()
        let stdout = Pipe()
        FileManager.default.createFile(atPath: errFile, contents: nil)
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        try p.run()
        let pid = p.processIdentifier
        // Cancelled once the process has exited (so it never signals a reused process id).
        let watchdog = DispatchWorkItem { if p.isRunning { kill(pid, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
        return (p, stdin.fileHandleForWriting, stdout.fileHandleForReading, watchdog)
    }

    /// Several batches, each written only after the previous one's result was read back (a
    /// caller that waits for its rows): every batch is answered at once, in order, one output
    /// row per input row, the ids (kept) unchanged, the tokens those of a plain `tokenize` of
    /// the same rows; the end frame closes the run with status 0 and one audit record holding
    /// the context.
    @Test func pipeAnswersEachBatchBeforeTheNextIsWritten() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/pipe-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let policy = try Self.pipePolicy(dir)
        let app = "pipe-test-\(UUID().uuidString.prefix(8))"
        let (p, input, output, watchdog) = try Self.startPipe(
            ["tokenize", "--pipe", "--policy", policy, "--keyring", cfg, "--context", "spark.app=\(app),spark.stage=1,spark.partition=3"],
            errFile: dir + "/err")
        let header = "id,card,email,ssn\n"
        let sizes = [1, 700, 0, 9000, 7]  // 9000 rows: more than one reader batch inside one frame
        var start = 0
        var tokenized: [String] = []
        for (k, n) in sizes.enumerated() {
            let rows = Self.pipeRows(start..<start + n)
            try input.write(contentsOf: Self.frame(header + rows.map { $0 + "\n" }.joined()))
            // Nothing more is written until this batch's result is back.
            let answer = try Self.readFrame(output)
            let err = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
            let out = try #require(answer, "no answer to batch \(k + 1): \(err)")
            let lines = String(decoding: out, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            #expect(lines.first == "id,card,email,ssn")
            #expect(lines.count == n + 1, "batch \(k + 1): \(n) rows in, \(lines.count - 1) out")
            for (i, line) in lines.dropFirst().enumerated() {
                let f = line.split(separator: ",").map(String.init)
                let source = rows[i].split(separator: ",").map(String.init)
                #expect(f.count == 4 && f[0] == source[0], "row order or the kept column changed")
                #expect(f[1] != source[1] && f[2] != source[2] && f[3] != source[3], "a value left the pipe untokenized")
            }
            tokenized += lines.dropFirst()
            start += n
        }
        try input.write(contentsOf: Data("0\n".utf8))
        try input.close()
        #expect(try Self.readFrame(output) == Data(), "no end frame")
        p.waitUntilExit()
        watchdog.cancel()
        let err = try String(contentsOfFile: dir + "/err", encoding: .utf8)
        #expect(p.terminationStatus == 0, "\(err)")
        #expect(err.contains("rows: \(start) in, \(start) out") && err.contains("pipe: \(sizes.count) batches"), "\(err)")

        // The same rows through a plain run give the same tokens, row for row.
        try (header + Self.pipeRows(0..<start).map { $0 + "\n" }.joined()).write(toFile: dir + "/all.csv", atomically: true, encoding: .utf8)
        let plain = try Self.run(["tokenize", "--in", dir + "/all.csv", "--out", dir + "/all.out.csv", "--policy", policy, "--keyring", cfg])
        #expect(plain.status == 0, "\(plain.stderr)")
        let expected = try String(contentsOfFile: dir + "/all.out.csv", encoding: .utf8).split(separator: "\n").dropFirst().map(String.init)
        #expect(tokenized == expected)

        // One closed run in the audit log, carrying the context.
        let records = try String(contentsOfFile: Self.auditLog, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { ($0["details"] as? [String: String])?["context.spark.app"] == app }
        #expect(records.map { $0["outcome"] as? String } == ["started", "success"])
        #expect((records.last?["details"] as? [String: String])?["context.spark.partition"] == "3")
        #expect(records.last?["rowsIn"] as? Int == start && records.last?["startedRecord"] as? Int == records.first?["sequence"] as? Int)
    }

    /// A caller that writes on one thread and reads on another, writing ahead as fast as it
    /// can (20 batches of 3,000 rows, about 1.3 MB, more than the pipes hold): every batch comes
    /// back, in order, with its rows; nothing waits on anything but the other side's reads.
    @Test func pipeServesAWriterAndAReaderOnTwoThreads() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/pipe2-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let policy = try Self.pipePolicy(dir)
        let (p, input, output, watchdog) = try Self.startPipe(["tokenize", "--pipe", "--policy", policy, "--keyring", cfg], errFile: dir + "/err")
        let batches = 20, rowsPerBatch = 3000
        let writer = Thread {
            for k in 0..<batches {
                let rows = Self.pipeRows(k * rowsPerBatch..<(k + 1) * rowsPerBatch)
                try? input.write(contentsOf: Self.frame("id,card,email,ssn\n" + rows.map { $0 + "\n" }.joined()))
            }
            try? input.write(contentsOf: Data("0\n".utf8))
            try? input.close()
        }
        writer.start()
        var firstIDs: [String] = []
        for k in 0..<batches {
            let frame = try #require(try Self.readFrame(output), "no answer to batch \(k + 1)")
            let lines = String(decoding: frame, as: UTF8.self).split(separator: "\n")
            #expect(lines.count == rowsPerBatch + 1, "batch \(k + 1): \(lines.count - 1) rows")
            firstIDs.append(String(lines.dropFirst().first?.split(separator: ",").first ?? ""))
        }
        #expect(firstIDs == (0..<batches).map { String($0 * rowsPerBatch) }, "batches out of order")
        #expect(try Self.readFrame(output) == Data(), "no end frame")
        p.waitUntilExit()
        watchdog.cancel()
        let err = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "\(err)")
    }

    /// A caller that goes away (stops reading) mid-stream: tokengate's next write fails instead
    /// of the process dying of SIGPIPE, so the run exits non-zero and its audit record is closed
    /// with the failure.
    @Test func pipeRecordsAFailureWhenTheReaderGoes() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/pipe3-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let policy = try Self.pipePolicy(dir)
        let app = "pipe-gone-\(UUID().uuidString.prefix(8))"
        let (p, input, output, watchdog) = try Self.startPipe(
            ["tokenize", "--pipe", "--policy", policy, "--keyring", cfg, "--context", "spark.app=\(app)"], errFile: dir + "/err")
        try output.close()
        try input.write(contentsOf: Self.frame("id,card,email,ssn\n" + Self.pipeRows(0..<10).map { $0 + "\n" }.joined()))
        try? input.write(contentsOf: Data("0\n".utf8))
        try? input.close()
        p.waitUntilExit()
        watchdog.cancel()
        #expect(p.terminationReason == .exit && p.terminationStatus != 0, "status \(p.terminationStatus), reason \(p.terminationReason)")
        let records = try String(contentsOfFile: Self.auditLog, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { ($0["details"] as? [String: String])?["context.spark.app"] == app }
        #expect(records.map { $0["outcome"] as? String } == ["started", "failure"])
        let error = records.last?["error"] as? String ?? ""
        #expect(error.contains("stdout"), "\(error)")
    }

    /// Fail closed: a column the policy does not name is refused before any output; a value
    /// outside its transform's domain fails the run naming row and column (not the value); a
    /// stream that ends without its end frame fails the run — in every case a non-zero status.
    @Test func pipeFailsClosed() throws {
        let cfg = try Self.keyringConfig()
        #expect(try Self.run(["keys", "init", "--keyring", cfg]).status == 0)
        let dir = SoftHSMFixture.shared.directory + "/pipe-fail-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let policy = try Self.pipePolicy(dir)
        let args = ["tokenize", "--pipe", "--policy", policy, "--keyring", cfg]
        let rows = Self.pipeRows(0..<5)

        let unnamed = try Self.run(args, stdin: Self.frame("id,card,email,ssn,note\n" + rows.map { $0 + ",x\n" }.joined()) + Data("0\n".utf8))
        #expect(unnamed.status != 0 && unnamed.stdout.isEmpty && unnamed.stderr.contains("column 'note' is not named in the policy"), "\(unnamed.stderr)")

        var bad = rows
        bad[3] = "3,4111111111111111,user3@example3.com,12-345-6789"
        let first = Self.frame("id,card,email,ssn\n" + rows.map { $0 + "\n" }.joined())
        let outside = try Self.run(args, stdin: first + Self.frame("id,card,email,ssn\n" + bad.map { $0 + "\n" }.joined()) + Data("0\n".utf8))
        #expect(outside.status != 0 && outside.stderr.contains("row 9 (batch 2), column 'ssn'"), "\(outside.stderr)")
        #expect(!outside.stderr.contains("12-345-6789"), "the error message holds the value")

        let cut = try Self.run(args, stdin: first)
        #expect(cut.status != 0 && cut.stderr.contains("without the end frame"), "\(cut.stderr)")
        // A frame without a header row would be answered by an empty frame, which reads as the end.
        let headerless = try Self.run(args, stdin: Self.frame("\n") + Data("0\n".utf8))
        #expect(headerless.status != 0 && headerless.stdout.isEmpty && headerless.stderr.contains("has no header row"), "\(headerless.stderr)")
        let torn = try Self.run(args, stdin: first.prefix(first.count - 3))
        #expect(torn.status != 0 && torn.stderr.contains("ended inside batch 1"), "\(torn.stderr)")
    }

    /// A release build of these very sources, if there is one: `$TOKENGATE_TEST_BINARY`, else
    /// `.build/release/tokengate` (scripts/setup.sh builds it before CI's `swift test`), taken only
    /// when it is newer than every file under Sources/ and Package.swift (a stale one is never
    /// tested). The Spark test runs the binary over 100,000 rows three times; the debug build's
    /// FPE loops are about 100 times slower than the release build's.
    static func currentReleaseExecutable() throws -> URL? {
        let fm = FileManager.default
        func modified(_ path: String) -> Date? { (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date }
        var newest = modified(root.appendingPathComponent("Package.swift").path) ?? .distantFuture
        let sources = root.appendingPathComponent("Sources").path
        for case let file as String in fm.enumerator(atPath: sources) ?? NSEnumerator() {
            if let d = modified(sources + "/" + file), d > newest { newest = d }
        }
        let candidates: [String?] = [
            ProcessInfo.processInfo.environment["TOKENGATE_TEST_BINARY"], root.appendingPathComponent(".build/release/tokengate").path,
        ]
        for case let path? in candidates where fm.isExecutableFile(atPath: path) {
            if let d = modified(path), d > newest { return URL(fileURLWithPath: path) }
        }
        return nil
    }

    /// Issue 18 on pyspark `local[2]` (scripts/spark/spark_check.py): 100,000 rows with card,
    /// email and SSN columns in 8 partitions tokenized by `tokenize_dataframe` equal
    /// `tokengate tokenize` of the same rows as CSV, row for row; `detokenize_dataframe` brings
    /// them back; a partition holding an SSN outside the transform's domain fails the job with
    /// the column named in the driver's exception. `audit lineage --spark-app` then shows one
    /// closed, successful run per partition of the tokenize stage (and of the detokenize one).
    @Test func sparkPartitionsTokenizeLikeTheCLI() throws {
        let binary = try Self.currentReleaseExecutable() ?? Self.executable()
        let dir = SoftHSMFixture.shared.directory + "/spark-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (keyring, _) = try Self.grantedSetUp(dir)
        let pinFile = try SoftHSMFixture.shared.writePINFile(name: "spark-detok-\(UUID().uuidString).pin", pin: "cli-approver")
        let policy = try Self.pipePolicy(dir, detokenizePIN: pinFile)
        let started = Date()
        let r = try PythonOracle.runScript(
            "scripts/spark/spark_check.py",
            [
                "--binary", try Self.executable().path, "--keyring", keyring, "--policy", policy, "--workdir", dir + "/work", "--rows", "100000",
                "--partitions", "8",
            ],
            environment: ["TOKENGATE_AUDIT_LOG": Self.auditLog])
        let seconds = Date().timeIntervalSince(started)
        try #require(r.status == 0, "spark_check.py exited \(r.status): \(r.stdout.suffix(2000)) \(r.stderr.suffix(6000))")
        let result = try #require(
            try JSONSerialization.jsonObject(with: Data((r.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: Any])
        let app = try #require(result["app"] as? String)
        #expect((result["failure"] as? String ?? "").contains("column 'ssn'"))
        print("spark bridge test: \(String(format: "%.1f", seconds)) s; timings \(result["timings"] ?? "-")")

        print("spark bridge test ran \(binary.path)")
        let lineage = try Self.run(["audit", "lineage", "--spark-app", app, "--json", "--keyring", keyring])
        #expect(lineage.status == 0, "\(lineage.stderr)")
        let groups = try #require(try JSONSerialization.jsonObject(with: lineage.stdout) as? [String: Any])["groups"] as? [[String: Any]] ?? []
        func runs(_ g: [String: Any]) -> [[String: Any]] { g["runs"] as? [[String: Any]] ?? [] }
        func isPartitionStage(_ g: [String: Any], _ op: String) -> Bool {
            g["operation"] as? String == op && g["stage"] as? String != "driver" && runs(g).count == 8
                && Set(runs(g).map { $0["partition"] as? String ?? "" }) == Set((0..<8).map(String.init))
        }
        // The tokenize stage: 8 partition runs, each closed by a success record, 100,000 rows in all.
        let tokenize = groups.filter { isPartitionStage($0, "tokenize") && $0["failed"] as? Int == 0 }
        #expect(tokenize.count == 1, "\(String(decoding: lineage.stdout, as: UTF8.self))")
        if let g = tokenize.first {
            #expect(g["succeeded"] as? Int == 8 && g["unclosed"] as? Int == 0 && g["rowsIn"] as? Int == 100_000 && g["rowsOut"] as? Int == 100_000)
        }
        let detokenize = groups.filter { $0["operation"] as? String == "detokenize" }
        #expect(!detokenize.isEmpty && detokenize.allSatisfy { $0["failed"] as? Int == 0 && $0["unclosed"] as? Int == 0 })
        #expect(detokenize.reduce(0) { $0 + ($1["rowsIn"] as? Int ?? 0) } == 100_000)
        // The failing job's partition: a failure record naming the column.
        let failures = groups.flatMap(runs).filter { $0["outcome"] as? String == "failure" }
        #expect(failures.contains { ($0["error"] as? String ?? "").contains("column 'ssn'") })
    }
}
