import Tagging
import Testing

@Suite struct HeaderPriorTests {
    @Test func normalization() {
        #expect(HeaderPriors.words("customerSSN2") == ["customer", "ssn"])
        #expect(HeaderPriors.words("SSNNumber") == ["ssn", "number"])
        #expect(HeaderPriors.words("IPv6Address") == ["ip", "address"])
        #expect(HeaderPriors.words("client_ipv4") == ["client", "ip"])
        #expect(HeaderPriors.words("Date-Of-Birth") == ["date", "of", "birth"])
        #expect(HeaderPriors.words("address_line_1") == ["address", "line"])
        #expect(HeaderPriors.words("CARD NUMBER") == ["card", "number"])
        #expect(HeaderPriors.words("eMail") == ["e", "mail"])
    }

    func prior(_ header: String, _ tag: Tag) -> HeaderPrior { HeaderPriors.evaluate(header)[tag] ?? .none }

    @Test func strongWeakNone() {
        #expect(prior("ssn", .ssn) == .strong)
        #expect(prior("SocialSecurityNumber", .ssn) == .strong)
        #expect(prior("tax_id", .ssn) == .weak)
        #expect(prior("card_number", .pan) == .strong)
        #expect(prior("CREDITCARDNUMBER", .pan) == .strong)
        #expect(prior("card", .pan) == .weak)
        #expect(prior("routing_number", .abaRouting) == .strong)
        #expect(prior("dob", .dateOfBirth) == .strong)
        #expect(prior("dateofbirth", .dateOfBirth) == .strong)
        #expect(prior("birth", .dateOfBirth) == .weak)
        #expect(prior("mobile_phone", .phone) == .strong)
        #expect(prior("first_name", .personName) == .strong)
        #expect(prior("name", .personName) == .strong)
        #expect(prior("display_name", .personName) == .weak)
        #expect(prior("street_address", .streetAddress) == .strong)
        #expect(prior("ip_address", .ipAddress) == .strong)
        #expect(prior("email_address", .email) == .strong)
        #expect(prior("memo", .ssn) == .none)
        #expect(prior("amount", .personName) == .negative)
    }

    @Test func negatives() {
        #expect(prior("customer_id", .ssn) == .negative)
        #expect(prior("account_ref", .phone) == .negative)
        #expect(prior("app_version", .ipAddress) == .negative)
        #expect(prior("created_at", .dateOfBirth) == .negative)
        #expect(prior("order_number", .pan) == .negative)
        #expect(prior("updatedTimestamp", .dateOfBirth) == .negative)
        #expect(prior("product_name", .personName) == .negative)
        #expect(prior("file_name", .personName) == .negative)
        #expect(prior("email_address", .streetAddress) == .weak)  // strong "address", but "email" names something else
        #expect(prior("ssn_id", .ssn) == .weak)  // strong phrase plus a negative word
        #expect(prior("national_id", .ssn) == .weak)  // "id" is part of the phrase
        #expect(prior("created_by", .email) == .none)  // emails are not blocked by negatives
        #expect(prior("postal_address", .streetAddress) == .strong)
    }
}
