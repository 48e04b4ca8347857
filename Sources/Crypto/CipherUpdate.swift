internal import COpenSSL

/// `EVP_CipherUpdate` over a whole buffer, in steps of at most 2^30 bytes (its length is an
/// `Int32`), for the stream modes (GCM, CTR) whose output is as long as their input. Every step
/// is checked to succeed and to have written exactly its input's length.
func cipherUpdate(
    _ ctx: OpaquePointer, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, mode: String
) throws {
    guard output.count >= input.count else { throw CryptoError(.invalidLength, "\(mode) output buffer too small") }
    var offset = 0
    while offset < input.count {
        let n = min(input.count - offset, 1 << 30)
        var outLen: Int32 = 0
        guard
            EVP_CipherUpdate(
                ctx, output.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), &outLen,
                input.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), Int32(n)) == 1,
            Int(outLen) == n
        else { throw CryptoError.openSSL("EVP_CipherUpdate(\(mode))") }
        offset += n
    }
}
