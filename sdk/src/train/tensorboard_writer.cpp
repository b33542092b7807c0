// TensorBoard event writer (see tensorboard_writer.h): protobuf wire format by hand, TFRecord framing.
#include "train/tensorboard_writer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <filesystem>
#include <limits>

#include "train/crc32c.h"
#include "trl/sdk/error.h"

namespace trl {
namespace {

// Protobuf wire types (developers.google.com/protocol-buffers/docs/encoding).
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_tag(std::string& out, uint32_t field, uint32_t wire_type) { put_varint(out, (field << 3) | wire_type); }

template <class T>
void put_little_endian(std::string& out, T value) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86-64 and aarch64 Linux are little endian, as the format
  out.append(reinterpret_cast<const char*>(bytes), sizeof(T));
}

void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_tag(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

// Event fields 1 (wall_time) and 2 (step); step 0 is omitted, as proto3 omits defaults.
std::string event_header(double wall_time, int64_t step) {
  std::string event;
  put_tag(event, 1, kFixed64);
  put_little_endian(event, wall_time);
  if (step != 0) {
    put_tag(event, 2, kVarint);
    put_varint(event, static_cast<uint64_t>(step));  // int64: negative values are 10-byte two's complement
  }
  return event;
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// Two writers of one process in the same second (a run resumed in-process) still get two files.
std::atomic<int64_t> next_file_number{0};

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

std::string expand_user(const std::string& path) {
  if (path != "~" && !starts_with(path, "~/")) return path;
  const char* home = std::getenv("HOME");
  return home && *home ? std::string(home) + path.substr(1) : path;
}

}  // namespace

std::string default_logging_dir(const std::string& output_dir) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::snprintf(stamp, sizeof(stamp), "%s%02d_%02d-%02d-%02d", kMonths[local.tm_mon], local.tm_mday, local.tm_hour,
                local.tm_min, local.tm_sec);
  return output_dir + "/runs/" + stamp + "_" + host_name();
}

std::string tensorboard_logging_dir(const std::optional<std::string>& logging_dir, const std::string& output_dir) {
  if (logging_dir && !logging_dir->empty()) return expand_user(*logging_dir);
  const char* env = std::getenv("TENSORBOARD_LOGGING_DIR");
  if (env && *env) return expand_user(env);
  return default_logging_dir(output_dir);
}

std::string tensorboard_tag(const std::string& key) {
  if (starts_with(key, "eval_")) return "eval/" + key.substr(5);
  if (starts_with(key, "test_")) return "test/" + key.substr(5);
  return "train/" + key;
}

std::string tfrecord(const std::string& data) {
  std::string record;
  const uint64_t length = data.size();
  put_little_endian(record, length);
  put_little_endian(record, masked_crc32c(record.data(), sizeof(length)));
  record += data;
  put_little_endian(record, masked_crc32c(data.data(), data.size()));
  return record;
}

std::string file_version_event(double wall_time) {
  std::string event = event_header(wall_time, 0);
  put_bytes(event, 3, "brain.Event:2");
  return event;
}

std::string scalars_event(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string summary_value;
    put_bytes(summary_value, 1, tag);
    put_tag(summary_value, 2, kFixed32);
    put_little_endian(summary_value, value);
    put_bytes(summary, 1, summary_value);
  }
  std::string event = event_header(wall_time, step);
  put_bytes(event, 5, summary);
  return event;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const double now = unix_seconds();
  path_ = dir + "/events.out.tfevents." + std::to_string(static_cast<int64_t>(now)) + "." + host_name() + "." +
          std::to_string(getpid()) + "." + std::to_string(next_file_number++);
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw ConfigError("args", "logging_dir", "cannot write the TensorBoard event file " + path_);
  append(file_version_event(now));
}

void TensorBoardWriter::write(int64_t step, const nlohmann::json& entry) {
  std::vector<std::pair<std::string, float>> scalars;
  for (const auto& [key, value] : entry.items()) {
    if (key == "step") continue;
    if (value.is_number()) scalars.emplace_back(tensorboard_tag(key), static_cast<float>(value.get<double>()));
    if (value.is_null()) scalars.emplace_back(tensorboard_tag(key), std::numeric_limits<float>::quiet_NaN());
  }
  if (!scalars.empty()) append(scalars_event(unix_seconds(), step, scalars));
}

void TensorBoardWriter::append(const std::string& event) {
  out_ << tfrecord(event) << std::flush;
}

}  // namespace trl
