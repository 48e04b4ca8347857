public import Crypto
public import FPE
import Foundation
public import Keyring
public import SystemIO
public import Transforms
internal import Yams

/// What happens to a column.
public enum Action: String, Sendable, Codable, CaseIterable {
    /// Format-preserving token (FF1/FF3-1 transform); reversible with `detokenize`.
    case tokenize
    /// Irreversible mask: every letter/digit but the last `keep-last` becomes `*`.
    case mask
    /// Irreversible keyed pseudonym: AES-CMAC under the domain's in-use key, hex.
    case hmac
    /// The column is removed from the output.
    case drop
    /// The column passes through untouched.
    case keep
    /// Free text: the card numbers, dashed SSNs and emails found inside each value are tokenized
    /// with the `pan`, `ssn` and `email` rules; the rest of the text is kept. The tagger reports
    /// such columns with the tag `free_text`.
    case embedded = "tokenize-embedded"
}

/// One rule: an action and, for `tokenize`, its transform, domain key and parameters.
public struct Rule: Sendable, Codable, Equatable {
    public var action: Action
    public var transform: TransformKind?
    /// The in-use key (tokenization domain) — a key name under `in-use` in the keyring config.
    public var domain: String?
    public var algorithm: FPEAlgorithm?
    public var custody: Custody?
    public var alphabet: String?
    public var dateFormat: String?
    public var dateMin: String?
    public var dateMax: String?
    /// For `mask`: how many trailing letters/digits stay visible (default 4).
    public var keepLast: Int?
    /// For `card`: `valid` or `preserve` (default) — see ``LuhnMode``.
    public var luhn: LuhnMode?
    /// For `phone`: leading digits kept in clear (default: country code, and NANP area code).
    public var keepLeading: Int?
    /// For `ip`: leading bits of IPv4 / IPv6 addresses kept in clear (default 0).
    public var keepPrefix: Int?
    public var keepPrefixV6: Int?

    enum CodingKeys: String, CodingKey {
        case action, transform, domain, algorithm, custody, alphabet, luhn
        case dateFormat = "date-format"
        case dateMin = "date-min"
        case dateMax = "date-max"
        case keepLast = "keep-last"
        case keepLeading = "keep-leading"
        case keepPrefix = "keep-prefix"
        case keepPrefixV6 = "keep-prefix-v6"
    }

    public init(action: Action = .tokenize, transform: TransformKind? = nil, domain: String? = nil) {
        self.action = action
        self.transform = transform
        self.domain = domain
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transform = try c.decodeIfPresent(TransformKind.self, forKey: .transform)
        action = try c.decodeIfPresent(Action.self, forKey: .action) ?? (transform == nil ? .keep : .tokenize)
        domain = try c.decodeIfPresent(String.self, forKey: .domain)
        algorithm = try c.decodeIfPresent(FPEAlgorithm.self, forKey: .algorithm)
        custody = try c.decodeIfPresent(Custody.self, forKey: .custody)
        alphabet = try c.decodeIfPresent(String.self, forKey: .alphabet)
        dateFormat = try c.decodeIfPresent(String.self, forKey: .dateFormat)
        dateMin = try c.decodeIfPresent(String.self, forKey: .dateMin)
        dateMax = try c.decodeIfPresent(String.self, forKey: .dateMax)
        keepLast = try c.decodeIfPresent(Int.self, forKey: .keepLast)
        luhn = try c.decodeIfPresent(LuhnMode.self, forKey: .luhn)
        keepLeading = try c.decodeIfPresent(Int.self, forKey: .keepLeading)
        keepPrefix = try c.decodeIfPresent(Int.self, forKey: .keepPrefix)
        keepPrefixV6 = try c.decodeIfPresent(Int.self, forKey: .keepPrefixV6)
    }

    /// The transform spec of a `tokenize` rule, with the rules of transform version `version`
    /// (new runs: the current one; detokenize: the version the dataset recorded).
    public func spec(version: Int) -> TransformSpec? {
        transform.map {
            TransformSpec(
                $0, alphabet: alphabet, dateFormat: dateFormat, dateMin: dateMin, dateMax: dateMax, luhn: luhn, keepLeading: keepLeading,
                keepPrefix: keepPrefix, keepPrefixV6: keepPrefixV6, version: version)
        }
    }

    /// The transform spec of a `tokenize` rule in the current transform version.
    public var spec: TransformSpec? { spec(version: TransformSpec.currentVersion) }
}

/// What the policy says of detokenizing. The grant itself is not here: it lives in the keyring
/// config, where only the key custodians can change it (``DetokenizeGrant``); a policy can only
/// narrow it (`allowed: false` refuses even a granted caller) and names where the caller's
/// detokenize PIN comes from.
///
/// A `pin-verifier` in a policy is refused: a caller who writes their own policy could grant
/// themselves with a verifier of their own PIN.
public struct DetokenizePermission: Sendable, Codable, Equatable {
    /// false: this policy refuses detokenize and retokenize whatever the grant says.
    public var allowed: Bool
    /// Where the detokenize PIN comes from at run time (environment variable or file). Default:
    /// the environment variable `TOKENGATE_DETOKENIZE_PIN`.
    public var pin: PINSource?

    enum CodingKeys: String, CodingKey {
        case allowed, pin
        case pinVerifier = "pin-verifier"
    }

    public init(allowed: Bool, pin: PINSource? = nil) {
        self.allowed = allowed
        self.pin = pin
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.pinVerifier) {
            throw DecodingError.dataCorruptedError(
                forKey: .pinVerifier, in: c,
                debugDescription:
                    "a policy cannot grant detokenize: the pin-verifier belongs in the keyring config's grants.detokenize, where only the key custodians can change it (keys-config/README.md)"
            )
        }
        allowed = try c.decode(Bool.self, forKey: .allowed)
        pin = try c.decodeIfPresent(PINSource.self, forKey: .pin)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(allowed, forKey: .allowed)
        try c.encodeIfPresent(pin, forKey: .pin)
    }

    /// The PIN source when the policy names none.
    public static let defaultPIN = PINSource.environment("TOKENGATE_DETOKENIZE_PIN")
}

/// What a tokenize run does when a column it decided to keep starts holding values of a
/// sensitive type later in the stream (or a JSON key first appears holding them).
public enum NewEvidenceAction: String, Sendable, Codable, CaseIterable {
    /// Stop the run (no output), naming the file, records, column and type. The default.
    case stop
    /// Apply the tag's rule to the column from that batch on, and say so in the summary, the
    /// manifest (`protectedFromRecord`) and the audit record. Not with a sealed output, whose
    /// manifest is fixed before the first frame: there it stops.
    case protect
}

/// A tokenization policy (`keys-config/policy*.yaml`; schema in docs/policy.md).
public struct Policy: Sendable, Codable {
    public var version: Int
    /// Default algorithm and custody for every rule that does not name its own.
    public var algorithm: FPEAlgorithm
    public var custody: Custody
    /// Tag (as the tagger names it: `pan`, `ssn`, …) → rule.
    public var tags: [String: Rule]
    /// Column name → rule; wins over the tag's rule.
    public var columns: [String: Rule]
    public var detokenize: DetokenizePermission?
    /// New evidence in a kept column: stop (default) or protect (``NewEvidenceAction``).
    public var onNewEvidence: NewEvidenceAction = .stop
    /// Folder of the policy file (relative PIN paths); not part of the file.
    public var baseDirectory: String = "."

    enum CodingKeys: String, CodingKey {
        case version, algorithm, custody, tags, columns, detokenize
        case onNewEvidence = "on-new-evidence"
    }

    public init(
        version: Int = 1, algorithm: FPEAlgorithm = .ff1, custody: Custody = .derived,
        tags: [String: Rule], columns: [String: Rule] = [:], detokenize: DetokenizePermission? = nil
    ) {
        self.version = version
        self.algorithm = algorithm
        self.custody = custody
        self.tags = tags
        self.columns = columns
        self.detokenize = detokenize
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(Int.self, forKey: .version)
        algorithm = try c.decodeIfPresent(FPEAlgorithm.self, forKey: .algorithm) ?? .ff1
        custody = try c.decodeIfPresent(Custody.self, forKey: .custody) ?? .derived
        tags = try c.decodeIfPresent([String: Rule].self, forKey: .tags) ?? [:]
        columns = try c.decodeIfPresent([String: Rule].self, forKey: .columns) ?? [:]
        detokenize = try c.decodeIfPresent(DetokenizePermission.self, forKey: .detokenize)
        onNewEvidence = try c.decodeIfPresent(NewEvidenceAction.self, forKey: .onNewEvidence) ?? .stop
    }

    /// The policy used when none is given: every tag the tagger knows gets a reversible
    /// format-preserving transform under its own domain key; detokenizing is not permitted.
    public static let `default` = Policy(tags: [
        "pan": Rule(transform: .card, domain: "pan"),
        "ssn": Rule(transform: .ssn, domain: "ssn"),
        "email": Rule(transform: .email, domain: "email"),
        "phone": Rule(transform: .phone, domain: "phone"),
        "iban": Rule(transform: .iban, domain: "iban"),
        "date_of_birth": Rule(transform: .date, domain: "date"),
        "aba_routing": Rule(transform: .aba, domain: "generic"),
        "ip_address": Rule(transform: .ip, domain: "generic"),
        "person_name": Rule(transform: .name, domain: "generic"),
        "street_address": Rule(transform: .alphanumeric, domain: "generic"),
        "free_text": Rule(action: .embedded),
    ])

    /// Loads and validates a policy file.
    public static func load(path: String) throws -> Policy {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw PolicyError(.unreadable, "cannot read policy '\(path)': \(error.localizedDescription)")
        }
        // An emitted policy names every column of a feed: 16 MiB is thousands of columns.
        if let why = DocumentBounds.violation(text, maxBytes: 16 << 20) {
            throw PolicyError(.invalid, "policy '\(path)' refused before parsing: \(why)")
        }
        if let why = DocumentBounds.sexagesimalOverflow(text) {
            throw PolicyError(.invalid, "policy '\(path)' is invalid: \(why)")
        }
        var p: Policy
        do { p = try YAMLDecoder().decode(Policy.self, from: text) } catch {
            throw PolicyError(.invalid, "policy '\(path)' is invalid: \(error)")
        }
        try p.validate(source: path)
        p.baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return p
    }

    /// The tag the tokenize job gives an untagged free-text column with embedded sensitive values.
    public static let freeTextTag = "free_text"

    /// The rule for a column: its name's override, else its tag's rule, else keep — except that
    /// free text with embedded values is tokenized in place unless a rule says otherwise (fail closed).
    public func rule(column: String, tag: String?) -> Rule {
        if let r = columns[column] { return r }
        if let tag, let r = tags[tag] { return r }
        if tag == Policy.freeTextTag { return Rule(action: .embedded) }
        return Rule(action: .keep)
    }

    public func validate(source: String) throws {
        guard version == 1 else { throw PolicyError(.unsupportedVersion, "policy '\(source)': unsupported version \(version)") }
        for (where_, rules) in [("tags", tags), ("columns", columns)] {
            for (name, r) in rules.sorted(by: { $0.key < $1.key }) {
                let at = "policy '\(source)', \(where_).\(name)"
                switch r.action {
                case .tokenize:
                    guard let spec = r.spec else {
                        throw PolicyError(
                            .ruleInvalid, "\(at): action tokenize needs a transform (\(TransformKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    guard r.domain != nil else { throw PolicyError(.ruleInvalid, "\(at): tokenize needs a domain (an in-use key name)") }
                    if spec.kind == .alphabet && (r.alphabet ?? "").isEmpty { throw PolicyError(.ruleInvalid, "\(at): transform alphabet needs 'alphabet'") }
                case .hmac:
                    guard r.domain != nil else { throw PolicyError(.ruleInvalid, "\(at): hmac needs a domain (an in-use key name)") }
                case .mask:
                    if let k = r.keepLast, k < 0 { throw PolicyError(.ruleInvalid, "\(at): keep-last must be 0 or more") }
                case .drop, .keep, .embedded: break
                }
            }
        }
    }

    /// The in-use key names the policy's rules use.
    public var domains: Set<String> {
        Set((Array(tags.values) + Array(columns.values)).compactMap { $0.action == .tokenize || $0.action == .hmac ? $0.domain : nil })
    }
}

/// An error of a policy: loading, validating, or what it permits. Equality compares the code only;
/// the description is `code: reason`.
public typealias PolicyError = ModuleError<PolicyErrorCode>

/// The codes of ``PolicyError``.
public enum PolicyErrorCode: String, ErrorCode {
    /// The policy file cannot be read.
    case unreadable
    /// The policy file is not a valid policy document (YAML or schema).
    case invalid
    case unsupportedVersion
    /// A rule lacks what its action needs (transform, domain, alphabet, keep-last, keyring).
    case ruleInvalid
    /// The policy does not allow detokenizing (`detokenize.allowed` is false).
    case detokenizeNotPermitted
    /// A column's action (mask, hmac, drop) cannot be inverted.
    case notReversible
    /// An embedded value's token has another length than the value.
    case lengthNotPreserved
}

extension FPEAlgorithm: Codable {}
