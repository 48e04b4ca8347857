import Columns

/// How a flat column's values are written as text in a ``Batch`` (and parsed back when a
/// transformed column is encoded again): the tagger and the transforms work on text, the file
/// keeps its physical types.
///
/// - BOOLEAN: `true` / `false`; integers: decimal digits (unsigned logical types unsigned);
///   FLOAT / DOUBLE: Swift's shortest round-trip form (`inf`, `-inf`, `nan`);
/// - STRING and other BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY: the bytes themselves;
/// - DATE: `YYYY-MM-DD`; TIMESTAMP: `YYYY-MM-DDTHH:MM:SS.fff` (3, 6 or 9 fraction digits for
///   MILLIS, MICROS, NANOS), `Z` appended when adjusted to UTC; TIME: `HH:MM:SS.fff…`;
///   DECIMAL: plain decimal with exactly `scale` fraction digits; INT96: a nanosecond timestamp.
public enum ValueText: Sendable, Equatable {
    case boolean
    case signed
    case unsigned
    case float
    case double
    case bytes
    case date
    case timestamp(unit: Int, utc: Bool)  // unit: fraction digits 3, 6 or 9
    case time(unit: Int)
    case decimal(scale: Int)
    case int96

    /// The rendering of a leaf column (its physical type and logical or converted type).
    public init(_ c: ColumnDescriptor) {
        let e = c.element
        switch c.physicalType {
        case .boolean: self = .boolean
        case .float: self = .float
        case .double: self = .double
        case .int96: self = .int96
        case .int32, .int64:
            switch e.logicalType {
            case .integer(_, let isSigned)?: self = isSigned ? .signed : .unsigned
            case .date?: self = .date
            case .decimal(let scale, _)?: self = .decimal(scale: Int(scale))
            case .timestamp(let utc, let unit)?: self = .timestamp(unit: unit.digits, utc: utc)
            case .time(_, let unit)?: self = .time(unit: unit.digits)
            default:
                switch e.convertedType {
                case 5?: self = .decimal(scale: Int(e.scale ?? 0))  // DECIMAL
                case 6?: self = .date  // DATE
                case 7?: self = .time(unit: 3)  // TIME_MILLIS
                case 8?: self = .time(unit: 6)  // TIME_MICROS
                case 9?: self = .timestamp(unit: 3, utc: true)  // TIMESTAMP_MILLIS
                case 10?: self = .timestamp(unit: 6, utc: true)  // TIMESTAMP_MICROS
                case 11?, 12?, 13?, 14?: self = .unsigned  // UINT_8…UINT_64
                default: self = .signed
                }
            }
        default:
            switch e.logicalType {
            case .decimal(let scale, _)?: self = .decimal(scale: Int(scale))
            default: self = e.convertedType == 5 ? .decimal(scale: Int(e.scale ?? 0)) : .bytes
            }
        }
    }

    /// Whether a transformed value of this rendering can be written back (the transforms write
    /// digits, letters and punctuation of the same shape): bytes, integers and dates.
    public var isWritable: Bool {
        switch self {
        case .bytes, .signed, .unsigned, .date: true
        default: false
        }
    }
}

extension TimeUnit {
    var digits: Int {
        switch self {
        case .millis: 3
        case .micros: 6
        case .nanos: 9
        }
    }
}

/// Appending rendered values to a ``ByteColumn`` without a heap allocation per value.
enum TextRender {
    /// Appends the decimal digits of `v`.
    static func appendSigned(_ v: Int64, to out: inout ByteColumn) {
        appendMagnitude(v.magnitude, negative: v < 0, to: &out)
    }

    static func appendMagnitude(_ m: UInt64, negative: Bool, to out: inout ByteColumn) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buf in
            var i = 24
            var m = m
            repeat {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: m % 10) + 0x30
                m /= 10
            } while m > 0
            if negative {
                i -= 1
                buf[i] = 0x2D
            }
            out.append(bytes: UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buf[i..<24])))
        }
    }

    /// A 128-bit two's complement value as decimal with `scale` fraction digits.
    /// The ASCII decimal digits of `m`, least significant first.
    static func reversedDigits<T: BinaryInteger>(_ m: T) -> [UInt8] {
        var digits: [UInt8] = []
        var m = m
        repeat {
            digits.append(UInt8(truncatingIfNeeded: m % 10) + 0x30)
            m /= 10
        } while m > 0
        return digits
    }

    static func appendDecimal(_ v: Int128, scale: Int, to out: inout ByteColumn) {
        var digits = reversedDigits(v.magnitude)
        while digits.count <= scale { digits.append(0x30) }
        var s: [UInt8] = v < 0 ? [0x2D] : []
        let intDigits = digits.count - scale
        for k in 0..<intDigits { s.append(digits[digits.count - 1 - k]) }
        if scale > 0 {
            s.append(0x2E)
            for k in intDigits..<digits.count { s.append(digits[digits.count - 1 - k]) }
        }
        s.withUnsafeBytes { out.append(bytes: $0) }
    }

    /// Big-endian two's complement bytes (DECIMAL in BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY).
    static func decimalValue(_ bytes: UnsafeRawBufferPointer) throws -> Int128 {
        guard bytes.count <= 16 else { throw ParquetError(.unsupported, "a DECIMAL wider than 16 bytes") }
        guard let first = bytes.first else { return 0 }
        var v: Int128 = first >= 0x80 ? -1 : 0
        for b in bytes { v = (v << 8) | Int128(b) }
        return v
    }

    /// Civil date of a day count since 1970-01-01 (proleptic Gregorian).
    static func civil(days z0: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, Int(m), Int(d))
    }

    /// Days since 1970-01-01 of a civil date.
    static func days(year y0: Int64, month m: Int, day d: Int) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(m > 2 ? m - 3 : m + 9)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func appendPadded(_ v: Int64, width: Int, to s: inout [UInt8]) {
        let digits = reversedDigits(v.magnitude)
        if v < 0 { s.append(0x2D) }
        for _ in digits.count..<max(width, digits.count) { s.append(0x30) }
        s.append(contentsOf: digits.reversed())
    }

    /// `YYYY-MM-DD` of a day count since the epoch.
    private static func appendYMD(days: Int64, to s: inout [UInt8]) {
        let (y, m, d) = civil(days: days)
        appendPadded(y, width: 4, to: &s)
        s.append(0x2D)
        appendPadded(Int64(m), width: 2, to: &s)
        s.append(0x2D)
        appendPadded(Int64(d), width: 2, to: &s)
    }

    static func appendDate(days: Int64, to out: inout ByteColumn) {
        var s: [UInt8] = []
        s.reserveCapacity(12)
        appendYMD(days: days, to: &s)
        s.withUnsafeBytes { out.append(bytes: $0) }
    }

    /// `value` counts units of 10^-digits seconds since the epoch (timestamp) or midnight (time).
    static func appendTime(_ value: Int64, digits: Int, withDate: Bool, utc: Bool, to out: inout ByteColumn) {
        var perSecond: Int64 = 1
        for _ in 0..<digits { perSecond *= 10 }
        let perDay = perSecond * 86_400
        var days = value / perDay
        var rem = value % perDay
        if rem < 0 {
            rem += perDay
            days -= 1
        }
        let secs = rem / perSecond
        let frac = rem % perSecond
        var s: [UInt8] = []
        s.reserveCapacity(32)
        if withDate {
            appendYMD(days: days, to: &s)
            s.append(0x54)
        }
        appendPadded(secs / 3600, width: 2, to: &s)
        s.append(0x3A)
        appendPadded(secs / 60 % 60, width: 2, to: &s)
        s.append(0x3A)
        appendPadded(secs % 60, width: 2, to: &s)
        s.append(0x2E)
        appendPadded(frac, width: digits, to: &s)
        if utc { s.append(0x5A) }
        s.withUnsafeBytes { out.append(bytes: $0) }
    }

    /// Parses `YYYY-MM-DD` (a four-digit year) into days since the epoch; nil when it is not one.
    static func parseDate(_ v: ArraySlice<UInt8>) -> Int64? {
        guard v.count == 10 else { return nil }
        let a = Array(v)
        guard a[4] == 0x2D, a[7] == 0x2D else { return nil }
        func num(_ r: Range<Int>) -> Int64? {
            var n: Int64 = 0
            for i in r {
                guard a[i] >= 0x30, a[i] <= 0x39 else { return nil }
                n = n * 10 + Int64(a[i] - 0x30)
            }
            return n
        }
        guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10), (1...12).contains(m), d >= 1 else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let lengths: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d <= lengths[Int(m) - 1] else { return nil }
        return days(year: y, month: Int(m), day: Int(d))
    }

    /// Parses decimal digits with an optional `-` (no `+`, no leading zeros except `0` itself,
    /// so the text round-trips); nil when it is not one or does not fit.
    static func parseSigned(_ v: ArraySlice<UInt8>) -> Int64? {
        var s = v
        let negative = s.first == 0x2D
        if negative { s = s.dropFirst() }
        guard let f = s.first, s.count <= 19 else { return nil }
        if f == 0x30 && s.count > 1 { return nil }
        var m: UInt64 = 0
        for b in s {
            guard b >= 0x30, b <= 0x39 else { return nil }
            m = m * 10 + UInt64(b - 0x30)
        }
        if negative {
            guard m != 0, m <= UInt64(Int64.max) + 1 else { return nil }
            return m == UInt64(Int64.max) + 1 ? Int64.min : -Int64(m)
        }
        return m <= UInt64(Int64.max) ? Int64(m) : nil
    }

    /// Parses unsigned decimal digits (no leading zeros except `0`).
    static func parseUnsigned(_ v: ArraySlice<UInt8>) -> UInt64? {
        guard let f = v.first, v.count <= 20 else { return nil }
        if f == 0x30 && v.count > 1 { return nil }
        var m: UInt64 = 0
        for b in v {
            guard b >= 0x30, b <= 0x39 else { return nil }
            let (x, o1) = m.multipliedReportingOverflow(by: 10)
            let (y, o2) = x.addingReportingOverflow(UInt64(b - 0x30))
            guard !o1, !o2 else { return nil }
            m = y
        }
        return m
    }
}
