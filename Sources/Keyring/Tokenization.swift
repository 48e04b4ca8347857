public import Crypto
public import HSM

/// AES-ECB over many independent blocks with an in-use key that never leaves the HSM: each call is
/// one PKCS#11 `C_Encrypt` (`CKM_AES_ECB`) over all the blocks of a batch (chunked at
/// ``maxBytesPerCall``), so an FPE round costs one HSM call per batch, not one per value.
///
/// Not thread-safe (it reuses one scratch buffer): give each worker its own instance. Each call
/// borrows a session from the token's pool.
public final class HSMBlockCipher {
    public let token: Token
    public let key: ObjectHandle
    /// The key's label, for error messages.
    public let label: String
    /// Largest input per `C_Encrypt` call (default 1 MiB).
    public let maxBytesPerCall: Int
    private var scratch: [UInt8] = []

    public init(token: Token, key: ObjectHandle, label: String, maxBytesPerCall: Int = 1 << 20) {
        self.token = token
        self.key = key
        self.label = label
        self.maxBytesPerCall = max(16, maxBytesPerCall & ~15)
    }

    /// Encrypts `blocks.count / 16` independent blocks in place.
    public func encryptBlocks(_ blocks: UnsafeMutableRawBufferPointer) throws {
        guard blocks.count % 16 == 0 else {
            throw HSMError(.invalidInput, "AES-ECB in the HSM needs whole 16-byte blocks, got \(blocks.count) bytes (\(label))")
        }
        guard blocks.count > 0 else { return }
        if scratch.count < min(blocks.count, maxBytesPerCall) {
            scratch.withUnsafeMutableBytes { Crypto.zeroize($0) }
            scratch = [UInt8](repeating: 0, count: min(blocks.count, maxBytesPerCall))
        }
        // The scratch holds round outputs derived from the values being tokenized: wiped after
        // every call, not only on release.
        defer { scratch.withUnsafeMutableBytes { Crypto.zeroize(UnsafeMutableRawBufferPointer(rebasing: $0[0..<min(blocks.count, maxBytesPerCall)])) } }
        try token.withSession { s in
            var offset = 0
            while offset < blocks.count {
                let n = min(maxBytesPerCall, blocks.count - offset)
                let chunk = UnsafeRawBufferPointer(rebasing: blocks[offset..<(offset + n)])
                let written = try scratch.withUnsafeMutableBytes { out in
                    try s.encrypt(.aesECB, key: key, input: chunk, output: UnsafeMutableRawBufferPointer(rebasing: out[0..<n]))
                }
                guard written == n else {
                    throw HSMError(.deviceError, "HSM returned \(written) bytes of AES-ECB output for \(n) (\(label))")
                }
                scratch.withUnsafeBytes { out in
                    UnsafeMutableRawBufferPointer(rebasing: blocks[offset..<(offset + n)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: out[0..<n]))
                }
                offset += n
            }
        }
    }

    deinit { scratch.withUnsafeMutableBytes { Crypto.zeroize($0) } }
}

extension HSMBlockCipher: BatchBlockCipher {}

/// How a tokenization (in-use) key is applied.
public enum Custody: String, Sendable, Codable, CaseIterable {
    /// The key never leaves the HSM: every FPE round is one `C_Encrypt` per batch.
    case hsm
    /// An AES-256 subkey is derived inside the HSM (NIST SP 800-108 counter-mode KDF with AES-CMAC as
    /// PRF, label naming domain and version) and held only in process memory (zeroizing); AES runs in
    /// OpenSSL. Tokens differ from `hsm` custody for the same key: it is a different effective key.
    case derived
}

extension Keyring {
    /// The in-use key version for tokenizing (`version == nil`: the primary) or detokenizing (any
    /// existing version).
    public func tokenizationKey(domain: String, version: Int? = nil) throws -> KeyInfo {
        let ref = KeyRef(.inUse, domain)
        try checkConfigured(ref)
        return try version.map { try self.version(ref, $0) } ?? primary(ref)
    }

    /// An HSM-resident block cipher for an in-use key version.
    public func hsmBlockCipher(_ key: KeyInfo) throws -> HSMBlockCipher {
        let handle = try handle(of: key, for: .inUse)
        return HSMBlockCipher(token: try token(.inUse), key: handle, label: key.label)
    }

    /// The block cipher of an in-use key version in the given custody mode: the HSM-resident key
    /// (`hsm`) or OpenSSL AES under the HSM-derived subkey (`derived`; the subkey lives only in the
    /// cipher context, the intermediate buffer is zeroized).
    ///
    /// For FF3-1 the block cipher's key is regarded as `REVB(K)`: the HSM key (or subkey) *is* the
    /// reversed FF3-1 key, so no reversal is needed and `K` never exists anywhere.
    public func blockCipher(_ key: KeyInfo, custody: Custody) throws -> any BatchBlockCipher {
        switch custody {
        case .hsm: return try hsmBlockCipher(key)
        case .derived:
            let sub = try deriveSubkey(key)
            return try sub.withUnsafeBytes { try AESECB(key: $0) }
        }
    }

    /// Label of the SP 800-108 derivation (fixed; the context carries domain and version).
    static let subkeyLabel = Array("tokengate/fpe-subkey/v1".utf8)

    /// Derives the 256-bit FPE subkey of an in-use key version inside the HSM:
    /// `K(i) = AES-CMAC(key, [i]₃₂ ‖ "tokengate/fpe-subkey/v1" ‖ 0x00 ‖ domain ‖ 0x00 ‖ [version]₃₂ ‖ [256]₃₂)`
    /// for i = 1, 2 (NIST SP 800-108r1 counter mode), concatenated. The result lives only in the
    /// returned zeroizing buffer.
    public func deriveSubkey(_ key: KeyInfo) throws -> SecretBytes {
        let handle = try handle(of: key, for: .inUse)
        var out = SecretBytes(zeroedCount: 32)
        try token(.inUse).withSession { s in
            for i in 1...2 {
                let input =
                    bigEndian32(UInt32(i)) + Keyring.subkeyLabel + [0] + Array(key.name.utf8) + [0]
                    + bigEndian32(UInt32(key.version)) + bigEndian32(256)
                let n = try input.withUnsafeBytes { d in
                    try out.withUnsafeMutableBytes { o in
                        try s.sign(.aesCMAC, key: handle, data: d, output: UnsafeMutableRawBufferPointer(rebasing: o[((i - 1) * 16)..<(i * 16)]))
                    }
                }
                guard n == 16 else { throw HSMError(.deviceError, "AES-CMAC returned \(n) bytes, expected 16 (\(key.label))") }
            }
        }
        return out
    }
}
