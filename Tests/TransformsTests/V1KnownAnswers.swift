import Columns
import FPE
import Testing
import Transforms

/// Tokens written by the v1 transforms (main at 2c183cd, before transform versions existed) with
/// the fixed test key of `testCipher` and the tweak of `transformer(_:_:column:)`: v1 datasets
/// must keep detokenizing to exactly these values.
let v1KnownAnswers: [(algorithm: FPEAlgorithm, kind: TransformKind, value: String, token: String)] = [
    (.ff1, .card, "4111111111111111", "4111111081741111"),
    (.ff1, .card, "5555-5555-5555-4444", "5555-5575-2483-4444"),
    (.ff1, .card, "378282246310005", "378286822340005"),
    (.ff1, .card, "4111111111111112", "4111117748791112"),
    (.ff1, .card, "4000 0012 3456 7899", "4000 0097 3520 7899"),
    (.ff1, .email, "alice.smith@example.com", "We0Nc.F803M@example.com"),
    (.ff1, .email, "ali@gmail.com", "~hD2UlP@gmail.com"),
    (.ff1, .email, "bob+tag@corp.example.org", "6UW+PMa@corp.example.org"),
    (.ff1, .phone, "+33 1 09 29 08 14", "+09 5 81 72 27 54"),
    (.ff1, .phone, "(213) 555-0192", "(938) 701-7787"),
    (.ff1, .phone, "+1 415 555 2671 x12", "+3 308 126 0157 x12"),
    (.ff31, .card, "4111111111111111", "4111113250181111"),
    (.ff31, .card, "5555-5555-5555-4444", "5555-5580-7139-4444"),
    (.ff31, .card, "378282246310005", "378287584710005"),
    (.ff31, .card, "4111111111111112", "4111111785521112"),
    (.ff31, .card, "4000 0012 3456 7899", "4000 0085 5917 7899"),
    (.ff31, .email, "alice.smith@example.com", "4aoY9.duHHA@example.com"),
    (.ff31, .email, "ali@gmail.com", "~XfSu3h@gmail.com"),
    (.ff31, .email, "bob+tag@corp.example.org", "8Kd+B71@corp.example.org"),
    (.ff31, .phone, "+33 1 09 29 08 14", "+49 0 70 35 84 46"),
    (.ff31, .phone, "(213) 555-0192", "(242) 645-8118"),
    (.ff31, .phone, "+1 415 555 2671 x12", "+8 479 648 1131 x12"),
]

@Suite struct V1KnownAnswers {
    @Test func v1TokensAreReproducedAndInvert() throws {
        for alg in FPEAlgorithm.allCases {
            for kind in [TransformKind.card, .email, .phone] {
                let cases = v1KnownAnswers.filter { $0.algorithm == alg && $0.kind == kind }
                let t = try transformer(TransformSpec(kind, version: 1), alg)
                let (tokens, rejects) = try t.tokenize(ByteColumn(cases.map(\.value)))
                #expect(rejects.isEmpty)
                #expect(tokens.strings == cases.map(\.token), "\(alg) \(kind)")
                let (back, r2) = try t.detokenize(ByteColumn(cases.map(\.token)))
                #expect(r2.isEmpty)
                #expect(back.strings == cases.map(\.value))
            }
        }
    }
}
