public import Crypto
public import HSM

/// A 256-bit data key wrapped (AES-256-GCM inside the HSM) by an at-rest or in-transit key.
///
/// Serialized layout (all integers big-endian), version 1:
/// ```
/// "TGWK" | format 0x01 | purpose code (1) | name length (1) | name (UTF-8)
///        | key version (4) | key CKA_ID (16) | IV (12) | ciphertext (32) | GCM tag (16)
/// ```
/// The GCM additional data is `"tokengate/dek/v1" ‖ everything before the IV ‖ context length (4) ‖
/// context`, so a wrapped key only unwraps under the same purpose, key, version and caller context.
public struct WrappedDataKey: Sendable, Equatable {
    public static let formatVersion: UInt8 = 1
    static let magic: [UInt8] = Array("TGWK".utf8)
    public static let dataKeyLength = 32

    public let purpose: KeyPurpose
    public let keyName: String
    public let keyVersion: Int
    public let keyID: [UInt8]
    public let iv: [UInt8]
    /// Ciphertext followed by the 16-byte tag.
    public let sealed: [UInt8]

    public var ref: KeyRef { KeyRef(purpose, keyName) }

    var header: [UInt8] {
        var h = WrappedDataKey.magic + [WrappedDataKey.formatVersion, purpose.code, UInt8(keyName.utf8.count)]
        h += Array(keyName.utf8)
        h += bigEndian32(UInt32(keyVersion))
        h += keyID
        return h
    }

    public var serialized: [UInt8] { header + iv + sealed }

    init(purpose: KeyPurpose, keyName: String, keyVersion: Int, keyID: [UInt8], iv: [UInt8], sealed: [UInt8]) {
        self.purpose = purpose
        self.keyName = keyName
        self.keyVersion = keyVersion
        self.keyID = keyID
        self.iv = iv
        self.sealed = sealed
    }

    /// Parses a serialized envelope.
    public init(serialized b: [UInt8]) throws {
        func bad(_ why: String) -> KeyringError { KeyringError(.envelopeInvalid, "wrapped data key is malformed: \(why)") }
        guard b.count >= 7, Array(b[0..<4]) == WrappedDataKey.magic else { throw bad("bad magic") }
        guard b[4] == WrappedDataKey.formatVersion else { throw bad("unsupported format version \(b[4])") }
        guard let p = KeyPurpose(code: b[5]) else { throw bad("unknown purpose code \(b[5])") }
        let n = Int(b[6])
        let expected = 7 + n + 4 + 16 + 12 + WrappedDataKey.dataKeyLength + 16
        guard b.count == expected else { throw bad("length \(b.count), expected \(expected)") }
        let name = String(decoding: b[7..<(7 + n)], as: UTF8.self)
        guard KeyRef.isValidName(name) else { throw bad("invalid key name") }
        var o = 7 + n
        let version = Int(UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3]))
        o += 4
        self.init(
            purpose: p, keyName: name, keyVersion: version, keyID: Array(b[o..<(o + 16)]),
            iv: Array(b[(o + 16)..<(o + 28)]), sealed: Array(b[(o + 28)...]))
    }

    func aad(context: [UInt8]) -> [UInt8] {
        Array("tokengate/dek/v1".utf8) + header + bigEndian32(UInt32(context.count)) + context
    }
}

/// A fresh data key in process memory together with its wrapped form.
public struct DataKey: ~Copyable {
    public let secret: SecretBytes
    public let wrapped: WrappedDataKey
}

extension Keyring {
    static let wrappingPurposes: Set<KeyPurpose> = [.atRest, .inTransit]

    /// Draws a random 256-bit data key from the HSM's RNG and wraps it with the primary version of
    /// `ref` (an at-rest or in-transit key) by AES-GCM inside the HSM.
    ///
    /// - Parameter context: caller context bound into the wrap (e.g. a file id); the same bytes are
    ///   needed to unwrap.
    /// - Throws: ``KeyringError/Code/wrongPurpose`` for in-use or audit keys.
    public func generateDataKey(_ ref: KeyRef, context: [UInt8]) throws -> DataKey {
        guard Keyring.wrappingPurposes.contains(ref.purpose) else {
            throw KeyringError(.wrongPurpose, "\(ref) is a \(ref.purpose) key: only at-rest and in-transit keys wrap data keys")
        }
        let key = try primary(ref)
        var secret = SecretBytes(zeroedCount: WrappedDataKey.dataKeyLength)
        try token(ref.purpose).withSession { s in try secret.withUnsafeMutableBytes { try s.generateRandom($0) } }
        let wrapped = try wrapDataKey(secret, with: key, ref: ref, context: context)
        return DataKey(secret: secret, wrapped: wrapped)
    }

    /// Unwraps a data key inside the HSM.
    ///
    /// - Parameters:
    ///   - purpose: the purpose the caller expects (a wrapped in-transit key is refused where an
    ///     at-rest key is expected).
    ///   - context: the context given when it was wrapped.
    /// - Throws: ``KeyringError/Code/wrongPurpose``, ``KeyringError/Code/versionNotFound`` (the
    ///   version was retired), ``KeyringError/Code/unwrapFailed`` (wrong context, tampered
    ///   envelope, or a different key with that label).
    public func unwrapDataKey(_ wrapped: WrappedDataKey, purpose: KeyPurpose, context: [UInt8]) throws -> SecretBytes {
        guard wrapped.purpose == purpose else {
            throw KeyringError(.wrongPurpose, "data key is wrapped by a \(wrapped.purpose) key, not a \(purpose) key")
        }
        guard Keyring.wrappingPurposes.contains(purpose) else {
            throw KeyringError(.wrongPurpose, "\(purpose) keys do not wrap data keys")
        }
        try checkConfigured(wrapped.ref)
        let key: KeyInfo
        do {
            key = try version(wrapped.ref, wrapped.keyVersion)
        } catch let e as KeyringError where e.code == .versionNotFound {
            throw KeyringError(
                .versionNotFound,
                "cannot unwrap: \(wrapped.ref.label(version: wrapped.keyVersion)) is retired or absent from token '\(try config.purpose(purpose).token)'")
        }
        guard constantTimeEqual(key.idBytes, wrapped.keyID) else {
            throw KeyringError(.unwrapFailed, "cannot unwrap: \(key.label) on the token has id \(key.id), the data key names \(hexEncode(wrapped.keyID))")
        }
        let handle = try handle(of: key, for: purpose)
        var secret = SecretBytes(zeroedCount: WrappedDataKey.dataKeyLength)
        try token(purpose).withSession { s in
            // Output buffer as large as the input (some modules ask for that much); copy the key out.
            var out = SecretBytes(zeroedCount: wrapped.sealed.count)
            let n: Int
            do {
                n = try wrapped.sealed.withUnsafeBytes { i in
                    try out.withUnsafeMutableBytes { o in
                        try s.decrypt(.aesGCM(iv: wrapped.iv, aad: wrapped.aad(context: context)), key: handle, input: i, output: o)
                    }
                }
            } catch let e as HSMError where e.code == .authenticationFailed {
                throw KeyringError(.unwrapFailed, "cannot unwrap data key with \(key.label): authentication failed (wrong context or tampered envelope)")
            }
            guard n == WrappedDataKey.dataKeyLength else {
                throw KeyringError(.unwrapFailed, "unwrapped data key has \(n) bytes, expected \(WrappedDataKey.dataKeyLength)")
            }
            out.withUnsafeBytes { src in
                secret.withUnsafeMutableBytes { dst in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<n])) }
            }
        }
        return secret
    }
}

func bigEndian32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in Crypto.constantTimeEqual(x, y) } }
}
