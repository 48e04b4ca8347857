import Columns
import Tagging

/// The second line of defence: after a batch is transformed, every value that leaves the run
/// untokenized — the cells of kept columns, and the text of free-text columns after embedded
/// tokenization — is scanned with the strict validators (card numbers with Luhn and issuer
/// ranges, dashed SSNs with the SSA rules, emails). A sensitive value found clear rejects its
/// record (the writer fails the run unless `--rejects` takes it); nothing is passed on silently.
///
/// A detection counts only when the matched bytes stand verbatim in the cell's source value, so
/// tokens (new values of the same shape) are not mistaken for leaks. A column of bare numbers in
/// which card-shaped values validate only at the rate random ids do (Luhn alone passes one in ten)
/// is an id column, not a leak: there a whole-value card number counts when at least half of the
/// batch's card-shaped values in that column validate.
struct ResidualScan {
    /// A clear sensitive value found in the output.
    struct Finding {
        var row: Int
        var column: String
        var tag: Tag
    }

    /// Scans the columns of `batch` that leave the run as they are (`transformed` names those
    /// that do not: the tokenize/hmac/mask columns and the dropped ones) plus the free-text
    /// columns in `embedded`.
    static func scan(_ batch: Batch, transformed: Set<String>, embedded: Set<String>) -> [Finding] {
        var findings: [Finding] = []
        for (ci, name) in batch.names.enumerated() where !transformed.contains(name) || embedded.contains(name) {
            let out = batch.columns[ci]
            let source = batch.sourceColumn(ci)
            let isEmbedded = embedded.contains(name)
            var wholeCards: [Int] = []
            var cardShaped = 0
            out.bytes.withUnsafeBufferPointer { ob in
                source.bytes.withUnsafeBufferPointer { sb in
                    for r in 0..<batch.rowCount {
                        let o = out.offsets[r]..<out.offsets[r + 1]
                        guard o.count >= 4 else { continue }
                        let value = UnsafeBufferPointer(rebasing: ob[o])
                        if !isEmbedded, Self.isBareNumber(value) {
                            // A whole-value number: judged by the column's share below.
                            guard (12...19).contains(value.count) else { continue }
                            cardShaped += 1
                            if Validators.panEvidence(value).isValid { wholeCards.append(r) }
                            continue
                        }
                        // Nothing the scanner finds fits in fewer than 9 digits without an `@`.
                        guard Self.mayHoldSensitive(value) else { continue }
                        let s = source.offsets[r]..<source.offsets[r + 1]
                        let src = UnsafeBufferPointer(rebasing: sb[s])
                        var hit: Tag?
                        FreeTextScanner.scan(value) { m in
                            guard hit == nil else { return }
                            let bytes = UnsafeBufferPointer(rebasing: value[m.range])
                            if isEmbedded && !Self.contains(src, bytes) { return }  // a token, not the value
                            hit = m.tag
                        }
                        if let hit { findings.append(Finding(row: r, column: name, tag: hit)) }
                    }
                }
            }
            if !wholeCards.isEmpty, wholeCards.count * 2 >= cardShaped {
                findings += wholeCards.map { Finding(row: $0, column: name, tag: .pan) }
            }
        }
        return findings
    }

    /// At least 9 digits (ASCII, or the lead bytes of fullwidth ones) or an `@`: the least a card
    /// number, an SSN or an email needs.
    @inline(__always)
    private static func mayHoldSensitive(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var digits = 0
        for c in v {
            if c &- 0x30 < 10 || c == 0xEF {
                digits += 1
                if digits >= 9 { return true }
            } else if c == 0x40 {
                return true
            }
        }
        return false
    }

    /// Digits only (no separators, no text).
    private static func isBareNumber(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in v where c < 0x30 || c > 0x39 { return false }
        return true
    }

    /// Whether `needle` occurs in `hay`.
    private static func contains(_ hay: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = needle.count
        guard n > 0, hay.count >= n else { return false }
        var i = 0
        while i + n <= hay.count {
            if hay[i] == needle[0] {
                var j = 1
                while j < n, hay[i + j] == needle[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }
}
