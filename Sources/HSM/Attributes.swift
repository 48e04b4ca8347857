internal import CPKCS11

/// A PKCS#11 attribute type (`CKA_*`), named for the ones tokengate sets or reads.
public struct AttributeType: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt
    public let name: String
    public init(_ rawValue: UInt, _ name: String) {
        self.rawValue = rawValue
        self.name = name
    }
    public var description: String { name }
    public static func == (a: AttributeType, b: AttributeType) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }

    public static let objectClass = AttributeType(0x000, "CKA_CLASS")
    public static let token = AttributeType(0x001, "CKA_TOKEN")
    public static let `private` = AttributeType(0x002, "CKA_PRIVATE")
    public static let label = AttributeType(0x003, "CKA_LABEL")
    public static let value = AttributeType(0x011, "CKA_VALUE")
    public static let application = AttributeType(0x010, "CKA_APPLICATION")
    public static let keyType = AttributeType(0x100, "CKA_KEY_TYPE")
    public static let id = AttributeType(0x102, "CKA_ID")
    public static let sensitive = AttributeType(0x103, "CKA_SENSITIVE")
    public static let encrypt = AttributeType(0x104, "CKA_ENCRYPT")
    public static let decrypt = AttributeType(0x105, "CKA_DECRYPT")
    public static let wrap = AttributeType(0x106, "CKA_WRAP")
    public static let unwrap = AttributeType(0x107, "CKA_UNWRAP")
    public static let sign = AttributeType(0x108, "CKA_SIGN")
    public static let verify = AttributeType(0x10A, "CKA_VERIFY")
    public static let derive = AttributeType(0x10C, "CKA_DERIVE")
    public static let valueLen = AttributeType(0x161, "CKA_VALUE_LEN")
    public static let extractable = AttributeType(0x162, "CKA_EXTRACTABLE")
    public static let local = AttributeType(0x163, "CKA_LOCAL")
    public static let neverExtractable = AttributeType(0x164, "CKA_NEVER_EXTRACTABLE")
    public static let alwaysSensitive = AttributeType(0x165, "CKA_ALWAYS_SENSITIVE")
    public static let modifiable = AttributeType(0x170, "CKA_MODIFIABLE")
    public static let copyable = AttributeType(0x171, "CKA_COPYABLE")
    public static let destroyable = AttributeType(0x172, "CKA_DESTROYABLE")
    public static let allowedMechanisms = AttributeType(0x4000_0600, "CKA_ALLOWED_MECHANISMS")

    /// The boolean usage and custody attributes `keys list` reports.
    public static let custodyFlags: [AttributeType] = [
        .token, .private, .sensitive, .extractable, .modifiable, .alwaysSensitive, .neverExtractable,
        .encrypt, .decrypt, .wrap, .unwrap, .sign, .verify, .derive,
    ]
}

/// Object classes and key types (`CKO_*`, `CKK_*`).
public enum ObjectClass: UInt, Sendable {
    case data = 0
    case secretKey = 4
}
public enum KeyType: UInt, Sendable {
    case genericSecret = 0x10
    case aes = 0x1F
}

/// A mechanism type (`CKM_*`).
public struct MechanismType: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    public static let aesKeyGen = MechanismType(rawValue: 0x1080)
    public static let aesECB = MechanismType(rawValue: 0x1081)
    public static let aesGCM = MechanismType(rawValue: 0x1087)
    public static let aesCMAC = MechanismType(rawValue: 0x108A)
    public static let sha256HMAC = MechanismType(rawValue: 0x251)
    public static let genericSecretKeyGen = MechanismType(rawValue: 0x350)

    public var description: String {
        switch self {
        case .aesKeyGen: "CKM_AES_KEY_GEN"
        case .aesECB: "CKM_AES_ECB"
        case .aesGCM: "CKM_AES_GCM"
        case .aesCMAC: "CKM_AES_CMAC"
        case .sha256HMAC: "CKM_SHA256_HMAC"
        case .genericSecretKeyGen: "CKM_GENERIC_SECRET_KEY_GEN"
        default: "CKM_0x" + String(rawValue, radix: 16)
        }
    }
}

/// One attribute with its value encoded as the module expects it.
public struct Attribute: Sendable {
    public let type: AttributeType
    public let bytes: [UInt8]

    public init(_ type: AttributeType, bytes: [UInt8]) {
        self.type = type
        self.bytes = bytes
    }
    public static func bool(_ t: AttributeType, _ v: Bool) -> Attribute { Attribute(t, bytes: [v ? 1 : 0]) }
    public static func ulong(_ t: AttributeType, _ v: UInt) -> Attribute {
        Attribute(t, bytes: withUnsafeBytes(of: CK_ULONG(v)) { Array($0) })
    }
    public static func string(_ t: AttributeType, _ v: String) -> Attribute { Attribute(t, bytes: Array(v.utf8)) }
    public static func objectClass(_ c: ObjectClass) -> Attribute { .ulong(.objectClass, c.rawValue) }
    public static func keyType(_ k: KeyType) -> Attribute { .ulong(.keyType, k.rawValue) }
    public static func mechanisms(_ ms: [MechanismType]) -> Attribute {
        var out: [UInt8] = []
        for m in ms { withUnsafeBytes(of: CK_MECHANISM_TYPE(m.rawValue)) { out.append(contentsOf: $0) } }
        return Attribute(.allowedMechanisms, bytes: out)
    }
}

/// Decoding of attribute values read back from the module.
public enum AttributeValue {
    public static func bool(_ b: [UInt8]?) -> Bool? { b.flatMap { $0.count == 1 ? $0[0] != 0 : nil } }
    public static func ulong(_ b: [UInt8]?) -> UInt? {
        guard let b, b.count == MemoryLayout<CK_ULONG>.size else { return nil }
        return UInt(b.withUnsafeBytes { $0.loadUnaligned(as: CK_ULONG.self) })
    }
    public static func string(_ b: [UInt8]?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }
    public static func mechanisms(_ b: [UInt8]?) -> [MechanismType]? {
        guard let b, b.count % MemoryLayout<CK_MECHANISM_TYPE>.size == 0 else { return nil }
        return b.withUnsafeBytes { raw in
            (0..<(b.count / MemoryLayout<CK_MECHANISM_TYPE>.size)).map {
                MechanismType(rawValue: UInt(raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<CK_MECHANISM_TYPE>.size, as: CK_MECHANISM_TYPE.self)))
            }
        }
    }
}

/// Calls `body` with a `CK_ATTRIBUTE` array whose values point into one buffer that lives for
/// the duration of the call.
func withTemplate<R>(_ attrs: [Attribute], _ body: (UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG) throws -> R) rethrows -> R {
    var storage: [UInt8] = attrs.flatMap(\.bytes)
    // The template may carry secret values (a CKA_VALUE): wiped with OPENSSL_cleanse, which the
    // optimizer cannot drop as a dead store the way it may drop a plain zeroing loop.
    defer { zeroize(&storage) }
    return try storage.withUnsafeMutableBytes { raw in
        var template: [CK_ATTRIBUTE] = []
        template.reserveCapacity(attrs.count)
        var offset = 0
        for a in attrs {
            let p = a.bytes.isEmpty ? nil : raw.baseAddress!.advanced(by: offset)
            template.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(a.type.rawValue), pValue: p, ulValueLen: CK_ULONG(a.bytes.count)))
            offset += a.bytes.count
        }
        return try template.withUnsafeMutableBufferPointer { try body($0.baseAddress, CK_ULONG($0.count)) }
    }
}
