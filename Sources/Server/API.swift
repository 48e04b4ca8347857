import Columns
import Crypto
import Foundation
import Keyring
import NIOCore
import Operations
import SystemIO
import Tokenize

/// A request as the HTTP layer hands it over: whole, within the limits.
struct APIRequest: Sendable {
    var method: String
    /// The path without the query.
    var path: String
    /// Header names lowercased.
    var headers: [String: String]
    var body: [UInt8]
    /// The verified TLS client certificate's names (subject CN first, then DNS SANs); empty
    /// without mutual TLS.
    var certificateNames: [String]
}

/// A response: status, JSON or text body.
struct APIResponse: Sendable {
    var status: Int
    var body: ByteBuffer
    var contentType = "application/json"

    static func json(_ status: Int, _ text: String) -> APIResponse {
        APIResponse(status: status, body: ByteBuffer(string: text))
    }

    /// Vault's error shape: `{"errors":["…"]}`.
    static func errors(_ status: Int, _ messages: [String]) -> APIResponse {
        var s = "{\"errors\":["
        for (i, m) in messages.enumerated() {
            if i > 0 { s += "," }
            JSONText.appendString(m, to: &s)
        }
        return json(status, s + "]}")
    }
}

/// A refusal with its HTTP status and the message the client sees; `audit` marks denials
/// (recorded one by one).
struct Refusal: Error {
    var status: Int
    var message: String
    var code: String
    var audit: Bool
    var client: String?
    var role: String?
    var transformation: String?

    static func forbidden(_ code: String, _ why: String, client: String?, role: String? = nil, transformation: String? = nil) -> Refusal {
        Refusal(status: 403, message: "permission denied", code: code, audit: true, client: client, role: role, transformation: transformation, detail: why)
    }

    /// What the audit record says (more than the client is told).
    var detail: String

    init(
        status: Int, message: String, code: String, audit: Bool = false, client: String? = nil, role: String? = nil, transformation: String? = nil,
        detail: String? = nil
    ) {
        self.status = status
        self.message = message
        self.code = code
        self.audit = audit
        self.client = client
        self.role = role
        self.transformation = transformation
        self.detail = detail ?? message
    }
}

/// The routes: Vault Transform compatible encode/decode, health, metrics. Maps each request to
/// the online session (Operations); authenticates, authorizes and audits denials.
final class API: Sendable {
    let config: ServerConfig
    let session: OnlineSession
    let metrics: ServerMetrics
    /// Where single-transformation requests go when coalescing is on.
    let coalescer: Coalescer?
    /// token SHA-256 (hex) → client name.
    let byToken: [String: String]
    /// certificate name → client names.
    let byCertificate: [String: [String]]

    init(config: ServerConfig, session: OnlineSession, metrics: ServerMetrics, coalescer: Coalescer? = nil) {
        self.config = config
        self.session = session
        self.metrics = metrics
        self.coalescer = coalescer
        var t: [String: String] = [:]
        var c: [String: [String]] = [:]
        for (name, cl) in config.clients {
            if let h = cl.tokenSHA256 { t[h] = name }
            if let n = cl.certificateName { c[n, default: []].append(name) }
        }
        byToken = t
        byCertificate = c
    }

    /// Handles one request and calls `complete` with the response, on the caller's thread (the
    /// server's thread pool, off the event loops) or, for a transform request handed to the
    /// ``Coalescer``, on the pool thread that ran its batch.
    func handle(_ r: APIRequest, complete: @escaping @Sendable (APIResponse, String) -> Void) {
        // A response that carries denials is sent once their records are durable (group commit).
        let finish: @Sendable (APIResponse, String, [OnlineSession.Denial]) -> Void = { response, route, denials in
            if denials.isEmpty {
                complete(response, route)
            } else {
                self.session.recordDenials(denials) { complete(response, route) }
            }
        }
        var denials: [OnlineSession.Denial] = []
        let parts = r.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let mount = config.vaultMount
        if r.method == "POST", parts.count == mount.count + 3, parts[0] == "v1", parts[1...mount.count].elementsEqual(mount),
            parts[mount.count + 1] == "encode" || parts[mount.count + 1] == "decode"
        {
            let op: OnlineOperation = parts[mount.count + 1] == "encode" ? .encode : .decode
            let role = parts[mount.count + 2]
            let route = op.rawValue
            do {
                let response = try transform(op, role: role, r) { result in
                    var denials: [OnlineSession.Denial] = []
                    let response = self.transformResponse(op, role: role, result, denials: &denials)
                    finish(response, route, denials)
                }
                if let response { finish(response, route, []) }
            } catch {
                let response = transformFailure(op, role: role, error, denials: &denials)
                finish(response, route, denials)
            }
            return
        }
        let (response, route) = handle(r, denials: &denials)
        finish(response, route, denials)
    }

    /// A transform request's failure: refusals with their status (denials audited one by one),
    /// the transform's or the HSM's own errors as 500 with their code only (the detail goes to
    /// the audit trail), 503 when the audit trail is unavailable.
    func transformFailure(_ op: OnlineOperation, role: String, _ error: any Error, denials: inout [OnlineSession.Denial]) -> APIResponse {
        if let e = error as? Refusal {
            if e.audit {
                denials.append(
                    OnlineSession.Denial(
                        operation: op.rawValue, client: e.client, role: e.role, transformation: e.transformation, code: e.code, reason: e.detail))
            }
            metrics.error(e.code)
            return .errors(e.status, [e.message])
        }
        if let e = error as? OperationError, e.code == .auditUnavailable {
            metrics.error("auditUnavailable")
            return .errors(503, ["audit trail unavailable: refusing unaudited processing"])
        }
        if let e = error as? ServerError, e.code == .shuttingDown {
            return .errors(503, ["server is shutting down"])
        }
        var code = "internal"
        if let e = error as? any CodedError { code = codeName(e) }
        denials.append(OnlineSession.Denial(operation: op.rawValue, client: nil, role: role, transformation: nil, code: code, reason: "\(error)"))
        metrics.error("internal")
        return .errors(500, ["internal error (\(code))"])
    }

    func transformResponse(
        _ op: OnlineOperation, role: String, _ result: Result<APIResponse, any Error>, denials: inout [OnlineSession.Denial]
    ) -> APIResponse {
        switch result {
        case .success(let r): return r
        case .failure(let e): return transformFailure(op, role: role, e, denials: &denials)
        }
    }

    /// The routes other than transform, on the caller's thread; the denials to audit before the
    /// response goes out are added to `denials`.
    func handle(_ r: APIRequest, denials: inout [OnlineSession.Denial]) -> (response: APIResponse, route: String) {
        let parts = r.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch (r.method, parts.count, parts.first == "v1" ? Array(parts.dropFirst()) : []) {
        case ("GET", 3, let p) where p == ["sys", "health"], ("HEAD", 3, let p) where p == ["sys", "health"]:
            return (health(), "health")
        case ("GET", 4, let p) where p == ["auth", "token", "lookup-self"]:
            // Vault clients check their token here (hvac's is_authenticated): the client's name
            // and roles; never the token itself.
            guard let client = authenticate(r) else {
                let e = Refusal.forbidden("unauthenticated", "no valid client credential (token or certificate)", client: nil)
                denials.append(OnlineSession.Denial(operation: "lookup-self", client: nil, role: nil, transformation: nil, code: e.code, reason: e.detail))
                metrics.error(e.code)
                return (.errors(e.status, [e.message]), "lookup-self")
            }
            return (lookupSelf(client), "lookup-self")
        case ("GET", 1, _) where parts == ["metrics"]:
            return (APIResponse(status: 200, body: ByteBuffer(bytes: metrics.exposition()), contentType: "text/plain; version=0.0.4"), "metrics")
        case ("POST", 4, let p) where p == ["tokengate", "keys", "unwrap"]:
            do {
                return (try unwrap(r), "unwrap")
            } catch let e as Refusal {
                if e.audit {
                    denials.append(
                        OnlineSession.Denial(operation: "unwrap", client: e.client, role: e.role, transformation: nil, code: e.code, reason: e.detail))
                }
                metrics.error(e.code)
                return (.errors(e.status, [e.message]), "unwrap")
            } catch {
                // The unwrap's own error, already audited by the operation (keys unwrap, failure).
                if let e = error as? OperationError, e.code == .auditUnavailable {
                    metrics.error("auditUnavailable")
                    return (.errors(503, ["audit trail unavailable: refusing unaudited processing"]), "unwrap")
                }
                var code = "internal"
                if let e = error as? any CodedError { code = codeName(e) }
                metrics.error("unwrapFailed")
                return (.errors(400, ["unable to unwrap the key (\(code))"]), "unwrap")
            }
        case ("POST", 2, let p) where p == ["tokenize"] || p == ["detokenize"]:
            let op: OnlineOperation = p == ["tokenize"] ? .encode : .decode
            let route = p[0]
            do {
                return (try records(op, r), route)
            } catch let e as Refusal {
                if e.audit {
                    denials.append(
                        OnlineSession.Denial(operation: route, client: e.client, role: e.role, transformation: e.transformation, code: e.code, reason: e.detail)
                    )
                }
                metrics.error(e.code)
                return (.errors(e.status, [e.message]), route)
            } catch {
                if let e = error as? OperationError, e.code == .auditUnavailable {
                    metrics.error("auditUnavailable")
                    return (.errors(503, ["audit trail unavailable: refusing unaudited processing"]), route)
                }
                var code = "internal"
                if let e = error as? any CodedError { code = codeName(e) }
                denials.append(OnlineSession.Denial(operation: route, client: nil, role: nil, transformation: nil, code: code, reason: "\(error)"))
                metrics.error("internal")
                return (.errors(500, ["internal error (\(code))"]), route)
            }
        default:
            if parts.first == "v1" || parts == ["metrics"] {
                return (.errors(405, ["unsupported path or method"]), "other")
            }
            return (.errors(404, ["no handler for route"]), "other")
        }
    }

    /// Vault's token lookup answer for an authenticated client: its name and roles (as the
    /// token's policies); no id, no expiry (the config holds the token's hash only).
    func lookupSelf(_ client: String) -> APIResponse {
        func quoted(_ s: String) -> String {
            let d = try? JSONSerialization.data(withJSONObject: [s])
            return d.map { String(decoding: $0.dropFirst().dropLast(), as: UTF8.self) } ?? "\"\""
        }
        let roles = (config.clients[client]?.roles ?? []).sorted().map(quoted).joined(separator: ",")
        return .json(
            200,
            "{\"request_id\":\"\(UUID().uuidString.lowercased())\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":{\"accessor\":\"\",\"display_name\":\(quoted("tokengate-" + client)),\"entity_id\":\"\",\"expire_time\":null,\"explicit_max_ttl\":0,\"id\":\"\",\"meta\":{\"client\":\(quoted(client))},\"num_uses\":0,\"orphan\":true,\"path\":\"\",\"policies\":[\(roles)],\"renewable\":false,\"ttl\":0,\"type\":\"service\"},\"wrap_info\":null,\"warnings\":null,\"auth\":null}"
        )
    }

    func health() -> APIResponse {
        let now = Int(Date().timeIntervalSince1970)
        return .json(
            200,
            "{\"initialized\":true,\"sealed\":false,\"standby\":false,\"performance_standby\":false,\"server_time_utc\":\(now),\"version\":\"tokengate\",\"cluster_name\":\"tokengate\"}"
        )
    }

    /// The client a request authenticates as: its bearer token (if any) must be a client's, and
    /// every credential that client names must be presented. Nil: refused.
    func authenticate(_ r: APIRequest) -> String? {
        var token = r.headers["x-vault-token"]
        if token == nil, let a = r.headers["authorization"], a.lowercased().hasPrefix("bearer ") {
            token = String(a.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        let candidates: [String]
        if let token, !token.isEmpty {
            guard let digest = try? SHA256.hash(Array(token.utf8)), let name = byToken[Hex.encode(digest)] else { return nil }
            candidates = [name]
        } else {
            // No token: a certificate-only client, by the certificate's names.
            candidates = r.certificateNames.flatMap { byCertificate[$0] ?? [] }.filter { config.clients[$0]?.tokenSHA256 == nil }
        }
        // Exactly one client, and every credential it names presented.
        let matching = Set(candidates).filter { name in
            guard let c = config.clients[name] else { return false }
            if let n = c.certificateName, !r.certificateNames.contains(n) { return false }
            return true
        }
        return matching.count == 1 ? matching.first : nil
    }

    /// A Vault transform request: the response, or nil when its values went to the
    /// ``Coalescer`` (then `complete` gets the response, or the error, from the batch's thread).
    func transform(
        _ op: OnlineOperation, role roleName: String, _ r: APIRequest, complete: @escaping @Sendable (Result<APIResponse, any Error>) -> Void
    ) throws -> APIResponse? {
        guard let client = authenticate(r) else {
            throw Refusal.forbidden("unauthenticated", "no valid client credential (token or certificate)", client: nil, role: roleName)
        }
        guard let role = config.roles[roleName] else {
            throw Refusal(status: 404, message: "role not found", code: "unknownRole", audit: true, client: client, role: roleName)
        }
        guard config.clients[client]?.roles.contains(roleName) == true else {
            throw Refusal.forbidden("roleNotHeld", "client does not hold role \(roleName)", client: client, role: roleName)
        }
        guard role.operations.contains(op) else {
            throw Refusal.forbidden("operationNotAllowed", "role \(roleName) does not allow \(op.rawValue)", client: client, role: roleName)
        }
        let body = try Self.parseBody(r.body)
        let n = body.count
        guard n > 0 else { throw Refusal(status: 400, message: "missing batch input to process", code: "emptyBatch") }
        guard n <= config.limits.maxBatch else {
            throw Refusal(status: 413, message: "batch of \(n) values exceeds the limit of \(config.limits.maxBatch)", code: "batchTooLarge")
        }
        if body.missingValue != nil { throw Refusal(status: 400, message: "missing value to \(op.rawValue)", code: "missingValue") }
        if body.tweakGiven {
            throw Refusal(status: 400, message: "tweak is not accepted: each transformation's tweak is fixed by its column", code: "tweakNotAccepted")
        }
        // Resolve the transformations named (few distinct ones): group g = the name's index, the
        // role's only transformation for items that name none gets the last group.
        var groupNames: [String] = []
        for name in body.names {
            guard config.transformations[name] != nil else {
                throw Refusal(
                    status: 404, message: "transformation not found", code: "unknownTransformation", audit: true, client: client, role: roleName,
                    transformation: name)
            }
            guard role.transformations.contains(name) else {
                throw Refusal.forbidden(
                    "transformationNotAllowed", "role \(roleName) does not allow transformation \(name)", client: client, role: roleName, transformation: name)
            }
            groupNames.append(name)
        }
        let unnamed = Int32(groupNames.count)
        if body.transformationOf.contains(-1) {
            guard role.transformations.count == 1, let only = role.transformations.first else {
                throw Refusal(status: 400, message: "transformation is required (the role has several)", code: "missingTransformation")
            }
            groupNames.append(only)
        }
        // One batch per transformation. The usual request names one: its value column goes to
        // the transform as parsed; otherwise each group's values are gathered.
        let groupOf = body.transformationOf.map { $0 < 0 ? unnamed : $0 }
        var results: [OnlineResult?] = Array(repeating: nil, count: groupNames.count)
        var position: [Int32] = []
        let first = groupOf[0]
        if groupOf.allSatisfy({ $0 == first }) {
            let name = groupNames[Int(first)]
            if let coalescer {
                coalescer.submit(op, transformation: name, values: body.values) { result in
                    complete(
                        result.map { r in
                            self.session.recordSuccess(
                                operation: op, client: client, role: roleName, transformation: name, values: r.output.count, rejected: r.rejects.count,
                                key: r.key)
                            self.metrics.values(op, name, r.output.count)
                            var results: [OnlineResult?] = Array(repeating: nil, count: Int(first) + 1)
                            results[Int(first)] = r
                            return Self.vaultResponse(op, body: body, groupOf: groupOf, position: [], results: results)
                        })
                }
                return nil
            }
            results[Int(first)] = try session.run(op, transformation: name, values: body.values)
            metrics.batch(op, name, values: body.values.count, requests: 1)
        } else {
            position = Array(repeating: 0, count: n)
            var columns = Array(repeating: ByteColumn(), count: groupNames.count)
            for i in 0..<n {
                let g = Int(groupOf[i])
                position[i] = Int32(columns[g].count)
                columns[g].append(body.values[i])
            }
            for g in columns.indices where !columns[g].isEmpty {
                results[g] = try session.run(op, transformation: groupNames[g], values: columns[g])
                metrics.batch(op, groupNames[g], values: columns[g].count, requests: 1)
            }
        }
        for g in results.indices {
            guard let result = results[g] else { continue }
            session.recordSuccess(
                operation: op, client: client, role: roleName, transformation: groupNames[g], values: result.output.count, rejected: result.rejects.count,
                key: result.key)
            metrics.values(op, groupNames[g], result.output.count)
        }
        return Self.vaultResponse(op, body: body, groupOf: groupOf, position: position, results: results)
    }

    /// The Vault answer, written into one buffer: per item its output (or error) and its
    /// reference echoed as sent.
    static func vaultResponse(_ op: OnlineOperation, body: VaultBody, groupOf: [Int32], position: [Int32], results: [OnlineResult?]) -> APIResponse {
        let field: StaticString = op == .encode ? "{\"encoded_value\":" : "{\"decoded_value\":"
        let n = body.count
        let head =
            "{\"request_id\":\"\(UUID().uuidString.lowercased())\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":"
        var out = ByteBufferAllocator().buffer(capacity: head.utf8.count + 64 + body.values.bytes.count * 2 + n * 24 + body.references.bytes.count)
        func output(_ i: Int) -> (OnlineResult, Int) {
            let g = Int(groupOf[i])
            return (results[g]!, position.isEmpty ? i : Int(position[i]))
        }
        if !body.isBatch {
            let (result, k) = output(0)
            if let e = result.rejects[k] { return .errors(400, ["unable to \(op.rawValue) value: \(e)"]) }
            out.writeString(head)
            out.writeStaticString(field)
            JSONText.append(result.output, k, to: &out)
            out.writeStaticString("},\"wrap_info\":null,\"warnings\":null,\"auth\":null}")
            return APIResponse(status: 200, body: out)
        }
        out.writeString(head)
        out.writeStaticString("{\"batch_results\":[")
        if position.isEmpty, let result = results[Int(groupOf[0])], result.rejects.isEmpty {
            // The usual batch: one transformation, no rejects; tokens copied straight from the
            // output column.
            let refs = body.references
            result.output.bytes.withUnsafeBytes { values in
                refs.bytes.withUnsafeBytes { refBytes in
                    let offsets = result.output.offsets
                    for i in 0..<n {
                        if i > 0 { out.writeInteger(UInt8(ascii: ",")) }
                        out.writeStaticString(field)
                        let token = UnsafeRawBufferPointer(rebasing: values[offsets[i]..<offsets[i + 1]])
                        if JSONText.isPlain(token) {
                            out.writeInteger(UInt8(ascii: "\""))
                            out.writeBytes(token)
                            out.writeInteger(UInt8(ascii: "\""))
                        } else {
                            JSONText.append(result.output, i, to: &out)
                        }
                        let ref = refs.range(i)
                        if !ref.isEmpty {
                            out.writeStaticString(",\"reference\":")
                            out.writeBytes(UnsafeRawBufferPointer(rebasing: refBytes[ref]))
                        }
                        out.writeInteger(UInt8(ascii: "}"))
                    }
                }
            }
        } else {
            for i in 0..<n {
                if i > 0 { out.writeInteger(UInt8(ascii: ",")) }
                let (result, k) = output(i)
                if !result.rejects.isEmpty, let why = result.rejects[k] {
                    out.writeStaticString("{\"error\":")
                    JSONText.append("unable to \(op.rawValue) value: \(why)", to: &out)
                } else {
                    out.writeStaticString(field)
                    JSONText.append(result.output, k, to: &out)
                }
                let ref = body.references.range(i)
                if !ref.isEmpty {
                    out.writeStaticString(",\"reference\":")
                    out.writeBytes(body.references.bytes[ref])
                }
                out.writeInteger(UInt8(ascii: "}"))
            }
        }
        out.writeStaticString("]},\"wrap_info\":null,\"warnings\":null,\"auth\":null}")
        return APIResponse(status: 200, body: out)
    }

    /// `POST /v1/tokengate/keys/unwrap` `{"master_key_id", "wrapped_key"}` → `{"data":{"key"}}`:
    /// a Parquet data key unwrapped in the HSM for pyarrow's KmsClient, for clients holding a
    /// role with operation `unwrap`; TLS as every route (plain HTTP only on loopback and only
    /// when the config says so). The key, base64, is the response's only copy outside the HSM's
    /// operation: the intermediate is zeroized; the response buffer is NIO's and is not.
    func unwrap(_ r: APIRequest) throws -> APIResponse {
        guard let client = authenticate(r) else {
            throw Refusal.forbidden("unauthenticated", "no valid client credential (token or certificate)", client: nil)
        }
        let held = (config.clients[client]?.roles ?? []).sorted()
        guard let role = held.first(where: { config.roles[$0]?.unwrap == true }) else {
            throw Refusal.forbidden("operationNotAllowed", "no role of the client allows unwrap", client: client, role: held.first)
        }
        func malformed(_ why: String) -> Refusal { Refusal(status: 400, message: "failed to parse JSON input: \(why)", code: "malformedJSON") }
        let v: JSONValue
        do { v = try JSONParser.parse(r.body) } catch { throw malformed("not JSON (at byte \(error.offset))") }
        guard case .object(let o) = v else { throw malformed("not a JSON object") }
        guard case .string(let master)? = o["master_key_id"], case .string(let wrapped)? = o["wrapped_key"] else {
            throw malformed("needs master_key_id and wrapped_key (strings)")
        }
        var out = ByteBuffer()
        try session.unwrapParquetKey(client: client, role: role, masterKeyID: master, wrappedDEK: wrapped) { secret in
            var b64 = secret.withUnsafeBytes { Data($0).base64EncodedData() }
            defer { b64.withUnsafeMutableBytes { zeroize($0) } }
            out.reserveCapacity(b64.count + 32)
            out.writeStaticString("{\"data\":{\"key\":\"")
            out.writeBytes(b64)
            out.writeStaticString("\"}}")
        }
        return APIResponse(status: 200, body: out)
    }

    struct RecordsBody: Decodable {
        var policy: String
        var records: [[String: String?]]
    }

    /// The native record endpoints: whole rows under a named policy, every field named by the
    /// policy's `columns` (tagging is off: an unnamed field is refused). tokenize applies each
    /// column's rule (tokenize, hmac, mask, keep, drop); detokenize inverts tokenize and passes
    /// kept columns. One transform batch per column per request.
    func records(_ op: OnlineOperation, _ r: APIRequest) throws -> APIResponse {
        let route = op == .encode ? "tokenize" : "detokenize"
        guard let client = authenticate(r) else {
            throw Refusal.forbidden("unauthenticated", "no valid client credential (token or certificate)", client: nil)
        }
        let body: RecordsBody
        do { body = try JSONDecoder().decode(RecordsBody.self, from: Data(r.body)) } catch {
            throw Refusal(status: 400, message: "failed to parse JSON input: \(Self.describe(error))", code: "malformedJSON")
        }
        guard let policy = config.policies[body.policy] else {
            throw Refusal(status: 404, message: "policy not found", code: "unknownPolicy", audit: true, client: client, transformation: body.policy)
        }
        let held = (config.clients[client]?.roles ?? []).sorted().filter { config.roles[$0]?.policies.contains(body.policy) == true }
        guard !held.isEmpty else {
            throw Refusal.forbidden("policyNotAllowed", "no role of the client allows policy \(body.policy)", client: client, transformation: body.policy)
        }
        guard let role = held.first(where: { config.roles[$0]?.operations.contains(op) == true }) else {
            throw Refusal.forbidden(
                "operationNotAllowed", "no role of the client allows \(route) under policy \(body.policy)", client: client, role: held.first,
                transformation: body.policy)
        }
        if op == .decode, let d = policy.detokenize, !d.allowed {
            throw Refusal.forbidden(
                "detokenizeNotPermitted", "policy \(body.policy) refuses detokenize (detokenize.allowed is false)", client: client, role: role,
                transformation: body.policy)
        }
        guard body.records.count <= config.limits.maxBatch else {
            throw Refusal(status: 413, message: "\(body.records.count) records exceed the limit of \(config.limits.maxBatch)", code: "batchTooLarge")
        }
        var out = body.records
        let names = Set(body.records.flatMap(\.keys)).sorted()
        for name in names {
            guard let rule = policy.columns[name] else {
                throw Refusal(
                    status: 400, message: "column '\(name)' is not named in policy \(body.policy) (tagging is off online: name every column)",
                    code: "columnNotNamed")
            }
            switch rule.action {
            case .keep: continue
            case .drop:
                for i in out.indices { out[i][name] = nil }
                continue
            case .embedded:
                throw Refusal(status: 400, message: "column '\(name)': tokenize-embedded is not served online", code: "notServed")
            case .mask where op == .decode, .hmac where op == .decode:
                throw Refusal(
                    status: 400, message: "column '\(name)' was transformed with \(rule.action.rawValue), which cannot be reversed", code: "notReversible")
            case .tokenize, .hmac, .mask: break
            }
            var rows: [Int] = []
            var column = ByteColumn(reservingValues: body.records.count, bytes: body.records.count * 24)
            for (i, rec) in body.records.enumerated() {
                if let v = rec[name] ?? nil, !v.isEmpty {
                    rows.append(i)
                    column.append(v)
                }
            }
            guard !rows.isEmpty else { continue }
            let t = ServerConfig.policyTransformation(body.policy, name)
            let result = try session.run(op, transformation: t, values: column)
            if let (k, why) = result.rejects.min(by: { $0.key < $1.key }) {
                throw Refusal(status: 400, message: "record \(rows[k]), column '\(name)': unable to \(route): \(why)", code: "valueRejected")
            }
            for (k, i) in rows.enumerated() { out[i][name] = .some(result.output.string(at: k)) }
            session.recordSuccess(operation: op, client: client, role: role, transformation: t, values: rows.count, rejected: 0, key: result.key)
            metrics.values(op, t, rows.count)
            metrics.batch(op, t, values: rows.count, requests: 1)
        }
        var s = "{\"records\":["
        for (i, rec) in out.enumerated() {
            if i > 0 { s += "," }
            s += "{"
            for (j, key) in rec.keys.sorted().enumerated() {
                if j > 0 { s += "," }
                JSONText.appendString(key, to: &s)
                s += ":"
                if let v = rec[key] ?? nil { JSONText.appendString(v, to: &s) } else { s += "null" }
            }
            s += "}"
        }
        return .json(200, s + "]}")
    }

    /// The Vault request body: an object with `value`, `transformation`, `reference`, `tweak`
    /// (strings or null) or `batch_input` (an array of such objects); other fields are ignored.
    static func parseBody(_ bytes: [UInt8]) throws -> VaultBody {
        do { return try JSONParser.parseVault(bytes) } catch {
            let why = error.wrongType ?? "not JSON (at byte \(error.offset))"
            throw Refusal(status: 400, message: "failed to parse JSON input: \(why)", code: "malformedJSON")
        }
    }

    /// A decoding error without the input's content.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "wrong type at '\(c.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.keyNotFound(let k, _): return "missing '\(k.stringValue)'"
        default: return "not a JSON object of the expected shape"
        }
    }
}

/// The stable name of a coded error's code.
func codeName<E: CodedError>(_ e: E) -> String { e.code.rawValue }

/// JSON string writing (escapes per RFC 8259).
enum JSONText {
    /// Value `k` of a column as a JSON string: its bytes as they are when nothing needs escaping
    /// (the usual token), else through ``appendString(_:to:)``.
    /// Whether bytes can be written inside a JSON string as they are (ASCII, nothing to escape).
    @inline(__always)
    static func isPlain(_ b: UnsafeRawBufferPointer) -> Bool {
        for c in b where c < 0x20 || c == 0x22 || c == 0x5C || c >= 0x80 { return false }
        return true
    }

    static func append(_ column: ByteColumn, _ k: Int, to out: inout ByteBuffer) {
        let r = column.range(k)
        let plain = column.bytes.withUnsafeBufferPointer { b in
            for j in r where b[j] < 0x20 || b[j] == 0x22 || b[j] == 0x5C || b[j] >= 0x80 { return false }
            return true
        }
        if plain {
            out.writeInteger(UInt8(ascii: "\""))
            out.writeBytes(column.bytes[r])
            out.writeInteger(UInt8(ascii: "\""))
        } else {
            append(column.string(at: k), to: &out)
        }
    }

    static func append(_ v: String, to out: inout ByteBuffer) {
        var s = ""
        appendString(v, to: &s)
        out.writeString(s)
    }

    static func appendString(_ v: String, to s: inout String) {
        s += "\""
        var plain = true
        for u in v.utf8 where u < 0x20 || u == 0x22 || u == 0x5C {
            plain = false
            break
        }
        if plain {
            s += v
        } else {
            for c in v.unicodeScalars {
                switch c {
                case "\"": s += "\\\""
                case "\\": s += "\\\\"
                case "\n": s += "\\n"
                case "\r": s += "\\r"
                case "\t": s += "\\t"
                default:
                    if c.value < 0x20 {
                        s += String(format: "\\u%04x", c.value)
                    } else {
                        s.unicodeScalars.append(c)
                    }
                }
            }
        }
        s += "\""
    }
}
