public import SystemIO

/// An error from the keyring: configuration, custody or envelope. Equality compares the code only;
/// the description is `code: reason` (``CodedError``).
public typealias KeyringError = ModuleError<KeyringErrorCode>

/// The codes of ``KeyringError``.
public enum KeyringErrorCode: String, ErrorCode {
    case configInvalid
    case pinUnavailable
    case unknownKey
    case keyNotInitialized
    case wrongPurpose
    case retirePrimary
    case versionNotFound
    case versionExists
    case envelopeInvalid
    case unwrapFailed
    case custodyViolation
    /// A privileged operation is not granted to the caller (no grant, an untrusted grant, not
    /// among its users, wrong PIN).
    case permissionDenied
}

/// `<purpose>/<name>`, e.g. `in-use/pan`.
public struct KeyRef: Hashable, Sendable, CustomStringConvertible {
    public let purpose: KeyPurpose
    public let name: String

    public init(_ purpose: KeyPurpose, _ name: String) {
        self.purpose = purpose
        self.name = name
    }

    /// Parses `purpose/name`.
    public init(parsing s: String) throws {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let p = KeyPurpose(rawValue: String(parts[0])), KeyRef.isValidName(String(parts[1])) else {
            throw KeyringError(
                .unknownKey,
                "'\(s)' is not a key reference; expected <purpose>/<name> with purpose one of \(KeyPurpose.allCases.map(\.rawValue).joined(separator: ", ")), e.g. in-use/pan"
            )
        }
        self.init(p, String(parts[1]))
    }

    public var description: String { "\(purpose.rawValue)/\(name)" }

    /// The HSM label of a version: `tokengate/<purpose>/<name>/v<N>`.
    public func label(version: Int) -> String { "tokengate/\(purpose.rawValue)/\(name)/v\(version)" }

    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 32 && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }
    }

    /// Parses a label `tokengate/<purpose>/<name>/v<N>`.
    static func parse(label: String) -> (KeyRef, Int)? {
        let parts = label.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "tokengate", let p = KeyPurpose(rawValue: String(parts[1])),
            isValidName(String(parts[2])), parts[3].hasPrefix("v"), let v = Int(parts[3].dropFirst()), v > 0,
            "v\(v)" == parts[3]
        else { return nil }
        return (KeyRef(p, String(parts[2])), v)
    }
}
