public import Crypto
import Foundation
public import HSM
import Synchronization

/// One version of one key, as read back from the HSM.
public struct KeyInfo: Sendable, Encodable, Equatable {
    public let label: String
    public let purpose: KeyPurpose
    public let name: String
    public let version: Int
    /// The newest version is primary: it alone wraps, signs and tokenizes; older versions only
    /// unwrap (at-rest, in-transit) or detokenize (in-use) until retired.
    public internal(set) var primary: Bool
    /// `CKA_ID` in hex: recorded in every artifact the key protects.
    public let id: String
    /// When the version was created (ISO 8601, UTC), from its metadata object in the HSM.
    public let created: String?
    /// Custody and usage attributes as read from the HSM (`CKA_SENSITIVE: true`, …).
    public let attributes: [String: Bool]
    /// `CKA_ALLOWED_MECHANISMS` as read from the HSM; nil where the module does not report it.
    public let allowedMechanisms: [String]?
    /// Differences between the attributes read back and the purpose's custody policy (empty = compliant).
    public let custodyViolations: [String]
    /// Whether the key name is in the current config.
    public internal(set) var configured: Bool
    /// The HSM object handle (valid in this process only; not encoded).
    public let handle: UInt

    public var ref: KeyRef { KeyRef(purpose, name) }
    public var idBytes: [UInt8] { hexDecode(id) ?? [] }

    enum CodingKeys: String, CodingKey {
        case label, purpose, name, version, primary, id, created, attributes, allowedMechanisms, custodyViolations, configured
    }
}

/// The keyring: the four purposes' tokens and keys, their versions, and envelope operations.
///
/// Thread-safe: tokens are opened and logged in once (lazily, under a lock); every HSM operation
/// borrows its own session from the token's pool.
public final class Keyring: @unchecked Sendable {
    public let config: KeyringConfig
    public let module: PKCS11Module
    private let tokens = Mutex<[KeyPurpose: Token]>([:])
    /// Serializes version creation and destruction within this process (all keyrings).
    private static let versionLock = Mutex<Void>(())
    /// Whether the module accepted `CKA_ALLOWED_MECHANISMS` (nil until the first key is created).
    private let allowedMechanismsSupported = Mutex<Bool?>(nil)

    /// Opens the keyring: sets the module's environment and loads the module. Tokens are opened
    /// and logged in on first use.
    /// `package`: outside this package keys are reached only through the Operations module's
    /// `Gateway`, which audits every use.
    package init(config: KeyringConfig) throws {
        self.config = config
        for (k, v) in (config.moduleEnvironment ?? [:]).sorted(by: { $0.key < $1.key }) {
            let value = v.hasPrefix("./") || v.hasPrefix("../") ? config.resolve(v) : v
            setenv(k, value, 1)
        }
        self.module = try PKCS11Module.load(path: config.resolve(config.module))
    }

    package convenience init(configPath: String) throws {
        try self.init(config: KeyringConfig.load(path: configPath))
    }

    /// The purpose's token, logged in with its PIN.
    public func token(_ purpose: KeyPurpose) throws -> Token {
        try tokens.withLock { cache in
            if let t = cache[purpose] { return t }
            let pc = try config.purpose(purpose)
            let pin = try pc.pin.read(config: config, token: pc.token)
            // Another process logging in or changing the token can make it look absent for a
            // moment (SoftHSM2): bounded retries, never on a wrong PIN.
            let token = try PKCS11Module.retryingContention {
                let token = try module.token(label: pc.token)
                try token.login(pin: pin)
                return token
            }
            cache[purpose] = token
            return token
        }
    }

    // MARK: - Listing

    /// Every tokengate key version of a purpose, sorted by name then version.
    public func keys(_ purpose: KeyPurpose) throws -> [KeyInfo] {
        let token = try token(purpose)
        let policy = CustodyPolicy.of(purpose)
        let configured = Set((try? config.purpose(purpose).keys) ?? [])
        var infos: [KeyInfo] = try token.withSession { s in
            var created: [String: String] = [:]
            for h in try s.findObjects([.objectClass(.data), .string(.application, "tokengate")]) {
                // Objects destroyed by another session between find and read are skipped.
                let a: [AttributeType: [UInt8]]
                do { a = try s.attributes(of: h, [.label, .value]) } catch let e as HSMError where e.code == .keyNotFound { continue }
                guard let label = AttributeValue.string(a[.label]), label.hasSuffix("/meta"), let v = a[.value],
                    let meta = try? JSONDecoder().decode(KeyMetadata.self, from: Data(v))
                else { continue }
                created[String(label.dropLast(5))] = meta.created
            }
            let handles = try s.findObjects([.objectClass(.secretKey)])
            var out: [KeyInfo] = []
            for h in handles {
                let attrs: [AttributeType: [UInt8]]
                do {
                    attrs = try s.attributes(of: h, [.label, .id, .allowedMechanisms] + AttributeType.custodyFlags)
                } catch let e as HSMError where e.code == .keyNotFound {
                    continue  // retired by another session between find and read
                }
                guard let label = AttributeValue.string(attrs[.label]), let (ref, version) = KeyRef.parse(label: label),
                    ref.purpose == purpose
                else { continue }
                var flags: [String: Bool] = [:]
                for t in AttributeType.custodyFlags { if let b = AttributeValue.bool(attrs[t]) { flags[t.name] = b } }
                out.append(
                    KeyInfo(
                        label: label, purpose: purpose, name: ref.name, version: version, primary: false,
                        id: hexEncode(attrs[.id] ?? []), created: created[label],
                        attributes: flags,
                        allowedMechanisms: AttributeValue.mechanisms(attrs[.allowedMechanisms]).map { $0.map(\.description) },
                        custodyViolations: policy.violations(attrs), configured: configured.contains(ref.name),
                        handle: h.rawValue))
            }
            return out
        }
        infos.sort { ($0.name, $0.version) < ($1.name, $1.version) }
        let newest = Dictionary(infos.map { ($0.name, $0.version) }, uniquingKeysWith: max)
        for i in infos.indices { infos[i].primary = newest[infos[i].name] == infos[i].version }
        return infos
    }

    /// Every key version of every configured purpose.
    public func list() throws -> [KeyInfo] {
        try KeyPurpose.allCases.filter { config.purposes[$0.rawValue] != nil }.flatMap { try keys($0) }
    }

    /// Versions of one key, oldest first.
    public func versions(_ ref: KeyRef) throws -> [KeyInfo] {
        try keys(ref.purpose).filter { $0.name == ref.name }
    }

    /// The primary (newest) version of a key.
    public func primary(_ ref: KeyRef) throws -> KeyInfo {
        try checkConfigured(ref)
        guard let p = try versions(ref).last else {
            throw KeyringError(.keyNotInitialized, "key \(ref) has no version in the HSM; run `tokengate keys init`")
        }
        return try usable(p)
    }

    /// A specific version of a key.
    public func version(_ ref: KeyRef, _ version: Int) throws -> KeyInfo {
        guard let k = try versions(ref).first(where: { $0.version == version }) else {
            throw KeyringError(.versionNotFound, "key \(ref) has no version \(version) (retired or never created)")
        }
        return try usable(k)
    }

    /// Custody at every use: the attributes of a key version, read back from the HSM when an
    /// operation resolves it, must meet its purpose's custody policy (sensitive, not extractable,
    /// not modifiable, token, private, only its usage flags and mechanisms). A non-compliant
    /// object — e.g. one planted under the next version's label with `CKA_SENSITIVE=false` — is
    /// refused with its label; only `keys list` and `keys retire` still see it.
    func usable(_ k: KeyInfo) throws -> KeyInfo {
        let hard = k.custodyViolations.filter { !CustodyPolicy.isProvenanceOnly($0) }
        guard hard.isEmpty else {
            throw KeyringError(
                .custodyViolation,
                "refusing to use \(k.label) (CKA_ID \(k.id)): its HSM attributes break the \(k.purpose) custody policy (\(hard.joined(separator: "; "))); "
                    + "`tokengate keys list` shows it — find out who created it, then retire it")
        }
        return k
    }

    func checkConfigured(_ ref: KeyRef) throws {
        guard let pc = config.purposes[ref.purpose.rawValue], pc.keys.contains(ref.name) else {
            throw KeyringError(.unknownKey, "unknown key \(ref): not listed under '\(ref.purpose)' in the keyring config")
        }
    }

    // MARK: - Lifecycle

    /// Creates version 1 of every configured key that has no version yet. Idempotent.
    /// - Returns: the versions created.
    @discardableResult
    public func initialize() throws -> [KeyInfo] {
        var created: [KeyInfo] = []
        for purpose in KeyPurpose.allCases {
            guard let pc = config.purposes[purpose.rawValue] else { continue }
            let existing = Set(try keys(purpose).map(\.name))
            for name in pc.keys where !existing.contains(name) {
                do {
                    created.append(try createVersion(KeyRef(purpose, name), version: 1))
                } catch let e as KeyringError where e.code == .versionExists {
                    continue  // created by a concurrent `keys init`: nothing left to do
                }
            }
        }
        return created
    }

    /// Creates version N+1 of a key, which becomes primary; older versions stay for decryption.
    public func rotate(_ ref: KeyRef) throws -> KeyInfo {
        try checkConfigured(ref)
        let current = try versions(ref).last?.version ?? 0
        return try createVersion(ref, version: current + 1)
    }

    /// Destroys one version of a key in the HSM. The primary version is refused.
    /// - Returns: the version destroyed, as it was.
    @discardableResult
    public func retire(_ ref: KeyRef, version: Int) throws -> KeyInfo {
        try checkConfigured(ref)
        return try Keyring.versionLock.withLock { _ in
            let all = try versions(ref)
            guard let target = all.first(where: { $0.version == version }) else {
                throw KeyringError(.versionNotFound, "key \(ref) has no version \(version) (present: \(all.map { "v\($0.version)" }.joined(separator: ", ")))")
            }
            // A primary version that breaks custody is unusable anyway: it may be destroyed.
            let brokenCustody = target.custodyViolations.contains { !CustodyPolicy.isProvenanceOnly($0) }
            guard !target.primary || brokenCustody else {
                throw KeyringError(.retirePrimary, "refusing to retire \(target.label): it is the primary version; rotate first")
            }
            try token(ref.purpose).withSession { s in
                try s.destroy(ObjectHandle(rawValue: target.handle))
                for m in try s.findObjects([.objectClass(.data), .string(.label, target.label + "/meta")]) { try s.destroy(m) }
            }
            return target
        }
    }

    private func createVersion(_ ref: KeyRef, version: Int) throws -> KeyInfo {
        let policy = CustodyPolicy.of(ref.purpose)
        let label = ref.label(version: version)
        let token = try token(ref.purpose)
        let meta = try JSONEncoder().encode(KeyMetadata(created: ISO8601DateFormatter().string(from: Date())))
        try Keyring.versionLock.withLock { _ in
            try token.withSession { s in
                guard try s.findObjects([.objectClass(.secretKey), .string(.label, label)]).isEmpty else {
                    throw KeyringError(.versionExists, "\(label) already exists on token '\(token.label)' (created by another process meanwhile?)")
                }
                let id = try s.randomBytes(16)
                let withMechs = allowedMechanismsSupported.withLock { $0 } ?? true
                do {
                    _ = try s.generateKey(policy.generation, template: policy.template(label: label, id: id, withAllowedMechanisms: withMechs))
                    allowedMechanismsSupported.withLock { $0 = withMechs }
                } catch let e as HSMError where withMechs && (e.returnValue == 0x12 || e.returnValue == 0x13) {
                    // CKR_ATTRIBUTE_TYPE_INVALID / VALUE_INVALID: the module does not support
                    // CKA_ALLOWED_MECHANISMS. The usage flags still restrict the key.
                    allowedMechanismsSupported.withLock { $0 = false }
                    _ = try s.generateKey(policy.generation, template: policy.template(label: label, id: id, withAllowedMechanisms: false))
                }
                // Another process may have created the same version in the meantime: keep the
                // oldest object only (lowest handle is not guaranteed; compare by CKA_ID order).
                let twins = try s.findObjects([.objectClass(.secretKey), .string(.label, label)])
                if twins.count > 1 {
                    let ours = try twins.filter { try s.attributes(of: $0, [.id])[.id] == id }
                    for h in ours { try s.destroy(h) }
                    throw KeyringError(.versionExists, "\(label) was created concurrently by another process; kept theirs")
                }
                for old in try s.findObjects([.objectClass(.data), .string(.label, label + "/meta")]) { try s.destroy(old) }
                _ = try s.createObject(CustodyPolicy.metadataTemplate(keyLabel: label, json: Array(meta)))
            }
        }
        guard let info = try versions(ref).first(where: { $0.version == version }) else {
            throw KeyringError(.versionNotFound, "\(label) was not found after it was created")
        }
        guard info.custodyViolations.isEmpty else {
            // Never leave a key with weaker custody than the policy: destroy it and fail.
            try? token.withSession { s in try s.destroy(ObjectHandle(rawValue: info.handle)) }
            throw KeyringError(.custodyViolation, "module did not apply the custody attributes of \(label): \(info.custodyViolations.joined(separator: "; "))")
        }
        return info
    }

    /// The HSM object of a key version, checked to belong to `purpose`.
    func handle(of info: KeyInfo, for purpose: KeyPurpose) throws -> ObjectHandle {
        guard info.purpose == purpose else {
            throw KeyringError(.wrongPurpose, "\(info.label) is a \(info.purpose) key and cannot be used for \(purpose) operations")
        }
        return ObjectHandle(rawValue: info.handle)
    }
}

struct KeyMetadata: Codable {
    var created: String
}

func hexEncode(_ b: [UInt8]) -> String { Hex.encode(b) }

func hexDecode(_ s: String) -> [UInt8]? { Hex.decode(s) }
