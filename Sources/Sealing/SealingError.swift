public import SystemIO

/// An error from the Sealing module: a stable code plus a human reason (never key bytes or
/// plaintext). Two errors compare equal when their codes are equal; the description is
/// `code: reason`.
public typealias SealingError = ModuleError<SealingErrorCode>

/// The codes of ``SealingError``.
public enum SealingErrorCode: String, ErrorCode {
    /// A read, write, seek or open failed.
    case io
    /// The file does not start with the sealed-file magic.
    case notSealed
    case unsupportedVersion
    /// A fixed header field is out of range or a reserved byte is not zero.
    case malformedHeader
    /// The metadata JSON does not decode (or does not encode on write).
    case metadataInvalid
    /// The key envelope slot is malformed (length, padding, envelope format, purpose).
    case envelopeInvalid
    /// The at-rest key named by the envelope is not configured or has no version in the HSM.
    case keyUnavailable
    /// The envelope names a key version that is retired (destroyed) or absent.
    case keyVersionUnavailable
    /// The HSM refused to unwrap the data key (tampered envelope, wrong file id, other key).
    case unwrapFailed
    /// The unwrapped data key does not match the header's key commitment.
    case keyCommitmentMismatch
    /// The trailer is missing or inconsistent with the file size (truncated or appended file).
    case truncated
    /// The index frame failed authentication or its entries are inconsistent.
    case indexInvalid
    /// A data frame failed authentication (tampered, reordered, spliced, truncated).
    case frameAuthenticationFailed
    case frameOutOfRange
    case invalidArgument
    /// The writer was used after `finish()` or after a failed write.
    case writerClosed
    case internalError
    /// A Parquet input or PME file is malformed or uses what is not supported (the reason says).
    case parquetInvalid
    /// A Parquet Modular Encryption module (page, header, column metadata, footer) or the
    /// footer signature failed authentication (tampered, moved, or the wrong key).
    case moduleAuthenticationFailed
    /// A Parquet Modular Encryption file written with an AAD prefix it does not store: the
    /// prefix must be supplied (`open --aad-prefix`).
    case aadPrefixRequired
}
