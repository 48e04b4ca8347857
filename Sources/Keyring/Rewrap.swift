public import Crypto
import HSM

extension Keyring {
    /// Wraps the same data key again under the primary version of the key that wrapped it.
    ///
    /// The key is unwrapped inside the HSM with the version named in `wrapped`, then wrapped by the
    /// primary version with the same `context`; the plaintext key lives only in zeroizing memory.
    /// - Returns: the new envelope, or nil when `wrapped` already names the primary version
    ///   (nothing to do).
    /// - Throws: as ``unwrapDataKey(_:purpose:context:)``.
    public func rewrapDataKey(_ wrapped: WrappedDataKey, purpose: KeyPurpose, context: [UInt8]) throws -> WrappedDataKey? {
        guard wrapped.purpose == purpose, Keyring.wrappingPurposes.contains(purpose) else {
            throw KeyringError(.wrongPurpose, "data key is wrapped by a \(wrapped.purpose) key, not a \(purpose) key")
        }
        let primary = try primary(wrapped.ref)
        if primary.version == wrapped.keyVersion && constantTimeEqual(primary.idBytes, wrapped.keyID) { return nil }
        let secret = try unwrapDataKey(wrapped, purpose: purpose, context: context)
        return try wrapDataKey(secret, with: primary, ref: wrapped.ref, context: context)
    }

    /// Wraps an in-process data key with one version of an at-rest or in-transit key (AES-GCM in the HSM).
    func wrapDataKey(_ secret: borrowing SecretBytes, with key: KeyInfo, ref: KeyRef, context: [UInt8]) throws -> WrappedDataKey {
        guard secret.count == WrappedDataKey.dataKeyLength else {
            throw KeyringError(.envelopeInvalid, "data key must be \(WrappedDataKey.dataKeyLength) bytes")
        }
        let handle = try handle(of: key, for: ref.purpose)
        let (iv, sealed): ([UInt8], [UInt8]) = try token(ref.purpose).withSession { s in
            let iv = try s.randomBytes(12)
            let draft = WrappedDataKey(
                purpose: ref.purpose, keyName: ref.name, keyVersion: key.version,
                keyID: key.idBytes, iv: iv, sealed: [])
            var out = [UInt8](repeating: 0, count: WrappedDataKey.dataKeyLength + 16)
            let n = try secret.withUnsafeBytes { k in
                try out.withUnsafeMutableBytes { o in
                    try s.encrypt(.aesGCM(iv: iv, aad: draft.aad(context: context)), key: handle, input: k, output: o)
                }
            }
            guard n == out.count else {
                throw KeyringError(.envelopeInvalid, "HSM returned \(n) bytes for a wrapped data key, expected \(out.count)")
            }
            return (iv, out)
        }
        return WrappedDataKey(
            purpose: ref.purpose, keyName: ref.name, keyVersion: key.version,
            keyID: key.idBytes, iv: iv, sealed: sealed)
    }
}

extension Keyring {
    /// Wraps a data key the caller holds (for example one pyarrow drew for a Parquet Modular
    /// Encryption file) under the primary version of `ref`, an at-rest or in-transit key, by
    /// AES-GCM inside the HSM.
    /// - Throws: ``KeyringError/Code/wrongPurpose`` for in-use or audit keys.
    public func wrapDataKey(_ secret: borrowing SecretBytes, ref: KeyRef, context: [UInt8]) throws -> WrappedDataKey {
        guard Keyring.wrappingPurposes.contains(ref.purpose) else {
            throw KeyringError(.wrongPurpose, "\(ref) is a \(ref.purpose) key: only at-rest and in-transit keys wrap data keys")
        }
        return try wrapDataKey(secret, with: try primary(ref), ref: ref, context: context)
    }
}
