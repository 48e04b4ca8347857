import Audit
import Foundation
import Operations
import SystemIO
import TestSupport
import Testing
import Tokenize

extension OperationsAudit {
    /// `tokenize` in pipe mode, in process (issue 18): the started and the outcome record both
    /// carry the run's context (`context.<key>`) and `pipe: on`; a refused run (a column the
    /// policy does not name) closes its started record with a failure naming the column.
    @Test func pipeRunsCarryTheirContextInBothRecords() throws {
        let (g, dir, log, _) = try Self.setUp()
        _ = try g.initializeKeys()
        let policy = dir + "/pipe.policy.yaml"
        try "version: 1\ncolumns:\n  id: { action: keep }\n  card: { transform: card, domain: ops-pan }\n"
            .write(toFile: policy, atomically: true, encoding: .utf8)
        func frames(_ csv: String) -> [UInt8] { Array("\(csv.utf8.count)\n\(csv)0\n".utf8) }

        func run(_ input: [UInt8], context: [String: String]) throws -> (records: [AuditRecord], output: String, error: (any Error)?) {
            let inPath = dir + "/in-\(UUID().uuidString)", outPath = dir + "/out-\(UUID().uuidString)"
            try Data(input).write(to: URL(fileURLWithPath: inPath))
            let inFD = try FileDescriptor.open(inPath, .readOnly)
            let outFD = try FileDescriptor.open(outPath, [.writeOnly, .create, .truncate], mode: 0o600)
            defer {
                try? inFD.close()
                try? outFD.close()
            }
            var r = DataRequest(policyPath: policy)
            r.pipe = true
            r.context = context
            r.pipeInputFD = inFD.rawValue
            r.pipeOutputFD = outFD.rawValue
            let before = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").count ?? 0
            var failure: (any Error)?
            do { _ = try g.tokenize(r) } catch { failure = error }
            return (try Self.records(log, after: before), try String(contentsOfFile: outPath, encoding: .utf8), failure)
        }

        let context = try Gateway.parseAuditContext("spark.app=app-7,spark.stage=2,spark.partition=5")
        let ok = try run(frames("id,card\n1,4111111111111111\n2,4012888888881881\n"), context: context)
        #expect(ok.error == nil, "\(ok.error.map { "\($0)" } ?? "")")
        #expect(ok.records.map(\.outcome) == [.started, .success])
        for r in ok.records {
            #expect(r.details["context.spark.app"] == "app-7" && r.details["context.spark.partition"] == "5" && r.details["pipe"] == "on")
        }
        #expect(ok.records.last?.rowsIn == 2 && ok.records.last?.inputs.first?.path == "stdin (pipe)")
        #expect(ok.records.last?.startedRecord == ok.records.first?.sequence)
        #expect(ok.output.hasPrefix("46\nid,card\n1,411111") && ok.output.hasSuffix("\n0\n") && !ok.output.contains("4111111111111111"))
        #expect(try g.auditRecords(matching: AuditQuery(details: ["context.spark.app": "app-7"])).count == 2)
        #expect(try g.auditRecords(matching: AuditQuery(details: ["context.spark.app": "app-8"])).isEmpty)

        let refused = try run(frames("id,card,note\n1,4111111111111111,x\n"), context: ["spark.app": "app-7", "spark.partition": "6"])
        #expect("\(refused.error.map { "\($0)" } ?? "")".contains("column 'note' is not named in the policy"))
        #expect(refused.records.map(\.outcome) == [.started, .failure] && refused.records.allSatisfy { $0.details["context.spark.partition"] == "6" })
        #expect(refused.output.isEmpty, "a refused pipe wrote output")

        // A request built in process is held to the same rules as --context (nothing runs).
        var bad = DataRequest(policyPath: policy)
        bad.pipe = true
        bad.context = ["spark.app": "4111 1111 1111 1111"]
        #expect(throws: OperationError(.invalidArgument, "")) { try g.tokenize(bad) }
    }

    /// `--context` takes names and numbers only: malformed pairs, repeated keys, characters
    /// outside the sets and too many pairs are refused.
    @Test func auditContextIsNamesAndNumbersOnly() throws {
        #expect(try Gateway.parseAuditContext("spark.app=local-1796,spark.stage=3") == ["spark.app": "local-1796", "spark.stage": "3"])
        #expect(try Gateway.parseAuditContext("job=s3://bucket/x:1") == ["job": "s3://bucket/x:1"])
        for bad in [
            "", "a", "a=", "=b", "a=b,a=c", "a=b c", "a=b;rm", "k\u{e9}y=v", "a=\(String(repeating: "x", count: 129))",
            (0..<17).map { "k\($0)=v" }.joined(separator: ","),
        ] {
            #expect(throws: OperationError(.invalidArgument, "")) { try Gateway.parseAuditContext(bad) }
        }
    }
}
