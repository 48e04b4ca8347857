public import Crypto
import Foundation
internal import Glibc
import SystemIO
internal import Yams

typealias SecretPIN = SecretBytes

/// What a key protects. Each purpose is its own PKCS#11 token (own PIN, own custodians) and its
/// keys are created with only the usage flags that purpose needs.
public enum KeyPurpose: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// Wraps the data keys of sealed dataset files.
    case atRest = "at-rest"
    /// Wraps the session keys of batches streamed between processes.
    case inTransit = "in-transit"
    /// Tokenization keys (FF1/FF3-1), one per domain.
    case inUse = "in-use"
    /// HMAC key of the audit log's hash chain.
    case audit = "audit"

    public var description: String { rawValue }

    /// One-byte code used in wrapped-key envelopes.
    var code: UInt8 {
        switch self {
        case .atRest: 1
        case .inTransit: 2
        case .inUse: 3
        case .audit: 4
        }
    }

    init?(code: UInt8) {
        guard let p = KeyPurpose.allCases.first(where: { $0.code == code }) else { return nil }
        self = p
    }
}

/// Where a token's user PIN comes from: an environment variable or a file, never the command line.
public enum PINSource: Sendable, Equatable {
    case environment(String)
    case file(String)
}

extension PINSource: Codable {
    private enum CodingKeys: String, CodingKey { case env, file }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let env = try c.decodeIfPresent(String.self, forKey: .env)
        let file = try c.decodeIfPresent(String.self, forKey: .file)
        switch (env, file) {
        case (let e?, nil): self = .environment(e)
        case (nil, let f?): self = .file(f)
        default:
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "pin must have exactly one of 'env' (variable name) or 'file' (path)"))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .environment(let e): try c.encode(e, forKey: .env)
        case .file(let f): try c.encode(f, forKey: .file)
        }
    }
}

/// One purpose's token and keys.
public struct PurposeConfig: Codable, Sendable, Equatable {
    /// Label of the PKCS#11 token that holds this purpose's keys.
    public var token: String
    /// Where the token's user PIN comes from.
    public var pin: PINSource
    /// Key names (e.g. `datasets`; for in-use: tokenization domains `pan`, `ssn`, `email`, …).
    public var keys: [String]

    public init(token: String, pin: PINSource, keys: [String]) {
        self.token = token
        self.pin = pin
        self.keys = keys
    }
}

/// The keyring configuration file (`keys-config/keyring*.yaml`; JSON is accepted too).
/// The schema is documented in `keys-config/README.md`.
public struct KeyringConfig: Codable, Sendable {
    /// Schema version; 1.
    public var version: Int
    /// Path of the PKCS#11 module.
    public var module: String
    /// Environment variables set before the module loads (e.g. `SOFTHSM2_CONF`). Relative paths in
    /// values that start with `./` or `../` are resolved against the config file's folder.
    public var moduleEnvironment: [String: String]?
    /// Marks the development setup (dev PINs on disk); `keys list` prints a warning for it.
    public var development: Bool?
    /// Per purpose (`at-rest`, `in-transit`, `in-use`, `audit`).
    public var purposes: [String: PurposeConfig]
    /// The audit log (JSON Lines, HMAC-chained); relative to this file's folder. Default:
    /// `../.dev/audit/audit.jsonl` (the development location).
    public var auditLog: String?
    /// Privileged operations the key custodians grant (``Grants``).
    public var grants: Grants?
    /// Folder the config was loaded from (for relative paths); not part of the file.
    public var baseDirectory: String = "."
    /// The file the config was read from, and its owner and mode as read; not part of the file.
    public internal(set) var loadedFrom: String?
    public internal(set) var fileOwnerAndMode: (owner: UInt32, mode: UInt32)?

    enum CodingKeys: String, CodingKey {
        case version, module, development, purposes, grants
        case moduleEnvironment = "module-environment"
        case auditLog = "audit-log"
    }

    public init(
        module: String, moduleEnvironment: [String: String]? = nil, development: Bool = false,
        purposes: [KeyPurpose: PurposeConfig], baseDirectory: String = "."
    ) {
        self.version = 1
        self.module = module
        self.moduleEnvironment = moduleEnvironment
        self.development = development
        self.purposes = Dictionary(uniqueKeysWithValues: purposes.map { ($0.key.rawValue, $0.value) })
        self.baseDirectory = baseDirectory
    }

    /// Loads and validates a config file.
    public static func load(path: String) throws -> KeyringConfig {
        let url = URL(fileURLWithPath: path)
        let text: String
        let ownerAndMode: (owner: UInt32, mode: UInt32)
        do {
            // Owner and mode come from the descriptor the text is read from (a grant is honoured
            // only from a file the caller cannot change: see GrantTrust).
            let fd = try FileDescriptor.open(path, .readOnly)
            ownerAndMode = try fd.ownerAndMode()
            guard let t = String(validating: try fd.readToEnd(), as: UTF8.self) else {
                throw KeyringError(.configInvalid, "keyring config '\(path)' is not UTF-8")
            }
            text = t
        } catch let e as KeyringError {
            throw e
        } catch {
            throw KeyringError(.configInvalid, "cannot read keyring config '\(path)': \(error)")
        }
        if let why = DocumentBounds.violation(text, maxBytes: 1 << 20) {
            throw KeyringError(.configInvalid, "keyring config '\(path)' refused before parsing: \(why)")
        }
        if let why = DocumentBounds.sexagesimalOverflow(text) {
            throw KeyringError(.configInvalid, "keyring config '\(path)': \(why)")
        }
        var config: KeyringConfig
        do {
            config = try YAMLDecoder().decode(KeyringConfig.self, from: text)
        } catch let e as DecodingError {
            throw KeyringError(.configInvalid, "keyring config '\(path)': \(describe(e))")
        } catch {
            throw KeyringError(.configInvalid, "keyring config '\(path)' is not valid YAML/JSON: \(error)")
        }
        config.baseDirectory = url.deletingLastPathComponent().path
        config.loadedFrom = url.standardizedFileURL.path
        config.fileOwnerAndMode = ownerAndMode
        try config.validate(source: path)
        return config
    }

    /// The config of one purpose.
    public func purpose(_ p: KeyPurpose) throws -> PurposeConfig {
        guard let c = purposes[p.rawValue] else {
            throw KeyringError(.configInvalid, "keyring config has no '\(p.rawValue)' purpose")
        }
        return c
    }

    func validate(source: String) throws {
        guard version == 1 else {
            throw KeyringError(.configInvalid, "keyring config '\(source)': unsupported version \(version) (expected 1)")
        }
        for key in purposes.keys where KeyPurpose(rawValue: key) == nil {
            throw KeyringError(
                .configInvalid,
                "keyring config '\(source)': unknown purpose '\(key)' (expected one of \(KeyPurpose.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var tokens: [String: String] = [:]
        for (name, p) in purposes.sorted(by: { $0.key < $1.key }) {
            if let other = tokens[p.token] {
                throw KeyringError(
                    .configInvalid, "keyring config '\(source)': purposes '\(other)' and '\(name)' share token '\(p.token)'; each purpose needs its own token")
            }
            tokens[p.token] = name
            guard !p.keys.isEmpty else {
                throw KeyringError(.configInvalid, "keyring config '\(source)': purpose '\(name)' lists no keys")
            }
            for k in p.keys {
                guard KeyRef.isValidName(k) else {
                    throw KeyringError(
                        .configInvalid, "keyring config '\(source)': key name '\(k)' of '\(name)' must be 1-32 characters of a-z, 0-9, '-' or '_'")
                }
            }
            guard Set(p.keys).count == p.keys.count else {
                throw KeyringError(.configInvalid, "keyring config '\(source)': purpose '\(name)' lists a key twice")
            }
        }
        if let g = grants?.detokenize, g.parsed() == nil {
            throw KeyringError(
                .configInvalid,
                "keyring config '\(source)': grants.detokenize.pin-verifier is malformed (expected pbkdf2-sha256$iterations$salt$hash from `tokengate policy pin-verifier`)"
            )
        }
    }

    /// Resolves a path from the config against its folder.
    public func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardizedFileURL.path
    }
}

private func describe(_ e: DecodingError) -> String {
    func path(_ p: [any CodingKey]) -> String { p.map(\.stringValue).joined(separator: ".") }
    switch e {
    case .keyNotFound(let k, let c): return "missing field '\(path(c.codingPath + [k]))'"
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
        return "field '\(path(c.codingPath))': \(c.debugDescription)"
    @unknown default: return "\(e)"
    }
}

extension PINSource {
    func read(config: KeyringConfig, token: String) throws -> SecretPIN {
        try read(relativeTo: config.baseDirectory, what: "token '\(token)'")
    }

    /// Reads the PIN into a zeroizing buffer; a relative file path resolves against `directory`.
    /// A PIN file must not be readable by group or others.
    /// - Parameter what: names what the PIN is for, in error messages.
    public func read(relativeTo directory: String, what: String) throws -> SecretBytes {
        let token = what
        switch self {
        case .environment(let name):
            guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
                throw KeyringError(.pinUnavailable, "PIN for \(token) expected in environment variable \(name), which is not set")
            }
            var bytes = Array(v.utf8)
            return SecretPIN(consumingArray: &bytes)
        case .file(let f):
            let path = f.hasPrefix("/") ? f : URL(fileURLWithPath: directory).appendingPathComponent(f).standardizedFileURL.path
            var st = stat()
            guard stat(path, &st) == 0 else {
                throw KeyringError(.pinUnavailable, "PIN file '\(path)' for \(token) does not exist")
            }
            guard st.st_mode & 0o077 == 0 else {
                throw KeyringError(
                    .pinUnavailable,
                    "PIN file '\(path)' for \(token) is readable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it")
            }
            guard var data = FileManager.default.contents(atPath: path).map({ Array($0) }) else {
                throw KeyringError(.pinUnavailable, "cannot read PIN file '\(path)' for \(token)")
            }
            while let last = data.last, last == 0x0A || last == 0x0D { data.removeLast() }
            guard !data.isEmpty else { throw KeyringError(.pinUnavailable, "PIN file '\(path)' for \(token) is empty") }
            return SecretPIN(consumingArray: &data)
        }
    }
}
