// safetensors I/O: the mmap reader, the atomic writer, and interop with files written and read by an
// independent Python implementation (tests/golden/check_safetensors_interop.py). The header parser's
// rules and the fuzz corpus are in safetensors_header_test.cpp.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "trl/sdk/error.h"
#include "trl/sdk/model/safetensors.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

const fs::path kGoldenDir = fs::path(TRL_TEST_DATA_DIR) / "golden" / "safetensors";

/// A fresh empty folder, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("trl-safetensors-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// Names of everything in the folder (to see leftover temporaries).
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

/// A file image: 8-byte little-endian length, `header` padded with spaces to 8 bytes (unless !pad),
/// then `buffer_bytes` bytes counting up from 0.
Bytes file_of(const std::string& header, size_t buffer_bytes, bool pad = true) {
  std::string text = header;
  if (pad) text.resize((text.size() + 7) / 8 * 8, ' ');
  Bytes out;
  out.reserve(8 + text.size() + buffer_bytes);  // one allocation (GCC 12 also warns falsely on insert's regrowth)
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (size_t i = 0; i < buffer_bytes; ++i) out.push_back(static_cast<uint8_t>(i));
  return out;
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// The raw row-major bytes of a tensor.
Bytes bytes_of(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  const auto* p = static_cast<const uint8_t*>(c.data_ptr());
  return Bytes(p, p + c.nbytes());
}

/// A tensor of `shape` and `dtype` whose bytes are random (NaN payloads and subnormals included), seeded.
at::Tensor random_bits(at::IntArrayRef shape, c10::ScalarType dtype, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  if (dtype == at::kBool) return at::randint(0, 2, shape, gen, at::kLong).to(at::kBool);
  const int64_t elements = c10::multiply_integers(shape);
  const int64_t bytes = elements * static_cast<int64_t>(c10::elementSize(dtype));
  return at::randint(0, 256, {bytes}, gen, at::kByte).view(dtype).reshape(shape);
}

std::string what_of_load(const trl::SafetensorsFile& f, const std::string& name, c10::ScalarType dtype) {
  try {
    f.load(name, dtype);
  } catch (const trl::ModelError& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------- reader and writer

TEST(SafetensorsFile, RoundTripsEveryDtypeBitForBit) {
  TempDir dir;
  const std::vector<c10::ScalarType> dtypes = {at::kBool, at::kByte,  at::kChar,     at::kShort,
                                               at::kInt,  at::kLong,  at::kHalf,     at::kBFloat16,
                                               at::kFloat, at::kDouble, at::kComplexFloat};
  NamedTensors tensors;
  for (size_t i = 0; i < dtypes.size(); ++i)
    tensors.emplace_back("t" + std::to_string(i), random_bits({3, 5, 2}, dtypes[i], /*seed=*/i));
  trl::save_safetensors(dir.file("all.safetensors"), tensors);
  const NamedTensors back = trl::load_safetensors(dir.file("all.safetensors"));
  ASSERT_EQ(back.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].first);
    EXPECT_EQ(back[i].first, tensors[i].first);
    EXPECT_EQ(back[i].second.scalar_type(), dtypes[i]);
    EXPECT_EQ(back[i].second.sizes(), tensors[i].second.sizes());
    EXPECT_EQ(bytes_of(back[i].second), bytes_of(tensors[i].second));
  }
}

TEST(SafetensorsFile, RoundTripsNonContiguousZeroDimAndEmptyTensors) {
  TempDir dir;
  const at::Tensor base = random_bits({6, 8}, at::kFloat, 7);
  const at::Tensor transposed = base.t();                                           // (8, 6), strides (1, 8)
  const at::Tensor strided = base.slice(/*dim=*/1, /*start=*/1, /*end=*/8, /*step=*/3);  // (6, 3)
  const at::Tensor expanded = at::arange(4, at::kLong).expand({3, 4});              // stride 0
  const at::Tensor conjugated = random_bits({4}, at::kComplexFloat, 3).conj();      // lazy conj bit
  const at::Tensor scalar = at::scalar_tensor(2.5, at::kBFloat16);
  const at::Tensor empty = at::empty({0, 3}, at::kHalf);
  ASSERT_FALSE(transposed.is_contiguous());
  ASSERT_TRUE(conjugated.is_conj());
  const NamedTensors tensors = {{"transposed", transposed}, {"strided", strided}, {"expanded", expanded},
                                {"conjugated", conjugated}, {"scalar", scalar},   {"empty", empty}};
  trl::save_safetensors(dir.file("m.safetensors"), tensors);
  const trl::SafetensorsFile f(dir.file("m.safetensors"));
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    const at::Tensor back = f.load(name);
    EXPECT_EQ(back.sizes(), t.sizes());
    EXPECT_EQ(back.scalar_type(), t.scalar_type());
    EXPECT_EQ(bytes_of(back), bytes_of(t.resolve_conj()));
  }
  EXPECT_EQ(f.entry("scalar").shape, std::vector<int64_t>{});
  EXPECT_EQ(f.entry("empty").begin, f.entry("empty").end);
}

TEST(SafetensorsFile, WritesGivenOrderWithSpacePaddedHeader) {
  TempDir dir;
  const NamedTensors tensors = {{"z", at::ones({3}, at::kHalf)}, {"a", at::ones({1}, at::kByte)},
                                {"m", at::ones({2}, at::kDouble)}};
  trl::save_safetensors(dir.file("o.safetensors"), tensors, {{"format", "pt"}});
  const Bytes bytes = read_file(dir.file("o.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  EXPECT_EQ(n % 8, 0u);
  const std::string text(bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(n));
  const std::string compact = R"({"__metadata__":{"format":"pt"},)"
                              R"("z":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},)"
                              R"("a":{"dtype":"U8","shape":[1],"data_offsets":[6,7]},)"
                              R"("m":{"dtype":"F64","shape":[2],"data_offsets":[7,23]}})";
  EXPECT_EQ(text.substr(0, compact.size()), compact);
  EXPECT_EQ(text.substr(compact.size()), std::string(n - compact.size(), ' '));
  EXPECT_LT(n - compact.size(), 8u);
  EXPECT_EQ(bytes.size(), 8 + n + 23);
  const trl::SafetensorsFile f(dir.file("o.safetensors"));
  ASSERT_EQ(f.entries().size(), 3u);
  EXPECT_EQ(f.entries()[0].name, "z");
  EXPECT_EQ(f.entries()[2].name, "m");
}

TEST(SafetensorsFile, RoundTripsMetadataAndOmitsItWhenEmpty) {
  TempDir dir;
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "ünïcödé \"quoted\"\n"}};
  trl::save_safetensors(dir.file("a.safetensors"), {{"w", at::zeros({2})}}, metadata);
  EXPECT_EQ(trl::SafetensorsFile(dir.file("a.safetensors")).metadata(), metadata);
  trl::save_safetensors(dir.file("b.safetensors"), {{"w", at::zeros({2})}});
  EXPECT_TRUE(trl::SafetensorsFile(dir.file("b.safetensors")).metadata().empty());
  const Bytes b = read_file(dir.file("b.safetensors"));
  EXPECT_EQ(std::string(b.begin() + 8, b.end()).find("__metadata__"), std::string::npos);
}

TEST(SafetensorsFile, LoadConvertsFloatingDtypesAsLibTorchDoes) {
  TempDir dir;
  at::Generator gen = at::detail::createCPUGenerator(11);
  const at::Tensor f32 = at::randn({4, 7}, gen);
  const NamedTensors tensors = {{"h", f32.to(at::kHalf)}, {"b", f32.to(at::kBFloat16)}, {"f", f32},
                                {"d", f32.to(at::kDouble)}};
  trl::save_safetensors(dir.file("c.safetensors"), tensors);
  const trl::SafetensorsFile f(dir.file("c.safetensors"));
  for (const auto& [name, t] : tensors) {
    for (const c10::ScalarType to : {at::kFloat, at::kBFloat16, at::kHalf, at::kDouble}) {
      SCOPED_TRACE(name + " -> " + c10::toString(to));
      const at::Tensor got = f.load(name, to);
      EXPECT_EQ(got.scalar_type(), to);
      EXPECT_EQ(bytes_of(got), bytes_of(t.to(to)));
    }
  }
}

TEST(SafetensorsFile, LoadRefusesNonFloatingConversion) {
  TempDir dir;
  trl::save_safetensors(dir.file("i.safetensors"), {{"ids", at::arange(3, at::kLong)}, {"w", at::zeros({2})}});
  const trl::SafetensorsFile f(dir.file("i.safetensors"));
  EXPECT_EQ(what_of_load(f, "ids", at::kFloat),
            dir.file("i.safetensors") + ": tensor 'ids' is I64 and loads only as itself, not as Float");
  EXPECT_EQ(what_of_load(f, "w", at::kLong),
            dir.file("i.safetensors") + ": tensor 'w' is F32 and loads only as itself, not as Long");
  EXPECT_EQ(f.load("ids", at::kLong).sum().item<int64_t>(), 3);
}

TEST(SafetensorsFile, LoadRefusesMissingTensor) {
  TempDir dir;
  trl::save_safetensors(dir.file("m.safetensors"), {{"a", at::zeros({1})}});
  const trl::SafetensorsFile f(dir.file("m.safetensors"));
  EXPECT_FALSE(f.contains("model.norm.weight"));
  const std::string expected = dir.file("m.safetensors") + ": tensor 'model.norm.weight' not found (the file has 1 tensors)";
  EXPECT_EQ(what_of_load(f, "model.norm.weight", at::kFloat), expected);
  try {
    f.entry("model.norm.weight");
    FAIL() << "expected ModelError";
  } catch (const trl::ModelError& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
}

TEST(SafetensorsFile, LoadRefusesDtypeWithoutLibTorchType) {
  TempDir dir;
  write_file(dir.file("u.safetensors"), file_of(R"({"u":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}})", 4));
  const trl::SafetensorsFile f(dir.file("u.safetensors"));
  EXPECT_EQ(f.entry("u").dtype, "U16");
  try {
    f.load("u");
    FAIL() << "expected ModelError";
  } catch (const trl::ModelError& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("u.safetensors") +
                                         ": tensor 'u': dtype U16 has no LibTorch 1.13 type (supported: BOOL, U8, "
                                         "I8, I16, I32, I64, F16, BF16, F32, F64, C64)");
  }
}

TEST(SafetensorsFile, LoadsEmptyTensorWithLargeDimensions) {
  // 0 elements and strides within int64: loads as an empty tensor of that shape, as torch.empty((0, 2**60, 4))
  // does, on both the copy and the conversion path.
  TempDir dir;
  write_file(dir.file("s.safetensors"),
             file_of(R"({"s":{"dtype":"F32","shape":[0,1152921504606846976,4],"data_offsets":[0,0]}})", 0));
  const trl::SafetensorsFile f(dir.file("s.safetensors"));
  for (const c10::ScalarType to : {at::kFloat, at::kHalf}) {
    const at::Tensor t = f.load("s", to);
    EXPECT_EQ(t.sizes().vec(), (std::vector<int64_t>{0, 1152921504606846976, 4}));
    EXPECT_EQ(t.numel(), 0);
    EXPECT_EQ(t.scalar_type(), to);
  }
}

TEST(SafetensorsFile, RefusesEmptyTensorWhoseStridesOverflow) {
  // Valid for the format (0 elements, no overflow multiplying left to right), but the stride of dim 0 is
  // 2^64: LibTorch 2.x refuses it (torch.empty((0, 2**62, 4)) does) and 1.13 would wrap it, so both builds
  // refuse it with one message, on both paths.
  TempDir dir;
  const std::string path = dir.file("s.safetensors");
  write_file(path, file_of(R"({"s":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}})", 0));
  const trl::SafetensorsFile f(path);
  for (const c10::ScalarType to : {at::kFloat, at::kHalf}) {
    try {
      (void)f.load("s", to);
      ADD_FAILURE() << "loaded a shape whose strides overflow";
    } catch (const trl::ModelError& e) {
      EXPECT_EQ(std::string(e.what()), path + ": tensor 's': shape [0, 4611686018427387904, 4] needs a stride "
                                              "past 2^63 - 1, which LibTorch cannot represent");
    }
  }
}

TEST(SafetensorsFile, RefusesMissingFileDirectoryAndCorruptFile) {
  TempDir dir;
  auto open_error = [](const std::string& path) -> std::string {
    try {
      trl::SafetensorsFile f(path);
    } catch (const trl::ModelError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(open_error(dir.file("absent.safetensors")),
            dir.file("absent.safetensors") + ": cannot open: No such file or directory");
  fs::create_directories(dir.file("folder.safetensors"));
  EXPECT_EQ(open_error(dir.file("folder.safetensors")), dir.file("folder.safetensors") + ": not a regular file");
  write_file(dir.file("empty.safetensors"), {});
  EXPECT_EQ(open_error(dir.file("empty.safetensors")),
            dir.file("empty.safetensors") +
                ": file is 0 bytes, too short for the 8-byte header length of a safetensors file");
  Bytes cut = file_of(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16);
  cut.resize(cut.size() - 4);  // a truncated download
  write_file(dir.file("cut.safetensors"), cut);
  EXPECT_EQ(open_error(dir.file("cut.safetensors")),
            dir.file("cut.safetensors") + ": tensor 'w': data_offsets [0, 16] exceed the 12-byte data buffer");
}

TEST(SafetensorsFile, LoadedTensorsOutliveTheFile) {
  TempDir dir;
  trl::save_safetensors(dir.file("l.safetensors"), {{"w", at::full({3}, 1.5)}});
  at::Tensor w;
  {
    const trl::SafetensorsFile f(dir.file("l.safetensors"));
    w = f.load("w");
  }
  EXPECT_TRUE(at::equal(w, at::full({3}, 1.5)));
}

TEST(SafetensorsWriter, ReplacesFileAtomicallyUnderAnOpenReader) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  trl::save_safetensors(path, {{"w", at::full({1000}, 1.0)}});
  const trl::SafetensorsFile old_file(path);
  trl::save_safetensors(path, {{"w", at::full({10}, 2.0)}, {"b", at::zeros({2})}});
  // The old mapping still sees the old file: the new one was renamed over it, never truncated in place.
  EXPECT_TRUE(at::equal(old_file.load("w"), at::full({1000}, 1.0)));
  const trl::SafetensorsFile new_file(path);
  EXPECT_TRUE(at::equal(new_file.load("w"), at::full({10}, 2.0)));
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"model.safetensors"});  // no temporary left behind
}

TEST(SafetensorsWriter, RefusesBadInputAndLeavesDestinationUntouched) {
  TempDir dir;
  const std::string path = dir.file("keep.safetensors");
  trl::save_safetensors(path, {{"w", at::ones({2})}});
  const Bytes before = read_file(path);
  auto save_error = [&](const NamedTensors& tensors) -> std::string {
    try {
      trl::save_safetensors(path, tensors);
    } catch (const trl::ModelError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(save_error({{"a", at::ones({1})}, {"a", at::ones({1})}}), path + ": tensor 'a' is given twice");
  EXPECT_EQ(save_error({{"__metadata__", at::ones({1})}}),
            path + ": a tensor cannot be named \"__metadata__\" (reserved key)");
  EXPECT_EQ(save_error({{"u", at::Tensor()}}), path + ": tensor 'u' is undefined");
  EXPECT_EQ(save_error({{"c", at::ones({1}, at::kComplexDouble)}}),
            path + ": tensor 'c': dtype ComplexDouble cannot be written (supported: F64, F32, F16, BF16, C64, I64, "
                   "I32, I16, I8, U8, BOOL)");
  EXPECT_NE(save_error({{"bad\xff", at::ones({1})}}).find("not valid UTF-8"), std::string::npos);
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"keep.safetensors"});
}

TEST(SafetensorsWriter, ReportsMissingFolder) {
  TempDir dir;
  const std::string path = dir.file("no/such/folder/m.safetensors");
  try {
    trl::save_safetensors(path, {{"w", at::ones({1})}});
    FAIL() << "expected ModelError";
  } catch (const trl::ModelError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": cannot create the temporary file " + path + ".tmp.", 0), 0u) << msg;
    EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  }
}

// ---------------------------------------------------------------- interop with the Python implementation

/// Expected tensors of tests/golden/safetensors/interop_tensors.json (see check_safetensors_interop.py).
nlohmann::json interop_expectations() {
  std::ifstream in(kGoldenDir / "interop_tensors.json");
  return nlohmann::json::parse(in);
}

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

at::Tensor tensor_from_json(const nlohmann::json& t, const std::string& file) {
  const Bytes bytes = from_hex(t.at("bytes_hex").get<std::string>());
  const c10::ScalarType type = trl::safetensors_scalar_type(t.at("dtype").get<std::string>(), file, "");
  at::Tensor out = at::empty(t.at("shape").get<std::vector<int64_t>>(), at::TensorOptions().dtype(type));
  EXPECT_EQ(out.nbytes(), bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_ptr(), bytes.data(), bytes.size());
  return out;
}

/// Compares decoded values (not only bytes), so a dtype mix-up of equal size (F16 vs BF16) cannot pass.
void expect_values(const at::Tensor& got, const nlohmann::json& values) {
  const at::Tensor flat = got.reshape({-1});
  ASSERT_EQ(static_cast<size_t>(flat.numel()), values.size());
  if (got.is_complex() || got.is_floating_point()) {
    const at::Tensor d = got.is_complex() ? at::view_as_real(flat.to(at::kComplexDouble)).reshape({-1})
                                          : flat.to(at::kDouble);
    std::vector<std::string> want;
    for (const auto& v : values) {
      if (v.is_array()) {
        for (const auto& part : v) want.push_back(part.get<std::string>());
      } else {
        want.push_back(v.get<std::string>());
      }
    }
    ASSERT_EQ(static_cast<size_t>(d.numel()), want.size());
    const double* p = d.data_ptr<double>();
    for (size_t i = 0; i < want.size(); ++i) {
      const double w = std::strtod(want[i].c_str(), nullptr);  // float.hex() text, inf and nan included
      if (std::isnan(w)) {
        EXPECT_TRUE(std::isnan(p[i])) << "element " << i;
      } else {
        EXPECT_EQ(p[i], w) << "element " << i << " expected " << want[i];
        EXPECT_EQ(std::signbit(p[i]), std::signbit(w)) << "element " << i << " (sign of zero)";
      }
    }
  } else if (got.scalar_type() == at::kBool) {
    for (int64_t i = 0; i < flat.numel(); ++i) EXPECT_EQ(flat[i].item<bool>(), values[i].get<bool>()) << i;
  } else {
    const at::Tensor l = flat.to(at::kLong);
    for (int64_t i = 0; i < l.numel(); ++i) EXPECT_EQ(l[i].item<int64_t>(), values[i].get<int64_t>()) << i;
  }
}

// Reference: tests/golden/check_safetensors_interop.py (Python, torch 1.13, seed 0); exact, tolerance 0.
TEST(SafetensorsInterop, ReadsFilesWrittenByPython) {
  const nlohmann::json doc = interop_expectations();
  for (const std::string file : {"interop_python.safetensors", "interop_python_unaligned.safetensors"}) {
    SCOPED_TRACE(file);
    const trl::SafetensorsFile f((kGoldenDir / file).string());
    const auto metadata = doc.at("metadata").at(file).get<std::map<std::string, std::string>>();
    EXPECT_EQ(f.metadata(), metadata);
    EXPECT_EQ(f.entries().size(), doc.at("tensors").size());
    for (const auto& t : doc.at("tensors")) {
      const std::string name = t.at("name").get<std::string>();
      SCOPED_TRACE(name);
      EXPECT_EQ(f.entry(name).dtype, t.at("dtype").get<std::string>());
      const at::Tensor got = f.load(name);
      EXPECT_EQ(got.sizes().vec(), t.at("shape").get<std::vector<int64_t>>());
      EXPECT_EQ(bytes_of(got), from_hex(t.at("bytes_hex").get<std::string>()));
      expect_values(got, t.at("values"));
      if (got.is_floating_point()) {
        // The unaligned file's data sits at odd addresses: conversion must copy out first, same result.
        EXPECT_EQ(bytes_of(f.load(name, at::kDouble)), bytes_of(got.to(at::kDouble)));
      }
    }
  }
}

// Reference: interop_trl.safetensors was written by save_safetensors from interop_tensors.json and passed
// `check_safetensors_interop.py check` (an independent reader with the reference rules). The writer is
// deterministic, so producing those exact bytes again proves Python still reads what we write.
TEST(SafetensorsInterop, WriterReproducesFileCheckedByPython) {
  const nlohmann::json doc = interop_expectations();
  NamedTensors tensors;
  for (const auto& t : doc.at("tensors"))
    tensors.emplace_back(t.at("name").get<std::string>(), tensor_from_json(t, "interop_tensors.json"));
  const std::string out = (fs::path(TRL_BINARY_DIR) / "tests" / "interop_trl.safetensors").string();
  fs::create_directories(fs::path(out).parent_path());
  trl::save_safetensors(out, tensors, {{"format", "pt"}});
  EXPECT_EQ(read_file(out), read_file((kGoldenDir / "interop_trl.safetensors").string()))
      << "the writer's output changed; if intended, check " << out
      << " with tests/golden/check_safetensors_interop.py check and commit it";
}

}  // namespace
