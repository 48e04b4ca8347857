import Parquet
import Testing

@Suite struct ParquetTypes {
    @Test func namesFollowTheSpec() {
        #expect(PhysicalType.fixedLenByteArray.description == "FIXED_LEN_BYTE_ARRAY")
        #expect(Encoding.rleDictionary.description == "RLE_DICTIONARY")
        #expect(CompressionCodec(rawValue: 42).description == "codec 42")
    }
}
