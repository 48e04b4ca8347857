/// Values as numerals (each in `0..<radix`), stored contiguously: all numerals in one array plus
/// `count + 1` offsets (Arrow-like). Value `i` is `numerals[offsets[i]..<offsets[i+1]]`; values may
/// differ in length.
///
/// ``FPECipher`` encrypts and decrypts a whole batch in place, with one tweak for all its values.
public struct NumeralBatch: Sendable, Equatable {
    /// Every value's numerals, back to back.
    public var numerals: [UInt16]
    /// `count + 1` nondecreasing offsets into ``numerals``; the first is 0, the last `numerals.count`.
    public var offsets: [Int]

    /// An empty batch.
    public init() {
        numerals = []
        offsets = [0]
    }

    /// An empty batch with room for `values` values totalling `numerals` numerals.
    public init(reservingValues values: Int, numerals: Int) {
        self.init()
        self.numerals.reserveCapacity(numerals)
        offsets.reserveCapacity(values + 1)
    }

    /// A batch holding `values`, in order.
    @inlinable
    public init<S: Sequence>(_ values: S) where S.Element: Collection, S.Element.Element == UInt16 {
        self.init()
        for v in values { append(v) }
    }

    /// Appends one value.
    @inlinable
    public mutating func append<C: Collection>(_ value: C) where C.Element == UInt16 {
        numerals.append(contentsOf: value)
        offsets.append(numerals.count)
    }

    /// Number of values.
    public var count: Int { offsets.count - 1 }

    public var isEmpty: Bool { offsets.count <= 1 }

    /// The numerals of value `index`.
    public func value(at index: Int) -> ArraySlice<UInt16> {
        numerals[offsets[index]..<offsets[index + 1]]
    }

    /// Removes every value.
    public mutating func removeAll(keepingCapacity: Bool = false) {
        numerals.removeAll(keepingCapacity: keepingCapacity)
        offsets.removeAll(keepingCapacity: keepingCapacity)
        offsets.append(0)
    }
}
