internal import COpenSSL
public import SystemIO

/// An error from the Crypto module: a stable code plus a human reason.
///
/// Two errors compare equal when their codes are equal, so tests can match on the code while
/// users read the reason (which includes the drained OpenSSL error queue where there is one); the
/// description is `code: reason` (``CodedError``).
public typealias CryptoError = ModuleError<CryptoErrorCode>

/// The codes of ``CryptoError``.
public enum CryptoErrorCode: String, ErrorCode {
    case openSSL
    case invalidKeySize
    case invalidLength
    case authenticationFailed
    case randomFailed
}

extension ModuleError where Code == CryptoErrorCode {

    /// Builds an error for a failed OpenSSL call and drains the thread-local error queue into it.
    static func openSSL(_ function: String, code: Code = .openSSL) -> CryptoError {
        var details: [String] = []
        while true {
            let e = ERR_get_error()
            if e == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buf, buf.count)
            details.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let suffix = details.isEmpty ? "" : ": " + details.joined(separator: "; ")
        return CryptoError(code, "OpenSSL \(function) failed\(suffix)")
    }
}
