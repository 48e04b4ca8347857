/// A source that first returns bytes already read (to sniff the format), then the rest of `inner`.
public struct PrefixedSource<Inner: ByteSource>: ByteSource {
    private var prefix: [UInt8]
    private var offset = 0
    private var inner: Inner

    public init(prefix: [UInt8], then inner: Inner) {
        self.prefix = prefix
        self.inner = inner
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if offset < prefix.count {
            let n = min(buffer.count, prefix.count - offset)
            prefix.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            offset += n
            return n
        }
        return try inner.read(into: buffer)
    }
}

/// The input formats a stream can be sniffed as.
public enum SniffedFormat: Sendable, Equatable {
    case csv, jsonl

    /// JSON Lines when the first character that is not a byte-order mark or white space is `{`,
    /// CSV otherwise (a CSV header cannot start with `{` without being quoted).
    public static func sniff(_ head: ArraySlice<UInt8>) -> SniffedFormat {
        var i = head.startIndex
        if head.count >= 3, Array(head.prefix(3)) == [0xEF, 0xBB, 0xBF] { i += 3 }
        while i < head.endIndex, [0x20, 0x09, 0x0D, 0x0A].contains(head[i]) { i += 1 }
        return i < head.endIndex && head[i] == UInt8(ascii: "{") ? .jsonl : .csv
    }

    /// Reads up to `limit` bytes from `source` (fewer at the end of the input) for sniffing.
    public static func readHead(_ source: inout some ByteSource, limit: Int = 64 << 10) throws -> [UInt8] {
        var head = [UInt8](repeating: 0, count: limit)
        var n = 0
        while n < limit {
            let got = try head.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[n...])) }
            if got == 0 { break }
            n += got
            if head[0..<n].contains(0x0A) { break }  // one line is enough
        }
        head.removeSubrange(n...)
        return head
    }
}
