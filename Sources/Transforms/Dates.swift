/// Proleptic Gregorian day numbers (days since 1970-01-01), after H. Hinnant's algorithms.
enum CivilDate {
    static func days(year y0: Int, month m: Int, day d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(days z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The day number of a valid calendar date, nil for 2023-02-29 and the like.
    static func validDays(year: Int, month: Int, day: Int) -> Int? {
        guard (1...12).contains(month), (1...31).contains(day), (1...9999).contains(year) else { return nil }
        let n = days(year: year, month: month, day: day)
        let back = civil(days: n)
        return back.year == year && back.month == month && back.day == day ? n : nil
    }
}

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
            throw TransformError("date format '\(format)' must contain yyyy, MM and dd exactly once (ASCII, fixed width)")
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
    func parse(_ v: ArraySlice<UInt8>) -> Int? {
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
        return CivilDate.validDays(year: y, month: m, day: d)
    }

    /// Writes the date of day number `n` into `out` (pattern.count bytes), keeping literals.
    func format(_ n: Int, into out: inout [UInt8], at start: Int) {
        let c = CivilDate.civil(days: n)
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
