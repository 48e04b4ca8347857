import Foundation
internal import Yams

/// Bounds checked on a YAML/JSON document before it reaches the parser: policies and keyring
/// configs are small, and the YAML parser recurses once per nesting level (a policy nesting `[`
/// 5,000 deep overflowed the stack: SIGSEGV). A document over the bounds is refused with its
/// reason before any parsing.
public enum DocumentBounds {
    /// Flow collections (`[`, `{`) open at once.
    public static let maxFlowDepth = 64
    /// Leading spaces of a line (block nesting).
    public static let maxIndentation = 256

    /// Why `text` is over the bounds (size `maxBytes`, flow depth, indentation); nil when within.
    public static func violation(_ text: String, maxBytes: Int) -> String? {
        let bytes = text.utf8
        if bytes.count > maxBytes { return "it is \(bytes.count) bytes; at most \(maxBytes) are accepted" }
        var depth = 0
        var line = 1
        var atLineStart = true
        var indent = 0
        var quote: UInt8? = nil
        var escaped = false
        var comment = false
        var previous: UInt8 = 0x20
        for b in bytes {
            if b == 0x0A {
                line += 1
                atLineStart = true
                indent = 0
                comment = false
                previous = 0x20
                if quote == UInt8(ascii: "\"") { escaped = false }
                continue
            }
            if atLineStart {
                if b == 0x20 {
                    indent += 1
                    if indent > maxIndentation { return "line \(line) is indented more than \(maxIndentation) spaces" }
                    continue
                }
                atLineStart = false
            }
            if comment { continue }
            if let q = quote {
                if q == UInt8(ascii: "\"") {
                    if escaped {
                        escaped = false
                    } else if b == UInt8(ascii: "\\") {
                        escaped = true
                    } else if b == q {
                        quote = nil
                    }
                } else if b == q {
                    quote = nil  // '' inside a single-quoted scalar reopens at once: harmless here
                }
                previous = b
                continue
            }
            switch b {
            case UInt8(ascii: "#") where previous == 0x20 || previous == 0x09:
                comment = true
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                quote = b
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxFlowDepth { return "line \(line) nests '[' / '{' more than \(maxFlowDepth) deep" }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default: break
            }
            previous = b
        }
        return nil
    }

    /// Why the document holds a scalar that Yams cannot read as an integer without trapping; nil
    /// when it holds none. Check after ``violation(_:maxBytes:)`` (this parses the document).
    ///
    /// Yams reads an integer whose scalar contains `:` as a YAML 1.1 base-60 number (`1:30` is 90)
    /// with unchecked arithmetic: eleven or more components, or large ones, overflow `Int` and trap
    /// (`version: 1:1:1:1:1:1:1:1:1:1:1` crashed `tokenize --policy` with SIGILL, found by
    /// fuzzing, issue 19). Every plain scalar is computed here the way Yams would, with checked
    /// arithmetic, whatever field it is in (an unquoted string value with that many `:`-separated
    /// numbers is refused too; quote it).
    public static func sexagesimalOverflow(_ text: String) -> String? {
        guard text.utf8.contains(UInt8(ascii: ":")), let root = try? Yams.compose(yaml: text) else { return nil }
        var pending = [root]
        while let node = pending.popLast() {
            switch node {
            case .scalar(let s):
                if s.style == .any || s.style == .plain, overflowsAsSexagesimal(s.string) {
                    return "the number '\(s.string.prefix(40))' is out of range (a base-60 integer over Int)"
                }
            case .mapping(let m):
                for (k, v) in m { pending += [k, v] }
            case .sequence(let q):
                pending += Array(q)
            }
        }
        return nil
    }

    /// Whether Yams' `Int` construction overflows on the plain scalar `string`: underscores
    /// dropped, a `0`/`0x`/`0b`/`0o` prefix read with its radix (checked), otherwise a scalar
    /// containing `:` read by `String.sexagesimal()`, which keeps multiplying the base by 60 after
    /// every component, the last one included.
    static func overflowsAsSexagesimal(_ string: String) -> Bool {
        guard string.contains(":") else { return false }
        var scalar = Substring(string.replacingOccurrences(of: "_", with: ""))
        if scalar.hasPrefix("-") || scalar.hasPrefix("+") { scalar = scalar.dropFirst() }
        if scalar.hasPrefix("0") { return false }
        let digits = scalar.split(separator: ":", omittingEmptySubsequences: false).compactMap { Int($0, radix: 10) }
        var base = 1, value = 0
        for digit in digits.reversed() {
            let (term, o1) = digit.multipliedReportingOverflow(by: base)
            let (sum, o2) = value.addingReportingOverflow(term)
            let (next, o3) = base.multipliedReportingOverflow(by: 60)
            if o1 || o2 || o3 { return true }
            value = sum
            base = next
        }
        return value == Int.min  // the sign is applied by multiplying with -1 or 1
    }
}
