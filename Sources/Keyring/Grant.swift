public import Crypto
import Foundation
import SystemIO

/// Privileged operations the key custodians grant in the keyring config (`grants:`), never the
/// caller's own policy: a policy can only narrow what a grant allows.
public struct Grants: Codable, Sendable, Equatable {
    /// Who may detokenize (and retokenize, which detokenizes in memory).
    public var detokenize: DetokenizeGrant?
    /// Whether `tokenize --no-verify-output` (the residual scan of the output turned off) is
    /// allowed; absent or false: refused. The scan is a control, so the caller cannot switch it
    /// off alone.
    public var unverifiedOutput: Bool?

    enum CodingKeys: String, CodingKey {
        case detokenize
        case unverifiedOutput = "unverified-output"
    }

    public init(detokenize: DetokenizeGrant? = nil, unverifiedOutput: Bool? = nil) {
        self.detokenize = detokenize
        self.unverifiedOutput = unverifiedOutput
    }
}

/// The detokenize grant: the PBKDF2 verifier of the detokenize PIN (a secret separate from the
/// in-use token's PIN, held by the people allowed to see clear values) and, optionally, the
/// operating-system users allowed to use it.
///
/// It is honoured only from a config file the caller cannot change (``GrantTrust``): owned by
/// root or by a custodian account other than the caller, and writable by its owner only.
public struct DetokenizeGrant: Codable, Sendable, Equatable {
    /// `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>` (`tokengate policy pin-verifier`).
    public var pinVerifier: String
    /// Login names or numeric uids allowed to detokenize; nil: any user who knows the PIN.
    public var users: [String]?

    enum CodingKeys: String, CodingKey {
        case pinVerifier = "pin-verifier"
        case users
    }

    public init(pinVerifier: String, users: [String]? = nil) {
        self.pinVerifier = pinVerifier
        self.users = users
    }

    static let iterations = 200_000

    /// A verifier for `pin` with a random salt.
    public static func verifier(for pin: borrowing SecretBytes) throws -> String {
        let salt = try SecureRandom.bytes(16)
        let hash = try PBKDF2.sha256(password: pin, salt: salt, iterations: iterations, count: 32)
        return "pbkdf2-sha256$\(iterations)$\(Hex.encode(salt))$\(Hex.encode(hash))"
    }

    /// The verifier's parts, or nil when it is malformed.
    func parsed() -> (iterations: Int, salt: [UInt8], hash: [UInt8])? {
        let parts = pinVerifier.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let iters = Int(parts[1]), iters >= 10_000,
            let salt = Hex.decode(parts[2]), salt.count >= 8, let hash = Hex.decode(parts[3]), hash.count == 32
        else { return nil }
        return (iters, salt, hash)
    }

    /// Whether `pin` matches the verifier (constant-time comparison).
    func matches(_ pin: borrowing SecretBytes) throws -> Bool {
        guard let v = parsed() else { return false }
        let got = try PBKDF2.sha256(password: pin, salt: v.salt, iterations: v.iterations, count: 32)
        return got.withUnsafeBytes { a in v.hash.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }
}

/// Whether a grant read from a file with a given owner and mode binds a caller.
///
/// Threat model (single host): a caller who could edit the file — its owner, or anyone when it
/// is group- or world-writable — could write a grant of their own, so such a grant is refused.
/// Root owns every file in effect and is accepted as the custodian of a root-run process.
/// The check is on the file as it was read (`fstat` of the descriptor the config came from).
public enum GrantTrust {
    /// Why a grant in a file owned by `owner` with permission bits `mode` does not bind
    /// `caller` (an effective uid); nil: it does.
    public static func refusal(owner: UInt32, mode: UInt32, caller: UInt32) -> String? {
        if mode & 0o022 != 0 {
            return "it is writable by group or others (mode \(String(mode & 0o777, radix: 8))): chmod go-w it"
        }
        if caller != 0 && owner == caller {
            return
                "it is owned by the caller (uid \(caller)), who could write a grant of their own: the key custodians (root or a custodian account) must own it"
        }
        return nil
    }
}

/// Proof that the custodians' detokenize grant admitted this process: who, and from which
/// file. Only this package makes one, so the tokenize job cannot be run in a detokenizing mode
/// around the check.
public struct DetokenizeAuthorization: Sendable, Equatable {
    /// The caller's login name (or uid).
    public let user: String
    /// The keyring config that holds the grant.
    public let grantSource: String

    package init(user: String, grantSource: String) {
        self.user = user
        self.grantSource = grantSource
    }
}

extension KeyringConfig {
    /// Why the grants of this config do not bind the calling process (nil: they do).
    func grantRefusal(_ source: String) -> String? {
        guard let (owner, mode) = fileOwnerAndMode else { return "the grant of '\(source)' was not read from a file" }
        return GrantTrust.refusal(owner: owner, mode: mode, caller: ProcessIdentity.effectiveUserID).map {
            "the grant in '\(source)' does not bind: \($0)"
        }
    }

    /// Checks that the custodians allow turning the residual output scan off
    /// (`grants.unverified-output: true` in a config the caller cannot change).
    /// - Throws: ``KeyringError`` `.permissionDenied`.
    public func authorizeUnverifiedOutput() throws {
        let source = loadedFrom ?? "(in-memory keyring config)"
        guard grants?.unverifiedOutput == true else {
            throw KeyringError(
                .permissionDenied,
                "--no-verify-output refused: the keyring config '\(source)' does not set grants.unverified-output (the residual scan is a control; the key custodians decide)"
            )
        }
        if let why = grantRefusal(source) { throw KeyringError(.permissionDenied, "--no-verify-output refused: \(why)") }
    }

    /// Checks the custodians' detokenize grant for the calling process: the config holds a
    /// grant, the config file cannot be changed by the caller, the caller is among its users,
    /// and the PIN from `pin` matches its verifier.
    /// - Parameters:
    ///   - pin: where the caller's detokenize PIN comes from.
    ///   - directory: the folder a relative PIN file resolves against.
    /// - Throws: ``KeyringError`` `.permissionDenied` naming the reason, `.pinUnavailable`.
    public func authorizeDetokenize(pin: PINSource, relativeTo directory: String) throws -> DetokenizeAuthorization {
        let source = loadedFrom ?? "(in-memory keyring config)"
        guard let grant = grants?.detokenize else {
            throw KeyringError(
                .permissionDenied,
                "detokenize is not granted: the keyring config '\(source)' has no grants.detokenize (the key custodians add it; see keys-config/README.md)")
        }
        if let why = grantRefusal(source) { throw KeyringError(.permissionDenied, "detokenize refused: \(why)") }
        let caller = ProcessIdentity.effectiveUserID
        let name = ProcessIdentity.userName(caller)
        if let users = grant.users {
            guard users.contains(String(caller)) || name.map(users.contains) == true else {
                throw KeyringError(
                    .permissionDenied, "detokenize refused: user \(name ?? "uid \(caller)") is not among the grant's users in '\(source)'")
            }
        }
        let secret = try pin.read(relativeTo: directory, what: "detokenize")
        guard try grant.matches(secret) else {
            throw KeyringError(.permissionDenied, "detokenize refused: wrong detokenize PIN")
        }
        return DetokenizeAuthorization(user: name ?? "uid \(caller)", grantSource: source)
    }
}
