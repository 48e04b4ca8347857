/// What a column's header says about one type.
public enum HeaderPrior: String, Codable, Sendable, Comparable {
    /// The header names something else (`*_id`, `created`, `version`, `order`, `ref`, …).
    case negative
    case none
    /// A related but generic word (`card`, `contact`, `addr`, `birth`).
    case weak
    /// A specific name (`ssn`, `card_number`, `routing_number`, `dob`, `first_name`).
    case strong

    private var rank: Int {
        switch self {
        case .negative: -1
        case .none: 0
        case .weak: 1
        case .strong: 2
        }
    }

    public static func < (a: HeaderPrior, b: HeaderPrior) -> Bool { a.rank < b.rank }
}

/// Header priors (docs/tagging.md, Method 1): the header is normalized (camelCase and snake_case
/// split, lowercased, digits stripped) into words; per-type phrase lists give strong or weak
/// priors; negative words left over once the type's phrases are taken out make the prior negative
/// (weak when a strong phrase matched too).
public enum HeaderPriors {
    struct Model: Sendable {
        let strong: [[String]]
        let weak: [[String]]
        /// Phrases matched anywhere in the words joined without separators ("dateofbirth").
        let compact: [String]
        let negatives: Set<String>
        /// Whether the shared negatives (`id`, `ref`, `version`, `created`, …) apply.
        let sharedNegatives: Bool
    }

    /// Words naming identifiers, references, versions, times, amounts and the like.
    public static let sharedNegatives: Set<String> = [
        "id", "ids", "uuid", "guid", "key", "ref", "refs", "reference", "order", "orders", "version", "ver",
        "build", "release", "semver", "created", "updated", "modified", "deleted", "timestamp", "ts", "time",
        "epoch", "seq", "sequence", "count", "amount", "total", "price", "qty", "quantity", "hash", "checksum",
        "index", "idx", "invoice", "txn", "transaction", "session", "request", "trace", "zip", "postal",
        "postcode", "sku", "batch", "status", "tracking", "serial", "nonce", "token", "tokenized", "masked",
        "hashed", "last", "four", "bin", "length", "len", "type", "format", "valid", "flag", "is", "has",
    ]

    static func phrases(_ s: [String]) -> [[String]] { s.map { $0.split(separator: " ").map(String.init) } }

    static let models: [Tag: Model] = [
        .pan: Model(
            strong: phrases([
                "pan", "ccn", "ccnum", "card number", "card num", "card no", "card nbr", "credit card",
                "debit card", "payment card", "cc number", "cc num", "cc no", "primary account number",
                "card pan",
            ]),
            weak: phrases(["card", "cc", "cardnum"]),
            compact: ["cardnumber", "creditcard", "debitcard", "ccnumber"],
            negatives: [
                "holder", "cardholder", "expiry", "exp", "expiration", "cvv", "cvc", "brand", "network",
                "issuer", "country", "name",
            ],
            sharedNegatives: true),
        .ssn: Model(
            strong: phrases([
                "ssn", "social security", "social security number", "soc sec", "ss number", "ssn number",
                "social security no",
            ]),
            weak: phrases([
                "tin", "itin", "taxpayer id", "tax id", "national id", "social", "ss", "tax number",
                "taxpayer number", "taxpayer", "tax no", "taxpayer no", "tax ident",
            ]),
            compact: ["socialsecurity", "socsec"],
            negatives: [],
            sharedNegatives: true),
        .email: Model(
            strong: phrases(["email", "e mail", "email address", "mail address", "emailaddress"]),
            weak: phrases(["mail", "contact", "login", "recipient", "sender", "username", "user"]),
            compact: ["email"],
            negatives: [],
            sharedNegatives: false),
        .phone: Model(
            strong: phrases([
                "phone", "telephone", "tel", "mobile", "cell", "cellphone", "msisdn", "fax", "phone number",
                "contact number", "tel no", "mobile number",
            ]),
            weak: phrases(["contact", "sms", "whatsapp", "callback", "dial"]),
            compact: ["phone", "telephone", "mobile"],
            negatives: ["model", "carrier", "os", "device", "country", "code"],
            sharedNegatives: true),
        .iban: Model(
            strong: phrases(["iban", "international bank account", "iban number"]),
            weak: phrases(["bank account", "account number", "acct no", "acct", "bban", "account"]),
            compact: ["iban"],
            negatives: ["bic", "swift", "holder", "name", "country"],
            sharedNegatives: true),
        .abaRouting: Model(
            strong: phrases([
                "aba", "routing", "routing number", "rtn", "routing transit", "aba number",
                "transit routing", "routing no",
            ]),
            weak: phrases(["bank code", "transit", "bank routing", "rt"]),
            compact: ["routingnumber", "abarouting"],
            negatives: [],
            sharedNegatives: true),
        .ipAddress: Model(
            strong: phrases([
                "ip", "ip address", "ip addr", "ipv", "client ip", "remote ip", "source ip", "src ip",
                "dst ip", "remote addr", "ipaddress", "ipaddr",
            ]),
            weak: phrases(["addr", "host", "remote", "peer", "client address", "address"]),
            compact: ["ipaddress", "ipaddr"],
            negatives: [
                "mac", "email", "mail", "street", "home", "billing", "shipping", "mailing", "postal", "port",
                "firmware", "software", "app", "os", "api", "schema", "protocol",
            ],
            sharedNegatives: true),
        .dateOfBirth: Model(
            strong: phrases([
                "dob", "date of birth", "birth date", "birthdate", "birthday", "born", "birth dt",
                "bday", "born on", "d o b",
            ]),
            weak: phrases(["birth"]),
            compact: ["dateofbirth", "birthdate", "birthday"],
            negatives: ["place", "city", "country", "weight", "certificate"],
            sharedNegatives: true),
        .personName: Model(
            strong: phrases([
                "first name", "last name", "full name", "given name", "family name", "middle name",
                "maiden name", "surname", "forename", "firstname", "lastname", "fullname", "fname",
                "lname", "customer name", "cardholder", "card holder", "cardholder name", "holder name",
                "contact name", "person name", "patient name", "employee name", "account holder",
                "beneficiary", "beneficiary name", "legal name", "client name", "member name",
                "payee", "payer",
            ]),
            weak: phrases(["name", "holder", "person", "nickname", "display name"]),
            compact: ["firstname", "lastname", "fullname", "givenname", "familyname", "surname", "cardholder"],
            negatives: [
                "file", "filename", "product", "company", "host", "hostname", "bank", "brand", "username",
                "domain", "table", "column", "field", "app", "application", "device", "item", "merchant",
                "city", "street", "country", "state", "business", "org", "organization", "organisation",
                "category", "server", "database", "db", "project", "service", "plan", "event", "store",
                "shop", "vendor", "supplier", "branch", "team", "group", "role", "tag", "label", "model",
                "make", "path", "dir", "folder", "queue", "topic", "channel", "region", "school",
                "employer", "job", "title", "campaign", "package", "module", "class", "function",
                "method", "variable", "region", "zone", "cluster", "bucket", "dataset", "feature", "sheet",
            ],
            sharedNegatives: true),
        .streetAddress: Model(
            strong: phrases([
                "street", "street address", "address line", "addr line", "address", "mailing address",
                "billing address", "shipping address", "home address", "postal address",
                "residential address", "street addr", "streetaddress", "address street",
            ]),
            weak: phrases(["addr", "residence", "location", "line", "delivery address"]),
            compact: ["streetaddress", "addressline"],
            negatives: [
                "email", "mail", "ip", "ipv", "mac", "web", "url", "wallet", "host", "server", "remote",
                "memory", "contract", "bitcoin", "btc", "eth", "hex", "register", "pointer", "peer",
                "client", "bluetooth", "network", "net",
            ],
            sharedNegatives: true),
    ]

    /// The header's words: camelCase and acronym boundaries, any non-letter separates, digits are
    /// dropped, lowercased ("customerSSN2" → customer, ssn; "IPv6Address" → ip, address).
    public static func words(_ header: String) -> [String] {
        let chars = Array(header)
        var out: [String] = []
        var cur = ""
        func flush() {
            if !cur.isEmpty { out.append(cur.lowercased()) }
            cur = ""
        }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            // "IPv4"/"IPv6" (any case): the word "ip".
            if i + 3 < chars.count, c.lowercased() == "i", chars[i + 1].lowercased() == "p",
                chars[i + 2].lowercased() == "v", chars[i + 3] == "4" || chars[i + 3] == "6",
                i == 0 || !chars[i - 1].isLetter
            {
                flush()
                out.append("ip")
                i += 4
                continue
            }
            if c.isLetter {
                if c.isUppercase, let last = cur.last {
                    let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
                    if last.isLowercase || (last.isUppercase && nextLower) { flush() }
                }
                cur.append(c)
            } else {
                flush()
            }
            i += 1
        }
        flush()
        return out
    }

    /// The prior of every type for a header.
    public static func evaluate(_ header: String) -> [Tag: HeaderPrior] {
        let w = words(header)
        let compact = w.joined()
        var result: [Tag: HeaderPrior] = [:]
        for tag in Tag.allCases {
            guard let m = models[tag] else { continue }
            result[tag] = prior(words: w, compact: compact, model: m, tag: tag)
        }
        return result
    }

    static func prior(words w: [String], compact: String, model m: Model, tag: Tag) -> HeaderPrior {
        guard !w.isEmpty else { return .none }
        var consumed = [Bool](repeating: false, count: w.count)
        func match(_ list: [[String]]) -> Bool {
            var hit = false
            for p in list where p.count <= w.count {
                for s in 0...(w.count - p.count) where Array(w[s..<(s + p.count)]) == p {
                    for k in s..<(s + p.count) { consumed[k] = true }
                    hit = true
                }
            }
            return hit
        }
        var level = HeaderPrior.none
        if match(m.strong) { level = .strong }
        if level == .none, m.compact.contains(where: { compact.contains($0) }) { level = .strong }
        if match(m.weak), level == .none { level = .weak }
        // A lone "name" header is a person's name.
        if tag == .personName, w == ["name"] { level = .strong }
        var negative = false
        for (k, word) in w.enumerated() where !consumed[k] {
            if m.negatives.contains(word) || (m.sharedNegatives && sharedNegatives.contains(word)) { negative = true }
        }
        guard negative else { return level }
        return level == .strong ? .weak : .negative
    }
}
