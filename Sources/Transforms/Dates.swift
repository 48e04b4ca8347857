internal import Tagging

/// A fixed-width date pattern of `yyyy`, `MM`, `dd` and literal ASCII characters.
struct DatePattern: Sendable {
    let pattern: [UInt8]
    let year: Int, month: Int, day: Int  // byte offsets

    init(_ format: String) throws {
        let p = Array(format.utf8)
        func find(_ token: String) -> Int? {
            let t = Array(token.utf8)
            guard p.count >= t.count else { return nil }
            let hits = (0...(p.count - t.count)).filter { Array(p[$0..<($0 + t.count)]) == t }
            return hits.count == 1 ? hits[0] : nil
        }
        guard p.allSatisfy({ $0 < 0x80 }), let y = find("yyyy"), let m = find("MM"), let d = find("dd") else {
            throw TransformError(.invalidDateFormat, "date format '\(format)' must contain yyyy, MM and dd exactly once (ASCII, fixed width)")
        }
        pattern = p
        year = y
        month = m
        day = d
    }

    func isField(_ i: Int) -> Bool {
        (year..<(year + 4)).contains(i) || (month..<(month + 2)).contains(i) || (day..<(day + 2)).contains(i)
    }

    /// Day number of `value`, nil when it does not match the pattern or is not a calendar date.
    func parse<C: RandomAccessCollection>(_ v: C) -> Int? where C.Element == UInt8, C.Index == Int {
        guard v.count == pattern.count else { return nil }
        let base = v.startIndex
        for i in 0..<pattern.count where !isField(i) && v[base + i] != pattern[i] { return nil }
        func num(_ at: Int, _ n: Int) -> Int? {
            var x = 0
            for i in at..<(at + n) {
                let c = v[base + i]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                x = x * 10 + Int(c - 0x30)
            }
            return x
        }
        guard let y = num(year, 4), let m = num(month, 2), let d = num(day, 2) else { return nil }
        return CivilDate(year: y, month: m, day: d)?.dayNumber
    }

    /// Writes the date of day number `n` into `out` (pattern.count bytes), keeping literals.
    func format(_ n: Int, into out: inout [UInt8], at start: Int) {
        let c = CivilDate(dayNumber: n)
        func put(_ value: Int, _ at: Int, _ width: Int) {
            var x = value
            for i in stride(from: width - 1, through: 0, by: -1) {
                out[start + at + i] = UInt8(0x30 + x % 10)
                x /= 10
            }
        }
        for i in 0..<pattern.count where !isField(i) { out[start + i] = pattern[i] }
        put(c.year, year, 4)
        put(c.month, month, 2)
        put(c.day, day, 2)
    }
}
