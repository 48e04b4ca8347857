public import SystemIO

/// An error of an in-transit stream: a stable code plus a human reason (never key bytes or
/// plaintext). Two errors compare equal when their codes are equal; the description is
/// `code: reason`. Errors of the sealed file on either side (reading the source, writing a
/// sealed output) stay ``SealingError``s.
public typealias TransitError = ModuleError<TransitErrorCode>

/// The codes of ``TransitError``.
public enum TransitErrorCode: String, ErrorCode {
    /// A socket could not be created, bound, connected or accepted on.
    case network
    /// The peer closed the connection (or reset it) before the stream was complete.
    case connectionLost
    /// A wait (accept, connect, receive, send) ran past its timeout.
    case timedOut
    /// A stream message is malformed (bad magic, type or out-of-range field).
    case streamProtocol
    /// The stream speaks another version of the format.
    case unsupportedVersion
    /// The session key envelope in the hello is malformed or not an in-transit envelope.
    case envelopeInvalid
    /// The in-transit key is not configured here or has no version in the HSM.
    case keyUnavailable
    /// The envelope names an in-transit key version that is retired or absent.
    case keyVersionUnavailable
    /// The HSM refused to unwrap the session key (tampered envelope, other stream, other key).
    case unwrapFailed
    /// The hello metadata is not valid JSON for the schema.
    case metadataInvalid
    /// The hello or the end message failed authentication (tampered, other stream, other key).
    case streamAuthenticationFailed
    /// A stream frame failed authentication (tampered, or from another stream).
    case frameAuthenticationFailed
    /// A frame arrived with an unexpected sequence number (replayed, duplicated, reordered or
    /// dropped frame), or the end message arrived before every frame.
    case streamOutOfOrder
    /// The receiver's output file could not be created, written or committed.
    case io
}
