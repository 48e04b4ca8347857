import ArgumentParser

@main
struct Tokengate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokengate",
        abstract: "Tokenization and encryption gateway with HSM-backed key custody.",
        discussion: """
            Keys live in an HSM reached through PKCS#11, one token per purpose (at-rest, in-transit,
            in-use, audit). PINs come from environment variables or files named in the keyring
            config, never from the command line.

            Examples:
              tokengate keys init
              tokengate keys list --json
              tokengate keys rotate in-use/pan
              tokengate keys retire in-use/pan --version 1
              printf "0123456789\\n" | tokengate fpe encrypt --alg ff1 --key-hex 2B7E151628AED2A6ABF7158809CF4F3C --tweak-hex "" --radix 10
            """,
        subcommands: [TokenizeCommand.self, DetokenizeCommand.self, RetokenizeCommand.self, ScanCommand.self, SealCommand.self, OpenCommand.self, InspectCommand.self, RewrapCommand.self, KeysCommand.self, PolicyCommand.self, FPECommand.self]
    )
}
