internal import COpenSSL

/// AES-256-GCM in process (OpenSSL) for sealing frames: 12-byte nonce, additional data, 16-byte tag.
///
/// One instance holds one initialized context for one key and is reused for every frame; it is not
/// safe to use from two threads at once (give each worker its own).
public final class AESGCM {
    private let ctx: OpaquePointer
    public static let nonceSize = 12
    public static let tagSize = 16

    /// - Parameter key: 32 bytes.
    public init(key: borrowing SecretBytes) throws {
        guard key.count == 32 else { throw CryptoError(.invalidKeySize, "AES-256-GCM key must be 32 bytes, got \(key.count)") }
        guard let cipher = Ciphers.aes256GCM else { throw CryptoError.openSSL("EVP_CIPHER_fetch(AES-256-GCM)") }
        guard let c = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        let ok = key.withUnsafeBytes { k in
            EVP_CipherInit_ex2(c, cipher, k.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, 1, nil)
        }
        guard ok == 1 else {
            EVP_CIPHER_CTX_free(c)
            throw CryptoError.openSSL("EVP_CipherInit_ex2(AES-256-GCM)")
        }
        ctx = c
    }

    /// Encrypts `plaintext` into `output` (same length) and returns the tag. Nonce and additional
    /// data are small, non-secret byte arrays.
    public func seal(
        nonce: [UInt8], aad: [UInt8], plaintext: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws -> [UInt8] {
        try start(nonce: nonce, aad: aad, encrypt: true)
        try update(plaintext, output)
        var outLen: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 16)
        guard EVP_CipherFinal_ex(ctx, &scratch, &outLen) == 1 else { throw CryptoError.openSSL("EVP_CipherFinal_ex(seal)") }
        var tag = [UInt8](repeating: 0, count: AESGCM.tagSize)
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(AESGCM.tagSize), &tag) == 1 else {
            throw CryptoError.openSSL("EVP_CIPHER_CTX_ctrl(GET_TAG)")
        }
        return tag
    }

    /// Decrypts and authenticates; `output` is written only if the tag verifies (it is zeroed otherwise).
    /// - Throws: ``CryptoError/Code/authenticationFailed`` for a wrong key, nonce, AAD, tag or ciphertext.
    public func open(
        nonce: [UInt8], aad: [UInt8], ciphertext: UnsafeRawBufferPointer,
        tag: [UInt8], into output: UnsafeMutableRawBufferPointer
    ) throws {
        guard tag.count == AESGCM.tagSize else { throw CryptoError(.authenticationFailed, "AES-GCM tag must be 16 bytes") }
        try start(nonce: nonce, aad: aad, encrypt: false)
        try update(ciphertext, output)
        var t = tag
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(AESGCM.tagSize), &t) == 1 else {
            throw CryptoError.openSSL("EVP_CIPHER_CTX_ctrl(SET_TAG)")
        }
        var outLen: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 16)
        guard EVP_CipherFinal_ex(ctx, &scratch, &outLen) == 1 else {
            zeroize(UnsafeMutableRawBufferPointer(rebasing: output[0..<ciphertext.count]))
            ERR_clear_error()
            throw CryptoError(.authenticationFailed, "AES-GCM authentication failed: wrong key, nonce or additional data, or tampered data")
        }
    }

    private func start(nonce: [UInt8], aad: [UInt8], encrypt: Bool) throws {
        guard nonce.count == AESGCM.nonceSize else { throw CryptoError(.invalidLength, "AES-GCM nonce must be 12 bytes") }
        guard EVP_CipherInit_ex2(ctx, nil, nil, nonce, encrypt ? 1 : 0, nil) == 1 else {
            throw CryptoError.openSSL("EVP_CipherInit_ex2(nonce)")
        }
        if aad.count > 0 {
            var outLen: Int32 = 0
            guard EVP_CipherUpdate(ctx, nil, &outLen, aad, Int32(aad.count)) == 1 else {
                throw CryptoError.openSSL("EVP_CipherUpdate(AAD)")
            }
        }
    }

    private func update(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws {
        try cipherUpdate(ctx, input, into: output, mode: "AES-GCM")
    }

    deinit { EVP_CIPHER_CTX_free(ctx) }
}
