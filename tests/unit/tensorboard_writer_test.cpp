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
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "train/crc32c.h"
#include "train/tensorboard_writer.h"
#include "trl/sdk/error.h"
#include "trl/sdk/params.h"
#include "trl/sdk/train/training_args.h"

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

// transformers' rewrite_logs (integrations/integration_utils.py): the tags TensorBoardCallback writes.
TEST(TensorBoardTag, RenamesKeysAsTransformersRewriteLogs) {
  EXPECT_EQ(trl::tensorboard_tag("loss"), "train/loss");
  EXPECT_EQ(trl::tensorboard_tag("rewards/margins"), "train/rewards/margins");
  EXPECT_EQ(trl::tensorboard_tag("eval_loss"), "eval/loss");
  EXPECT_EQ(trl::tensorboard_tag("eval_rewards/accuracies"), "eval/rewards/accuracies");
  EXPECT_EQ(trl::tensorboard_tag("test_x"), "test/x");
  EXPECT_EQ(trl::tensorboard_tag("train_loss"), "train/train_loss");
  EXPECT_EQ(trl::tensorboard_tag("evaluation"), "train/evaluation");
}

// Sets or clears TENSORBOARD_LOGGING_DIR for one test and restores it after.
class LoggingDirEnv {
 public:
  explicit LoggingDirEnv(const char* value) {
    if (const char* old = std::getenv("TENSORBOARD_LOGGING_DIR")) old_ = old;
    value ? setenv("TENSORBOARD_LOGGING_DIR", value, 1) : unsetenv("TENSORBOARD_LOGGING_DIR");
  }
  ~LoggingDirEnv() { old_.empty() ? unsetenv("TENSORBOARD_LOGGING_DIR") : setenv("TENSORBOARD_LOGGING_DIR", old_.c_str(), 1); }

 private:
  std::string old_;
};

// transformers' default_logdir(): os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + hostname).
TEST(TensorBoardLoggingDir, DefaultIsOutputDirRunsDateAndHost) {
  const LoggingDirEnv env(nullptr);
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  const std::string dir = trl::tensorboard_logging_dir(std::nullopt, "out/x");
  const std::regex pattern("out/x/runs/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[0-3][0-9]_[0-2][0-9]-[0-5][0-9]-[0-6][0-9]_" +
                           std::regex_replace(std::string(host), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)"));
  EXPECT_TRUE(std::regex_match(dir, pattern)) << dir;
}

TEST(TensorBoardLoggingDir, ArgumentThenEnvironmentThenDefault) {
  {
    const LoggingDirEnv env("/tmp/from-env");
    EXPECT_EQ(trl::tensorboard_logging_dir(std::string("tb/here"), "out"), "tb/here");
    EXPECT_EQ(trl::tensorboard_logging_dir(std::nullopt, "out"), "/tmp/from-env");
  }
  {
    const LoggingDirEnv env("");  // empty counts as unset
    EXPECT_EQ(trl::tensorboard_logging_dir(std::nullopt, "out").rfind("out/runs/", 0), 0u);
  }
  const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  if (!home.empty()) {
    EXPECT_EQ(trl::tensorboard_logging_dir(std::string("~/tb"), "out"), home + "/tb");
  }
}

trl::TrainingArguments report_to(const nlohmann::json& value) {
  nlohmann::json args = {{"output_dir", "out"}};
  if (!value.is_null()) args["report_to"] = value;
  return trl::TrainingArguments::from_args(trl::training_arguments_params().validate(args, "run.json: args"));
}

std::string report_to_error(const nlohmann::json& value) {
  try {
    report_to(value);
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// report_to defaults to "all" as in transformers 4.x (every installed integration, here: tensorboard), so
// every run writes TensorBoard events; "none" turns them off.
TEST(TrainingArgumentsReportTo, DefaultsToAllAsTransformers4) {
  EXPECT_EQ(report_to(nullptr).report_to, std::vector<std::string>{"tensorboard"});
  EXPECT_TRUE(report_to(nullptr).reports_to("tensorboard"));
  EXPECT_FALSE(report_to(nullptr).logging_dir.has_value());
  EXPECT_TRUE(report_to("none").report_to.empty());
  EXPECT_TRUE(report_to(nlohmann::json::array()).report_to.empty());
}

TEST(TrainingArgumentsReportTo, AllAndTensorBoardMeanTensorBoard) {
  const std::vector<std::string> tensorboard = {"tensorboard"};
  EXPECT_EQ(report_to("all").report_to, tensorboard);
  EXPECT_EQ(report_to("tensorboard").report_to, tensorboard);
  EXPECT_EQ(report_to(nlohmann::json::array({"tensorboard"})).report_to, tensorboard);
  EXPECT_TRUE(report_to("all").reports_to("tensorboard"));
}

TEST(TrainingArgumentsReportTo, OtherIntegrationsAreConfigErrorsListingTheSupportedValues) {
  const std::string wandb = report_to_error(nlohmann::json::array({"tensorboard", "wandb"}));
  EXPECT_NE(wandb.find("run.json: args: report_to: \"wandb\" is a transformers integration that trl-host does not "
                       "include; supported: \"tensorboard\", \"all\" (= tensorboard) or \"none\""),
            std::string::npos)
      << wandb;
  const std::string typo = report_to_error("tensorbord");
  EXPECT_NE(typo.find("report_to: \"tensorbord\" is not an integration; supported:"), std::string::npos) << typo;
  const std::string mixed = report_to_error(nlohmann::json::array({"none", "tensorboard"}));
  EXPECT_NE(mixed.find("report_to: \"none\" must be the only entry"), std::string::npos) << mixed;
  EXPECT_NE(report_to_error(3).find("report_to"), std::string::npos);
}

TEST(TrainingArgumentsReportTo, LoggingDirIsReadAndMustNotBeEmpty) {
  nlohmann::json args = {{"output_dir", "out"}, {"logging_dir", "tb"}};
  const trl::TrainingArguments t =
      trl::TrainingArguments::from_args(trl::training_arguments_params().validate(args, "run.json: args"));
  EXPECT_EQ(t.logging_dir, std::optional<std::string>("tb"));
  args["logging_dir"] = "";
  try {
    trl::TrainingArguments::from_args(trl::training_arguments_params().validate(args, "run.json: args"));
    ADD_FAILURE() << "an empty logging_dir was accepted";
  } catch (const trl::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("logging_dir: must not be empty"), std::string::npos) << e.what();
  }
}

}  // namespace
