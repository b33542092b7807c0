// TensorBoard event files: CRC-32C against published check values, and files read back by an independent
// reader written from the published formats (tests/tensorboard/read_events.py: framing, CRCs, protobuf).
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "train/crc32c.h"
#include "train/tensorboard_writer.h"

namespace {
namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trl-tb-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// Runs the reader; its exit status (0 = framing, CRCs and protobuf fine and the values match metrics.jsonl).
int read_events(const std::string& runs_dir, const std::string& metrics, const std::string& log) {
  const std::string cmd = "python3 " + std::string(TRL_TEST_DATA_DIR) + "/tensorboard/read_events.py '" + runs_dir +
                          "' '" + metrics + "' > '" + log + "' 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Check values of CRC-32C (iSCSI): RFC 3720 B.4 and the "123456789" check of the CRC catalogue.
TEST(Crc32c, MatchesPublishedCheckValues) {
  EXPECT_EQ(trl::crc32c("123456789", 9), 0xE3069283u);
  const std::string zeros(32, '\0'), ones(32, '\xff');
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(trl::crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(trl::crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(trl::crc32c(ascending.data(), ascending.size()), 0x46DD794Eu);
}

TEST(TfRecord, FramesLengthDataAndMaskedCrcs) {
  const std::string record = trl::tfrecord("abc");
  ASSERT_EQ(record.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(record.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(record.substr(12, 3), "abc");
  const uint32_t crc = trl::crc32c("abc", 3);
  const uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
  uint32_t stored = 0;
  std::memcpy(&stored, record.data() + 15, 4);
  EXPECT_EQ(stored, masked);
}

TEST(TensorBoardWriter, EveryEntryReadsBackEqualToMetricsJsonl) {
  const std::string dir = fresh_dir("entries");
  const std::vector<nlohmann::json> entries = {
      {{"loss", 0.6931471805599453}, {"grad_norm", 1.25}, {"learning_rate", 1e-6}, {"epoch", 0.5}, {"step", 1}},
      {{"loss", 0.5}, {"rewards/accuracies", nullptr}, {"eval_loss", -3.0e-8}, {"epoch", 1.0}, {"step", 2}},
      {{"train_loss", 123456.789}, {"train_runtime", 0.01}, {"step", 300}}};
  {
    trl::TensorBoardWriter writer(dir + "/runs");
    EXPECT_EQ(fs::path(writer.path()).filename().string().rfind("events.out.tfevents.", 0), 0u) << writer.path();
    std::ofstream metrics(dir + "/metrics.jsonl");
    for (const auto& e : entries) {
      writer.write(e["step"].get<int64_t>(), e);
      metrics << e.dump() << "\n";
    }
  }
  EXPECT_EQ(read_events(dir + "/runs", dir + "/metrics.jsonl", dir + "/reader.log"), 0) << slurp(dir + "/reader.log");
  fs::remove_all(dir);
}

TEST(TensorBoardWriter, IndependentReaderRejectsACorruptedByte) {
  // The reader really checks the CRCs: flip one byte of a value and it must refuse the file.
  const std::string dir = fresh_dir("corrupt");
  std::string path;
  {
    trl::TensorBoardWriter writer(dir + "/runs");
    path = writer.path();
    writer.write(1, {{"loss", 0.25}, {"step", 1}});
  }
  std::ofstream(dir + "/metrics.jsonl") << nlohmann::json({{"loss", 0.25}, {"step", 1}}).dump() << "\n";
  ASSERT_EQ(read_events(dir + "/runs", dir + "/metrics.jsonl", dir + "/reader.log"), 0) << slurp(dir + "/reader.log");
  std::string bytes = slurp(path);
  bytes[bytes.size() - 6] ^= 0x01;  // inside the last record's float
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_EQ(read_events(dir + "/runs", dir + "/metrics.jsonl", dir + "/reader.log"), 1);
  EXPECT_NE(slurp(dir + "/reader.log").find("bad data CRC"), std::string::npos) << slurp(dir + "/reader.log");
  fs::remove_all(dir);
}

TEST(TensorBoardWriter, TwoWritersInOneSecondGetTwoFiles) {
  const std::string dir = fresh_dir("two");
  trl::TensorBoardWriter first(dir + "/runs"), second(dir + "/runs");
  EXPECT_NE(first.path(), second.path());
  fs::remove_all(dir);
}

}  // namespace
