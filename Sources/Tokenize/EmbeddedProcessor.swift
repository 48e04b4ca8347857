public import Columns
public import Keyring
import Tagging
public import Transforms

/// Tokenizes sensitive values found inside free text (a card number or email in a memo): the
/// scanner finds them with strict validators, each is tokenized with its tag's rule from the
/// policy (same length, so it is spliced in place), and the rest of the text stays as it was.
/// Detokenizing scans the tokenized text, which finds the same spans (tokens keep the format and
/// validity the scanner checks), and inverts them.
public final class EmbeddedProcessor {
    public let column: String
    /// Per embedded tag, the processor of that tag's rule (tweaked by this column's name).
    private var processors: [Tag: ColumnProcessor] = [:]
    public let tags: [String]

    public init(
        column: String, policy: Policy, keyring: Keyring, keyVersions: [String: Int] = [:],
        transformVersion: Int = TransformSpec.currentVersion
    ) throws {
        self.column = column
        var tags: [String] = []
        for tag in [Tag.pan, .ssn, .email] {
            let rule = policy.rule(column: "\u{0}", tag: tag.rawValue)  // the tag's rule, never a column override
            guard rule.action == .tokenize else {
                throw PolicyError(
                    .ruleInvalid, "column '\(column)' holds embedded \(tag.rawValue) values but the policy's \(tag.rawValue) rule is not tokenize")
            }
            processors[tag] = try ColumnProcessor(
                column: column, rule: rule, policy: policy, keyring: keyring, keyVersion: keyVersions[tag.rawValue],
                transformVersion: transformVersion)
            tags.append(tag.rawValue)
        }
        self.tags = tags
    }

    /// Key of each embedded tag's processor (for the manifest and summary).
    public var keys: [String: KeyInfo] {
        Dictionary(uniqueKeysWithValues: processors.compactMap { t, p in p.key.map { (t.rawValue, $0) } })
    }

    /// Tokenizes (or inverts) the embedded values of every cell. A span the transform rejects
    /// rejects its row (index and reason, never the value).
    public func apply(_ values: ByteColumn, invert: Bool) throws -> (output: ByteColumn, rejects: [ValueReject]) {
        var spans: [Tag: (cells: [Int], starts: [Int], column: ByteColumn)] = [:]
        for i in 0..<values.count {
            let base = values.offsets[i]
            let matches = values.bytes.withUnsafeBufferPointer { all in
                FreeTextScanner.scan(UnsafeBufferPointer(rebasing: all[values.range(i)]))
            }
            for m in matches where processors[m.tag] != nil {
                spans[m.tag, default: ([], [], ByteColumn())].cells.append(i)
                spans[m.tag]!.starts.append(base + m.range.lowerBound)
                let span = values.bytes[(base + m.range.lowerBound)..<(base + m.range.upperBound)]
                // Card numbers as people write them (dots, underscores, no-break spaces, fullwidth
                // digits) go to the card transform in its ASCII form and come back in theirs.
                spans[m.tag]!.column.append(m.tag == .pan ? Self.asciiCard(span)[...] : span)
            }
        }
        var out = values
        var rejects: [ValueReject] = []
        for (tag, s) in spans {
            let (tokens, bad) = try invert ? processors[tag]!.invert(s.column) : processors[tag]!.apply(s.column)
            let badSet = Set(bad.map(\.index))
            for b in bad { rejects.append(ValueReject(index: s.cells[b.index], reason: "embedded \(tag.rawValue): \(b.reason)")) }
            for k in 0..<s.column.count where !badSet.contains(k) {
                let t = tokens[k]
                guard t.count == s.column.range(k).count else {
                    throw PolicyError(.lengthNotPreserved, "embedded \(tag.rawValue) token changed length; the \(tag.rawValue) transform must preserve length")
                }
                if tag == .pan {
                    Self.writeCard(t, into: &out.bytes, at: s.starts[k])
                } else {
                    out.bytes.replaceSubrange(s.starts[k]..<(s.starts[k] + t.count), with: t)
                }
            }
        }
        rejects.sort { $0.index < $1.index }
        return (out, rejects)
    }

    /// A card number's ASCII form for the card transform: ASCII digits, spaces and dashes as they
    /// are, a fullwidth digit (U+FF10–FF19, 3 bytes) as its ASCII digit, every other separator
    /// byte (`.`, `_`, the two bytes of U+00A0) as a space.
    static func asciiCard(_ span: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(span.count)
        var i = span.startIndex
        while i < span.endIndex {
            let c = span[i]
            if (0x30...0x39).contains(c) || c == 0x20 || c == 0x2D {
                out.append(c)
                i += 1
            } else if c == 0xEF, i + 2 < span.endIndex, span[i + 1] == 0xBC, (0x90...0x99).contains(span[i + 2]) {
                out.append(0x30 + (span[i + 2] - 0x90))
                i += 3
            } else {
                out.append(0x20)
                i += 1
            }
        }
        return out
    }

    /// Writes a card token (ASCII form, as ``asciiCard(_:)`` made it) back over the original span
    /// at `start`: digits in the original's form (ASCII or fullwidth), separators untouched.
    static func writeCard(_ token: ArraySlice<UInt8>, into bytes: inout [UInt8], at start: Int) {
        var p = start
        for t in token {
            let c = bytes[p]
            if (0x30...0x39).contains(c) {
                if (0x30...0x39).contains(t) { bytes[p] = t }
                p += 1
            } else if c == 0xEF, p + 2 < bytes.count, bytes[p + 1] == 0xBC, (0x90...0x99).contains(bytes[p + 2]) {
                if (0x30...0x39).contains(t) { bytes[p + 2] = 0x90 + (t - 0x30) }
                p += 3
            } else {
                p += 1
            }
        }
    }
}
