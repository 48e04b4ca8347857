public import HSM

/// The custody template of each purpose: key type, generation mechanism, the only usage flags it
/// needs, and the mechanisms it may be used with.
public struct CustodyPolicy: Sendable {
    public let keyType: KeyType
    public let generation: MechanismType
    public let valueLength: UInt
    /// Usage flags set to true; every other usage flag is set to false explicitly.
    public let usage: Set<AttributeType>
    public let allowedMechanisms: [MechanismType]

    static let usageFlags: [AttributeType] = [.encrypt, .decrypt, .wrap, .unwrap, .sign, .verify, .derive]

    public static func of(_ purpose: KeyPurpose) -> CustodyPolicy {
        switch purpose {
        case .atRest, .inTransit:
            // Key-encryption keys: AES-GCM encrypt/decrypt of data keys inside the HSM.
            CustodyPolicy(
                keyType: .aes, generation: .aesKeyGen, valueLength: 32,
                usage: [.encrypt, .decrypt], allowedMechanisms: [.aesGCM])
        case .inUse:
            // Tokenization keys: AES-ECB of FPE round blocks (custody: hsm) and AES-CMAC for the
            // SP 800-108 subkey derivation (custody: derived). Never decrypt: FF1/FF3-1 only use
            // the forward cipher.
            CustodyPolicy(
                keyType: .aes, generation: .aesKeyGen, valueLength: 32,
                usage: [.encrypt, .sign], allowedMechanisms: [.aesECB, .aesCMAC])
        case .audit:
            CustodyPolicy(
                keyType: .genericSecret, generation: .genericSecretKeyGen, valueLength: 32,
                usage: [.sign, .verify], allowedMechanisms: [.sha256HMAC])
        }
    }

    /// The full creation template of a key version.
    func template(label: String, id: [UInt8], withAllowedMechanisms: Bool) -> [Attribute] {
        var t: [Attribute] = [
            .objectClass(.secretKey),
            .keyType(keyType),
            .ulong(.valueLen, valueLength),
            .string(.label, label),
            Attribute(.id, bytes: id),
            .bool(.token, true),
            .bool(.private, true),
            .bool(.sensitive, true),
            .bool(.extractable, false),
            .bool(.modifiable, false),
        ]
        for flag in CustodyPolicy.usageFlags { t.append(.bool(flag, usage.contains(flag))) }
        if withAllowedMechanisms { t.append(.mechanisms(allowedMechanisms)) }
        return t
    }

    /// The metadata object stored beside each key version: a private, unmodifiable `CKO_DATA`
    /// object labelled `<key label>/meta` whose value is JSON (`{"created": ISO-8601}`).
    /// (SoftHSM2 2.6 cannot read back `CKA_START_DATE`, and a day is too coarse for an audit trail.)
    static func metadataTemplate(keyLabel: String, json: [UInt8]) -> [Attribute] {
        [
            .objectClass(.data), .string(.label, keyLabel + "/meta"), .string(.application, "tokengate"),
            .bool(.token, true), .bool(.private, true), .bool(.modifiable, false), Attribute(.value, bytes: json),
        ]
    }

    /// The violations that describe a key's history rather than what it can do now
    /// (`CKA_ALWAYS_SENSITIVE` / `CKA_NEVER_EXTRACTABLE` false: the key was imported, or was once
    /// extractable). `keys list` reports them; using the key is not refused for them alone.
    public static func isProvenanceOnly(_ violation: String) -> Bool {
        violation.hasPrefix("\(AttributeType.alwaysSensitive) ") || violation.hasPrefix("\(AttributeType.neverExtractable) ")
    }

    /// Checks attributes read back from the HSM against this policy; returns the violations.
    public func violations(_ attrs: [AttributeType: [UInt8]]) -> [String] {
        var out: [String] = []
        func expect(_ t: AttributeType, _ v: Bool) {
            let got = AttributeValue.bool(attrs[t])
            if got != v { out.append("\(t) is \(got.map { "\($0)" } ?? "unreadable"), expected \(v)") }
        }
        expect(.token, true)
        expect(.private, true)
        expect(.sensitive, true)
        expect(.extractable, false)
        expect(.modifiable, false)
        expect(.alwaysSensitive, true)
        expect(.neverExtractable, true)
        for flag in CustodyPolicy.usageFlags { expect(flag, usage.contains(flag)) }
        if let mechs = AttributeValue.mechanisms(attrs[.allowedMechanisms]), !mechs.isEmpty,
            Set(mechs) != Set(allowedMechanisms)
        {
            out.append("CKA_ALLOWED_MECHANISMS is \(mechs), expected \(allowedMechanisms)")
        }
        return out
    }
}
