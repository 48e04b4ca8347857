/// The sensitive-value types the tagger recognizes. Raw values are the names used in policies and
/// reports.
public enum Tag: String, Codable, CaseIterable, Sendable, CodingKeyRepresentable {
    case pan
    case ssn
    case email
    case phone
    case iban
    case abaRouting = "aba_routing"
    case ipAddress = "ip_address"
    case dateOfBirth = "date_of_birth"
    case personName = "person_name"
    case streetAddress = "street_address"

    /// How specific a type's validator is, which sets the evidence it needs (docs/tagging.md, Method 3).
    public enum Kind: Int, Codable, Sendable, Comparable {
        /// A checksum plus structure (PAN, IBAN): value evidence alone is enough.
        case checksum = 0
        /// Unmistakable structure (email, IP address): value evidence alone, unless the header says otherwise.
        case structural = 1
        /// Plausible for many look-alikes (SSN, ABA routing, phone, date of birth): value evidence and
        /// a header prior or formatting evidence.
        case contextual = 2
        /// Shapes only (person name, street address): header prior and value shape.
        case descriptive = 3

        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }

    public var kind: Kind {
        switch self {
        case .pan, .iban: .checksum
        case .email, .ipAddress: .structural
        case .ssn, .abaRouting, .phone, .dateOfBirth: .contextual
        case .personName, .streetAddress: .descriptive
        }
    }

    /// Position in `allCases`, for per-tag counters kept in flat arrays.
    @inlinable
    public var ordinal: Int {
        switch self {
        case .pan: 0
        case .ssn: 1
        case .email: 2
        case .phone: 3
        case .iban: 4
        case .abaRouting: 5
        case .ipAddress: 6
        case .dateOfBirth: 7
        case .personName: 8
        case .streetAddress: 9
        }
    }
}

/// What one value says about one type.
public enum ValueEvidence: UInt8, Sendable, Codable {
    /// The value does not pass the type's strict validator.
    case invalid = 0
    /// Valid, written without formatting (bare digits).
    case bare = 1
    /// Valid and written with the type's formatting (dashes, parentheses, `+`, grouping): evidence
    /// on its own for context-dependent types.
    case formatted = 2

    @inlinable public var isValid: Bool { self != .invalid }
}

/// Card schemes recognized by issuer prefix and length (docs/tagging.md, PAN).
public enum CardIssuer: String, Codable, CaseIterable, Sendable {
    case visa, mastercard, amex, diners, discover, jcb, unionpay, maestro, mir
}
