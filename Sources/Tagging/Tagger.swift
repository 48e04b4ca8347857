public import Columns

/// Thresholds of the column decision (docs/tagging.md, Method 3). Fractions are of the non-empty
/// sampled values.
public struct TaggerConfig: Sendable, Codable, Equatable {
    /// Non-empty values examined per column.
    public var sampleSize: Int
    /// Below this many non-empty values the evidence is thin: a column that would be tagged is
    /// reported as needing review instead.
    public var minEvidence: Int
    /// Valid fraction needed by checksum types (PAN, IBAN).
    public var checksumThreshold: Double
    /// Valid fraction needed by structural types (email, IP address).
    public var structuralThreshold: Double
    /// Valid fraction needed by context-dependent types (SSN, ABA routing, phone, date of birth),
    /// which also need a header prior or formatting evidence.
    public var contextualThreshold: Double
    /// Shape fraction needed by person names and street addresses, which also need a header prior.
    public var descriptiveThreshold: Double
    /// A supported type with a valid fraction between this and its threshold is reported for review.
    public var reviewThreshold: Double
    /// Share of valid values written with formatting (dashes, parentheses, `+`) that counts as
    /// formatting evidence for SSN and phone.
    public var formattingThreshold: Double
    /// Two qualifying types whose scores are within this margin make the column ambiguous.
    public var closeMargin: Double
    /// In a mixed column, each type's share must reach this to count.
    public var mixedShare: Double
    /// Valid fraction with which a contextual type's values override a header naming something
    /// else (SSN, date of birth).
    public var overrideThreshold: Double = 0.95
    /// Share of those values that must be formatted (dashed SSNs) or adult dates of birth.
    public var overrideFormatted: Double = 0.9
    /// Share of values of a PAN's or SSN's shape that, under a header naming the type, protects the
    /// column even when the values do not validate.
    public var shapeThreshold: Double = 0.9
    /// Scan values for embedded card numbers, SSNs and emails (`containsEmbedded`).
    public var scanFreeText: Bool
    /// The date ages are computed from; nil: today's date (UTC) when the tagger is made.
    public var today: CivilDate?

    public init(
        sampleSize: Int = 400, minEvidence: Int = 50, checksumThreshold: Double = 0.9,
        structuralThreshold: Double = 0.8, contextualThreshold: Double = 0.8,
        descriptiveThreshold: Double = 0.8, reviewThreshold: Double = 0.5,
        formattingThreshold: Double = 0.5, closeMargin: Double = 0.1, mixedShare: Double = 0.2,
        scanFreeText: Bool = true, today: CivilDate? = nil
    ) {
        self.sampleSize = sampleSize
        self.minEvidence = minEvidence
        self.checksumThreshold = checksumThreshold
        self.structuralThreshold = structuralThreshold
        self.contextualThreshold = contextualThreshold
        self.descriptiveThreshold = descriptiveThreshold
        self.reviewThreshold = reviewThreshold
        self.formattingThreshold = formattingThreshold
        self.closeMargin = closeMargin
        self.mixedShare = mixedShare
        self.scanFreeText = scanFreeText
        self.today = today
    }

    public static let `default` = TaggerConfig()

    public func threshold(for kind: Tag.Kind) -> Double {
        switch kind {
        case .checksum: checksumThreshold
        case .structural: structuralThreshold
        case .contextual: contextualThreshold
        case .descriptive: descriptiveThreshold
        }
    }
}

/// The evidence for one type in one column.
public struct Candidate: Codable, Sendable, Equatable {
    public enum Verdict: String, Codable, Sendable {
        /// Meets the rule of its kind: enough valid values plus whatever support the kind needs.
        case qualified
        /// Enough valid values, but the header prior or formatting evidence its kind needs is missing.
        case unsupported
        /// Enough valid values, but the header names something else (`customer_id`, `app_version`).
        case blocked
        /// Some evidence, below the threshold of its kind.
        case partial
    }

    public var tag: Tag
    /// Sampled values passing the type's strict validator.
    public var matched: Int
    /// Of those, values written with the type's formatting.
    public var formatted: Int
    /// `matched` over the non-empty sampled values.
    public var fraction: Double
    public var header: HeaderPrior
    /// `fraction` plus a header bonus (strong +0.1, weak +0.05, negative −0.1): orders candidates.
    public var score: Double
    public var verdict: Verdict
}

/// A column's classification.
public struct ColumnClassification: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// One type clearly applies: `tag` is set.
        case tagged
        /// Two or more types are close, or the column mixes types: `alternatives` lists them.
        case ambiguous
        /// One type is plausible but the evidence is thin (< `minEvidence` values), partial, or
        /// lacks the header support its kind needs: `proposed` names it; a policy decides.
        case needsReview = "needs_review"
        /// Nothing sensitive found as a whole-cell type (see `containsEmbedded` for free text).
        case none
    }

    public var name: String
    public var index: Int
    /// Set only when `status == .tagged`.
    public var tag: Tag?
    public var status: Status
    /// Confidence in `tag` (or in the proposal when ambiguous or needing review), 0...1; 0 for `none`.
    public var confidence: Double
    /// Non-empty values examined.
    public var sampled: Int
    /// Values valid for `tag` / the proposal (0 for `none`).
    public var matched: Int
    /// Empty or null cells skipped while sampling.
    public var empty: Int
    /// Every type with any evidence or a header prior, best first.
    public var alternatives: [Candidate]
    /// Sampled values containing embedded card numbers, dashed SSNs or emails inside longer text.
    public var containsEmbedded: [Tag: Int]
    /// One line for people: the deciding evidence (never a value).
    public var reason: String
    /// False when the column is tagged on a strong header and the right shape while its values do
    /// not pass the type's validator (test cards failing Luhn, ITIN-like SSNs): protect it, but the
    /// transform may reject values outside its domain. True otherwise.
    public var validated: Bool = true
    /// True when the values' evidence overrode a header naming something else (`customer_ref` of
    /// dashed SSNs): the confidence is lowered and the reason says so.
    public var headerConflict: Bool = false

    /// A column the tagger could not look into (a nested Parquet column): it needs review, with
    /// `reason` saying why; nothing was sampled.
    public static func unexamined(name: String, index: Int, reason: String) -> ColumnClassification {
        ColumnClassification(
            name: name, index: index, tag: nil, status: .needsReview, confidence: 0, sampled: 0, matched: 0, empty: 0,
            alternatives: [], containsEmbedded: [:], reason: reason)
    }

    /// The tag a policy would apply: `tag` when tagged, the leading alternative when ambiguous or
    /// needing review, nil when none.
    public var proposed: Tag? {
        switch status {
        case .tagged: tag
        case .ambiguous, .needsReview: alternatives.first?.tag
        case .none: nil
        }
    }
}

/// Classifies columns from their header and a sample of values (docs/tagging.md): header prior → value
/// evidence → decision by specificity. Thread-safe (a value type with no mutable state).
public struct Tagger: Sendable {
    public let config: TaggerConfig
    /// The reference date for dates of birth.
    public let today: CivilDate

    public init(config: TaggerConfig = .default) {
        self.config = config
        today = config.today ?? .today()
    }

    /// Classifies a column from its first `config.sampleSize` non-empty values.
    public func classify(name: String, index: Int, values: ByteColumn) -> ColumnClassification {
        var acc = Accumulator()
        values.bytes.withUnsafeBufferPointer { base in
            for i in 0..<values.count {
                if acc.sampled >= config.sampleSize { break }
                add(trimmed(Bytes(rebasing: base[values.range(i)])), to: &acc)
            }
        }
        return decide(name: name, index: index, acc)
    }

    /// Classifies a column from a sampler's values (empties counted by the sampler included).
    public func classify(name: String, index: Int, sample: ColumnSampler) -> ColumnClassification {
        var c = classify(name: name, index: index, values: sample.values)
        c.empty += sample.empty
        return c
    }

    /// The strict validator of `tag` on one value (per value at tokenize time: misses are drift).
    public func validate(_ tag: Tag, _ value: ArraySlice<UInt8>) -> Bool {
        Validators.check(tag, value, today: today).isValid
    }

    /// Counts the values of a column that pass / fail the validator of `tag`; empty and null cells
    /// apart.
    public func count(_ tag: Tag, in column: ByteColumn) -> (valid: Int, invalid: Int, empty: Int) {
        var valid = 0, invalid = 0, empty = 0
        column.bytes.withUnsafeBufferPointer { base in
            for i in 0..<column.count {
                let v = trimmed(Bytes(rebasing: base[column.range(i)]))
                if isNullMarker(v) { empty += 1 } else if Validators.check(tag, v, today: today).isValid { valid += 1 } else { invalid += 1 }
            }
        }
        return (valid, invalid, empty)
    }

    // MARK: Evidence

    struct Accumulator {
        var sampled = 0
        var empty = 0
        var valid = [Int](repeating: 0, count: Tag.allCases.count)
        var formatted = [Int](repeating: 0, count: Tag.allCases.count)
        var embedded = [Int](repeating: 0, count: Tag.allCases.count)
        /// Values of a card number's shape (13–19 digits, optional space/dash grouping), valid or not.
        var panShape = 0
        /// Values of an SSN's shape (9 digits, `AAA-GG-SSSS`, `AAA GG SSSS`), valid or not.
        var ssnShape = 0
        /// Values of a phone number's shape (7–15 digits with phone punctuation, optional extension).
        var phoneShape = 0
        /// Valid dates of birth giving an adult age (18–100): dates that look like people, not events.
        var adultDates = 0
    }

    private func add(_ v: Bytes, to acc: inout Accumulator) {
        if isNullMarker(v) {
            acc.empty += 1
            return
        }
        acc.sampled += 1
        let mask = candidateMask(v)
        if mask & (1 << Tag.pan.ordinal) != 0 {
            var d = 0
            for c in v where c.isDigit { d += 1 }
            if (13...19).contains(d) { acc.panShape += 1 }
        }
        if mask & (1 << Tag.ssn.ordinal) != 0 {
            let n = v.count
            var ok = true
            for (i, c) in v.enumerated() where !c.isDigit {
                if !(n == 11 && (i == 3 || i == 6) && (c == 0x2D || c == 0x20) && c == v[i == 3 ? 6 : 3]) { ok = false }
            }
            if ok { acc.ssnShape += 1 }
        }
        if phoneShaped(v) { acc.phoneShape += 1 }
        var wholeCell = false
        for tag in Tag.allCases where mask & (1 << tag.ordinal) != 0 {
            let e = Validators.check(tag, v, today: today)
            guard e.isValid else { continue }
            acc.valid[tag.ordinal] += 1
            if e == .formatted { acc.formatted[tag.ordinal] += 1 }
            if tag == .dateOfBirth, let d = Validators.parseDate(v), (18...100).contains(today.year - d.year) {
                acc.adultDates += 1
            }
            if tag == .pan || tag == .ssn || tag == .email { wholeCell = true }
        }
        if config.scanFreeText, !wholeCell {
            var seen: UInt16 = 0
            FreeTextScanner.scan(v) { seen |= 1 << $0.tag.ordinal }
            if seen != 0 {
                for tag in Tag.allCases where seen & (1 << tag.ordinal) != 0 { acc.embedded[tag.ordinal] += 1 }
            }
        }
    }

    /// A phone number's shape in any country's writing: an optional `+`, 7–15 digits with spaces,
    /// dashes, dots and parentheses (`+49(0)5450 23709`, `(029) 2018144`, `090-4502-3709`), an
    /// optional extension (`x123`, `ext 12`). Not a validator: it only counts under a phone header.
    private func phoneShaped(_ v: Bytes) -> Bool {
        var digits = 0, i = 0
        let n = v.count
        guard n >= 7, n <= 32 else { return false }
        if v[0] == 0x2B { i = 1 }
        while i < n {
            let c = v[i]
            if c.isDigit {
                digits += 1
            } else if c == 0x20 || c == 0x2D || c == 0x2E || c == 0x28 || c == 0x29 {
            } else if c.lowered == 0x78 || c.lowered == 0x65 {
                // Extension: letters then digits to the end.
                var j = i
                while j < n, v[j].isAlpha || v[j] == 0x2E || v[j] == 0x20 { j += 1 }
                guard j < n, j - i <= 5 else { return false }
                while j < n, v[j].isDigit { j += 1 }
                return j == n && (7...15).contains(digits)
            } else {
                return false
            }
            i += 1
        }
        return (7...15).contains(digits)
    }

    /// Types whose validators can possibly accept the value, from one pass over its bytes.
    private func candidateMask(_ v: Bytes) -> UInt16 {
        var digits = 0, alpha = 0, at = 0, colon = 0, dots = 0, spaceDash = 0, slash = 0, high = 0
        for c in v {
            if c.isDigit {
                digits += 1
            } else if c.isAlpha {
                alpha += 1
            } else {
                switch c {
                case 0x40: at += 1
                case 0x3A: colon += 1
                case 0x2E: dots += 1
                case 0x20, 0x2D: spaceDash += 1
                case 0x2F: slash += 1
                default: if c >= 0x80 { high += 1 }
                }
            }
        }
        let n = v.count
        var m: UInt16 = 0
        func set(_ t: Tag) { m |= 1 << t.ordinal }
        if alpha == 0, (12...19).contains(digits), n == digits + spaceDash { set(.pan) }
        if digits == 9, n == 9 || n == 11 { set(.ssn) }
        if n == 9, digits == 9 { set(.abaRouting) }
        if at == 1 { set(.email) }
        if digits >= 8, at == 0, colon == 0, slash == 0 { set(.phone) }
        if alpha >= 2, digits >= 2, (15...42).contains(n), at == 0, colon == 0 { set(.iban) }
        if colon > 0 || (dots == 3 && alpha == 0) { set(.ipAddress) }
        if (8...10).contains(n), digits >= 6 { set(.dateOfBirth) }
        if digits == 0, at == 0, alpha + high > 0 { set(.personName) }
        if digits > 0, alpha + high >= 2, at == 0 { set(.streetAddress) }
        return m
    }

    // MARK: Decision

    private func decide(name: String, index: Int, _ acc: Accumulator) -> ColumnClassification {
        let priors = HeaderPriors.evaluate(name)
        let n = acc.sampled
        var embedded: [Tag: Int] = [:]
        for tag in Tag.allCases where acc.embedded[tag.ordinal] > 0 { embedded[tag] = acc.embedded[tag.ordinal] }
        var result = ColumnClassification(
            name: name, index: index, tag: nil, status: .none, confidence: 0, sampled: n,
            matched: 0, empty: acc.empty, alternatives: [], containsEmbedded: embedded,
            reason: "")
        guard n > 0 else {
            result.reason = "no non-empty values"
            return result
        }

        var supportedTags = Set<Tag>()
        var conflicted = Set<Tag>(), reviewOverride = Set<Tag>()
        var candidates: [Candidate] = []
        for tag in Tag.allCases {
            let matched = acc.valid[tag.ordinal], formatted = acc.formatted[tag.ordinal]
            let prior = priors[tag] ?? .none
            guard matched > 0 || prior >= .weak else { continue }
            let fraction = Double(matched) / Double(n)
            let formattedShare = matched > 0 ? Double(formatted) / Double(matched) : 0
            var blocked = prior == .negative && tag.kind != .checksum && tag != .email
            // Strong, well-formatted content evidence wins over a negative header: dashed SSNs, or
            // dates of birth of adults (a generic date or an event's date is not; timestamps fail).
            if blocked, fraction >= config.overrideThreshold {
                if tag == .ssn, formattedShare >= config.overrideFormatted {
                    blocked = false
                    conflicted.insert(tag)
                } else if tag == .dateOfBirth, Double(acc.adultDates) / Double(n) >= config.overrideFormatted {
                    reviewOverride.insert(tag)
                }
            }
            let supported: Bool
            switch tag.kind {
            case .checksum, .structural: supported = true
            case .contextual where conflicted.contains(tag): supported = true
            case .contextual:
                let formatCounts = tag == .ssn || tag == .phone
                supported = prior >= .weak || (formatCounts && formattedShare >= config.formattingThreshold)
            case .descriptive: supported = prior >= .weak
            }
            if supported && !blocked { supportedTags.insert(tag) }
            let verdict: Candidate.Verdict =
                fraction >= config.threshold(for: tag.kind)
                ? (blocked ? .blocked : supported ? .qualified : .unsupported)
                : (blocked ? .blocked : .partial)
            candidates.append(
                Candidate(
                    tag: tag, matched: matched, formatted: formatted, fraction: fraction,
                    header: prior, score: fraction + bonus(prior), verdict: verdict))
        }
        candidates.sort { $0.score != $1.score ? $0.score > $1.score : $0.tag.kind < $1.tag.kind }

        func describe(_ c: Candidate) -> String {
            "\(c.tag.rawValue) \(c.matched)/\(n) valid (\(rounded(c.fraction))), header \(c.header.rawValue)"
        }
        func confidence(_ c: Candidate) -> Double { min(1, max(0, c.fraction + bonus(c.header) / 2)) }
        func lead(_ c: Candidate, _ rest: [Candidate]) -> [Candidate] { [c] + rest.filter { $0.tag != c.tag } }

        // Qualified types by specificity, then score.
        let qualified = candidates.filter { $0.verdict == .qualified }
            .sorted { $0.tag.kind != $1.tag.kind ? $0.tag.kind < $1.tag.kind : $0.score > $1.score }
        if let best = qualified.first {
            result.matched = best.matched
            result.alternatives = lead(best, candidates)
            let rivals = qualified.dropFirst().filter { $0.score >= best.score - config.closeMargin }
            if let rival = rivals.first {
                result.status = .ambiguous
                result.confidence = confidence(best) / 2
                result.reason = "close call: \(describe(best)) vs \(describe(rival))"
            } else if n < config.minEvidence {
                result.status = .needsReview
                result.confidence = confidence(best) * Double(n) / Double(config.minEvidence)
                result.reason = "thin evidence (\(n) values < \(config.minEvidence)): \(describe(best))"
            } else {
                result.status = .tagged
                result.tag = best.tag
                result.confidence = confidence(best)
                result.reason = describe(best)
                if conflicted.contains(best.tag) {
                    result.headerConflict = true
                    result.confidence = confidence(best) * 0.7
                    result.reason = "\(describe(best)): the values validate and are formatted, overriding the header"
                }
            }
            return result
        }

        // A strong header with the right shape protects the column even when the values do not
        // validate (test cards failing Luhn, masked or mistyped exports): tagged, not validated.
        for (tag, shape, needed) in [
            (Tag.pan, acc.panShape, HeaderPrior.strong), (.ssn, acc.ssnShape, .weak), (.phone, acc.phoneShape, .strong),
        ] {
            let prior = priors[tag] ?? .none
            guard prior >= needed, Double(shape) / Double(n) >= config.shapeThreshold else { continue }
            let valid = acc.valid[tag.ordinal]
            result.status = n < config.minEvidence ? .needsReview : .tagged
            result.tag = result.status == .tagged ? tag : nil
            result.matched = valid
            result.validated = Double(valid) / Double(n) >= config.threshold(for: tag.kind)
            result.confidence = 0.5 + 0.4 * Double(valid) / Double(n)
            let lead =
                candidates.first { $0.tag == tag }
                ?? Candidate(
                    tag: tag, matched: valid, formatted: 0, fraction: 0, header: prior, score: bonus(prior),
                    verdict: .partial)
            result.alternatives = [lead] + candidates.filter { $0.tag != tag }
            result.reason = "\(tag.rawValue) header \(prior.rawValue), \(shape)/\(n) of its shape, \(valid) valid: shape only"
            return result
        }

        // Dates of adults under a header naming something else (`created`): a person's, or not?
        if let tag = reviewOverride.first, let c = candidates.first(where: { $0.tag == tag }) {
            result.status = .needsReview
            result.matched = c.matched
            result.headerConflict = true
            result.alternatives = lead(c, candidates)
            result.confidence = confidence(c) / 2
            result.reason = "\(describe(c)): adult ages, though the header names something else"
            return result
        }

        // A mixed column: several supported types, each with a real share, together most values.
        let mixed = candidates.filter { supportedTags.contains($0.tag) && $0.fraction >= config.mixedShare }
        if mixed.count >= 2, mixed.reduce(0, { $0 + $1.fraction }) >= config.structuralThreshold {
            result.status = .ambiguous
            result.matched = mixed[0].matched
            result.alternatives = lead(mixed[0], candidates)
            result.confidence = confidence(mixed[0]) / 2
            result.reason = "mixed column: " + mixed.map(describe).joined(separator: "; ")
            return result
        }

        // Plausible but unsupported (bare 9/10 digits under a neutral header) or partial evidence.
        let review = candidates.filter { c in
            switch c.verdict {
            case .unsupported: return c.tag == .ssn || c.tag == .phone || c.tag == .abaRouting
            case .partial: return supportedTags.contains(c.tag) && c.fraction >= config.reviewThreshold
            case .qualified, .blocked: return false
            }
        }
        if let r = review.first {
            result.status = .needsReview
            result.matched = r.matched
            result.alternatives = lead(r, candidates)
            result.confidence = r.verdict == .unsupported ? confidence(r) / 2 : confidence(r)
            result.reason =
                r.verdict == .unsupported
                ? "\(describe(r)): valid values but no header prior or formatting to support them"
                : "partial evidence: \(describe(r))"
            return result
        }

        result.alternatives = candidates
        if let b = candidates.first(where: { $0.verdict == .blocked }) {
            result.reason = "\(describe(b)), but the header names something else"
        } else if let c = candidates.first, c.verdict == .unsupported {
            result.reason = "\(describe(c)): shape only, no header prior"
        } else if let c = candidates.first {
            result.reason = "weak evidence: \(describe(c))"
        } else {
            result.reason = "no type matched"
        }
        return result
    }

    private func bonus(_ p: HeaderPrior) -> Double {
        switch p {
        case .strong: 0.1
        case .weak: 0.05
        case .none: 0
        case .negative: -0.1
        }
    }

    private func rounded(_ x: Double) -> String {
        let v = Int((x * 1000).rounded())
        let frac = String(v % 1000)
        return "\(v / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }
}
