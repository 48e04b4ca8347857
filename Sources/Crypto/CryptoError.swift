internal import COpenSSL

/// An error from the Crypto module: a stable code plus a human reason.
///
/// Two errors compare equal when their codes are equal, so tests can match on the code while
/// users read the reason (which includes the drained OpenSSL error queue where there is one).
public struct CryptoError: Error, Equatable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let openSSL = Code("openSSL")
        public static let invalidKeySize = Code("invalidKeySize")
        public static let invalidLength = Code("invalidLength")
        public static let authenticationFailed = Code("authenticationFailed")
        public static let randomFailed = Code("randomFailed")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }

    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool { lhs.code == rhs.code }

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
