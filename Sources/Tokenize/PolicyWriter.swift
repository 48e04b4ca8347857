import Foundation
public import Tagging

/// `tokengate scan --emit-policy`: freezes the tagger's decisions into a policy that names every
/// column explicitly, so a reviewed, committed policy makes every rerun and every partition
/// decide the same way (the tagger then decides nothing: every column has a rule).
public enum PolicyWriter {
    /// The policy text for the columns of one scan, on top of `base` (its tags, algorithm,
    /// custody and detokenize setting are carried over). Columns the tagger could not decide are
    /// written as commented choices: until someone picks one, tokenize stops on them.
    public static func emit(_ columns: [ColumnClassification], base: Policy, source: String, baseSource: String) throws -> String {
        var out: [String] = []
        out.append("# Policy frozen by `tokengate scan --emit-policy` from \(source)")
        out.append("# on top of \(baseSource). Review it, commit it, and pass it with --policy:")
        out.append("# every column below is decided by its rule, not by the tagger. Schema: docs/policy.md.")
        out.append("version: 1")
        out.append("algorithm: \(base.algorithm.rawValue)")
        out.append("custody: \(base.custody.rawValue)")
        out.append("on-new-evidence: \(base.onNewEvidence.rawValue)   # stop | protect: a kept column that starts holding sensitive values")
        out.append("tags:")
        for (tag, rule) in base.tags.sorted(by: { $0.key < $1.key }) { out.append("  \(yamlKey(tag)): \(try flow(rule))") }
        out.append("columns:")
        var review = 0
        for c in columns {
            let why = "\(c.status.rawValue), confidence \(String(format: "%.2f", c.confidence)), \(c.matched)/\(c.sampled) sampled: \(c.reason)"
            switch c.status {
            case .tagged, .none:
                let tag = c.tag?.rawValue ?? (c.containsEmbedded.isEmpty ? nil : Policy.freeTextTag)
                let rule = base.rule(column: c.name, tag: tag)
                out.append("  \(yamlKey(c.name)): \(try flow(rule))   # \(tag ?? "untagged"): \(comment(why))")
            case .ambiguous, .needsReview:
                review += 1
                out.append("  # REVIEW \(yamlKey(c.name)) — \(comment(why))")
                var choices: [(String, Rule)] = []
                for t in ([c.proposed] + c.alternatives.map(\.tag)).compactMap({ $0 }) where !choices.contains(where: { $0.0 == t.rawValue }) {
                    choices.append((t.rawValue, base.rule(column: c.name, tag: t.rawValue)))
                }
                for (t, r) in choices { out.append("  # \(yamlKey(c.name)): \(try flow(r))   # as \(t)") }
                out.append("  # \(yamlKey(c.name)): {\"action\":\"keep\"}   # not sensitive")
            }
        }
        if base.columns.contains(where: { name, _ in !columns.contains { $0.name == name } }) {
            out.append("  # rules of the base policy for columns this file does not have:")
            for (name, rule) in base.columns.sorted(by: { $0.key < $1.key }) where !columns.contains(where: { $0.name == name }) {
                out.append("  \(yamlKey(name)): \(try flow(rule))")
            }
        }
        if review > 0 { out.append("# \(review) column(s) need review: tokenize stops on them until a rule above is chosen.") }
        if let d = base.detokenize {
            let json = String(decoding: try encoder.encode(d), as: UTF8.self)
            out.append("detokenize: \(json)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// A rule as a YAML flow mapping (JSON is YAML).
    private static func flow(_ r: Rule) throws -> String { String(decoding: try encoder.encode(r), as: UTF8.self) }

    /// A mapping key, quoted as JSON when YAML would read it otherwise.
    private static func yamlKey(_ s: String) -> String {
        let plain = s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D }
        let reserved = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"].contains(s.lowercased())
        if plain, !s.isEmpty, !reserved, s.first?.isNumber == false { return s }
        return String(decoding: (try? encoder.encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
    }

    /// One line of comment text.
    private static func comment(_ s: String) -> String { s.replacingOccurrences(of: "\n", with: " ") }
}
