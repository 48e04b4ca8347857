/// An error from the Sealing module: a stable code plus a human reason (never key bytes or
/// plaintext). Two errors compare equal when their codes are equal.
public struct SealingError: Error, Equatable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A read, write, seek or open failed.
        public static let io = Code("io")
        /// The file does not start with the sealed-file magic.
        public static let notSealed = Code("notSealed")
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// A fixed header field is out of range or a reserved byte is not zero.
        public static let malformedHeader = Code("malformedHeader")
        /// The metadata JSON does not decode (or does not encode on write).
        public static let metadataInvalid = Code("metadataInvalid")
        /// The key envelope slot is malformed (length, padding, envelope format, purpose).
        public static let envelopeInvalid = Code("envelopeInvalid")
        /// The at-rest key named by the envelope is not configured or has no version in the HSM.
        public static let keyUnavailable = Code("keyUnavailable")
        /// The envelope names a key version that is retired (destroyed) or absent.
        public static let keyVersionUnavailable = Code("keyVersionUnavailable")
        /// The HSM refused to unwrap the data key (tampered envelope, wrong file id, other key).
        public static let unwrapFailed = Code("unwrapFailed")
        /// The unwrapped data key does not match the header's key commitment.
        public static let keyCommitmentMismatch = Code("keyCommitmentMismatch")
        /// The trailer is missing or inconsistent with the file size (truncated or appended file).
        public static let truncated = Code("truncated")
        /// The index frame failed authentication or its entries are inconsistent.
        public static let indexInvalid = Code("indexInvalid")
        /// A data frame failed authentication (tampered, reordered, spliced, truncated).
        public static let frameAuthenticationFailed = Code("frameAuthenticationFailed")
        public static let frameOutOfRange = Code("frameOutOfRange")
        public static let invalidArgument = Code("invalidArgument")
        /// The writer was used after `finish()` or after a failed write.
        public static let writerClosed = Code("writerClosed")
        public static let internalError = Code("internalError")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }

    public static func == (lhs: SealingError, rhs: SealingError) -> Bool { lhs.code == rhs.code }
}
