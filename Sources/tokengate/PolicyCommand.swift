import ArgumentParser
import Foundation
import Keyring
import Tokenize

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check policy files and make the detokenize PIN verifier.",
        subcommands: [Check.self, PinVerifier.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a policy file and print its rules.",
            discussion: "Example: tokengate policy check keys-config/policy.default.yaml")
        @Argument(help: "Policy file (YAML or JSON).") var path: String

        func run() throws {
            let p = try Policy.load(path: path)
            print("policy \(path): version \(p.version), default \(p.algorithm.rawValue), \(p.custody.rawValue) custody")
            for (tag, r) in p.tags.sorted(by: { $0.key < $1.key }) { print("  tag \(tag): \(describe(r))") }
            for (col, r) in p.columns.sorted(by: { $0.key < $1.key }) { print("  column \(col): \(describe(r))") }
            print(
                "  detokenize: \(p.detokenize?.allowed == false ? "refused by this policy" : "as the keyring config's grants.detokenize allows (a policy can only narrow it)")"
            )
        }

        func describe(_ r: Rule) -> String {
            var s = r.action.rawValue
            if let t = r.transform { s += " \(t.rawValue)" }
            if let d = r.domain { s += " domain \(d)" }
            return s
        }
    }

    struct PinVerifier: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pin-verifier",
            abstract: "Print the PBKDF2 verifier of a detokenize PIN for the keyring config's grants.detokenize.pin-verifier.",
            discussion: """
                The key custodians put the verifier in the keyring config (a file the callers cannot \
                change: owned by root or a custodian account, not group- or world-writable); a policy \
                cannot grant detokenize. The PIN is read from an environment variable or a file, \
                never from the command line.
                Example: TOKENGATE_DETOKENIZE_PIN=… tokengate policy pin-verifier --pin-env TOKENGATE_DETOKENIZE_PIN
                """)
        @Option(help: "Environment variable holding the PIN.") var pinEnv: String?
        @Option(help: "File holding the PIN (mode 600).") var pinFile: String?

        func validate() throws {
            guard (pinEnv == nil) != (pinFile == nil) else { throw ValidationError("give exactly one of --pin-env or --pin-file") }
        }

        func run() throws {
            let source: PINSource = pinEnv.map { .environment($0) } ?? .file(pinFile!)
            let pin = try source.read(relativeTo: FileManager.default.currentDirectoryPath, what: "detokenize")
            print(try DetokenizeGrant.verifier(for: pin))
        }
    }
}
