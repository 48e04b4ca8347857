import Tagging
import Testing

@Suite struct PANValidator {
    @Test(arguments: [
        "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "4222222222222", "4012888888881881",
        "5555555555554444", "5105105105105100", "2221000000000009", "2720 9900 0000 0007", "2223 0031 2200 3222",
        "378282246310005", "3782 822463 10005", "371449635398431", "30569309025904", "3056 930902 5904",
        "6011111111111117", "6011 0009 9013 9424", "3530111333300000", "3566002020360505", "6200000000000005",
    ])
    func acceptsKnownTestCards(_ s: String) {
        #expect(valid(.pan, s), "\(s)")
    }

    @Test func issuerRangesAndLengths() {
        #expect(Validators.cardIssuer("4111111111111111") == .visa)
        #expect(Validators.cardIssuer(withLuhn("411111111111111111")) == .visa)  // 19 digits
        #expect(Validators.cardIssuer(withLuhn("41111111111111111")) == .visa)  // 18 digits
        #expect(Validators.cardIssuer(withLuhn("411111111111111")) == .visa)  // 16
        #expect(Validators.cardIssuer(withLuhn("222100000000000")) == .mastercard)  // 2-series low end
        #expect(Validators.cardIssuer(withLuhn("272099999999999")) == .mastercard)  // 2-series high end
        #expect(Validators.cardIssuer("378282246310005") == .amex)
        #expect(Validators.cardIssuer("30569309025904") == .diners)
        #expect(Validators.cardIssuer(withLuhn("361234567890123456")) == .diners)  // 19
        #expect(Validators.cardIssuer("6011111111111117") == .discover)
        #expect(Validators.cardIssuer(withLuhn("644000000000000")) == .discover)
        #expect(Validators.cardIssuer(withLuhn("650000000000000000")) == .discover)  // 19
        #expect(Validators.cardIssuer("3530111333300000") == .jcb)
        #expect(Validators.cardIssuer(withLuhn("358912345678901234")) == .jcb)  // 19
        #expect(Validators.cardIssuer(withLuhn("620000000000000000")) == .unionpay)  // 19
        #expect(Validators.cardIssuer(withLuhn("62000000000000000")) == .unionpay)  // 18
        #expect(Validators.cardIssuer(withLuhn("50180000000")) == .maestro)  // 12
        #expect(Validators.cardIssuer(withLuhn("675912345678901234")) == .maestro)  // 19
        #expect(Validators.cardIssuer(withLuhn("220000000000000")) == .mir)
        #expect(Validators.cardIssuer(withLuhn("220412345678901234")) == .mir)  // 19
    }

    @Test func rejectsWrongPrefixOrLength() {
        for s in [
            withLuhn("222000000000000"),  // 2220: between Mir and Mastercard 2-series
            withLuhn("272100000000000"),  // 2721: past the 2-series
            withLuhn("22050000000000000"),  // 2205 (Mir ends at 2204)
            withLuhn("4111111111111111"),  // Visa with 17 digits
            withLuhn("41111111111"),  // Visa with 12
            withLuhn("341111111111111"),  // Amex with 16
            withLuhn("51000000000000000"),  // Mastercard with 18
            withLuhn("30612345678901"),  // Diners 306
            withLuhn("352712345678901"),  // JCB starts at 3528
            withLuhn("101234567890123"),  // no issuer
            withLuhn("9123456789012345"),  // no issuer
            withLuhn("4111111111111111111"),  // 20 digits
        ] {
            #expect(!valid(.pan, s), "\(s)")
        }
    }

    @Test func rejectsLuhnFailures() {
        #expect(!valid(.pan, "4111111111111112"))
        #expect(!valid(.pan, "5555555555554445"))
        #expect(!valid(.pan, "378282246310006"))
    }

    @Test func rejectsRunsAndRepeats() {
        // All pass Luhn and have an issuer prefix.
        for s in ["567890123456", "4567890123456789012", "6666666666666"] {
            #expect(Validators.luhnValid(digitValues(s)))
            #expect(!valid(.pan, s), "\(s)")
        }
    }

    @Test func groupingMustBeConsistent() {
        #expect(valid(.pan, "4111 1111 1111 1111"))
        #expect(valid(.pan, " 4111-1111-1111-1111 "))  // blanks around the value are ignored
        #expect(!valid(.pan, "4111 1111 1111-1111"))  // mixed separators
        #expect(!valid(.pan, "4111  1111 1111 1111"))  // double separator
        #expect(!valid(.pan, "41111 111 1111 1111"))  // groups not of four
        #expect(!valid(.pan, "4111 111111111111"))
        #expect(!valid(.pan, "-4111111111111111"))
        #expect(!valid(.pan, "4111111111111111-"))
        #expect(!valid(.pan, "4111.1111.1111.1111"))
        #expect(!valid(.pan, "4111111111111111x"))
        #expect(valid(.pan, "6200 0000 0000 0000 003") == Validators.luhnValid(digitValues("6200000000000000003")))
        #expect(Validators.check(.pan, "4111 1111 1111 1111") == .formatted)
        #expect(Validators.check(.pan, "4111111111111111") == .bare)
    }
}

@Suite struct SSNValidator {
    @Test func validForms() {
        #expect(Validators.check(.ssn, "219-09-9998") == .formatted)
        #expect(Validators.check(.ssn, "219099998") == .bare)
        #expect(valid(.ssn, "001-01-0001"))
        #expect(valid(.ssn, "899-99-9999"))
        #expect(valid(.ssn, "665-12-3456"))
        #expect(valid(.ssn, "667-12-3456"))
    }

    @Test(arguments: [
        "000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000",
        "078-05-1120", "219-09-9999", "123-45-6789", "078051120", "123456789",
        "12-345-6789", "123-456-789", "1234-56-789", "123 45 6789", "12345678", "1234567890", "abc-de-fghi",
    ])
    func invalid(_ s: String) {
        #expect(!valid(.ssn, s), "\(s)")
    }
}

@Suite struct IBANValidator {
    @Test(arguments: [
        "DE89370400440532013000", "GB82WEST12345698765432", "GB29NWBK60161331926819", "FR1420041010050500013M02606",
        "ES9121000418450200051332", "IT60X0542811101000000123456", "NL91ABNA0417164300", "BE68539007547034",
        "CH9300762011623852957", "NO9386011117947", "MT84MALT011000012345MTLCAST001S", "PL61109010140000071219812874",
        "DE89 3704 0044 0532 0130 00", "gb82 west 1234 5698 7654 32",
    ])
    func acceptsRegistryExamples(_ s: String) {
        #expect(valid(.iban, s), "\(s)")
    }

    @Test func rejectsCheckLengthCountryAndLayout() {
        #expect(!valid(.iban, "DE88370400440532013000"))  // check digits
        #expect(!valid(.iban, "DE89370400440532013001"))  // mod 97
        #expect(!valid(.iban, "DE8937040044053201300"))  // DE is 22
        #expect(!valid(.iban, "DE893704004405320130000"))
        #expect(!valid(.iban, "XX89370400440532013000"))  // unknown country
        #expect(!valid(.iban, "NL91ABNA041716430"))  // NL is 18
        #expect(!valid(.iban, "DE89  3704 0044 0532 0130 00"))  // double space
        #expect(!valid(.iban, "DE89-3704-0044-0532-0130-00"))
        #expect(!valid(.iban, "IBAN DE89370400440532013000"))  // the whole cell is the IBAN
        #expect(!valid(.iban, "DE89370400440532013000 EUR"))
        #expect(Validators.check(.iban, "DE89 3704 0044 0532 0130 00") == .formatted)
    }

    @Test func existingCompactFunctionsAgree() {
        let c = Array("GB82WEST12345698765432".utf8)
        #expect(Validators.ibanValid(c))
        #expect(Validators.ibanCheckDigits(c)! == (UInt8(ascii: "8"), UInt8(ascii: "2")))
    }
}

@Suite struct ABAValidator {
    @Test func checksumAndPrefix() {
        #expect(valid(.abaRouting, "011000015"))
        #expect(valid(.abaRouting, "021000021"))
        #expect(valid(.abaRouting, "026009593"))
        #expect(valid(.abaRouting, "121000358"))
        #expect(!valid(.abaRouting, "021000022"))  // checksum
        #expect(!valid(.abaRouting, "131000005"))  // checksum fine, prefix 13 unused
        #expect(!valid(.abaRouting, "500000005"))  // prefix 50
        #expect(!valid(.abaRouting, "000000000"))
        #expect(!valid(.abaRouting, "02100002"))
        #expect(!valid(.abaRouting, "0210000210"))
        #expect(!valid(.abaRouting, "02100002a"))
        #expect(Validators.abaValid(digitValues("021000021")))
        #expect(!Validators.abaValid(digitValues("021000022")))
    }
}

@Suite struct PhoneValidator {
    @Test(arguments: [
        "(415) 555-0132", "415-555-0132", "415.555.0132", "415 555 0132", "1-415-555-0132", "1 (415) 555-0132",
        "+1 415 555 0132", "+14155550132", "+1 (415) 555-0132", "415-555-0132 x123", "415-555-0132 ext. 12",
        "(415)555-0132 #77", "+44 20 7946 0958", "+4915112345678", "+33 1 09 29 08 14", "+61 2 9374 4000",
    ])
    func formatted(_ s: String) {
        #expect(Validators.check(.phone, s) == .formatted, "\(s)")
    }

    @Test func bareNeedsAHeader() {
        #expect(Validators.check(.phone, "4155550132") == .bare)
        #expect(Validators.check(.phone, "14155550132") == .bare)
    }

    @Test(arguments: [
        "115-555-0132",  // NPA starts with 1
        "495-555-0132",  // NPA second digit 9
        "411-555-0132",  // N11 NPA
        "415-155-0132",  // NXX starts with 1
        "415-911-0132",  // N11 NXX
        "+0123456789", "+1 115 555 0132", "+1234567", "+1234567890123456", "+1 415 555 013",
        "12345-6789", "1697040000", "415--555-0132", "415-555-0132 x", "415-555-0132 x1234567", "2024-03-05",
        "41-5555-0132", "(415 555-0132", "415) 555-0132", "415-555-0132-", "+ 415 555 0132", "4155550132abc",
        "1.2.3.4", "0b6b318a-fcbb-4c8d-8b0c-ba6d8ca10c4a", "1015550132",
    ])
    func invalid(_ s: String) {
        #expect(!valid(.phone, s), "\(s)")
    }
}

@Suite struct EmailValidator {
    @Test(arguments: [
        "a.b@example.com", "x+tag@sub.example.co.uk", "o'brien@example.org", "user_1@example.net",
        "user@example.xn--p1ai", "first.last-99@mail.example.com", "{a}|~@example.io",
    ])
    func accepts(_ s: String) {
        #expect(valid(.email, s), "\(s)")
    }

    @Test(arguments: [
        "a..b@example.com", ".a@example.com", "a.@example.com", "a@b", "a@example.c", "a@example.123",
        "a@-example.com", "a@example-.com", "a@@example.com", "a@b@example.com", "a@exa_mple.com",
        "a b@example.com", "@example.com", "a@", "a@.example.com", "a@example..com", "plainaddress",
        "a@example.com.", "a(b)@example.com",
    ])
    func rejects(_ s: String) {
        #expect(!valid(.email, s), "\(s)")
    }

    @Test func lengthLimits() {
        let local64 = String(repeating: "a", count: 64), local65 = String(repeating: "a", count: 65)
        #expect(valid(.email, local64 + "@example.com"))
        #expect(!valid(.email, local65 + "@example.com"))
        let label63 = String(repeating: "b", count: 63)
        #expect(valid(.email, "a@" + label63 + ".com"))
        #expect(!valid(.email, "a@" + label63 + "b.com"))
        let long = "a@" + Array(repeating: label63, count: 4).joined(separator: ".") + ".com"  // 261 bytes
        #expect(!valid(.email, long))
    }
}

@Suite struct IPValidator {
    @Test(arguments: [
        "192.168.1.1", "0.0.0.0", "255.255.255.255", "8.8.8.8", "::", "::1", "2001:db8::1",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:DB8:0:0:8:800:200C:417A", "::ffff:192.0.2.1",
        "64:ff9b::192.0.2.33", "1:2:3:4:5:6:1.2.3.4", "fe80::1%eth0", "fe80::a:b%en0.1", "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8", "1::8",
    ])
    func accepts(_ s: String) {
        #expect(valid(.ipAddress, s), "\(s)")
    }

    @Test(arguments: [
        "192.168.01.1", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.-4",
        "1::2::3", "12345::1", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:",
        "1:2:3:4:5:6:7:8%", "00:1A:2B:3C:4D:5E", "12:34:56", "::ffff:192.0.2.256", "::ffff:192.0.02.1",
        "gggg::1", ":::", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "fe80::1%eth 0", "1.2.3.4:80", "[::1]",
    ])
    func rejects(_ s: String) {
        #expect(!valid(.ipAddress, s), "\(s)")
    }
}

@Suite struct DateOfBirthValidator {
    @Test func formatsAndBounds() {
        for s in ["1990-01-15", "01/15/1990", "1/5/1990", "15.01.1990", "5.1.1990", "2000-02-29"] {
            #expect(valid(.dateOfBirth, s), "\(s)")
        }
        #expect(valid(.dateOfBirth, "2024-06-30"))  // born today: age 0
        #expect(!valid(.dateOfBirth, "2024-07-01"))  // future
        #expect(valid(.dateOfBirth, "1904-06-30"))  // exactly 120
        #expect(!valid(.dateOfBirth, "1904-06-29"))  // older than 120
        for s in [
            "1990-02-30", "2023-02-29", "1900-02-29", "13/01/1990", "01.13.1990", "1990-1-15", "1990/01/15",
            "1990-01-15T00:00:00Z", "1990-01-15 10:00", "19900115", "01/15/90", "15 Jan 1990", "2024-13-01",
        ] {
            #expect(!valid(.dateOfBirth, s), "\(s)")
        }
    }

    @Test func civilDate() {
        #expect(CivilDate(year: 2024, month: 2, day: 29) != nil)
        #expect(CivilDate(year: 2023, month: 2, day: 29) == nil)
        #expect(CivilDate(year: 2024, month: 6, day: 30)!.description == "2024-06-30")
        let today = CivilDate.today()
        #expect(today.year >= 2024)
    }
}

@Suite struct NameAndAddressShapes {
    @Test func names() {
        for s in [
            "John", "Mary-Jane", "O'Brien", "de la Cruz", "José García", "J. R. Smith", "SMITH", "Smith, John",
            "Zoë", "van der Berg", "McDonald", "Müller",
        ] {
            #expect(valid(.personName, s), "\(s)")
        }
        for s in [
            "john", "John3", "123", "John  Smith", "Smith,John", "", "John@", "A", "Customer called about delivery",
            "R2-D2", "John -Smith", "de la", "4111 1111 1111 1111",
        ] {
            #expect(!valid(.personName, s), "\(s)")
        }
    }

    @Test func addresses() {
        for s in [
            "123 Main St", "4642 Elm Lane Apt 29", "12B Baker Street", "Hauptstraße 5", "Via Roma 12",
            "PO Box 123", "P.O. Box 77", "1600 Pennsylvania Avenue NW", "10 Downing St, London", "5 Rue de Rivoli",
            "221-223 Oak Blvd.",
        ] {
            #expect(valid(.streetAddress, s), "\(s)")
        }
        for s in [
            "Main St", "123", "123 Main", "2024-03-05", "Apt 5", "John Smith", "12345-6789", "1.2.3.4",
            "Order 4014089072871752 shipped",
        ] {
            #expect(!valid(.streetAddress, s), "\(s)")
        }
    }
}
