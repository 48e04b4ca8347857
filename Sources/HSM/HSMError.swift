internal import CPKCS11
public import SystemIO

/// An error from the PKCS#11 layer: a stable category, a human reason naming what failed, the
/// PKCS#11 function and its raw `CK_RV` where there is one. Equality compares the code only; the
/// description is `code: reason` (``CodedError``).
public struct HSMError: CodedError {
    public enum Code: String, Hashable, Sendable, CaseIterable {
        case moduleNotFound
        case moduleInvalid
        case functionNotSupported
        case tokenNotFound
        case tokenAbsent
        case wrongPIN
        case pinLocked
        case pinUnavailable
        case notLoggedIn
        case keyNotFound
        case operationNotPermitted
        case mechanismUnsupported
        case authenticationFailed
        case invalidInput
        case deviceError
        case other
    }

    public let code: Code
    public let reason: String
    /// The PKCS#11 function that failed, if the error came from one.
    public let function: String?
    /// The raw `CK_RV`, if the error came from a PKCS#11 call.
    public let returnValue: UInt?

    public init(_ code: Code, _ reason: String, function: String? = nil, returnValue: UInt? = nil) {
        self.code = code
        self.reason = reason
        self.function = function
        self.returnValue = returnValue
    }

    /// Maps a failed `CK_RV` to a named error. `context` names the object (token, key) involved.
    static func fromRV(_ rv: CK_RV, function: String, context: String) -> HSMError {
        let name = ckrName(rv)
        HSMCallStats.failed(function, code: name)
        let code: Code
        let what: String
        switch rv {
        case UInt(CKR_PIN_INCORRECT):
            code = .wrongPIN
            what = "wrong PIN for \(context)"
        case UInt(CKR_PIN_LOCKED):
            code = .pinLocked
            what = "PIN locked for \(context)"
        case UInt(CKR_PIN_EXPIRED):
            code = .pinLocked
            what = "PIN expired for \(context)"
        case UInt(CKR_TOKEN_NOT_PRESENT), UInt(CKR_SLOT_ID_INVALID), UInt(CKR_DEVICE_REMOVED), UInt(CKR_TOKEN_NOT_RECOGNIZED):
            code = .tokenAbsent
            what = "token absent: \(context)"
        case UInt(CKR_USER_NOT_LOGGED_IN):
            code = .notLoggedIn
            what = "not logged in to \(context)"
        case UInt(CKR_KEY_FUNCTION_NOT_PERMITTED), UInt(CKR_KEY_TYPE_INCONSISTENT), UInt(CKR_ACTION_PROHIBITED),
            UInt(CKR_ATTRIBUTE_SENSITIVE), UInt(CKR_KEY_UNEXTRACTABLE):
            code = .operationNotPermitted
            what = "operation not permitted by \(context)"
        case UInt(CKR_MECHANISM_INVALID), UInt(CKR_MECHANISM_PARAM_INVALID):
            code = .mechanismUnsupported
            what = "mechanism not accepted for \(context)"
        case UInt(CKR_ENCRYPTED_DATA_INVALID), UInt(CKR_ENCRYPTED_DATA_LEN_RANGE), UInt(CKR_SIGNATURE_INVALID):
            code = .authenticationFailed
            what = "authentication failed for \(context)"
        case UInt(CKR_FUNCTION_NOT_SUPPORTED):
            code = .functionNotSupported
            what = "not supported by the module (\(context))"
        case UInt(CKR_DATA_LEN_RANGE), UInt(CKR_DATA_INVALID), UInt(CKR_ARGUMENTS_BAD):
            code = .invalidInput
            what = "invalid input for \(context)"
        case UInt(CKR_DEVICE_ERROR), UInt(CKR_DEVICE_MEMORY), UInt(CKR_HOST_MEMORY):
            code = .deviceError
            what = "device error on \(context)"
        default:
            code = .other
            what = "PKCS#11 error on \(context)"
        }
        return HSMError(code, "\(what) (\(function) returned \(name))", function: function, returnValue: rv)
    }
}

/// The CKR_* name of a return value, or its hex form.
func ckrName(_ rv: CK_RV) -> String {
    let names: [UInt: String] = [
        0x0: "CKR_OK", 0x1: "CKR_CANCEL", 0x2: "CKR_HOST_MEMORY", 0x3: "CKR_SLOT_ID_INVALID",
        0x5: "CKR_GENERAL_ERROR", 0x6: "CKR_FUNCTION_FAILED", 0x7: "CKR_ARGUMENTS_BAD",
        0x10: "CKR_ATTRIBUTE_READ_ONLY", 0x11: "CKR_ATTRIBUTE_SENSITIVE", 0x12: "CKR_ATTRIBUTE_TYPE_INVALID",
        0x13: "CKR_ATTRIBUTE_VALUE_INVALID", 0x1B: "CKR_ACTION_PROHIBITED", 0x20: "CKR_DATA_INVALID",
        0x21: "CKR_DATA_LEN_RANGE", 0x30: "CKR_DEVICE_ERROR", 0x31: "CKR_DEVICE_MEMORY", 0x32: "CKR_DEVICE_REMOVED",
        0x40: "CKR_ENCRYPTED_DATA_INVALID", 0x41: "CKR_ENCRYPTED_DATA_LEN_RANGE", 0x54: "CKR_FUNCTION_NOT_SUPPORTED",
        0x60: "CKR_KEY_HANDLE_INVALID", 0x62: "CKR_KEY_SIZE_RANGE", 0x63: "CKR_KEY_TYPE_INCONSISTENT",
        0x68: "CKR_KEY_FUNCTION_NOT_PERMITTED", 0x6A: "CKR_KEY_UNEXTRACTABLE", 0x70: "CKR_MECHANISM_INVALID",
        0x71: "CKR_MECHANISM_PARAM_INVALID", 0x82: "CKR_OBJECT_HANDLE_INVALID", 0x90: "CKR_OPERATION_ACTIVE",
        0x91: "CKR_OPERATION_NOT_INITIALIZED", 0xA0: "CKR_PIN_INCORRECT", 0xA1: "CKR_PIN_INVALID",
        0xA2: "CKR_PIN_LEN_RANGE", 0xA3: "CKR_PIN_EXPIRED", 0xA4: "CKR_PIN_LOCKED", 0xB0: "CKR_SESSION_CLOSED",
        0xB1: "CKR_SESSION_COUNT", 0xB3: "CKR_SESSION_HANDLE_INVALID", 0xB5: "CKR_SESSION_READ_ONLY",
        0xC0: "CKR_SIGNATURE_INVALID", 0xC1: "CKR_SIGNATURE_LEN_RANGE", 0xD0: "CKR_TEMPLATE_INCOMPLETE",
        0xD1: "CKR_TEMPLATE_INCONSISTENT", 0xE0: "CKR_TOKEN_NOT_PRESENT", 0xE1: "CKR_TOKEN_NOT_RECOGNIZED",
        0xE2: "CKR_TOKEN_WRITE_PROTECTED", 0x100: "CKR_USER_ALREADY_LOGGED_IN", 0x101: "CKR_USER_NOT_LOGGED_IN",
        0x102: "CKR_USER_PIN_NOT_INITIALIZED", 0x103: "CKR_USER_TYPE_INVALID", 0x150: "CKR_BUFFER_TOO_SMALL",
        0x190: "CKR_CRYPTOKI_NOT_INITIALIZED", 0x191: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
    ]
    return names[rv] ?? "CKR_0x" + String(rv, radix: 16)
}
