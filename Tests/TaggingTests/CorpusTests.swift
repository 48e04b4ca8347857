import Columns
import Foundation
import Tagging
import Testing

/// The labelled corpus of Fixtures/tagging (scripts/tagging_corpus.py: Faker in six locales plus
/// hand-written look-alikes): every column classified with the default tagger, precision and
/// recall over columns per type. A column counts as predicted for the type a policy would have to
/// act on: tagged, needs_review and ambiguous columns all stop or protect (fail closed).
@Suite struct LabelledCorpus {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/tagging")
    }

    @Test func precisionAndRecallPerType() throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent("labels.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let tables = try #require(root["tables"] as? [String: [String: Any]])
        let tagger = Tagger(config: TaggerConfig(today: CivilDate(year: 2024, month: 9, day: 11)))
        var tp: [String: Int] = [:], fp: [String: Int] = [:], fn: [String: Int] = [:]
        var misses: [String] = []
        for file in tables.keys.sorted() {
            let text = try String(contentsOf: Self.directory.appendingPathComponent(file), encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            let names = splitCSVLine(lines[0])
            var columns = [ByteColumn](repeating: ByteColumn(), count: names.count)
            for line in lines.dropFirst() {
                for (k, v) in splitCSVLine(line).enumerated() where k < names.count { columns[k].append(v) }
            }
            for (k, name) in names.enumerated() {
                let expected = tables[file]?[name] as? String
                let c = tagger.classify(name: name, index: k, values: columns[k])
                let predicted = c.status == .none ? nil : c.proposed?.rawValue
                if predicted == expected {
                    if let e = expected { tp[e, default: 0] += 1 }
                    continue
                }
                if let p = predicted { fp[p, default: 0] += 1 }
                if let e = expected { fn[e, default: 0] += 1 }
                misses.append("\(file) \(name): expected \(expected ?? "none"), got \(predicted ?? "none") (\(c.reason))")
            }
        }
        func ratio(_ a: Int, _ b: Int) -> String { b == 0 ? "  -  " : String(format: "%.3f", Double(a) / Double(b)) }
        var report = "type            tp  fp  fn  precision  recall\n"
        for tag in Tag.allCases.map(\.rawValue) {
            let t = tp[tag, default: 0], f = fp[tag, default: 0], n = fn[tag, default: 0]
            guard t + f + n > 0 else { continue }
            report +=
                tag.padding(toLength: 15, withPad: " ", startingAt: 0)
                + String(format: "%3d %3d %3d", t, f, n) + "  " + ratio(t, t + f) + "      " + ratio(t, t + n) + "\n"
        }
        let T = tp.values.reduce(0, +), F = fp.values.reduce(0, +), N = fn.values.reduce(0, +)
        report += "overall        " + String(format: "%3d %3d %3d", T, F, N) + "  " + ratio(T, T + F) + "      " + ratio(T, T + N)
        print(report)
        for m in misses { print("miss:", m) }
        let precision = Double(T) / Double(max(1, T + F)), recall = Double(T) / Double(max(1, T + N))
        #expect(precision >= 0.95, "\(report)")
        #expect(recall >= 0.95, "\(report)")
    }
}
