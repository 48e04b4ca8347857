import Crypto
import Foundation
public import Keyring
public import Operations
public import SystemIO
public import Tokenize
internal import Yams

/// The `tokengate serve` configuration (`--config FILE`, YAML or JSON; schema in
/// keys-config/README.md): where to listen, TLS, the transformations served, the roles that
/// allow them and the clients that hold the roles. Secrets are never in it: clients' bearer
/// tokens appear only as SHA-256 hashes, the detokenize PIN only as a source (env or file).
public struct ServerConfig: Sendable {
    public var version: Int
    /// The keyring config (relative to this file's folder).
    public var keyring: String
    public var listen: ListenAddress
    /// Plain HTTP (no TLS); allowed only on a loopback address.
    public var plainHTTP: Bool
    public var tls: TLSFiles?
    /// Where the server's detokenize PIN comes from (needed when a role may decode).
    public var decodePIN: PINSource?
    public var limits: Limits
    /// The Vault path the transform endpoints are mounted at (`vault-mount`, default
    /// `transform`: `/v1/transform/encode/:role`), as path segments.
    public var vaultMount: [String] = ["transform"]
    public var transformations: [String: OnlineTransformation]
    /// Policies of the record endpoints (`/v1/tokenize`, `/v1/detokenize`), by name: loaded
    /// from the files the config names.
    public var policies: [String: Policy] = [:]
    public var roles: [String: Role]
    public var clients: [String: Client]
    /// The policy files named in the config (name → path).
    public var policyFiles: [String: String] = [:]
    /// Folder of the config file (relative paths); not part of the file.
    public var baseDirectory: String = "."
    /// The file the config was read from; not part of the file.
    public var loadedFrom: String?

    public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        /// 0: an ephemeral port (tests).
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `host:port` or `[v6]:port`.
        public init?(_ text: String) {
            let host: Substring
            let port: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
                host = text[text.index(after: text.startIndex)..<close]
                port = text[text.index(close, offsetBy: 2)...]
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                host = text[..<colon]
                port = text[text.index(after: colon)...]
            }
            guard !host.isEmpty, let p = Int(port), (0...65535).contains(p) else { return nil }
            self.init(host: String(host), port: p)
        }

        /// Whether the host is a loopback address (127.0.0.0/8, ::1, localhost).
        public var isLoopback: Bool {
            host == "localhost" || host == "::1" || host.hasPrefix("127.") && host.split(separator: ".").count == 4
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// PEM files of the server's TLS identity and, for mutual TLS, the client CA.
    public struct TLSFiles: Sendable, Equatable {
        public var certificate: String
        public var key: String
        /// Clients must present a certificate that chains to this CA (mutual TLS).
        public var clientCA: String?
    }

    public struct Limits: Sendable, Equatable {
        /// Largest request body; larger → 413.
        public var maxBodyBytes = 1 << 20
        /// Most values in one `batch_input` (or records); more → 413.
        public var maxBatch = 10_000
        /// A request must arrive whole within this time (else 408 and the connection closes).
        public var requestTimeoutSeconds = 10.0
        /// A connection idle this long is closed.
        public var idleTimeoutSeconds = 60.0
        /// On SIGTERM: how long in-flight requests may take to finish.
        public var drainTimeoutSeconds = 30.0
        /// Coalesce concurrent requests of one transformation into one transform batch.
        public var coalesce = true
        public init() {}
    }

    /// A role: the transformations and policies it may use and the operations (encode, decode;
    /// on the record endpoints encode is tokenize and decode is detokenize).
    public struct Role: Sendable, Equatable {
        public var transformations: Set<String>
        public var policies: Set<String> = []
        public var operations: Set<OnlineOperation>
        /// Operation `unwrap`: `POST /v1/tokengate/keys/unwrap` (Parquet data keys for pyarrow's
        /// KmsClient; needs no transformation).
        public var unwrap = false
    }

    /// A client: the credentials it must present (all of those named) and its roles.
    public struct Client: Sendable, Equatable {
        /// Lowercase hex SHA-256 of the bearer token (`X-Vault-Token` or `Authorization: Bearer`).
        public var tokenSHA256: String?
        /// The subject common name (or a DNS subject alternative name) of its TLS client certificate.
        public var certificateName: String?
        public var roles: Set<String>
    }

    /// Loads and validates a config file.
    /// - Throws: ``ServerError`` `.config` naming the file and field.
    public static func load(path: String) throws -> ServerConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ServerError(.config, "cannot read server config '\(path)': \(error.localizedDescription)")
        }
        if let why = DocumentBounds.violation(text, maxBytes: 4 << 20) {
            throw ServerError(.config, "server config '\(path)' refused before parsing: \(why)")
        }
        var c: ServerConfig
        do { c = try YAMLDecoder().decode(File.self, from: text).config() } catch let e as ServerError {
            throw ServerError(.config, "server config '\(path)': \(e.reason)")
        } catch {
            throw ServerError(.config, "server config '\(path)' is invalid: \(error)")
        }
        c.baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        c.loadedFrom = URL(fileURLWithPath: path).standardizedFileURL.path
        for (name, file) in c.policyFiles {
            do { c.policies[name] = try Policy.load(path: c.resolve(file)) } catch {
                throw ServerError(.config, "server config '\(path)', policies.\(name): \(error)")
            }
        }
        try c.validate()
        return c
    }

    /// A path of the config resolved against its folder.
    public func resolve(_ p: String) -> String {
        p.hasPrefix("/") ? p : URL(fileURLWithPath: baseDirectory).appendingPathComponent(p).standardizedFileURL.path
    }

    /// Fail closed: every reference must resolve, every client must present a credential, plain
    /// HTTP only on loopback, and a role that decodes needs the server's detokenize PIN source.
    public func validate() throws {
        guard version == 1 else { throw ServerError(.config, "unsupported version \(version)") }
        if plainHTTP {
            guard listen.isLoopback else { throw ServerError(.config, "plain-http is allowed only on a loopback address, not \(listen.host)") }
            guard tls == nil else { throw ServerError(.config, "plain-http and tls are exclusive") }
        } else {
            guard tls != nil else { throw ServerError(.config, "tls (certificate, key) is required unless plain-http: true on loopback") }
        }
        guard !transformations.isEmpty || !policies.isEmpty else { throw ServerError(.config, "no transformations or policies") }
        for (name, p) in policies.sorted(by: { $0.key < $1.key }) {
            guard Self.validName(name) else { throw ServerError(.config, "policy name '\(name)': use 1-64 of a-z A-Z 0-9 - _ .") }
            for (column, r) in p.columns.sorted(by: { $0.key < $1.key }) where r.action == .embedded {
                throw ServerError(.config, "policies.\(name), column '\(column)': tokenize-embedded is not served online")
            }
        }
        for (name, t) in transformations.sorted(by: { $0.key < $1.key }) {
            guard Self.validName(name) else { throw ServerError(.config, "transformation name '\(name)': use 1-64 of a-z A-Z 0-9 - _ .") }
            guard t.rule.action == .tokenize, t.rule.spec != nil, t.rule.domain != nil else {
                throw ServerError(.config, "transformations.\(name): needs transform and domain (a reversible tokenize rule)")
            }
            guard !t.column.isEmpty else { throw ServerError(.config, "transformations.\(name): needs column (the column whose tweak it uses)") }
        }
        guard !roles.isEmpty else { throw ServerError(.config, "no roles") }
        for (name, r) in roles.sorted(by: { $0.key < $1.key }) {
            guard Self.validName(name) else { throw ServerError(.config, "role name '\(name)': use 1-64 of a-z A-Z 0-9 - _ .") }
            guard !r.operations.isEmpty || r.unwrap else { throw ServerError(.config, "roles.\(name): no operations") }
            guard !r.transformations.isEmpty || !r.policies.isEmpty || r.operations.isEmpty else {
                throw ServerError(.config, "roles.\(name): no transformations or policies")
            }
            for t in r.transformations where transformations[t] == nil {
                throw ServerError(.config, "roles.\(name): unknown transformation '\(t)'")
            }
            for p in r.policies where policies[p] == nil { throw ServerError(.config, "roles.\(name): unknown policy '\(p)'") }
            if r.operations.contains(.decode) && decodePIN == nil {
                throw ServerError(
                    .config, "roles.\(name) may decode, but decode-pin is not set (where the server reads its detokenize PIN: {env: NAME} or {file: PATH})")
            }
        }
        guard !clients.isEmpty else { throw ServerError(.config, "no clients") }
        for (name, c) in clients.sorted(by: { $0.key < $1.key }) {
            guard c.tokenSHA256 != nil || c.certificateName != nil else {
                throw ServerError(.config, "clients.\(name): needs token-sha256 or certificate-name (a client without a credential is refused)")
            }
            if let h = c.tokenSHA256, h.count != 64 || Hex.decode(h) == nil {
                throw ServerError(.config, "clients.\(name).token-sha256: 64 hex digits (sha256sum of the token)")
            }
            if c.certificateName != nil && tls?.clientCA == nil {
                throw ServerError(.config, "clients.\(name).certificate-name needs tls.client-ca (mutual TLS)")
            }
            guard !c.roles.isEmpty else { throw ServerError(.config, "clients.\(name): no roles") }
            for r in c.roles where roles[r] == nil { throw ServerError(.config, "clients.\(name): unknown role '\(r)'") }
        }
        let hashes = clients.values.compactMap(\.tokenSHA256)
        guard Set(hashes).count == hashes.count else { throw ServerError(.config, "two clients share a token-sha256") }
        if limits.maxBodyBytes < 1024 || limits.maxBatch < 1 || limits.requestTimeoutSeconds <= 0 || limits.idleTimeoutSeconds <= 0
            || limits.drainTimeoutSeconds < 0
        {
            throw ServerError(.config, "limits out of range")
        }
    }

    static func validName(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count)
            && s.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
            }
    }

    /// What the online session serves: the named transformations, and for each policy column
    /// with a key or mask rule a transformation `policy:<policy>/<column>` (the policy's default
    /// algorithm and custody applied, as the tokenize job applies them).
    public var sessionTransformations: [String: OnlineTransformation] {
        var all = transformations
        for (name, p) in policies {
            for (column, r) in p.columns where [.tokenize, .hmac, .mask].contains(r.action) {
                var rule = r
                rule.algorithm = r.algorithm ?? p.algorithm
                rule.custody = r.custody ?? p.custody
                all[Self.policyTransformation(name, column)] = OnlineTransformation(rule: rule, column: column)
            }
        }
        return all
    }

    static func policyTransformation(_ policy: String, _ column: String) -> String { "policy:\(policy)/\(column)" }

    /// Whether any role may decode.
    public var anyRoleDecodes: Bool { roles.values.contains { $0.operations.contains(.decode) } }

    // MARK: - The file's shape

    struct File: Decodable {
        var version: Int
        var keyring: String
        var listen: String
        var plainHTTP: Bool?
        var tls: TLSFile?
        var decodePIN: PINSource?
        var limits: LimitsFile?
        var vaultMount: String?
        var transformations: [String: TransformationFile]?
        var policies: [String: String]?
        var roles: [String: RoleFile]
        var clients: [String: ClientFile]

        enum CodingKeys: String, CodingKey {
            case version, keyring, listen, tls, limits, transformations, policies, roles, clients
            case plainHTTP = "plain-http"
            case decodePIN = "decode-pin"
            case vaultMount = "vault-mount"
        }

        func config() throws -> ServerConfig {
            guard let address = ListenAddress(listen) else { throw ServerError(.config, "listen: expected host:port, got '\(listen)'") }
            var l = Limits()
            if let f = limits {
                l.maxBodyBytes = f.maxBodyBytes ?? l.maxBodyBytes
                l.maxBatch = f.maxBatch ?? l.maxBatch
                l.requestTimeoutSeconds = f.requestTimeoutSeconds ?? l.requestTimeoutSeconds
                l.idleTimeoutSeconds = f.idleTimeoutSeconds ?? l.idleTimeoutSeconds
                l.drainTimeoutSeconds = f.drainTimeoutSeconds ?? l.drainTimeoutSeconds
                l.coalesce = f.coalesce ?? l.coalesce
            }
            var ops: [String: Role] = [:]
            for (name, r) in roles {
                var set = Set<OnlineOperation>()
                var unwrap = false
                for o in r.operations {
                    if o == "unwrap" {
                        unwrap = true
                        continue
                    }
                    guard let op = OnlineOperation(rawValue: o) else {
                        throw ServerError(.config, "roles.\(name): unknown operation '\(o)' (encode, decode, unwrap)")
                    }
                    set.insert(op)
                }
                ops[name] = Role(transformations: Set(r.transformations ?? []), policies: Set(r.policies ?? []), operations: set, unwrap: unwrap)
            }
            var c = ServerConfig(
                version: version, keyring: keyring, listen: address, plainHTTP: plainHTTP ?? false,
                tls: tls.map { TLSFiles(certificate: $0.certificate, key: $0.key, clientCA: $0.clientCA) }, decodePIN: decodePIN, limits: l,
                transformations: (transformations ?? [:]).mapValues { OnlineTransformation(rule: $0.rule, column: $0.column) }, roles: ops,
                clients: clients.mapValues {
                    Client(tokenSHA256: $0.tokenSHA256?.lowercased(), certificateName: $0.certificateName, roles: Set($0.roles))
                })
            c.policyFiles = policies ?? [:]
            if let m = vaultMount {
                let segments = m.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
                guard !segments.isEmpty, segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && $0.allSatisfy(allowed.contains) }) else {
                    throw ServerError(.config, "vault-mount: expected a path like transform or fpe/cards (segments of a-z A-Z 0-9 - _ .), got '\(m)'")
                }
                guard !["sys", "auth", "tokengate", "tokenize", "detokenize"].contains(segments[0]) else {
                    throw ServerError(.config, "vault-mount: '\(segments[0])' is a path of the server's own")
                }
                c.vaultMount = segments
            }
            return c
        }
    }

    struct TLSFile: Decodable {
        var certificate: String
        var key: String
        var clientCA: String?
        enum CodingKeys: String, CodingKey {
            case certificate, key
            case clientCA = "client-ca"
        }
    }

    struct LimitsFile: Decodable {
        var maxBodyBytes: Int?
        var maxBatch: Int?
        var requestTimeoutSeconds: Double?
        var idleTimeoutSeconds: Double?
        var drainTimeoutSeconds: Double?
        var coalesce: Bool?
        enum CodingKeys: String, CodingKey {
            case maxBodyBytes = "max-body-bytes"
            case maxBatch = "max-batch"
            case requestTimeoutSeconds = "request-timeout-seconds"
            case idleTimeoutSeconds = "idle-timeout-seconds"
            case drainTimeoutSeconds = "drain-timeout-seconds"
            case coalesce
        }
    }

    /// A transformation: a policy rule's fields (transform, domain, algorithm, custody, alphabet,
    /// luhn, …) plus `column`.
    struct TransformationFile: Decodable {
        var rule: Rule
        var column: String
        enum CodingKeys: String, CodingKey { case column }
        init(from decoder: any Decoder) throws {
            column = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .column)
            rule = try Rule(from: decoder)
        }
    }

    struct RoleFile: Decodable {
        var transformations: [String]?
        var policies: [String]?
        var operations: [String]
    }

    struct ClientFile: Decodable {
        var tokenSHA256: String?
        var certificateName: String?
        var roles: [String]
        enum CodingKeys: String, CodingKey {
            case roles
            case tokenSHA256 = "token-sha256"
            case certificateName = "certificate-name"
        }
    }
}

/// An error of the server (configuration, start-up). Equality compares the code only.
public typealias ServerError = ModuleError<ServerErrorCode>

/// The codes of ``ServerError``.
public enum ServerErrorCode: String, ErrorCode {
    /// The server config is unreadable or invalid.
    case config
    /// TLS files cannot be loaded.
    case tls
    /// The listen address cannot be bound.
    case bind
    /// The server is stopping: queued work is not run.
    case shuttingDown
}
