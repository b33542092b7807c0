// The safetensors header parser (trl/sdk/model/safetensors_header.h): what it accepts, one test per
// corruption class with its exact message, and the fuzzer's corpus (tests/fuzz/corpus/safetensors/) run
// as a regression suite through the parser and the file reader.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "trl/sdk/error.h"
#include "trl/sdk/model/safetensors.h"
#include "trl/sdk/model/safetensors_header.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

const fs::path kCorpusDir = fs::path(TRL_TEST_DATA_DIR) / "fuzz" / "corpus" / "safetensors";

/// A file image: 8-byte little-endian length, `header` padded with spaces to 8 bytes (unless !pad),
/// then `buffer_bytes` bytes counting up from 0.
Bytes file_of(const std::string& header, size_t buffer_bytes, bool pad = true) {
  std::string text = header;
  if (pad) text.resize((text.size() + 7) / 8 * 8, ' ');
  Bytes out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  out.insert(out.end(), text.begin(), text.end());
  for (size_t i = 0; i < buffer_bytes; ++i) out.push_back(static_cast<uint8_t>(i));
  return out;
}

/// The ModelError message of parsing `bytes` as model.safetensors, or "" when it parses.
/// Any other exception escapes and fails the test.
std::string parse_error(const Bytes& bytes) {
  try {
    trl::parse_safetensors_header(bytes.data(), bytes.size(), bytes.size(), "model.safetensors");
  } catch (const trl::ModelError& e) {
    return e.what();
  }
  return "";
}

std::string parse_error(const std::string& header, size_t buffer_bytes) {
  return parse_error(file_of(header, buffer_bytes));
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ---------------------------------------------------------------- header parser: accepted files

TEST(SafetensorsHeader, ParsesEntriesInFileOrderWithMetadata) {
  const Bytes f = file_of(R"({"b":{"dtype":"F16","shape":[3],"data_offsets":[8,14]},)"
                          R"("__metadata__":{"format":"pt"},"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]}})",
                          14);
  const trl::SafetensorsHeader h = trl::parse_safetensors_header(f.data(), f.size(), f.size(), "m");
  ASSERT_EQ(h.entries.size(), 2u);
  EXPECT_EQ(h.entries[0].name, "a");
  EXPECT_EQ(h.entries[0].dtype, "I64");
  EXPECT_TRUE(h.entries[0].shape.empty());
  EXPECT_EQ(h.entries[1].name, "b");
  EXPECT_EQ(h.entries[1].shape, std::vector<int64_t>{3});
  EXPECT_EQ(h.entries[1].begin, 8u);
  EXPECT_EQ(h.entries[1].end, 14u);
  EXPECT_EQ(h.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ(h.data_start(), f.size() - 14);
  EXPECT_EQ(h.header_bytes % 8, 0u);
}

TEST(SafetensorsHeader, AcceptsEmptyHeaderAndZeroSizeTensors) {
  EXPECT_EQ(parse_error("{}", 0), "");
  const Bytes f = file_of(R"({"z":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]},)"
                          R"("w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},)"
                          R"("e":{"dtype":"BF16","shape":[0],"data_offsets":[4,4]}})",
                          4);
  const trl::SafetensorsHeader h = trl::parse_safetensors_header(f.data(), f.size(), f.size(), "m");
  ASSERT_EQ(h.entries.size(), 3u);
  EXPECT_EQ(h.entries[0].name, "w");
  EXPECT_EQ(h.entries[1].name, "e");  // ties at one offset: name order, deterministic
  EXPECT_EQ(h.entries[2].name, "z");
}

TEST(SafetensorsHeader, AcceptsUnpaddedHeaderAndUnknownEntryFields) {
  // The reference reads headers of any length and ignores extra fields of an entry.
  EXPECT_EQ(parse_error(file_of(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"note":1}})", 2, false)),
            "");
}

TEST(SafetensorsHeader, AcceptsFormatDtypesLibTorchLacks) {
  EXPECT_EQ(parse_error(R"({"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]},)"
                        R"("p":{"dtype":"F4","shape":[2,3],"data_offsets":[4,7]},)"
                        R"("u":{"dtype":"U64","shape":[1],"data_offsets":[7,15]}})",
                        15),
            "");
}

TEST(SafetensorsHeader, ReadsNoMoreThanTheHeaderBytes) {
  const Bytes f = file_of(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16);
  const size_t header_only = f.size() - 16;
  const trl::SafetensorsHeader h = trl::parse_safetensors_header(f.data(), header_only, f.size(), "m");
  EXPECT_EQ(h.entries.size(), 1u);
  try {
    trl::parse_safetensors_header(f.data(), header_only - 1, f.size(), "m");
    FAIL() << "expected ModelError";
  } catch (const trl::ModelError& e) {
    EXPECT_EQ(std::string(e.what()), "m: header length " + std::to_string(header_only - 8) + " needs " +
                                         std::to_string(header_only) + " bytes but only " +
                                         std::to_string(header_only - 1) + " were read");
  }
}

// ---------------------------------------------------------------- header parser: each corruption class

TEST(SafetensorsHeader, RefusesFileShorterThanLengthField) {
  EXPECT_EQ(parse_error(Bytes{8, 0, 0, 0, 0}),
            "model.safetensors: file is 5 bytes, too short for the 8-byte header length of a safetensors file");
}

TEST(SafetensorsHeader, RefusesHeaderLengthPastEndOfFile) {
  Bytes f{0xe8, 0x03, 0, 0, 0, 0, 0, 0, '{', '}'};  // N = 1000 in a 10-byte file
  EXPECT_EQ(parse_error(f), "model.safetensors: header length 1000 runs past the end of the 10-byte file");
}

TEST(SafetensorsHeader, RefusesHeaderLengthOverLimit) {
  Bytes f{0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, '{', '}'};  // N = 100000001
  EXPECT_EQ(parse_error(f), "model.safetensors: header length 100000001 exceeds the 100000000-byte limit");
  Bytes huge(8, 0xff);  // N = 2^64 - 1: no overflow in 8 + N
  EXPECT_EQ(parse_error(huge),
            "model.safetensors: header length 18446744073709551615 exceeds the 100000000-byte limit");
}

TEST(SafetensorsHeader, RefusesTruncatedJson) {
  const std::string msg = parse_error(R"({"w":{"dtype":"F32","shape":[2,2],"data_offs)", 16);
  EXPECT_EQ(msg.rfind("model.safetensors: header is not valid JSON: parse error at line 1, column ", 0), 0u) << msg;
}

TEST(SafetensorsHeader, RefusesEmptyHeaderText) {
  const std::string msg = parse_error(Bytes(8, 0));
  EXPECT_EQ(msg.rfind("model.safetensors: header is not valid JSON: ", 0), 0u) << msg;
}

TEST(SafetensorsHeader, RefusesInvalidUtf8) {
  const std::string msg = parse_error("{\"\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
  EXPECT_NE(msg.find("header is not valid JSON: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
}

TEST(SafetensorsHeader, RefusesNulPadding) {
  // nlohmann alone would stop at the NUL and accept "{}"; the reference (serde) refuses it.
  Bytes f{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(parse_error(f), "model.safetensors: header is not valid JSON: NUL byte at header offset 2");
}

TEST(SafetensorsHeader, RefusesByteOrderMark) {
  // nlohmann alone would skip it; the reference refuses it.
  EXPECT_EQ(parse_error("\xEF\xBB\xBF{}", 0),
            "model.safetensors: header is not valid JSON: it starts with a UTF-8 byte order mark");
}

TEST(SafetensorsHeader, RefusesHeaderThatIsNotAnObject) {
  EXPECT_EQ(parse_error("[1,2,3]", 0), "model.safetensors: header must be a JSON object, found array [1,2,3]");
}

TEST(SafetensorsHeader, RefusesEntryThatIsNotAnObject) {
  EXPECT_EQ(parse_error(R"({"w":[0,16]})", 16),
            "model.safetensors: tensor 'w': expected an object with dtype, shape and data_offsets, found array [0,16]");
}

TEST(SafetensorsHeader, RefusesMissingField) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[4]}})", 16),
            "model.safetensors: tensor 'w': missing \"data_offsets\"");
  EXPECT_EQ(parse_error(R"({"w":{"shape":[4],"data_offsets":[0,16]}})", 16),
            "model.safetensors: tensor 'w': missing \"dtype\"");
}

TEST(SafetensorsHeader, RefusesUnknownDtype) {
  const std::string msg = parse_error(R"({"w":{"dtype":"F33","shape":[4],"data_offsets":[0,16]}})", 16);
  EXPECT_EQ(msg.rfind("model.safetensors: tensor 'w': unknown dtype \"F33\" (expected one of BOOL, U8, ", 0), 0u) << msg;
}

TEST(SafetensorsHeader, RefusesDtypeThatIsNotAString) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":32,"shape":[4],"data_offsets":[0,16]}})", 16),
            "model.safetensors: tensor 'w': dtype: expected a string, found number 32");
}

TEST(SafetensorsHeader, RefusesShapeThatIsNotAnArray) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":4,"data_offsets":[0,16]}})", 16),
            "model.safetensors: tensor 'w': shape: expected an array of non-negative integers, found number 4");
}

TEST(SafetensorsHeader, RefusesNegativeDimension) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}})", 16),
            "model.safetensors: tensor 'w': shape[1] is -2, expected a non-negative integer");
}

TEST(SafetensorsHeader, RefusesFractionalDimension) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[2.0,2],"data_offsets":[0,16]}})", 16),
            "model.safetensors: tensor 'w': shape[0]: expected a non-negative integer, found number 2.0");
}

TEST(SafetensorsHeader, RefusesDimensionAboveInt64) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"U8","shape":[9223372036854775808,0],"data_offsets":[0,0]}})", 0),
            "model.safetensors: tensor 'w': shape[0] is 9223372036854775808, above the limit 9223372036854775807");
}

TEST(SafetensorsHeader, RefusesShapeSizeMismatch) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})", 16),
            "model.safetensors: tensor 'w': shape [2, 3] with dtype F32 needs 24 bytes but data_offsets [0, 16] hold 16");
}

TEST(SafetensorsHeader, RefusesShapeProductOverflow) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", 0),
            "model.safetensors: tensor 'w': shape [4294967296, 4294967296, 0] overflows a 64-bit element count");
}

TEST(SafetensorsHeader, RefusesByteCountOverflow) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,16]}})", 16),
            "model.safetensors: tensor 'w': shape [4611686018427387904] with dtype F64 overflows a 64-bit byte count");
}

TEST(SafetensorsHeader, RefusesSubByteTensorOfPartialBytes) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2),
            "model.safetensors: tensor 'w': shape [3] with dtype F4 is 12 bits, not a whole number of bytes");
}

TEST(SafetensorsHeader, RefusesOffsetsThatAreNotAPair) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16,32]}})", 16),
            "model.safetensors: tensor 'w': data_offsets: expected [begin, end], found array [0,16,32]");
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[-16,0]}})", 16),
            "model.safetensors: tensor 'w': data_offsets[0] is -16, expected a non-negative integer");
}

TEST(SafetensorsHeader, RefusesReversedOffsets) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}})", 16),
            "model.safetensors: tensor 'w': data_offsets [16, 0]: begin is past end");
}

TEST(SafetensorsHeader, RefusesOffsetsPastBuffer) {
  EXPECT_EQ(parse_error(R"({"model.norm.weight":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}})", 64),
            "model.safetensors: tensor 'model.norm.weight': data_offsets [0, 100] exceed the 64-byte data buffer");
}

TEST(SafetensorsHeader, RefusesOverlappingTensors) {
  EXPECT_EQ(parse_error(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                        16),
            "model.safetensors: tensor 'b': data_offsets [8, 16] overlap tensor 'a' at [0, 12]");
}

TEST(SafetensorsHeader, RefusesGapBetweenTensors) {
  EXPECT_EQ(parse_error(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
                        24),
            "model.safetensors: tensor 'b': data_offsets [16, 24] leave a gap of 4 bytes after tensor 'a' at [0, 12]");
}

TEST(SafetensorsHeader, RefusesGapAtStartOfBuffer) {
  EXPECT_EQ(parse_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
            "model.safetensors: tensor 'a': data_offsets [4, 8] leave the first 4 bytes of the data buffer uncovered");
}

TEST(SafetensorsHeader, RefusesTrailingBytes) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 24),
            "model.safetensors: the tensors cover 16 of the 24 bytes of the data buffer, leaving 8 trailing bytes");
}

TEST(SafetensorsHeader, RefusesDuplicateTensorName) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        4),
            "model.safetensors: tensor 'w' appears twice in the header");
}

TEST(SafetensorsHeader, RefusesDuplicateFieldInEntry) {
  EXPECT_EQ(parse_error(R"({"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}})", 4),
            "model.safetensors: tensor 'w': key \"dtype\" appears twice");
}

TEST(SafetensorsHeader, RefusesDuplicateMetadata) {
  EXPECT_EQ(parse_error(R"({"__metadata__":{"a":"1","a":"2"}})", 0),
            "model.safetensors: __metadata__: key \"a\" appears twice");
  EXPECT_EQ(parse_error(R"({"__metadata__":{},"__metadata__":{}})", 0),
            "model.safetensors: \"__metadata__\" appears twice in the header");
}

TEST(SafetensorsHeader, RefusesMetadataThatIsNotAnObjectOfStrings) {
  EXPECT_EQ(parse_error(R"({"__metadata__":["format","pt"]})", 0),
            "model.safetensors: __metadata__: expected an object of strings, found array [\"format\",\"pt\"]");
  EXPECT_EQ(parse_error(R"({"__metadata__":{"step":3}})", 0),
            "model.safetensors: __metadata__: 'step': expected a string, found number 3");
  EXPECT_EQ(parse_error(R"({"__metadata__":null})", 0),
            "model.safetensors: __metadata__: expected an object of strings, found null null");
}

TEST(SafetensorsHeader, RefusesDeepNesting) {
  EXPECT_EQ(parse_error(std::string(5000, '[') + std::string(5000, ']'), 0),
            "model.safetensors: header JSON nests deeper than 32 levels");
}

TEST(SafetensorsHeader, CutsLongNamesInMessages) {
  const std::string name(1000, 'x');
  const std::string msg = parse_error(R"({")" + name + R"(":{"dtype":"F33","shape":[],"data_offsets":[0,4]}})", 4);
  EXPECT_LT(msg.size(), 400u);
  EXPECT_NE(msg.find(std::string(120, 'x') + "...'"), std::string::npos) << msg;
}

TEST(SafetensorsDtype, KnowsEveryFormatDtypeSize) {
  EXPECT_EQ(trl::safetensors_dtype_bits("BOOL"), 8);
  EXPECT_EQ(trl::safetensors_dtype_bits("BF16"), 16);
  EXPECT_EQ(trl::safetensors_dtype_bits("C64"), 64);
  EXPECT_EQ(trl::safetensors_dtype_bits("U64"), 64);
  EXPECT_EQ(trl::safetensors_dtype_bits("F4"), 4);
  EXPECT_EQ(trl::safetensors_dtype_bits("F6_E3M2"), 6);
  EXPECT_EQ(trl::safetensors_dtype_bits("f32"), 0);
  EXPECT_EQ(trl::safetensors_dtype_bits(""), 0);
}

// ---------------------------------------------------------------- fuzz corpus as a regression suite

// Every committed corpus entry (seeds and fuzzer finds): valid-* must parse, bad-* must be refused, and
// nothing may escape but ModelError. Runs each through the file reader too, as a model load would.
TEST(SafetensorsFuzzCorpus, EveryEntryParsesOrThrowsModelError) {
  size_t count = 0;
  for (const auto& e : fs::directory_iterator(kCorpusDir)) {
    const std::string name = e.path().filename().string();
    SCOPED_TRACE(name);
    const Bytes bytes = read_file(e.path().string());
    const std::string error = parse_error(bytes);
    if (name.rfind("valid-", 0) == 0) {
      EXPECT_EQ(error, "");
    } else if (name.rfind("bad-", 0) == 0) {
      EXPECT_NE(error, "");
    }
    std::string file_error;
    try {
      const trl::SafetensorsFile f(e.path().string());
      for (const trl::SafetensorsEntry& entry : f.entries()) {
        try {
          f.load(entry.name);
        } catch (const trl::ModelError&) {
          // A dtype the format has and LibTorch 1.13 lacks (F8_*, F4, U16, ...).
        }
      }
    } catch (const trl::ModelError& err) {
      file_error = err.what();
    }
    EXPECT_EQ(file_error.empty(), error.empty()) << file_error;
    ++count;
  }
  EXPECT_GE(count, 40u);
}

}  // namespace
