import Crypto
import Foundation
import HSM
import Keyring
import TestSupport
import Testing

/// Custody at every use (issue 12, item 3): a key planted on the token under the next version's
/// label with weak attributes is shown by `keys list` but refused by every operation that would
/// use it; once it is retired the keyring falls back to the compliant version.
@Suite struct CustodyAtEveryUse {
    /// Creates `tokengate/<purpose>/<name>/v<version>` with CKA_SENSITIVE false and CKA_EXTRACTABLE
    /// true (an attacker's or a careless tool's key), with the purpose's usage flags.
    func plant(_ kr: Keyring, _ ref: KeyRef, version: Int) throws {
        let policy = CustodyPolicy.of(ref.purpose)
        var template: [Attribute] = [
            .objectClass(.secretKey), .keyType(.aes), .string(.label, ref.label(version: version)),
            Attribute(.id, bytes: try SecureRandom.bytes(16)),
            .bool(.token, true), .bool(.private, true), .bool(.sensitive, false), .bool(.extractable, true), .bool(.modifiable, false),
        ]
        for f in [AttributeType.encrypt, .decrypt, .wrap, .unwrap, .sign, .verify, .derive] { template.append(.bool(f, policy.usage.contains(f))) }
        let key = try SecretBytes.random(count: 32)
        _ = try kr.token(ref.purpose).withSession { s in try s.importSecretKey(value: key, template: template) }
    }

    @Test func aPlantedWeakVersionIsListedButNeverUsed() throws {
        let kr = try makeKeyring("plant")
        try kr.initialize()
        let inUse = KeyRef(.inUse, "plant-a"), atRest = KeyRef(.atRest, "plant-a")
        _ = try kr.tokenizationKey(domain: "plant-a")  // v1 is fine
        try plant(kr, inUse, version: 2)
        try plant(kr, atRest, version: 2)

        let listed = try kr.list().filter { $0.label.hasSuffix("/plant-a/v2") }
        #expect(listed.count == 2 && listed.allSatisfy { !$0.custodyViolations.isEmpty })
        #expect(throws: KeyringError(.custodyViolation, "")) { _ = try kr.tokenizationKey(domain: "plant-a") }
        #expect(throws: KeyringError(.custodyViolation, "")) { _ = try kr.generateDataKey(atRest, context: Array("c".utf8)) }
        do {
            _ = try kr.tokenizationKey(domain: "plant-a")
        } catch let e as KeyringError {
            #expect(e.reason.contains("tokengate/in-use/plant-a/v2") && e.reason.contains("CKA_SENSITIVE"), "\(e.reason)")
        }
        // An explicit version that is compliant stays usable (detokenizing old data).
        #expect(try kr.tokenizationKey(domain: "plant-a", version: 1).version == 1)

        // The planted primary can be retired (it is unusable anyway); v1 is primary again.
        try kr.retire(inUse, version: 2)
        try kr.retire(atRest, version: 2)
        #expect(try kr.tokenizationKey(domain: "plant-a").version == 1)
        _ = try kr.generateDataKey(atRest, context: Array("c".utf8))
        // A compliant primary still cannot be retired.
        try kr.rotate(inUse)
        #expect(throws: KeyringError(.retirePrimary, "")) { try kr.retire(inUse, version: 2) }
    }
}
