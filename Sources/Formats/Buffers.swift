internal import Columns
internal import SystemIO

/// Builds one column of a batch in raw storage owned by a reader: appending a value is a
/// capacity check and a `memcpy`, with no Swift array bookkeeping on the hot path. The storage is
/// kept across batches; ``makeColumn()`` copies the values out into a ``ByteColumn``.
///
/// Not copyable on purpose in spirit: readers keep builders in raw storage and call ``free()``
/// exactly once.
struct ColumnBuilder {
    var bytes: UnsafeMutablePointer<UInt8>
    var byteCount = 0
    var byteCapacity: Int
    /// `count + 1` entries in use.
    var offsets: UnsafeMutablePointer<Int>
    /// One ``CellKind`` raw value per value.
    var kinds: UnsafeMutablePointer<UInt8>
    /// JSON Lines: two entries per value (start and end of the source text in its line).
    var spans: UnsafeMutablePointer<Int>?
    var count = 0
    var valueCapacity: Int

    init(byteCapacity: Int = 4096, valueCapacity: Int = 1024, spans: Bool = false) {
        self.byteCapacity = max(byteCapacity, 16)
        self.valueCapacity = max(valueCapacity, 16)
        bytes = .allocate(capacity: self.byteCapacity)
        offsets = .allocate(capacity: self.valueCapacity + 1)
        offsets[0] = 0
        kinds = .allocate(capacity: self.valueCapacity)
        self.spans = spans ? .allocate(capacity: 2 * self.valueCapacity) : nil
    }

    func free() {
        bytes.deallocate()
        offsets.deallocate()
        kinds.deallocate()
        spans?.deallocate()
    }

    @inline(__always)
    mutating func reserveBytes(_ n: Int) {
        if byteCount &+ n > byteCapacity { growBytes(byteCount + n) }
    }

    @inline(never)
    mutating func growBytes(_ needed: Int) {
        var c = byteCapacity * 2
        while c < needed { c *= 2 }
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        nb.update(from: bytes, count: byteCount)
        bytes.deallocate()
        bytes = nb
        byteCapacity = c
    }

    @inline(never)
    mutating func growValues() {
        let c = valueCapacity * 2
        let no = UnsafeMutablePointer<Int>.allocate(capacity: c + 1)
        no.update(from: offsets, count: count + 1)
        offsets.deallocate()
        offsets = no
        let nk = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        nk.update(from: kinds, count: count)
        kinds.deallocate()
        kinds = nk
        if let s = spans {
            let ns = UnsafeMutablePointer<Int>.allocate(capacity: 2 * c)
            ns.update(from: s, count: 2 * count)
            s.deallocate()
            spans = ns
        }
        valueCapacity = c
    }

    /// Appends bytes to the value being built (finish it with ``finishValue(kind:)``).
    @inline(__always)
    mutating func appendPartial(_ p: UnsafePointer<UInt8>, _ n: Int) {
        reserveBytes(n)
        copyBytes(bytes + byteCount, p, n)
        byteCount &+= n
    }

    /// Like ``appendPartial(_:_:)`` for bytes of an ``InputBuffer``: may read up to 16 bytes past
    /// `p + n` (inside the input's slack), so short values copy without branching on their length.
    @inline(__always)
    mutating func appendFromInput(_ p: UnsafePointer<UInt8>, _ n: Int) {
        reserveBytes(n &+ 16)
        if n <= 16 {
            copy16(bytes + byteCount, p)
        } else {
            copyBytes(bytes + byteCount, p, n)
        }
        byteCount &+= n
    }

    @inline(__always)
    mutating func appendByte(_ b: UInt8) {
        reserveBytes(1)
        bytes[byteCount] = b
        byteCount &+= 1
    }

    @inline(__always)
    mutating func finishValue(kind: UInt8) {
        if count == valueCapacity { growValues() }
        kinds[count] = kind
        count &+= 1
        offsets[count] = byteCount
    }

    /// Appends a whole value.
    @inline(__always)
    mutating func append(_ p: UnsafePointer<UInt8>, _ n: Int, kind: UInt8) {
        appendPartial(p, n)
        finishValue(kind: kind)
    }

    @inline(__always)
    mutating func setSpan(_ value: Int, start: Int, end: Int) {
        spans![2 * value] = start
        spans![2 * value + 1] = end
    }

    /// Drops values from index `n` on (and any partial value being built).
    @inline(__always)
    mutating func truncate(values n: Int) {
        if count > n { count = n }
        byteCount = offsets[count]
    }

    mutating func reset() {
        count = 0
        byteCount = 0
        offsets[0] = 0
    }

    func makeColumn() -> ByteColumn {
        var c = ByteColumn()
        c.bytes = Array(UnsafeBufferPointer(start: bytes, count: byteCount))
        c.offsets = Array(UnsafeBufferPointer(start: offsets, count: count + 1))
        return c
    }

    /// Kinds as an array, or empty when every value is ``CellKind/text``.
    func makeKinds() -> [UInt8] {
        var any: UInt8 = 0
        for i in 0..<count { any |= kinds[i] }
        return any == 0 ? [] : Array(UnsafeBufferPointer(start: kinds, count: count))
    }

    func makeSpans() -> [Int] {
        guard let s = spans else { return [] }
        return Array(UnsafeBufferPointer(start: s, count: 2 * count))
    }
}

/// The columns a reader is building, in raw storage (no copy-on-write checks per field).
struct BuilderSet {
    private(set) var base: UnsafeMutablePointer<ColumnBuilder>
    private(set) var count = 0
    private var capacity: Int

    init() {
        capacity = 16
        base = .allocate(capacity: capacity)
    }

    mutating func add(_ b: ColumnBuilder) {
        if count == capacity {
            let nb = UnsafeMutablePointer<ColumnBuilder>.allocate(capacity: capacity * 2)
            nb.moveInitialize(from: base, count: count)
            base.deallocate()
            base = nb
            capacity *= 2
        }
        (base + count).initialize(to: b)
        count += 1
    }

    /// Removes and frees the builders from index `n` on.
    mutating func removeLast(from n: Int) {
        while count > n {
            count -= 1
            (base + count).move().free()
        }
    }

    func free() {
        for i in 0..<count { base[i].free() }
        base.deinitialize(count: count)
        base.deallocate()
    }

    func resetAll() { for i in 0..<count { base[i].reset() } }

    func truncateAll(values n: Int) { for i in 0..<count { base[i].truncate(values: n) } }
}

/// A growable byte buffer for writer output, flushed to a sink.
struct OutputBuffer {
    var base: UnsafeMutablePointer<UInt8>
    var count = 0
    var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    func free() { base.deallocate() }

    /// Makes room for `n` more bytes, growing the buffer (never shrinks).
    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count &+ n > capacity { grow(count + n) }
    }

    @inline(never)
    mutating func grow(_ needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        nb.update(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = c
    }

    @inline(__always)
    mutating func append(_ p: UnsafePointer<UInt8>, _ n: Int) {
        reserve(n)
        copyBytes(base + count, p, n)
        count &+= n
    }

    @inline(__always)
    mutating func append(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count &+= 1
    }

    mutating func append(_ a: [UInt8]) {
        a.withUnsafeBufferPointer { if let p = $0.baseAddress { append(p, $0.count) } }
    }

    mutating func flush(to sink: inout any ByteSink) throws {
        if count > 0 { try sink.write(UnsafeRawBufferPointer(start: base, count: count)) }
        count = 0
    }
}

/// The input window of a reader: bytes `[start, end)` of `base` are read and not yet consumed.
struct InputBuffer {
    var base: UnsafeMutablePointer<UInt8>
    var capacity: Int
    var start = 0
    var end = 0
    var eof = false

    /// Allocated bytes after `capacity`, never filled: parsers may read up to this many bytes
    /// past `end` (their values are ignored), which makes short copies and block scans branch-free.
    static let slack = 64

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity + InputBuffer.slack)
    }

    func free() { base.deallocate() }

    var available: Int { end - start }

    /// Reads more input after the unconsumed bytes (moved to the front): one read of up to
    /// `chunkSize` bytes, or reads until `atLeast` bytes arrived (so a record longer than a chunk
    /// is rescanned a logarithmic number of times, not once per chunk). Sets `eof` when the
    /// source is exhausted. Returns the number of bytes read.
    mutating func refill(from source: inout any ByteSource, chunkSize: Int, atLeast: Int) throws -> Int {
        let keep = end - start
        if start > 0 {
            if keep > 0 { base.update(from: base + start, count: keep) }
            start = 0
            end = keep
        }
        let want = max(chunkSize, atLeast, 1)
        if end + want > capacity {
            var c = capacity * 2
            while c < end + want { c *= 2 }
            let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: c + InputBuffer.slack)
            nb.update(from: base, count: end)
            base.deallocate()
            base = nb
            capacity = c
        }
        var got = 0
        repeat {
            let n = try source.read(into: UnsafeMutableRawBufferPointer(start: base + end, count: want - got))
            if n == 0 {
                eof = true
                break
            }
            end += n
            got += n
        } while got < atLeast
        return got
    }
}

// MARK: - Copying and scanning

/// Line terminators as recorded per row (the values of `Columns.LineTerminator`, as module
/// constants so hot loops do not call a cross-module accessor).
let terminatorNone: UInt8 = 0
let terminatorLF: UInt8 = 1
let terminatorCRLF: UInt8 = 2
let terminatorCR: UInt8 = 3

/// Bytes of a recorded line terminator.
@inline(__always)
func terminatorLength(_ t: UInt8) -> Int { t == terminatorCRLF ? 2 : (t == terminatorNone ? 0 : 1) }

/// The line terminator byte of a stream, decided from its first line ending: CR when that is a CR
/// not followed by LF (classic Mac files), LF otherwise (LF and CRLF files). A CSV quoted field
/// (a quote at the start of a field, up to its closing quote) is skipped when `delimiter` is
/// given. Returns `nil` when the bytes in `[start, end)` do not decide yet and more may come.
func detectTerminator(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, eof: Bool, delimiter: UInt8?) -> UInt8? {
    var inQuotes = false
    var fieldStart = true
    var i = start
    while i < end {
        let c = base[i]
        if inQuotes {
            if c == quote { inQuotes = false }
        } else if c == quote && fieldStart && delimiter != nil {
            inQuotes = true
        } else if c == lf {
            return lf
        } else if c == cr {
            if i + 1 < end { return base[i + 1] == lf ? lf : cr }
            return eof ? cr : nil
        }
        fieldStart = delimiter != nil && c == delimiter!
        i += 1
    }
    return eof ? lf : nil
}

/// Whether `n` bytes at `a` and `b` are equal; short ones compared inline (reads stay in `[0, n)`).
@inline(__always)
func bytesEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    let x = UnsafeRawPointer(a)
    let y = UnsafeRawPointer(b)
    if n >= 8 {
        if n > 16 { return Memory.equal(a, b, count: n) }
        return x.loadUnaligned(as: UInt64.self) == y.loadUnaligned(as: UInt64.self)
            && x.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) == y.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
    }
    if n >= 4 {
        return x.loadUnaligned(as: UInt32.self) == y.loadUnaligned(as: UInt32.self)
            && x.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self) == y.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
    }
    for k in 0..<n where a[k] != b[k] { return false }
    return true
}

/// Copies 16 bytes (both buffers must have them).
@inline(__always)
func copy16(_ dst: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>) {
    let s = UnsafeRawPointer(src)
    let d = UnsafeMutableRawPointer(dst)
    d.storeBytes(of: s.loadUnaligned(as: UInt64.self), as: UInt64.self)
    d.storeBytes(of: s.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
}

/// Copies `n` bytes; short copies (most CSV fields) inline with overlapping word moves instead of
/// a `memmove` call. Reads and writes stay within `[0, n)` of both buffers.
@inline(__always)
func copyBytes(_ dst: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>, _ n: Int) {
    let s = UnsafeRawPointer(src)
    let d = UnsafeMutableRawPointer(dst)
    if n >= 8 {
        if n <= 16 {
            let a = s.loadUnaligned(as: UInt64.self)
            let b = s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            d.storeBytes(of: a, as: UInt64.self)
            d.storeBytes(of: b, toByteOffset: n &- 8, as: UInt64.self)
        } else if n <= 32 {
            let a = s.loadUnaligned(as: UInt64.self)
            let b = s.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let c = s.loadUnaligned(fromByteOffset: n &- 16, as: UInt64.self)
            let e = s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            d.storeBytes(of: a, as: UInt64.self)
            d.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
            d.storeBytes(of: c, toByteOffset: n &- 16, as: UInt64.self)
            d.storeBytes(of: e, toByteOffset: n &- 8, as: UInt64.self)
        } else {
            d.copyMemory(from: s, byteCount: n)
        }
    } else if n >= 4 {
        let a = s.loadUnaligned(as: UInt32.self)
        let b = s.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
        d.storeBytes(of: a, as: UInt32.self)
        d.storeBytes(of: b, toByteOffset: n &- 4, as: UInt32.self)
    } else if n > 0 {
        dst[0] = src[0]
        dst[n &>> 1] = src[n &>> 1]
        dst[n &- 1] = src[n &- 1]
    }
}

@usableFromInline let lf: UInt8 = 0x0A
@usableFromInline let cr: UInt8 = 0x0D
@usableFromInline let quote: UInt8 = 0x22

/// Index of the first `byte` in `[from, end)`, or `end`.
@inline(__always)
func find(_ byte: UInt8, _ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
    guard from < end, let r = Memory.firstOffset(of: byte, in: base + from, count: end - from) else { return end }
    return from + r
}

/// Index of the first delimiter or line terminator byte (`tMask`: LF or CR in every byte) in
/// `[from, end)`, or `end` (8 bytes at a time).
@inline(__always)
func findDelimiterOrLF(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int, _ dMask: UInt64, _ lfMask: UInt64) -> Int {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    var i = from
    let raw = UnsafeRawPointer(base)
    while i &+ 8 <= end {
        let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let x = w ^ dMask
        let y = w ^ lfMask
        let z = ((x &- ones) & ~x & highs) | ((y &- ones) & ~y & highs)
        if z != 0 { return i &+ (z.trailingZeroBitCount >> 3) }
        i &+= 8
    }
    let d = UInt8(truncatingIfNeeded: dMask)
    let t = UInt8(truncatingIfNeeded: lfMask)
    while i < end {
        let c = base[i]
        if c == d || c == t { return i }
        i &+= 1
    }
    return end
}

/// High bit of each byte set where the byte is zero (exact: no borrow between bytes).
@inline(__always)
func zeroBytes(_ x: UInt64) -> UInt64 {
    let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    return ~(((x & low7) &+ low7) | x | low7)
}

/// Bits 0...7 from the high bits of bytes 0...7.
@inline(__always)
func packHighBits(_ h: UInt64) -> UInt64 {
    ((h &>> 7) &* 0x0102_0408_1020_4080) &>> 56
}

/// Finds delimiters and LFs 64 bytes at a time: a bitmask per block, then one set bit per field,
/// so the branch per field does not depend on the field's length.
struct StructuralScanner {
    /// Position of bit 0 of `mask`.
    var blockStart = 0
    /// `blockStart + 64`, or 0 when no block is loaded.
    var blockEnd = 0
    var mask: UInt64 = 0

    /// Forgets the block (the buffer moved).
    @inline(__always)
    mutating func reset() {
        blockEnd = 0
        mask = 0
    }

    /// Index of the first delimiter or line terminator byte (`lfMask`) in `[from, end)`, or `end`.
    @inline(__always)
    mutating func next(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int, _ dMask: UInt64, _ lfMask: UInt64) -> Int {
        var p = from
        while true {
            if p >= blockEnd {
                if p &+ 64 > end {
                    blockEnd = 0
                    return findDelimiterOrLF(base, p, end, dMask, lfMask)
                }
                blockStart = p
                blockEnd = p &+ 64
                mask = block(base + p, dMask, lfMask)
            } else {
                mask &= ~0 &<< UInt64(p &- blockStart)
            }
            if mask != 0 { return blockStart &+ mask.trailingZeroBitCount }
            p = blockEnd
        }
    }

    @inline(__always)
    func block(_ p: UnsafePointer<UInt8>, _ dMask: UInt64, _ lfMask: UInt64) -> UInt64 {
        let raw = UnsafeRawPointer(p)
        var m: UInt64 = 0
        for k in 0..<8 {
            let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: k &* 8, as: UInt64.self))
            m |= packHighBits(zeroBytes(x ^ dMask) | zeroBytes(x ^ lfMask)) &<< UInt64(k &* 8)
        }
        return m
    }
}

/// Number of `byte` bytes (LF, or CR for a CR-terminated stream) in `[from, end)`.
@inline(__always)
func countLF(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int, _ byte: UInt8 = lf) -> Int {
    var n = 0
    var i = find(byte, base, from, end)
    while i < end {
        n += 1
        i = find(byte, base, i + 1, end)
    }
    return n
}

/// Whether every byte of `[from, end)` is ASCII.
@inline(__always)
func isASCII(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Bool {
    let raw = UnsafeRawPointer(base)
    var i = from
    var acc: UInt64 = 0
    while i &+ 8 <= end {
        acc |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        i &+= 8
    }
    while i < end {
        acc |= UInt64(base[i])
        i &+= 1
    }
    return acc & 0x8080_8080_8080_8080 == 0
}

/// Whether `[from, end)` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
func isValidUTF8(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Bool {
    let raw = UnsafeRawPointer(base)
    var i = from
    while i < end {
        // ASCII runs, 16 then 8 bytes at a time.
        while i &+ 16 <= end
            && (raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                | raw.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)) & 0x8080_8080_8080_8080 == 0
        {
            i &+= 16
        }
        if i &+ 8 <= end && raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
            i &+= 8
            continue
        }
        if i >= end { break }
        let b0 = base[i]
        if b0 < 0x80 {
            i &+= 1
            continue
        }
        @inline(__always) func cont(_ k: Int) -> Bool { k < end && base[k] & 0xC0 == 0x80 }
        if b0 < 0xC2 { return false }
        if b0 < 0xE0 {
            guard cont(i + 1) else { return false }
            i &+= 2
        } else if b0 < 0xF0 {
            guard cont(i + 1), cont(i + 2) else { return false }
            let b1 = base[i + 1]
            if b0 == 0xE0 && b1 < 0xA0 { return false }
            if b0 == 0xED && b1 > 0x9F { return false }
            i &+= 3
        } else if b0 < 0xF5 {
            guard cont(i + 1), cont(i + 2), cont(i + 3) else { return false }
            let b1 = base[i + 1]
            if b0 == 0xF0 && b1 < 0x90 { return false }
            if b0 == 0xF4 && b1 > 0x8F { return false }
            i &+= 4
        } else {
            return false
        }
    }
    return true
}

/// Whether the bytes are well-formed UTF-8.
func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let b = bytes.baseAddress else { return true }
    return isValidUTF8(b, 0, bytes.count)
}
