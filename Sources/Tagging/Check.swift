extension Validators {
    /// The strict validator of `tag` applied to one value (already trimmed by the caller or not:
    /// leading and trailing blanks are ignored). Allocation-free.
    public static func check(_ tag: Tag, _ value: UnsafeBufferPointer<UInt8>, today: CivilDate) -> ValueEvidence {
        let v = trimmed(value)
        switch tag {
        case .pan: return panEvidence(v)
        case .ssn: return ssnEvidence(v)
        case .email: return emailEvidence(v)
        case .phone: return phoneEvidence(v)
        case .iban: return ibanEvidence(v)
        case .abaRouting: return abaEvidence(v)
        case .ipAddress: return ipEvidence(v)
        case .dateOfBirth: return dateOfBirthEvidence(v, today: today)
        case .personName: return personNameEvidence(v)
        case .streetAddress: return streetAddressEvidence(v)
        }
    }

    /// `check` over a slice of a column's buffer.
    public static func check(_ tag: Tag, _ value: ArraySlice<UInt8>, today: CivilDate) -> ValueEvidence {
        value.withUnsafeBufferPointer { check(tag, $0, today: today) }
    }

    /// `check` over a string's UTF-8 (tests, configuration, the CLI).
    public static func check(_ tag: Tag, _ value: String, today: CivilDate = .today()) -> ValueEvidence {
        withBytes(value) { check(tag, $0, today: today) }
    }

    /// Whether `value` passes the strict validator of `tag`.
    public static func isValid(_ tag: Tag, _ value: String, today: CivilDate = .today()) -> Bool {
        check(tag, value, today: today).isValid
    }

    /// Whether `value` passes the strict validator of `tag`.
    public static func isValid(_ tag: Tag, _ value: ArraySlice<UInt8>, today: CivilDate) -> Bool {
        check(tag, value, today: today).isValid
    }
}
