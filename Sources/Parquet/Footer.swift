/// The end of a Parquet file: `<FileMetaData (Thrift compact)> <4-byte LE length> "PAR1"`.
public enum ParquetFooter {
    /// The magic at both ends of a plaintext-footer file.
    public static let magic: [UInt8] = Array("PAR1".utf8)
    /// The trailing magic of a file with an encrypted footer.
    public static let encryptedMagic: [UInt8] = Array("PARE".utf8)

    /// The byte range of the footer's `FileMetaData` in a file of `fileSize` bytes whose last 8
    /// bytes are `tail`. Throws `.unsupported` for an encrypted footer and `.corrupt` for a file
    /// under 12 bytes, a missing magic, or a length that does not fit between the leading magic
    /// and the tail.
    public static func metadataRange(fileSize: Int, tail: [UInt8]) throws -> Range<Int> {
        guard fileSize >= 12 else {
            throw ParquetError(.corrupt, "file is \(fileSize) bytes, shorter than the 12 of the smallest Parquet file")
        }
        guard tail.count == 8 else { throw ParquetError(.corrupt, "footer: expected the file's last 8 bytes, got \(tail.count)") }
        let trailing = Array(tail[4..<8])
        if trailing == encryptedMagic {
            throw ParquetError(.unsupported, "encrypted footer (Parquet Modular Encryption): `tokengate open` decrypts it to a plaintext Parquet file first")
        }
        guard trailing == magic else { throw ParquetError(.corrupt, "footer: the file does not end with the PAR1 magic") }
        let length = Int(UInt32(tail[0]) | UInt32(tail[1]) << 8 | UInt32(tail[2]) << 16 | UInt32(tail[3]) << 24)
        let end = fileSize - 8
        guard length <= end - 4 else {
            throw ParquetError(.corrupt, "footer: metadata length \(length) exceeds the \(end - 4) bytes between the magics")
        }
        return (end - length)..<end
    }

    /// Parses the footer bytes (the range ``metadataRange(fileSize:tail:)`` names): the whole
    /// range must be one `FileMetaData` struct.
    public static func parse(_ bytes: [UInt8]) throws -> FileMetaData {
        let (s, n) = try ThriftCompact.decodeStruct(bytes, what: "footer")
        guard n == bytes.count else {
            throw ParquetError(.corrupt, "footer: \(bytes.count - n) bytes follow the FileMetaData struct (\(bytes.count) bytes)")
        }
        do {
            return try FileMetaData(s)
        } catch let e as ParquetError {
            throw ParquetError(e.code, "footer: \(e.reason)")
        }
    }

    /// The file's tail: the encoded metadata, its 4-byte little-endian length, and "PAR1".
    public static func serialize(_ m: FileMetaData) -> [UInt8] {
        var out: [UInt8] = []
        ThriftCompact.encode(m.thrift, into: &out)
        let n = UInt32(truncatingIfNeeded: out.count)
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt32(i)))) }
        out.append(contentsOf: magic)
        return out
    }
}
