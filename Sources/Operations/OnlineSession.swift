import Audit
public import Columns
public import Crypto
import Foundation
public import Keyring
import Synchronization
public import Tokenize
import Transforms

/// One named online transformation (`tokengate serve`): a tokenize rule (transform, domain,
/// algorithm, custody and the transform's parameters, as in policies) and the column name whose
/// tweak it uses, so that a value encoded online gets the same token as the same value in that
/// column of a `tokengate tokenize` run (same domain key version and transform version).
public struct OnlineTransformation: Sendable, Equatable {
    public var rule: Rule
    /// The column whose tweak applies (``TokenTransformer/tweak(domain:column:algorithm:)``).
    public var column: String

    public init(rule: Rule, column: String) {
        self.rule = rule
        self.column = column
    }
}

/// What an online request does with its values.
public enum OnlineOperation: String, Sendable, CaseIterable, Codable {
    /// Value → token (the tokenize direction).
    case encode
    /// Token → value (the detokenize direction; needs the custodians' detokenize grant).
    case decode
}

/// The result of one batch of an online operation: per input value either its output or why it
/// was refused (reasons never contain values).
public struct OnlineResult: Sendable {
    public var output: ByteColumn
    /// Refused values by index (their output slot is empty).
    public var rejects: [Int: String]
    /// The in-use key version used (nil for `mask`).
    public var key: KeyInfo?

    public init(output: ByteColumn, rejects: [Int: String], key: KeyInfo?) {
        self.output = output
        self.rejects = rejects
        self.key = key
    }
}

/// A long-running online session over a gateway — the audited entry `tokengate serve` maps its
/// requests to. Opening it writes a `serve` started record (no audit, no session) and checks the
/// detokenize grant once when the session may decode; closing it flushes the aggregated records
/// and writes the closing record, so a server that drained and stopped leaves a closed chain.
///
/// Auditing: every denial the caller reports (``recordDenials(_:then:)``)
/// is appended at once, one record each. Successful requests are aggregated per client, role,
/// operation and transformation and appended at most once per second per aggregate (counts and
/// key versions, never values).
///
/// Thread-safe: requests on any number of threads; each borrows a transformer (its scratch
/// buffers and cipher context are not shared) from the transformation's pool.
public final class OnlineSession: Sendable {
    let gateway: Gateway
    let log: AuditLog
    /// Sequence of the session's started record.
    public let startedRecord: Int
    /// The custodians' grant for decode, checked at opening; nil: this session cannot decode.
    public let decodeAuthorization: DetokenizeAuthorization?
    let transformations: [String: OnlineTransformation]
    let pools: [String: TransformerPool]
    let pending: Mutex<PendingAudit>
    /// Set when an audit append failed: from then on the session refuses work (no unaudited
    /// processing), and says why.
    let auditFailure = Mutex<String?>(nil)
    /// Most seconds an aggregate waits before it is appended.
    public let aggregateSeconds: Double
    /// Denials waiting for their group commit, and who waits for them.
    let denialQueue = Mutex(DenialQueue())
    /// Where group commits run (one at a time, off the request threads).
    let committer = DispatchQueue(label: "tokengate.serve.audit-commit")

    init(
        gateway: Gateway, transformations: [String: OnlineTransformation], decodePIN: PINSource?, pinDirectory: String,
        details: [String: String], aggregateSeconds: Double
    ) throws {
        self.gateway = gateway
        self.transformations = transformations
        self.aggregateSeconds = aggregateSeconds
        let log = AuditLog.default(keyring: gateway.keyring)
        self.log = log
        // Write-ahead: the session's started record before any key is opened.
        var details = details
        details["transformations"] = transformations.keys.sorted().joined(separator: ",")
        let started: AuditRecord
        do {
            started = try log.append(AuditRecord(operation: "serve", outcome: .started, details: details))
        } catch {
            throw OperationError(.auditUnavailable, "serve refused: the audit trail is unavailable (\(error)); no unaudited processing")
        }
        startedRecord = started.sequence
        var authorization: DetokenizeAuthorization?
        var pools: [String: TransformerPool] = [:]
        do {
            if let decodePIN {
                do {
                    authorization = try gateway.keyring.config.authorizeDetokenize(pin: decodePIN, relativeTo: pinDirectory)
                } catch let e as KeyringError where e.code == .permissionDenied {
                    throw OperationError(.permissionDenied, "serve refused: roles may decode, but \(e.reason)")
                }
            }
            for (name, t) in transformations {
                switch t.rule.action {
                case .tokenize where t.rule.domain != nil && t.rule.spec != nil: break
                case .hmac where t.rule.domain != nil: break
                case .mask: break
                default:
                    throw OperationError(
                        .invalidArgument, "transformation '\(name)': needs a tokenize rule with a transform and a domain (or hmac with a domain, or mask)")
                }
                let pool = TransformerPool(name: name, transformation: t, keyring: gateway.keyring)
                // Opens the key once now: a missing domain key or a bad rule refuses the start.
                pool.give(try pool.make())
                pools[name] = pool
            }
        } catch {
            var r = AuditRecord(operation: "serve", outcome: .failure, error: "\(error)", details: details)
            r.startedRecord = started.sequence
            _ = try? log.append(r)
            throw error
        }
        decodeAuthorization = authorization
        self.pools = pools
        pending = Mutex(PendingAudit())
    }

    /// The transformations this session serves, by name.
    public var transformationNames: [String] { transformations.keys.sorted() }

    /// Encodes or decodes `values` with the named transformation: one batch through the
    /// vectorized transform. Decode needs the session's detokenize grant.
    /// - Throws: ``OperationError`` `.permissionDenied` (decode without grant), `.invalidArgument`
    ///   (unknown transformation); the transform's own errors.
    public func run(_ operation: OnlineOperation, transformation name: String, values: ByteColumn) throws -> OnlineResult {
        if let why = auditFailure.withLock({ $0 }) {
            throw OperationError(.auditUnavailable, "\(operation.rawValue) refused: an audit append failed (\(why)); no unaudited processing")
        }
        guard let pool = pools[name] else { throw OperationError(.invalidArgument, "unknown transformation '\(name)'") }
        if operation == .decode && decodeAuthorization == nil {
            throw OperationError(.permissionDenied, "decode refused: this server holds no detokenize grant")
        }
        if operation == .decode && pool.transformation.rule.action != .tokenize {
            throw OperationError(.invalidArgument, "transformation '\(name)' (\(pool.transformation.rule.action.rawValue)) cannot be decoded")
        }
        let p = try pool.take()
        defer { pool.give(p) }
        let (out, rejects) = try operation == .encode ? p.apply(values) : p.invert(values)
        var byIndex: [Int: String] = [:]
        for r in rejects { byIndex[r.index] = r.reason }
        return OnlineResult(output: out, rejects: byIndex, key: p.key)
    }

    /// Unwraps a Parquet data key for a server client (`POST /v1/tokengate/keys/unwrap`, pyarrow's
    /// KmsClient in server mode): the very function `tokengate keys unwrap` calls
    /// (``Gateway/unwrapParquetKey(masterKeyID:wrappedDEK:details:deliver:)``), audited as
    /// `keys unwrap` with the client and role in the record. The caller authorized the role.
    /// - Throws: ``OperationError`` `.auditUnavailable` once an audit append failed; the unwrap's errors.
    public func unwrapParquetKey(
        client: String, role: String, masterKeyID: String, wrappedDEK: String, deliver: (borrowing SecretBytes) throws -> Void
    ) throws {
        if let why = auditFailure.withLock({ $0 }) {
            throw OperationError(.auditUnavailable, "unwrap refused: an audit append failed (\(why)); no unaudited processing")
        }
        do {
            try gateway.unwrapParquetKey(
                masterKeyID: masterKeyID, wrappedDEK: wrappedDEK, details: ["client": client, "role": role, "via": "serve"], deliver: deliver)
        } catch let e as OperationError where e.code == .auditUnavailable {
            auditFailure.withLock { if $0 == nil { $0 = e.reason } }
            throw e
        }
    }

    /// A refused request, for its audit record: who, what, and why (no values).
    public struct Denial: Sendable {
        public var operation: String
        public var client: String?
        public var role: String?
        public var transformation: String?
        public var code: String
        public var reason: String

        public init(operation: String, client: String?, role: String?, transformation: String?, code: String, reason: String) {
            self.operation = operation
            self.client = client
            self.role = role
            self.transformation = transformation
            self.code = code
            self.reason = reason
        }

        var record: AuditRecord {
            var d = ["client": client ?? "(unauthenticated)", "code": code]
            if let role { d["role"] = role }
            if let transformation { d["transformation"] = transformation }
            return AuditRecord(operation: "serve \(operation)", outcome: .failure, error: reason, details: d)
        }
    }

    /// Appends one record per denial and calls `then` once they are durable. Group commit:
    /// denials that arrive while an append is under way are appended together by the next one
    /// (in arrival order, each its own chained record, one `fsync` for the group), so a flood of
    /// refused requests does not cost one fsync each, and no record is dropped or merged. An
    /// append that fails stops the session's work (as every audit failure does); `then` is
    /// called either way.
    public func recordDenials(_ denials: [Denial], then: @escaping @Sendable () -> Void) {
        let start = denialQueue.withLock { q -> Bool in
            q.records += denials.map(\.record)
            q.waiting.append(then)
            if q.committing { return false }
            q.committing = true
            return true
        }
        if start { committer.async { self.commitDenials() } }
    }

    private func commitDenials() {
        while true {
            let (records, waiting) = denialQueue.withLock { q -> ([AuditRecord], [@Sendable () -> Void]) in
                guard !q.records.isEmpty else {
                    q.committing = false
                    return ([], [])
                }
                defer {
                    q.records = []
                    q.waiting = []
                }
                return (q.records, q.waiting)
            }
            if records.isEmpty { return }
            do { _ = try log.appendAll(records) } catch {
                auditFailure.withLock { if $0 == nil { $0 = "\(error)" } }
            }
            for w in waiting { w() }
        }
    }

    /// Counts a successful request in its aggregate; appends the aggregates that are due.
    public func recordSuccess(
        operation: OnlineOperation, client: String, role: String, transformation: String, values: Int, rejected: Int, key: KeyInfo?
    ) {
        let now = Date()
        let due: [AggregateRecord] = pending.withLock { p in
            let k = AggregateKey(client: client, role: role, operation: operation.rawValue, transformation: transformation)
            var a = p.open[k] ?? AggregateRecord(key: k, since: now)
            a.requests += 1
            a.values += values
            a.rejected += rejected
            if let key { a.keys.insert(AuditKey(key)) }
            p.open[k] = a
            return p.takeDue(now: now, after: aggregateSeconds)
        }
        append(due)
    }

    /// Appends the aggregates that have waited long enough (a server calls this on a timer so a
    /// quiet aggregate is not held back).
    public func flushDue() {
        let now = Date()
        append(pending.withLock { $0.takeDue(now: now, after: aggregateSeconds) })
    }

    /// Flushes every aggregate and writes the session's closing record (success, or failure with
    /// `error`). Call once, after the last request finished.
    public func close(error: String? = nil, details: [String: String] = [:]) throws {
        append(pending.withLock { $0.takeDue(now: .distantFuture, after: 0) })
        var r = AuditRecord(operation: "serve", outcome: error == nil ? .success : .failure, error: error, details: details)
        r.startedRecord = startedRecord
        r.keys = pools.values.compactMap { $0.openedKey }.map(AuditKey.init)
        if let a = decodeAuthorization { r.details["decodeGrantedBy"] = a.grantSource }
        try log.append(r)
    }

    private func append(_ due: [AggregateRecord]) {
        for a in due {
            var r = AuditRecord(operation: "serve \(a.key.operation)", outcome: .success)
            r.rowsIn = a.values
            r.rowsOut = a.values - a.rejected
            r.rowsRejected = a.rejected
            r.keys = a.keys.sorted { ($0.label, $0.version) < ($1.label, $1.version) }
            r.details = [
                "client": a.key.client, "role": a.key.role, "transformation": a.key.transformation,
                "requests": String(a.requests), "since": AuditRecord.formatTime(a.since), "aggregated": "true",
            ]
            appendOrFail(r)
        }
    }

    /// Appends a record; a failure stops the session's work (``auditFailure``).
    private func appendOrFail(_ r: AuditRecord) {
        do { _ = try log.append(r) } catch {
            auditFailure.withLock { if $0 == nil { $0 = "\(error)" } }
        }
    }
}

extension Gateway {
    /// Opens an online session (`tokengate serve`): writes the `serve` started record, checks
    /// the custodians' detokenize grant when `decodePIN` is given (the server holds that PIN;
    /// its callers never see it), and opens each transformation's domain key once.
    /// - Parameters:
    ///   - transformations: name → rule and tweak column.
    ///   - decodePIN: where the detokenize PIN comes from (environment variable or file), when any
    ///     caller may decode; nil: the session refuses decode.
    ///   - pinDirectory: the folder a relative PIN file resolves against.
    ///   - details: what the started record says of the session (listen address, config file).
    ///   - aggregateSeconds: most seconds between aggregated success records (1).
    /// - Throws: ``OperationError`` `.auditUnavailable`, `.permissionDenied` (grant refused),
    ///   `.invalidArgument`; keyring errors (domain not configured).
    public func openOnlineSession(
        transformations: [String: OnlineTransformation], decodePIN: PINSource?, pinDirectory: String, details: [String: String] = [:],
        aggregateSeconds: Double = 1
    ) throws -> OnlineSession {
        try OnlineSession(
            gateway: self, transformations: transformations, decodePIN: decodePIN, pinDirectory: pinDirectory, details: details,
            aggregateSeconds: aggregateSeconds)
    }
}

struct DenialQueue: Sendable {
    var records: [AuditRecord] = []
    var waiting: [@Sendable () -> Void] = []
    var committing = false
}

struct AggregateKey: Hashable, Sendable {
    var client, role, operation, transformation: String
}

struct AggregateRecord: Sendable {
    var key: AggregateKey
    var since: Date
    var requests = 0
    var values = 0
    var rejected = 0
    var keys: Set<AuditKey> = []
}

struct PendingAudit: Sendable {
    var open: [AggregateKey: AggregateRecord] = [:]

    /// Removes and returns the aggregates older than `seconds`.
    mutating func takeDue(now: Date, after seconds: Double) -> [AggregateRecord] {
        let due = open.values.filter { now.timeIntervalSince($0.since) >= seconds }
        for a in due { open[a.key] = nil }
        return due.sorted { $0.since < $1.since }
    }
}

/// The transformers of one transformation, one per concurrent request: a processor holds
/// scratch buffers and a cipher context, so it is used by one thread at a time, borrowed from
/// and returned to this pool under its lock.
///
/// `@unchecked Sendable`: the mutable state (`idle`, `openedKey`) is only touched under `lock`,
/// and a processor taken out of `idle` is owned by the one caller until it is given back.
final class TransformerPool: @unchecked Sendable {
    let name: String
    let transformation: OnlineTransformation
    let keyring: Keyring
    private let lock = NSLock()
    private var idle: [ColumnProcessor] = []
    private var key: KeyInfo?
    /// At most this many idle processors are kept.
    static let maxIdle = 64

    init(name: String, transformation: OnlineTransformation, keyring: Keyring) {
        self.name = name
        self.transformation = transformation
        self.keyring = keyring
    }

    /// The key version the first processor opened.
    var openedKey: KeyInfo? { lock.withLock { key } }

    /// A new processor: the domain key's primary version and the current transform version, as
    /// the tokenize job opens them for a column of this name under this rule.
    func make() throws -> ColumnProcessor {
        let p = try ColumnProcessor(column: transformation.column, rule: transformation.rule, policy: Self.defaults, keyring: keyring)
        lock.withLock { if key == nil { key = p.key } }
        return p
    }

    func take() throws -> ColumnProcessor {
        if let p = lock.withLock({ idle.popLast() }) { return p }
        return try make()
    }

    func give(_ p: ColumnProcessor) {
        lock.withLock { if idle.count < Self.maxIdle { idle.append(p) } }
    }

    /// The defaults a rule without its own algorithm or custody gets: those of a policy that names
    /// none (FF1, derived), as in `tokengate tokenize`.
    static let defaults = Policy(tags: [:])
}
