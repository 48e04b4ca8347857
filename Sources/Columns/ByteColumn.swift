/// A column of byte-string values stored contiguously: all values' bytes in one buffer plus
/// `count + 1` offsets (the Arrow "binary/utf8" layout). Value `i` is
/// `bytes[offsets[i]..<offsets[i+1]]`.
///
/// Stages exchange whole columns, never single values through protocols or closures; appending
/// reuses the two buffers, so a column cleared with `removeAll(keepingCapacity: true)` allocates
/// nothing for the next batch of similar size.
public struct ByteColumn: Sendable, Equatable {
    public var bytes: [UInt8]
    public var offsets: [Int]

    public init() {
        bytes = []
        offsets = [0]
    }

    public init(reservingValues values: Int, bytes: Int) {
        self.init()
        self.bytes.reserveCapacity(bytes)
        offsets.reserveCapacity(values + 1)
    }

    /// A column holding the UTF-8 of `strings`.
    public init<S: Sequence>(_ strings: S) where S.Element: StringProtocol {
        self.init()
        for s in strings { append(s) }
    }

    public var count: Int { offsets.count - 1 }
    public var isEmpty: Bool { offsets.count <= 1 }

    public mutating func append(_ s: some StringProtocol) {
        bytes.append(contentsOf: s.utf8)
        offsets.append(bytes.count)
    }

    public mutating func append(bytes value: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: value)
        offsets.append(bytes.count)
    }

    public mutating func append(_ value: ArraySlice<UInt8>) {
        bytes.append(contentsOf: value)
        offsets.append(bytes.count)
    }

    /// Byte range of value `i`.
    @inline(__always)
    public func range(_ i: Int) -> Range<Int> { offsets[i]..<offsets[i + 1] }

    /// The bytes of value `i` (a slice of the shared buffer: no copy).
    public subscript(i: Int) -> ArraySlice<UInt8> { bytes[range(i)] }

    /// Value `i` decoded as UTF-8 (invalid sequences become U+FFFD; for display and tests).
    public func string(at i: Int) -> String { String(decoding: self[i], as: UTF8.self) }

    public var strings: [String] { (0..<count).map(string(at:)) }

    public mutating func removeAll(keepingCapacity: Bool = false) {
        bytes.removeAll(keepingCapacity: keepingCapacity)
        offsets.removeAll(keepingCapacity: keepingCapacity)
        offsets.append(0)
    }
}
