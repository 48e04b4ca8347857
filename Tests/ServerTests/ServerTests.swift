import Audit
import Crypto
import Foundation
import Keyring
import Operations
import Server
import TestSupport
import Testing
import Tokenize

/// `tokengate serve` on a loopback port, called with hvac (the Python Vault client) as existing
/// Vault Transform users call it: real SoftHSM2 tokens and keys, real TLS.
@Suite(.serialized) struct ServeTests {
    struct Env: Sendable {
        let dir: String
        let keyringPath: String
        let log: String
        /// What `tokengate tokenize` (the tokenize job) made of `cards` in column card_number
        /// (derived custody) and card_hsm (hsm custody).
        let derivedTokens: [String]
        let hsmTokens: [String]
        let tokens: [String: String]
    }

    static let cards = ["4111111111111111", "5500005555555559", "340000000000009"]
    static let tokens = ["encoder": "enc-token-1b7e", "analyst": "analyst-token-93c1", "trainer": "trainer-token-5d2a"]

    static let env: Result<Env, FixtureError> = {
        do { return .success(try makeEnv()) } catch { return .failure(FixtureError("\(error)")) }
    }()

    static func makeEnv() throws -> Env {
        let fx = SoftHSMFixture.shared
        let dir = fx.directory + "/serve-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pin = try fx.writePINFile(name: "serve.pin")
        let log = dir + "/audit.jsonl"
        // The server's detokenize PIN, in a file beside its config (mode 600).
        FileManager.default.createFile(atPath: dir + "/serve-detok.pin", contents: Data("serve-approver".utf8))
        chmod(dir + "/serve-detok.pin", 0o600)
        var pinBytes = Array("serve-approver".utf8)
        let verifier = try DetokenizeGrant.verifier(for: SecretBytes(consumingArray: &pinBytes))
        let keyring = """
            version: 1
            module: \(fx.modulePath)
            audit-log: \(log)
            purposes:
              in-use: { token: tg-test-in-use, pin: { file: \(pin) }, keys: [srv-pan] }
              at-rest: { token: tg-test-at-rest, pin: { file: \(pin) }, keys: [srv-datasets] }
              audit: { token: tg-test-audit, pin: { file: \(pin) }, keys: [log] }
            grants:
              detokenize: { pin-verifier: '\(verifier)' }

            """
        try keyring.write(toFile: dir + "/keyring.yaml", atomically: true, encoding: .utf8)
        let g = try Gateway(keyringPath: dir + "/keyring.yaml")
        _ = try g.initializeKeys()
        // The batch path: a tiny CSV through the tokenize job under a policy naming the columns.
        let policy = """
            version: 1
            algorithm: ff1
            custody: derived
            columns:
              card_number: { transform: card, domain: srv-pan }
              card_hsm: { transform: card, domain: srv-pan, custody: hsm }

            """
        try policy.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
        // The record endpoints' policy: every column named (tagging is off online).
        let rowsPolicy = """
            version: 1
            columns:
              card_number: { transform: card, domain: srv-pan }
              name: { action: keep }
              memo: { action: drop }

            """
        try rowsPolicy.write(toFile: dir + "/rows-policy.yaml", atomically: true, encoding: .utf8)
        let csv = "card_number,card_hsm\n" + cards.map { "\($0),\($0)" }.joined(separator: "\n") + "\n"
        try csv.write(toFile: dir + "/cards.csv", atomically: true, encoding: .utf8)
        var t = DataRequest(policyPath: dir + "/policy.yaml")
        t.job.input = dir + "/cards.csv"
        t.job.output = dir + "/cards.tok.csv"
        _ = try g.tokenize(t)
        let rows = try String(contentsOfFile: dir + "/cards.tok.csv", encoding: .utf8).split(separator: "\n").dropFirst().map {
            $0.split(separator: ",").map(String.init)
        }
        try makeCertificates(dir)
        return Env(
            dir: dir, keyringPath: dir + "/keyring.yaml", log: log, derivedTokens: rows.map { $0[0] }, hsmTokens: rows.map { $0[1] },
            tokens: tokens)
    }

    /// A test CA, a server certificate for 127.0.0.1, a client certificate (CN fraud-desk) and a
    /// rogue client certificate from another CA, made with the openssl CLI.
    static func makeCertificates(_ dir: String) throws {
        func openssl(_ args: [String]) throws { try SoftHSMFixture.run("openssl", args) }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "rogue-ca"] {
            try openssl(["req", "-x509"] + ec + ["-keyout", "\(dir)/\(ca).key", "-out", "\(dir)/\(ca).pem", "-days", "2", "-subj", "/CN=tg-\(ca)"])
        }
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(
            toFile: dir + "/server.ext", atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: dir + "/client.ext", atomically: true, encoding: .utf8)
        // A client known only by its DNS SAN: no CN at all.
        try "subjectAltName=DNS:scoring-svc.internal\nextendedKeyUsage=clientAuth\n".write(toFile: dir + "/san.ext", atomically: true, encoding: .utf8)
        for (name, subject, ca, ext) in [
            ("server", "/CN=localhost", "ca", "server.ext"), ("client", "/CN=fraud-desk", "ca", "client.ext"),
            ("rogue", "/CN=fraud-desk", "rogue-ca", "client.ext"), ("san", "/O=tokengate-tests", "ca", "san.ext"),
        ] {
            try openssl(["req"] + ec + ["-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr", "-subj", subject])
            try openssl([
                "x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/\(ca).pem", "-CAkey", "\(dir)/\(ca).key", "-CAcreateserial",
                "-out", "\(dir)/\(name).pem", "-days", "2", "-extfile", "\(dir)/\(ext)",
            ])
        }
    }

    static func sha256(_ s: String) throws -> String { Hex.encode(try SHA256.hash(Array(s.utf8))) }

    /// A server config: encoder (encode only, token), analyst (encode+decode, token), fraud-desk
    /// (encode, certificate) — plain HTTP on loopback, or mutual TLS.
    static func writeConfig(_ env: Env, name: String, tls: Bool = false, maxBody: Int = 4096, vaultMount: String? = nil) throws -> String {
        let path = env.dir + "/\(name).yaml"
        let listen = tls ? "tls: { certificate: server.pem, key: server.key, client-ca: ca.pem }" : "plain-http: true"
        let yaml = """
            version: 1
            keyring: keyring.yaml
            listen: 127.0.0.1:0
            \(listen)
            decode-pin: { file: serve-detok.pin }
            limits: { max-body-bytes: \(maxBody), max-batch: 1000 }
            \(vaultMount.map { "vault-mount: \($0)" } ?? "")
            transformations:
              card: { transform: card, domain: srv-pan, column: card_number }
              card-hsm: { transform: card, domain: srv-pan, custody: hsm, column: card_hsm }
            policies: { rows: rows-policy.yaml }
            roles:
              payments: { transformations: [card], policies: [rows], operations: [encode] }
              analyst: { transformations: [card, card-hsm], policies: [rows], operations: [encode, decode] }
              training: { operations: [unwrap] }
            clients:
              scoring: { token-sha256: \(try sha256(tokens["encoder"]!)), roles: [payments] }
              analyst: { token-sha256: \(try sha256(tokens["analyst"]!)), roles: [analyst, payments] }
              trainer: { token-sha256: \(try sha256(tokens["trainer"]!)), roles: [training] }
            \(tls ? "  fraud-desk: { certificate-name: fraud-desk, roles: [payments] }" : "")
            \(tls ? "  san-desk: { certificate-name: scoring-svc.internal, roles: [payments] }" : "")

            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func hvac(_ mode: String, _ url: String, _ options: [String: Any]) throws -> [String: Any] {
        let opts = String(decoding: try JSONSerialization.data(withJSONObject: options), as: UTF8.self)
        return try parse(mode, try hvacRaw(mode, url, opts))
    }

    /// What vault_client.py printed last (its JSON result).
    static func hvacRaw(_ mode: String, _ url: String, _ options: String) throws -> String {
        let r = try PythonOracle.runScript("scripts/serve/vault_client.py", [mode, url, options])
        guard r.status == 0, let last = r.stdout.split(separator: "\n").last else {
            throw FixtureError("vault_client.py \(mode) exited \(r.status): \(r.stderr.suffix(3000)) \(r.stdout.suffix(1000))")
        }
        return String(last)
    }

    static func parse(_ mode: String, _ line: String) throws -> [String: Any] {
        guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw FixtureError("vault_client.py \(mode) printed no JSON object: \(line.prefix(1000))")
        }
        return obj
    }

    /// A sample's value in a Prometheus exposition (0 when absent).
    static func metric(_ text: String, _ sample: String) -> Int {
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") { return Int(Double(line.dropFirst(sample.count + 1)) ?? 0) }
        return 0
    }

    static func records(_ log: String) throws -> [AuditRecord] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8)) }
    }

    @Test func hvacRoundTripsSingleAndBatchWithTheTokensOfTokenize() throws {
        let env = try Self.env.get()
        let server = try TokengateServer.start(configPath: try Self.writeConfig(env, name: "roundtrip"))
        defer { server.shutdown() }
        let url = "http://127.0.0.1:\(server.address.port)"
        for (transformation, expected) in [("card", env.derivedTokens), ("card-hsm", env.hsmTokens)] {
            let out = try Self.hvac(
                "roundtrip", url,
                ["token": Self.tokens["analyst"]!, "role": "analyst", "transformation": transformation, "values": Self.cards, "mixed": true])
            #expect((out["health"] as? [String: Any])?["sealed"] as? Bool == false)
            #expect(out["authenticated"] as? Bool == true && out["stranger_authenticated"] as? Bool == false)
            let lookup = out["lookup"] as? [String: Any]
            #expect(lookup?["display_name"] as? String == "tokengate-analyst" && lookup?["policies"] as? [String] == ["analyst", "payments"])
            #expect(!"\(lookup ?? [:])".contains(Self.tokens["analyst"]!), "the lookup never returns the token")
            #expect(out["single"] as? [String] == expected, "\(transformation): online tokens equal the tokenize job's")
            #expect(out["single_decoded"] as? [String] == Self.cards)
            let batch = try #require(out["batch"] as? [[String: Any]])
            #expect(batch.map { $0["encoded_value"] as? String } == expected)
            #expect(batch.map { $0["reference"] as? String } == ["ref-0", "ref-1", "ref-2"])
            #expect((out["batch_decoded"] as? [[String: Any]])?.map { $0["decoded_value"] as? String } == Self.cards)
            // One batch over two transformations with a refused value: each item its own answer.
            let mixed = try #require(out["mixed"] as? [[String: Any]])
            #expect(mixed.map { $0["encoded_value"] as? String } == [env.derivedTokens[0], env.hsmTokens[1], nil, env.derivedTokens[2]])
            #expect((mixed[2]["error"] as? String)?.hasPrefix("unable to encode value") == true, "\(mixed)")
            #expect(mixed.map { $0["reference"] as? String } == ["a", nil, "c\"q", nil])
            // HSM custody: one C_Encrypt per FF1 round per batch (8 requests here), counted in /metrics.
            let hsmCalls = { (m: Any?) in Self.metric(m as? String ?? "", #"tokengate_hsm_calls_total{function="C_Encrypt",purpose="in-use"}"#) }
            if transformation == "card-hsm" {
                #expect(hsmCalls(out["metrics_after"]) - hsmCalls(out["metrics_before"]) >= 8 * 10, "HSM calls move")
            }
        }
        #expect(env.derivedTokens != env.hsmTokens && env.derivedTokens != Self.cards)
    }

    /// Vault mounts the transform engine where the operator says; a client names the mount.
    @Test func theTransformEndpointsServeAtTheConfiguredVaultMount() throws {
        let env = try Self.env.get()
        let server = try TokengateServer.start(configPath: try Self.writeConfig(env, name: "mount", vaultMount: "fpe/cards"))
        defer { server.shutdown() }
        let url = "http://127.0.0.1:\(server.address.port)"
        let out = try Self.hvac(
            "roundtrip", url,
            ["token": Self.tokens["analyst"]!, "role": "analyst", "transformation": "card", "values": Self.cards, "mount_point": "fpe/cards"])
        #expect(out["single"] as? [String] == env.derivedTokens && out["single_decoded"] as? [String] == Self.cards)
        let body = "{\"value\":\"\(Self.cards[0])\",\"transformation\":\"card\"}"
        let raw = try Self.hvac(
            "posts", url,
            [
                "requests": ["/v1/transform/encode/analyst", "/v1/fpe/encode/analyst", "/v1/fpe/cards/encode/analyst"].map {
                    ["token": Self.tokens["analyst"]!, "path": $0, "body": body]
                }
            ])
        #expect(raw["statuses"] as? [Int] == [405, 405, 200], "only the configured mount serves: \(raw)")
        #expect(throws: ServerError.self) {
            try ServerConfig.load(path: try Self.writeConfig(env, name: "badmount", vaultMount: "sys"))
        }
    }

    @Test func recordEndpointsApplyTheNamedPolicy() throws {
        let env = try Self.env.get()
        let server = try TokengateServer.start(configPath: try Self.writeConfig(env, name: "records"))
        defer { server.shutdown() }
        let out = try Self.hvac(
            "records", "http://127.0.0.1:\(server.address.port)",
            ["token": Self.tokens["analyst"]!, "encoder_token": Self.tokens["encoder"]!, "policy": "rows", "values": Self.cards])
        #expect(out["tokenize_status"] as? Int == 200)
        let tokenized = try #require((out["tokenized"] as? [String: Any])?["records"] as? [[String: String]])
        #expect(tokenized.map { $0["card_number"] } == env.derivedTokens, "the tokenize job's tokens")
        #expect(tokenized.map { $0["name"] } == ["n0", "n1", "n2"] && tokenized.allSatisfy { $0["memo"] == nil }, "keep and drop")
        #expect(out["detokenize_status"] as? Int == 200)
        let back = (out["detokenized"] as? [String: Any])?["records"] as? [[String: String]]
        #expect(back?.map { $0["card_number"] } == Self.cards)
        #expect(out["unnamed"] as? Int == 400, "a column the policy does not name is refused")
        #expect(out["encoder_detokenize"] as? Int == 403)
        #expect(out["unknown_policy"] as? Int == 404)
    }

    @Test func refusalsHaveVaultStatusesAndDenialsAreAudited() throws {
        let env = try Self.env.get()
        let server = try TokengateServer.start(configPath: try Self.writeConfig(env, name: "refusals"))
        let url = "http://127.0.0.1:\(server.address.port)"
        let before = try Self.records(env.log).count
        let out = try Self.hvac(
            "refusals", url,
            ["tokens": Self.tokens, "role": "payments", "decode_role": "analyst", "value": Self.cards[0], "max_body": 4096])
        #expect(out["decode_without_decode"] as? Int == 403, "the encoder does not hold the analyst role")
        #expect(out["decode_on_encode_role"] as? Int == 403, "payments allows encode only")
        #expect(out["wrong_token"] as? Int == 403)
        #expect(out["no_token"] as? Int == 403)
        #expect(out["unknown_role"] as? Int == 404)
        #expect(out["unknown_transformation"] as? Int == 404)
        #expect(out["tweak"] as? Int == 400)
        #expect(out["malformed_json"] as? Int == 400)
        #expect(out["oversized"] as? Int == 413)
        #expect((out["malformed_json_body"] as? [String: Any])?["errors"] as? [String] != nil)
        let metrics = try #require(out["metrics"] as? String)
        #expect(metrics.contains("tokengate_http_requests_total{"))
        #expect(metrics.contains("status=\"403\""))
        server.shutdown()

        let new = try Self.records(env.log).dropFirst(before)
        let denials = new.filter { $0.outcome == .failure && $0.operation.hasPrefix("serve ") }
        #expect(denials.contains { $0.operation == "serve decode" && $0.details["client"] == "scoring" && $0.details["code"] == "roleNotHeld" })
        #expect(denials.contains { $0.operation == "serve decode" && $0.details["client"] == "scoring" && $0.details["code"] == "operationNotAllowed" })
        #expect(denials.filter { $0.details["code"] == "unauthenticated" }.count == 2, "wrong and missing token, one record each")
        #expect(denials.contains { $0.details["code"] == "unknownRole" })
        // The session closes its started record; no clear value, token or bearer token is recorded.
        let close = try #require(new.last)
        #expect(close.operation == "serve" && close.outcome == .success && close.startedRecord == server.session.startedRecord)
        #expect(try AuditLog.occurrences(of: [Self.cards[0], env.derivedTokens[0]] + Array(Self.tokens.values), inLogAt: env.log).isEmpty)
        let (_, v) = try Gateway(keyringPath: env.keyringPath).verifyAudit()
        #expect(v.intact, "\(v)")
    }

    @Test func mutualTLSIdentifiesClientsByCertificate() throws {
        let env = try Self.env.get()
        let server = try TokengateServer.start(configPath: try Self.writeConfig(env, name: "mtls", tls: true))
        var stopped = false
        defer { if !stopped { server.shutdown() } }
        let before = try Self.records(env.log).count
        let url = "https://127.0.0.1:\(server.address.port)"
        let d = env.dir
        let out = try Self.hvac(
            "mtls", url,
            [
                "ca": d + "/ca.pem", "cert": d + "/client.pem", "key": d + "/client.key", "role": "payments", "value": Self.cards[0],
                "rogue_cert": d + "/rogue.pem", "rogue_key": d + "/rogue.key", "san_cert": d + "/san.pem", "san_key": d + "/san.key",
            ])
        #expect(out["encoded"] as? String == env.derivedTokens[0])
        #expect(out["san_encoded"] as? String == env.derivedTokens[0], "a certificate without CN, known by its DNS SAN")
        server.shutdown()
        stopped = true
        let clients = try Self.records(env.log).dropFirst(before).filter { $0.details["aggregated"] == "true" }.map { $0.details["client"] }
        #expect(Set(clients) == ["fraud-desk", "san-desk"], "each certificate identified its own client: \(clients)")
        #expect((out["no_certificate"] as? String)?.hasPrefix("connection:") == true, "no certificate: the handshake fails")
        #expect((out["rogue_certificate"] as? String)?.hasPrefix("connection:") == true, "a certificate of another CA: the handshake fails")
    }

    /// pyarrow's KmsClient in server mode (python/tokengate/encryption.py): a PME file sealed by
    /// the tokenize job reads through `POST /v1/tokengate/keys/unwrap` for a role with `unwrap`;
    /// a client without it gets 403 and pyarrow fails. Both audited.
    @Test func pyarrowUnwrapsThroughTheServer() throws {
        let env = try Self.env.get()
        var t = DataRequest(policyPath: env.dir + "/policy.yaml")
        t.job.input = env.dir + "/cards.csv"
        t.job.output = env.dir + "/cards.pme.parquet"
        var seal = TokenizeJob.SealOptions()
        seal.keyName = "srv-datasets"
        seal.maxOverheadPercent = 100
        t.job.seal = seal
        _ = try Gateway(keyringPath: env.keyringPath).tokenize(t)
        let server = try TokengateServer.start(configPath: try Self.writeConfig(env, name: "unwrap"))
        var stopped = false
        defer { if !stopped { server.shutdown() } }
        let url = "http://127.0.0.1:\(server.address.port)"
        let before = try Self.records(env.log).count
        let read = try Self.hvac("pme", url, ["token": Self.tokens["trainer"]!, "file": t.job.output])
        #expect(read["rows"] as? Int == Self.cards.count, "\(read)")
        #expect((read["columns"] as? [String: [String]])?["card_number"] == env.derivedTokens)
        let refused = try Self.hvac("pme", url, ["token": Self.tokens["encoder"]!, "file": t.job.output])
        #expect((refused["error"] as? String)?.contains("HTTP 403") == true, "\(refused)")
        server.shutdown()
        stopped = true
        let new = try Self.records(env.log).dropFirst(before)
        #expect(new.contains { $0.operation == "keys unwrap" && $0.outcome == .success && $0.details["client"] == "trainer" && $0.details["via"] == "serve" })
        #expect(new.contains { $0.operation == "serve unwrap" && $0.outcome == .failure && $0.details["client"] == "scoring" })
        #expect(!new.contains { $0.operation == "keys unwrap" && $0.details["client"] == "scoring" })
    }

    @Test func shutdownDrainsRequestsAndClosesTheAuditChain() async throws {
        let env = try Self.env.get()
        let server = try TokengateServer.start(configPath: try Self.writeConfig(env, name: "drain"))
        let url = "http://127.0.0.1:\(server.address.port)"
        let opts = String(
            decoding: try JSONSerialization.data(withJSONObject: [
                "token": Self.tokens["encoder"]!, "role": "payments", "value": Self.cards[0], "expected": env.derivedTokens[0], "threads": 4,
                "seconds": 3,
            ]), as: UTF8.self)
        let load = Task.detached { try Self.hvacRaw("load", url, opts) }
        try await Task.sleep(for: .milliseconds(1500))
        server.shutdown()
        let out = try Self.parse("load", try await load.value)
        #expect((out["ok"] as? Int ?? 0) > 0)
        #expect(out["wrong"] as? Int == 0)
        #expect((out["http_errors"] as? [Int])?.isEmpty == true, "no accepted request lost its response: \(out)")
        let all = try Self.records(env.log)
        let close = try #require(all.last)
        #expect(close.operation == "serve" && close.startedRecord == server.session.startedRecord && close.outcome == .success)
        let aggregated = all.filter { $0.operation == "serve encode" && $0.details["aggregated"] == "true" && $0.details["client"] == "scoring" }
        #expect(aggregated.reduce(0) { $0 + ($1.rowsIn ?? 0) } >= out["ok"] as? Int ?? 0)
        let (_, v) = try Gateway(keyringPath: env.keyringPath).verifyAudit()
        #expect(v.intact && v.unclosed.isEmpty, "\(v)")
    }

    /// The debug `tokengate` binary beside the test bundle (as the CLI tests find it).
    static func executable() throws -> URL {
        let dirs = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for dir in dirs where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("tokengate").path) {
            return dir.appendingPathComponent("tokengate")
        }
        throw FixtureError("tokengate executable not found next to the test bundle")
    }

    /// SIGTERM through the real process: `tokengate serve` as a subprocess under load from four
    /// connections; it drains and exits 0, every request it processed (counted in its audit
    /// aggregates) reached the client whole, and the audit chain is intact and closed.
    @Test func sigtermDrainsTheRealProcess() async throws {
        let env = try Self.env.get()
        let config = try Self.writeConfig(env, name: "sigterm")
        let before = try Self.records(env.log).count
        let p = Process()
        p.executableURL = try Self.executable()
        p.arguments = ["serve", "--config", config, "--threads", "2"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = Data()
        while !line.contains(0x0A) {
            let d = out.fileHandleForReading.availableData
            guard !d.isEmpty else { throw FixtureError("tokengate serve exited before listening (status \(p.terminationStatus))") }
            line.append(d)
        }
        let text = String(decoding: line, as: UTF8.self)
        let url = try #require(text.split(separator: " ").first { $0.hasPrefix("http://") }.map(String.init), "\(text)")
        let opts = String(
            decoding: try JSONSerialization.data(withJSONObject: [
                "token": Self.tokens["encoder"]!, "role": "payments", "value": Self.cards[0], "expected": env.derivedTokens[0], "threads": 4,
                "seconds": 3,
            ]), as: UTF8.self)
        let load = Task.detached { try Self.hvacRaw("load", url, opts) }
        try await Task.sleep(for: .milliseconds(1500))
        #expect(kill(p.processIdentifier, SIGTERM) == 0)
        let result = try Self.parse("load", try await load.value)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "tokengate serve exits 0 after SIGTERM")
        let rest = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(rest.contains("tokengate serve: stopped"), "\(rest)")
        let ok = result["ok"] as? Int ?? 0
        #expect(ok > 0 && result["wrong"] as? Int == 0)
        #expect((result["http_errors"] as? [Int])?.isEmpty == true, "\(result)")
        let new = try Self.records(env.log).dropFirst(before)
        let started = try #require(new.first { $0.operation == "serve" && $0.outcome == .started })
        let close = try #require(new.last)
        #expect(close.operation == "serve" && close.outcome == .success && close.startedRecord == started.sequence, "the serve record is closed")
        let served = new.filter { $0.operation == "serve encode" && $0.details["aggregated"] == "true" }.reduce(0) { $0 + ($1.rowsIn ?? 0) }
        #expect(served == ok, "every request the server processed got its response to the client (\(served) processed, \(ok) received)")
        let (_, v) = try Gateway(keyringPath: env.keyringPath).verifyAudit()
        #expect(v.intact && v.unclosed.isEmpty, "\(v)")
    }

    /// An unauthenticated flood from eight connections: the denials are group-committed (one
    /// fsync for those arriving together), yet every one is its own record, none dropped or
    /// merged, each 403 sent after its record is durable.
    @Test func aDenialFloodIsAuditedOneRecordEach() throws {
        let env = try Self.env.get()
        let server = try TokengateServer.start(configPath: try Self.writeConfig(env, name: "flood"))
        var stopped = false
        defer { if !stopped { server.shutdown() } }
        let before = try Self.records(env.log).count
        let out = try Self.hvac(
            "load", "http://127.0.0.1:\(server.address.port)",
            ["token": "not-a-client", "role": "payments", "value": Self.cards[0], "expected": "", "threads": 8, "seconds": 1, "rounds": 2])
        server.shutdown()
        stopped = true
        let refused = try #require(out["http_errors"] as? [Int])
        // At least two rounds from each connection (`rounds`: a loaded 2-core CI machine manages
        // few fsyncs a second, so the load runs past its second until each has made them).
        #expect(
            refused.count >= 16 && refused.allSatisfy { $0 == 403 } && out["refused"] as? Int == 0,
            "\(refused.count) answered, codes \(Set(refused)), \(out["refused"] ?? "") refused connections")
        let denials = try Self.records(env.log).dropFirst(before).filter { $0.outcome == .failure && $0.details["code"] == "unauthenticated" }
        #expect(denials.count == refused.count, "one record per denial: \(denials.count) records, \(refused.count) refused")
        let (_, v) = try Gateway(keyringPath: env.keyringPath).verifyAudit()
        #expect(v.intact && v.unclosed.isEmpty, "\(v)")
    }

    @Test func aFailedAuditAppendStopsTheWork() throws {
        let env = try Self.env.get()
        let server = try TokengateServer.start(configPath: try Self.writeConfig(env, name: "auditfail"))
        let url = "http://127.0.0.1:\(server.address.port)"
        let encode = ["token": Self.tokens["encoder"]!, "path": "/v1/transform/encode/payments", "body": "{\"value\":\"\(Self.cards[0])\"}"]
        let denied = ["token": "wrong", "path": "/v1/transform/encode/payments", "body": "{}"]
        #expect(try Self.hvac("posts", url, ["requests": [encode]])["statuses"] as? [Int] == [200])
        // The log becomes unwritable (a folder in its place): the denial cannot be recorded, and
        // from then on the session refuses work instead of processing unaudited.
        try FileManager.default.moveItem(atPath: env.log, toPath: env.log + ".aside")
        try FileManager.default.createDirectory(atPath: env.log, withIntermediateDirectories: false)
        let statuses = try Self.hvac("posts", url, ["requests": [denied, encode]])["statuses"] as? [Int]
        try FileManager.default.removeItem(atPath: env.log)
        try FileManager.default.moveItem(atPath: env.log + ".aside", toPath: env.log)
        #expect(statuses == [403, 503])
        server.shutdown()
        let (_, v) = try Gateway(keyringPath: env.keyringPath).verifyAudit()
        #expect(v.intact, "\(v)")
    }

    @Test func configFailsClosed() throws {
        let env = try Self.env.get()
        let good = try String(contentsOfFile: try Self.writeConfig(env, name: "base"), encoding: .utf8)
        for (label, edit) in [
            ("plain HTTP off loopback", { (s: String) in s.replacingOccurrences(of: "127.0.0.1:0", with: "0.0.0.0:0") }),
            ("no TLS and no plain-http", { $0.replacingOccurrences(of: "plain-http: true", with: "") }),
            ("decode without decode-pin", { $0.replacingOccurrences(of: "decode-pin: { file: serve-detok.pin }", with: "") }),
            ("client without credential", { $0.replacingOccurrences(of: "token-sha256: \(try! Self.sha256(Self.tokens["encoder"]!)), ", with: "") }),
            ("unknown transformation", { $0.replacingOccurrences(of: "transformations: [card]", with: "transformations: [cards]") }),
        ] {
            try edit(good).write(toFile: env.dir + "/bad.yaml", atomically: true, encoding: .utf8)
            #expect(throws: ServerError(.config, ""), "\(label)") { _ = try ServerConfig.load(path: env.dir + "/bad.yaml") }
        }
        // A wrong detokenize PIN: the server refuses to start (decode roles need the grant).
        try "wrong-pin".write(toFile: env.dir + "/wrong.pin", atomically: true, encoding: .utf8)
        chmod(env.dir + "/wrong.pin", 0o600)
        try good.replacingOccurrences(of: "serve-detok.pin", with: "wrong.pin").write(toFile: env.dir + "/wrongpin.yaml", atomically: true, encoding: .utf8)
        #expect(throws: OperationError(.permissionDenied, "")) { _ = try TokengateServer.start(configPath: env.dir + "/wrongpin.yaml") }
    }
}
