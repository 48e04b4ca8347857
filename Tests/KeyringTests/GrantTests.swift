import Crypto
import Foundation
import Keyring
import SystemIO
import TestSupport
import Testing

/// The detokenize grant lives with the keys (issue 12, item 1): it is honoured only from a
/// keyring config the caller cannot change, for the users it names, with the right PIN.
@Suite struct DetokenizeGrants {
    static func config(_ grant: String?, mode: Int = 0o644, owner: UInt32? = nil) throws -> String {
        let dir = SoftHSMFixture.shared.directory + "/grants-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var yaml = """
            version: 1
            module: \(SoftHSMFixture.shared.modulePath)
            purposes:
              in-use: { token: tg-test-in-use, pin: { env: TG_UNUSED }, keys: [pan] }

            """
        if let grant { yaml += "grants:\n  detokenize: \(grant)\n" }
        let path = dir + "/keyring.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        if let owner { #expect(chown(path, owner, owner) == 0) }
        return path
    }

    static func verifier(_ pin: String) throws -> String {
        var bytes = Array(pin.utf8)
        return try DetokenizeGrant.verifier(for: SecretBytes(consumingArray: &bytes))
    }

    static func pinFile(_ pin: String) throws -> PINSource {
        .file(try SoftHSMFixture.shared.writePINFile(name: "grant-\(UUID().uuidString)", pin: pin))
    }

    static func refusal(_ path: String, pin: PINSource) -> String? {
        do {
            _ = try KeyringConfig.load(path: path).authorizeDetokenize(pin: pin, relativeTo: "/")
            return nil
        } catch let e as KeyringError {
            return e.code == .permissionDenied ? e.reason : "\(e)"
        } catch {
            return "\(error)"
        }
    }

    @Test func theCustodiansGrantAdmitsTheRightPINOnly() throws {
        let v = try Self.verifier("approver-4471")
        #expect(v.hasPrefix("pbkdf2-sha256$200000$") && !v.contains("approver"))
        let good = try Self.pinFile("approver-4471")
        let path = try Self.config("{ pin-verifier: '\(v)' }")
        let auth = try KeyringConfig.load(path: path).authorizeDetokenize(pin: good, relativeTo: "/")
        #expect(auth.grantSource == URL(fileURLWithPath: path).standardizedFileURL.path)
        #expect(Self.refusal(path, pin: try Self.pinFile("guess"))?.contains("wrong detokenize PIN") == true)
        #expect(throws: KeyringError(.pinUnavailable, "")) {
            _ = try KeyringConfig.load(path: path).authorizeDetokenize(pin: .environment("TG_UNSET_DETOK_PIN"), relativeTo: "/")
        }
    }

    @Test func noGrantNoDetokenize() throws {
        let why = Self.refusal(try Self.config(nil), pin: try Self.pinFile("x"))
        #expect(why?.contains("has no grants.detokenize") == true, "\(why ?? "admitted")")
    }

    /// A grant in a file others can write binds nobody, root included.
    @Test func aWritableConfigGrantsNothing() throws {
        let v = try Self.verifier("approver")
        for mode in [0o664, 0o646, 0o666] {
            let why = Self.refusal(try Self.config("{ pin-verifier: '\(v)' }", mode: mode), pin: try Self.pinFile("approver"))
            #expect(why?.contains("writable by group or others") == true, "mode \(String(mode, radix: 8)): \(why ?? "admitted")")
        }
        // Read-only for others, owned by another (custodian) account: binds.
        #expect(Self.refusal(try Self.config("{ pin-verifier: '\(v)' }", mode: 0o640, owner: 65534), pin: try Self.pinFile("approver")) == nil)
    }

    /// The trust rule itself, for callers this test process (root in CI) cannot be: a caller who
    /// owns the file could edit it; root and other custodian accounts may own it.
    @Test func aCallerCannotBeTheirOwnCustodian() {
        #expect(GrantTrust.refusal(owner: 1000, mode: 0o644, caller: 1000)?.contains("owned by the caller") == true)
        #expect(GrantTrust.refusal(owner: 1000, mode: 0o600, caller: 1000) != nil)
        #expect(GrantTrust.refusal(owner: 0, mode: 0o644, caller: 1000) == nil)
        #expect(GrantTrust.refusal(owner: 2000, mode: 0o640, caller: 1000) == nil)
        #expect(GrantTrust.refusal(owner: 0, mode: 0o664, caller: 1000) != nil)
        #expect(GrantTrust.refusal(owner: 0, mode: 0o600, caller: 0) == nil)
        #expect(GrantTrust.refusal(owner: 0, mode: 0o602, caller: 0) != nil)
    }

    @Test func theGrantNamesItsUsers() throws {
        let v = try Self.verifier("approver")
        let me = ProcessIdentity.userName(ProcessIdentity.effectiveUserID) ?? "\(ProcessIdentity.effectiveUserID)"
        let pin = try Self.pinFile("approver")
        #expect(Self.refusal(try Self.config("{ pin-verifier: '\(v)', users: [\(me)] }"), pin: pin) == nil)
        #expect(Self.refusal(try Self.config("{ pin-verifier: '\(v)', users: ['\(ProcessIdentity.effectiveUserID)'] }"), pin: pin) == nil)
        let why = Self.refusal(try Self.config("{ pin-verifier: '\(v)', users: [alice, bob] }"), pin: pin)
        #expect(why?.contains("is not among the grant's users") == true, "\(why ?? "admitted")")
    }

    @Test func aMalformedVerifierIsAConfigError() throws {
        #expect(throws: KeyringError(.configInvalid, "")) {
            _ = try KeyringConfig.load(path: try Self.config("{ pin-verifier: 'sha1$1$00$00' }"))
        }
    }
}
