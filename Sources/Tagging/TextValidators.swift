internal import SystemIO

extension Validators {
    // MARK: Email

    /// RFC 5322 atom characters other than letters and digits.
    @inline(__always)
    static func isAtomSymbol(_ c: UInt8) -> Bool {
        switch c {
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E:
            return true
        default:
            return false
        }
    }

    /// An email address: exactly one `@`; local part of 1–64 atom characters and dots with no
    /// leading, trailing or double dot; domain of at least two dot-separated labels of 1–63
    /// `[A-Za-z0-9-]` not starting or ending with `-`; top-level label alphabetic of 2+ letters or
    /// `xn--…`; 254 bytes at most.
    public static func emailEvidence(_ v: UnsafeBufferPointer<UInt8>) -> ValueEvidence {
        let n = v.count
        guard n >= 6, n <= 254 else { return .invalid }
        var at = -1
        for i in 0..<n {
            let c = v[i]
            if c == 0x40 {
                guard at < 0 else { return .invalid }
                at = i
            } else if i < at || at < 0 {
                guard c.isAlnum || c == 0x2E || isAtomSymbol(c) else { return .invalid }
            }
        }
        guard at >= 1, at <= 64, v[0] != 0x2E, v[at - 1] != 0x2E else { return .invalid }
        for i in 1..<at where v[i] == 0x2E && v[i - 1] == 0x2E { return .invalid }
        return domainValid(slice(v, at + 1, n)) ? .bare : .invalid
    }

    /// Domain labels and top-level label rules of `emailEvidence`.
    static func domainValid(_ d: Bytes) -> Bool {
        let n = d.count
        guard n >= 4 else { return false }
        var labels = 0, start = 0
        var i = 0
        while i <= n {
            if i == n || d[i] == 0x2E {
                let len = i - start
                guard (1...63).contains(len), d[start] != 0x2D, d[i - 1] != 0x2D else { return false }
                labels += 1
                if i == n {
                    let tld = slice(d, start, n)
                    if len >= 5, equalsLower(slice(tld, 0, 4), "xn--") { break }
                    guard len >= 2, tld.allSatisfy(\.isAlpha) else { return false }
                }
                start = i + 1
            } else if !(d[i].isAlnum || d[i] == 0x2D) {
                return false
            }
            i += 1
        }
        return labels >= 2
    }

    // MARK: IP addresses

    /// An IPv4 or IPv6 address (see `ipv4Valid`, `ipv6Valid`).
    public static func ipEvidence(_ v: UnsafeBufferPointer<UInt8>) -> ValueEvidence {
        guard v.count >= 2, v.count <= 64 else { return .invalid }
        if v.contains(0x3A) { return ipv6Valid(v) ? .formatted : .invalid }
        return ipv4Valid(v) ? .formatted : .invalid
    }

    /// Dotted-quad IPv4: four decimal octets 0–255, no leading zeros, nothing else.
    public static func ipv4Valid(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var dots = 0, val = 0, len = 0
        for c in v {
            if c.isDigit {
                if len == 1 && val == 0 { return false }  // leading zero
                val = val * 10 + Int(c &- 0x30)
                len += 1
                if val > 255 { return false }
            } else if c == 0x2E {
                guard len > 0, dots < 3 else { return false }
                dots += 1
                val = 0
                len = 0
            } else {
                return false
            }
        }
        return len > 0 && dots == 3
    }

    /// IPv6 text form (RFC 4291 §2.2, RFC 4007 zones): up to eight groups of 1–4 hex digits, at
    /// most one `::` standing for one or more zero groups, optionally a dotted-quad IPv4 in the last
    /// 32 bits, optionally `%zone` (letters, digits, `-._~`).
    public static func ipv6Valid(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var e = v.count
        if let pct = v.firstIndex(of: 0x25) {
            guard pct + 1 < e else { return false }
            for c in slice(v, pct + 1, e) where !(c.isAlnum || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E) { return false }
            e = pct
        }
        guard e >= 2 else { return false }
        var i = 0, groups = 0
        var compressed = false
        if v[0] == 0x3A {
            guard v[1] == 0x3A else { return false }
            compressed = true
            i = 2
            if i == e { return true }
        }
        while true {
            var j = i
            while j < e, v[j].isHex { j += 1 }
            if j < e, v[j] == 0x2E {
                // Embedded IPv4: the rest must be a dotted quad, taking the last two groups.
                guard ipv4Valid(slice(v, i, e)) else { return false }
                groups += 2
                break
            }
            guard (1...4).contains(j - i) else { return false }
            groups += 1
            guard groups <= 8 else { return false }
            if j == e { break }
            guard v[j] == 0x3A else { return false }
            if j + 1 < e, v[j + 1] == 0x3A {
                guard !compressed else { return false }
                compressed = true
                i = j + 2
                if i == e { break }
            } else {
                i = j + 1
                guard i < e else { return false }
            }
        }
        return compressed ? groups <= 7 : groups == 8
    }

    // MARK: Dates

    /// A calendar date written `yyyy-mm-dd`, `mm/dd/yyyy` or `dd.mm.yyyy` (month and day with one
    /// or two digits in the last two), nothing else in the value (no time of day).
    public static func parseDate(_ v: UnsafeBufferPointer<UInt8>) -> CivilDate? {
        let n = v.count
        guard n >= 8, n <= 10 else { return nil }
        @inline(__always) func num(_ lo: Int, _ hi: Int) -> Int? {
            var x = 0
            for i in lo..<hi {
                guard v[i].isDigit else { return nil }
                x = x * 10 + Int(v[i] &- 0x30)
            }
            return x
        }
        if n == 10, v[4] == 0x2D, v[7] == 0x2D {
            guard let y = num(0, 4), let m = num(5, 7), let d = num(8, 10) else { return nil }
            return CivilDate(year: y, month: m, day: d)
        }
        // m/d/yyyy or d.m.yyyy with 1–2 digit fields.
        let sep = v[n - 5]
        guard sep == 0x2F || sep == 0x2E, let y = num(n - 4, n) else { return nil }
        guard let s1 = (1...2).first(where: { v[$0] == sep }), s1 + 1 < n - 5 else { return nil }
        let len2 = n - 5 - (s1 + 1)
        guard (1...2).contains(len2), let a = num(0, s1), let b = num(s1 + 1, n - 5) else { return nil }
        return sep == 0x2F ? CivilDate(year: y, month: a, day: b) : CivilDate(year: y, month: b, day: a)
    }

    /// A date of birth: a valid calendar date (`parseDate`), not after `today`, at most 120 years
    /// before it.
    public static func dateOfBirthEvidence(_ v: UnsafeBufferPointer<UInt8>, today: CivilDate) -> ValueEvidence {
        guard let d = parseDate(v) else { return .invalid }
        let oldest = (today.year - 120, today.month, today.day)
        guard d <= today, (d.year, d.month, d.day) >= oldest else { return .invalid }
        return .formatted
    }

    // MARK: Names and addresses

    /// Lowercase particles allowed inside a name ("Ludwig van Beethoven", "de la Cruz").
    static let nameParticles: Set<UInt64> = Set(
        [
            "van", "von", "der", "den", "de", "del", "della", "di", "da", "do", "dos", "das", "du", "la", "le",
            "bin", "ibn", "al", "el", "y", "ter", "ten", "zu", "af", "av",
        ].map(packedWord))

    /// A person name's shape: 1–6 words separated by single spaces (one comma allowed for
    /// "Last, First"), each word capitalized (or all capitals, or a lowercase particle such as
    /// `van`, `de`), letters with inner apostrophes, hyphens and a trailing period for initials;
    /// no digits; at least one capitalized word; 80 bytes at most. Non-ASCII bytes count as letters.
    public static func personNameEvidence(_ v: UnsafeBufferPointer<UInt8>) -> ValueEvidence {
        let n = v.count
        guard n >= 2, n <= 80 else { return .invalid }
        var words = 0, capitalized = 0, commas = 0
        var i = 0
        while i < n {
            // One word: [start, j).
            var j = i
            while j < n, v[j] != 0x20, v[j] != 0x2C { j += 1 }
            guard j > i else { return .invalid }
            let w = slice(v, i, j)
            let first = w[0]
            if first.isUpper || first >= 0x80 {
                capitalized += 1
            } else if let p = packedWord(w), nameParticles.contains(p) {
                // particle
            } else {
                return .invalid
            }
            var prev = first
            for k in 1..<w.count {
                let c = w[k]
                if c.isAlpha || c >= 0x80 {
                } else if c == 0x27 || c == 0x2D {
                    guard prev.isAlpha || prev >= 0x80 else { return .invalid }
                } else if c == 0x2E {
                    guard k == w.count - 1, prev.isAlpha else { return .invalid }
                } else {
                    return .invalid
                }
                prev = c
            }
            guard prev.isAlpha || prev >= 0x80 || prev == 0x2E else { return .invalid }
            words += 1
            guard words <= 6 else { return .invalid }
            // Separator: " " or ", ".
            if j < n {
                if v[j] == 0x2C {
                    commas += 1
                    guard commas == 1, j + 1 < n, v[j + 1] == 0x20 else { return .invalid }
                    j += 1
                }
                guard j + 1 < n, v[j + 1] != 0x20 else { return .invalid }
            }
            i = j + 1
        }
        return capitalized > 0 ? .formatted : .invalid
    }

    /// Street-type words ("Main St", "Rue de Rivoli", "Via Roma").
    static let streetTypes: Set<UInt64> = Set(
        [
            "street", "st", "avenue", "ave", "av", "road", "rd", "boulevard", "blvd", "lane", "ln", "drive", "dr",
            "court", "ct", "place", "pl", "way", "terrace", "ter", "terr", "circle", "cir", "parkway", "pkwy",
            "highway", "hwy", "square", "sq", "trail", "trl", "loop", "row", "alley", "aly", "close", "crescent",
            "cres", "plaza", "plz", "path", "pike", "route", "rte", "freeway", "fwy", "expressway", "expy", "walk",
            "mews", "grove", "gardens", "gdns", "hill", "heights", "hts", "point", "pt", "parade", "crossing",
            "xing", "run", "junction", "jct", "turnpike", "tpke", "broadway", "causeway", "esplanade", "quay",
            "wharf", "rue", "via", "calle", "avenida", "rua", "strasse", "str", "weg", "gasse", "platz", "allee",
            "laan", "straat", "gracht", "gade", "vej", "katu", "vei", "vag", "gatan", "ulica", "ul",
            // USPS street suffixes (Publication 28, C1) beyond the common ones.
            "alley", "annex", "arcade", "bayou", "beach", "bend", "bluff", "bluffs", "bottom", "branch",
            "bridge", "brook", "brooks", "burg", "burgs", "bypass", "camp", "canyon", "cape", "center",
            "centers", "circles", "cliff", "cliffs", "club", "common", "commons", "corner", "corners",
            "course", "courts", "cove", "coves", "creek", "crest", "curve", "dale", "dam", "divide",
            "drives", "estate", "estates", "extension", "extensions", "fall", "falls", "ferry", "field",
            "fields", "flat", "flats", "ford", "fords", "forest", "forge", "forges", "fork", "forks", "fort",
            "garden", "gateway", "glen", "glens", "green", "greens", "groves", "harbor", "harbors", "haven",
            "hills", "hollow", "inlet", "island", "islands", "isle", "junctions", "key", "keys", "knoll",
            "knolls", "lake", "lakes", "land", "landing", "light", "lights", "loaf", "lock", "locks", "lodge",
            "mall", "manor", "manors", "meadow", "meadows", "mill", "mills", "mission", "motorway", "mount",
            "mountain", "mountains", "neck", "orchard", "oval", "overpass", "park", "parks", "parkways",
            "pass", "passage", "pine", "pines", "plain", "plains", "points", "port", "ports", "prairie",
            "radial", "ramp", "ranch", "rapid", "rapids", "rest", "ridge", "ridges", "river", "roads",
            "shoal", "shoals", "shore", "shores", "skyway", "spring", "springs", "spur", "spurs", "squares",
            "station", "stravenue", "stream", "streets", "summit", "throughway", "trace", "track",
            "trafficway", "tunnel", "underpass", "union", "unions", "valley", "valleys", "viaduct", "view",
            "views", "village", "villages", "ville", "vista", "walks", "wall", "ways", "well", "wells",
            // French, Spanish, Italian, Portuguese street types.
            "chemin", "impasse", "allee", "quai", "voie", "cours", "boulevard", "faubourg", "cuesta",
            "alameda", "ronda", "paseo", "camino", "glorieta", "pasaje", "carretera", "callejon", "travesia",
            "rambla", "acceso", "bajada", "subida", "plazuela", "vial", "viale", "piazza", "corso", "vicolo",
            "largo", "travessa", "praca", "estrada",
        ].map(packedWord))

    /// Suffixes of compound street names ("Hauptstraße", "Lindenweg", "Keizersgracht").
    static let streetSuffixes: [[UInt8]] = [
        "strasse", "straße", "str.", "weg", "gasse", "platz", "allee", "damm",
        "straat", "gracht", "laan", "gade", "vej", "vägen", "gatan",
    ].map { Array($0.utf8) }

    /// A street address's shape: a house number (digits, optionally with a letter, `-` range or
    /// `/` part) then at least two words one of which is a street-type word ("12 Main St",
    /// "4B Rue de Rivoli", optional unit and city parts after commas), or a street word first and
    /// the house number after it ("Hauptstraße 5", "Via Roma 12"), or a post-office box
    /// ("PO Box 123"). 120 bytes at most.
    public static func streetAddressEvidence(_ v: UnsafeBufferPointer<UInt8>) -> ValueEvidence {
        let n = v.count
        guard n >= 6, n <= 120 else { return .invalid }
        var tokenIndex = 0
        var firstIsNumber = false, wordsAfterNumber = 0, streetWordAt = -1, numberAfterStreet = false
        var poBox = 0
        var numberBeforeStreet = false
        var i = 0
        while i < n {
            while i < n, v[i] == 0x20 || v[i] == 0x2C { i += 1 }
            if i == n { break }
            var j = i
            while j < n, v[j] != 0x20, v[j] != 0x2C { j += 1 }
            var tok = slice(v, i, j)
            let isNumber = isHouseNumber(tok)
            if tok.count > 1, tok[tok.count - 1] == 0x2E { tok = slice(tok, 0, tok.count - 1) }
            if tokenIndex == 0 {
                firstIsNumber = isNumber
                if equalsLower(tok, "po") || equalsLower(tok, "p.o") { poBox = 1 }
            }
            if tokenIndex == 1, poBox == 1, equalsLower(tok, "box") { poBox = 2 }
            if tokenIndex == 2, poBox == 2, tok.allSatisfy(\.isDigit) { return .formatted }
            if isNumber {
                if streetWordAt >= 0, tokenIndex > streetWordAt { numberAfterStreet = true }
                if streetWordAt < 0, tokenIndex > 0 { numberBeforeStreet = true }
            } else {
                if firstIsNumber, tokenIndex > 0 { wordsAfterNumber += 1 }
                if streetWordAt < 0, isStreetWord(tok) { streetWordAt = tokenIndex }
            }
            tokenIndex += 1
            guard tokenIndex <= 16 else { return .invalid }
            i = j
        }
        if firstIsNumber, streetWordAt >= 1, wordsAfterNumber >= 2 { return .formatted }
        if !firstIsNumber, streetWordAt >= 0, numberAfterStreet { return .formatted }
        // A unit before the house number ("Studio 41X, Pamela Crescent", "Flat 3, 12 Mill Lane").
        if !firstIsNumber, numberBeforeStreet, streetWordAt >= 2 { return .formatted }
        // A street named by its type word first, without a number ("Rue de Rivoli", "avenue Besson").
        if !firstIsNumber, streetWordAt == 0, tokenIndex >= 2, tokenIndex <= 6 { return .formatted }
        return .invalid
    }

    /// `12`, `12B`, `12-14`, `12/1`, `1/2`: 1–6 digits with an optional letter or digit suffix part.
    static func isHouseNumber(_ t: Bytes) -> Bool {
        var k = 0
        while k < t.count, t[k].isDigit { k += 1 }
        guard (1...6).contains(k) else { return false }
        if k == t.count { return true }
        if k + 1 == t.count, t[k].isAlpha { return true }
        if t[k] == 0x2D || t[k] == 0x2F {
            let rest = slice(t, k + 1, t.count)
            return ((1...4).contains(rest.count) && rest.allSatisfy { $0.isDigit }) || (rest.count == 1 && rest[0].isAlpha)
        }
        return false
    }

    static func isStreetWord(_ t: Bytes) -> Bool {
        if let p = packedWord(t), streetTypes.contains(p) { return true }
        for s in streetSuffixes where t.count > s.count {
            var match = true
            for k in 0..<s.count where t[t.count - s.count + k].lowered != s[k] {
                match = false
                break
            }
            if match { return true }
        }
        return false
    }
}

/// A proleptic Gregorian calendar date.
public struct CivilDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int, month: Int, day: Int

    /// A valid calendar date (years 1000–9999), nil for 2023-02-29 and the like.
    public init?(year: Int, month: Int, day: Int) {
        guard (1000...9999).contains(year), (1...12).contains(month), day >= 1 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard day <= days else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    public var description: String {
        func pad(_ x: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(x).count)) + String(x) }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Today's date in UTC from the system clock.
    public static func today() -> CivilDate {
        CivilDate(dayNumber: SystemClock.secondsSinceEpoch() / 86_400)
    }

    /// Days since 1970-01-01 (H. Hinnant's days_from_civil).
    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date `dayNumber` days after 1970-01-01 (H. Hinnant's civil_from_days); for day numbers
    /// of years 1000–9999.
    public init(dayNumber: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        month = m
        day = d
    }
}
