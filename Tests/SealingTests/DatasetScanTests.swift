import Foundation
import Keyring
import Sealing
import TestSupport
import Testing

@Suite struct DatasetScans {
    @Test func findsSealedFilesStillWrappedByAVersion() throws {
        let fx = SoftHSMFixture.shared
        let pin = PINSource.file(try fx.writePINFile(name: "pin-dscan"))
        var purposes: [KeyPurpose: PurposeConfig] = [:]
        for p in KeyPurpose.allCases { purposes[p] = PurposeConfig(token: "tg-test-\(p.rawValue)", pin: pin, keys: ["dscan"]) }
        let kr = try Keyring(config: KeyringConfig(module: fx.modulePath, purposes: purposes))
        try kr.initialize()
        let dir = fx.directory + "/dscan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/a/b", withIntermediateDirectories: true)
        let w1 = try SealedWriter(path: dir + "/a/one.tgs", keyring: kr, keyName: "dscan")
        try w1.write(Array("hello".utf8))
        try w1.finish()
        try "not sealed".write(toFile: dir + "/a/b/plain.txt", atomically: true, encoding: .utf8)
        _ = try kr.rotate(KeyRef(.atRest, "dscan"))
        let w2 = try SealedWriter(path: dir + "/a/b/two.tgs", keyring: kr, keyName: "dscan")
        try w2.write(Array("world".utf8))
        try w2.finish()
        #expect(try Sealing.files(under: dir, wrappedBy: KeyRef(.atRest, "dscan"), version: 1) == [dir + "/a/one.tgs"])
        #expect(try Sealing.files(under: dir, wrappedBy: KeyRef(.atRest, "dscan"), version: 2) == [dir + "/a/b/two.tgs"])
        try Sealing.rewrap(path: dir + "/a/one.tgs", keyring: kr)
        #expect(try Sealing.files(under: dir, wrappedBy: KeyRef(.atRest, "dscan"), version: 1).isEmpty)
        #expect(throws: SealingError.self) { _ = try Sealing.files(under: dir + "/missing", wrappedBy: KeyRef(.atRest, "dscan"), version: 1) }
    }
}
