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
}
