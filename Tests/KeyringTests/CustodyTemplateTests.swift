import HSM
import Testing

@testable import Keyring

/// Issue 19: the creation template asks for every custody attribute explicitly. SoftHSM2 happens to
/// default `CKA_EXTRACTABLE` to false (and others), so a key created without an attribute would
/// still read back compliant here and no HSM test would notice the template losing it; a module
/// with unsafe defaults would not be so kind. (What a module makes of a bad template is caught at
/// use: CustodyAtEveryUse.)
@Suite struct CustodyTemplates {
    @Test(arguments: KeyPurpose.allCases)
    func everyCustodyAttributeIsRequestedExplicitly(purpose: KeyPurpose) {
        let policy = CustodyPolicy.of(purpose)
        let t = policy.template(label: "tokengate/\(purpose)/x/v1", id: [1, 2, 3], withAllowedMechanisms: true)
        func value(_ a: AttributeType) -> Bool? { t.first { $0.type == a }.flatMap { AttributeValue.bool($0.bytes) } }
        #expect(value(.token) == true && value(.private) == true)
        #expect(value(.sensitive) == true, "CKA_SENSITIVE")
        #expect(value(.extractable) == false, "CKA_EXTRACTABLE")
        #expect(value(.modifiable) == false, "CKA_MODIFIABLE")
        for flag in CustodyPolicy.usageFlags {
            #expect(value(flag) == policy.usage.contains(flag), "\(flag)")
        }
        #expect(t.contains { $0.type == .allowedMechanisms })
    }
}
