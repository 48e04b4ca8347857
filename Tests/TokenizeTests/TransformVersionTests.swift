import Columns
import Foundation
import Keyring
import TestSupport
import Testing
import Tokenize
import Transforms

/// Transform versions in datasets: new runs record version 2 per column; a manifest written
/// before versions existed (no `transformVersion`) is read as version 1 and detokenizes with the
/// version 1 rules.
@Suite struct TransformVersions {
    @Test func newRunsRecordV2AndAManifestWithoutVersionsDetokenizesWithV1Rules() throws {
        let kr = try keyring(["jtv-pan", "jtv-ssn", "jtv-email"])
        let dir = try tempDir()
        try sampleCSV.write(toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
        let policy = try jobPolicy("jtv", detokenize: true)
        var o = TokenizeJob.Options()
        o.input = dir + "/in.csv"
        o.output = dir + "/v2.csv"
        let s = try TokenizeJob.run(o, policy: policy, keyring: kr, classify: byName)
        for c in s.columns where c.action == "tokenize" { #expect(c.transformVersion == TransformSpec.currentVersion, "\(c.name)") }
        let manifestText = try String(contentsOfFile: dir + "/v2.csv.manifest.json", encoding: .utf8)
        #expect(manifestText.contains("transformVersion"))

        // A dataset as main wrote it before transform versions: tokens by the v1 rules, and a
        // manifest without the field.
        let rows = sampleCSV.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        var v1Rows = rows
        for (col, name) in [(1, "card"), (2, "ssn"), (3, "email"), (-1, "iban")] {
            let report = s.columns.first { $0.name == name }!
            let p = try ColumnProcessor(column: name, rule: report.rule!, policy: policy, keyring: kr, transformVersion: 1)
            for r in 1..<rows.count {
                let c = col < 0 ? rows[r].count - 1 : col
                guard !rows[r][c].isEmpty else { continue }
                let (tok, rej) = try p.apply(ByteColumn([rows[r][c]]))
                #expect(rej.isEmpty)
                v1Rows[r][c] = tok.string(at: 0)
            }
        }
        // Row 1's note and row 2's note hold quoted commas: rebuild those lines from the v2 output
        // layout instead of re-quoting: only the tokenized fields differ.
        let v2Lines = try String(contentsOfFile: dir + "/v2.csv", encoding: .utf8).components(separatedBy: "\r\n")
        var v1Lines: [String] = [v2Lines[0]]
        for r in 1..<rows.count {
            var line = v2Lines[r]
            let v2Fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for col in [1, 2, 3] where !v2Fields[col].isEmpty { line = line.replacingOccurrences(of: v2Fields[col], with: v1Rows[r][col]) }
            let ibanV2 = v2Fields.last!, ibanV1 = v1Rows[r].last!
            line = line.replacingOccurrences(of: ibanV2, with: ibanV1)
            v1Lines.append(line)
        }
        let v1CSV = v1Lines.joined(separator: "\r\n") + "\r\n"
        #expect(v1CSV != v2Lines.joined(separator: "\r\n"), "v1 and v2 tokens are the same")
        try v1CSV.write(toFile: dir + "/v1.csv", atomically: true, encoding: .utf8)
        var json = try JSONSerialization.jsonObject(with: Data(manifestText.utf8)) as! [String: Any]
        json["columns"] = (json["columns"] as! [[String: Any]]).map { c in c.filter { $0.key != "transformVersion" } }
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/v1.csv.manifest.json"))
        #expect(!(try String(contentsOfFile: dir + "/v1.csv.manifest.json", encoding: .utf8)).contains("transformVersion"))

        var d = TokenizeJob.Options()
        d.mode = .detokenize
        d.input = dir + "/v1.csv"
        d.output = dir + "/back1.csv"
        let s1 = try TokenizeJob.run(d, policy: policy, keyring: kr, classify: byName, authorization: grantedForTests)
        #expect(s1.reconciles && s1.rowsOut == 3)
        for c in s1.columns where c.action == "tokenize" { #expect(c.transformVersion == 1, "\(c.name)") }
        #expect(try String(contentsOfFile: dir + "/back1.csv", encoding: .utf8) == sampleCSV)
        // The v2 dataset detokenizes with its own rules.
        d.input = dir + "/v2.csv"
        d.output = dir + "/back2.csv"
        _ = try TokenizeJob.run(d, policy: policy, keyring: kr, classify: byName, authorization: grantedForTests)
        #expect(try String(contentsOfFile: dir + "/back2.csv", encoding: .utf8) == sampleCSV)
    }
}
