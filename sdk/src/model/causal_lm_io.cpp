// CausalLM from and to a Hugging Face model folder: config.json, model.safetensors or the shards named by
// model.safetensors.index.json, generation_config.json. Every tensor is checked by name and shape against
// the layout the config implies before it is used.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <ATen/ATen.h>

#include "causal_lm_impl.h"
#include "shape_text.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/safetensors.h"

namespace trl {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ModelError(path, "cannot open: " + std::string(std::strerror(errno)));
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw ModelError(path, std::string("invalid JSON: ") + e.what());
  }
}

/// Writes `text` through a temporary sibling, fsync and rename, so readers never see half a file.
void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      fs::remove(tmp);
      throw ModelError(path, "cannot write " + tmp);
    }
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp);
    throw ModelError(path, "cannot rename " + tmp + " into place: " + ec.message());
  }
}

/// Where each tensor lives: one file, or the shards of model.safetensors.index.json.
class WeightFiles {
 public:
  explicit WeightFiles(const std::string& dir) {
    const std::string index_path = dir + "/model.safetensors.index.json";
    const std::string single_path = dir + "/model.safetensors";
    if (fs::exists(index_path)) {
      index_path_ = index_path;
      const json index = read_json_file(index_path);
      if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        throw ModelError(index_path, "weight_map: expected an object {tensor name: shard file}");
      for (const auto& [name, file] : index["weight_map"].items()) {
        if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos)
          throw ModelError(index_path, "weight_map." + name + ": expected a file name in " + dir + ", got " + file.dump());
        shard_of_[name] = file.get<std::string>();
        if (files_.count(file.get<std::string>()) == 0)
          files_[file.get<std::string>()] = std::make_unique<SafetensorsFile>(dir + "/" + file.get<std::string>());
      }
    } else if (fs::exists(single_path)) {
      files_[""] = std::make_unique<SafetensorsFile>(single_path);
    } else {
      throw ModelError(dir, "no model.safetensors or model.safetensors.index.json in this folder");
    }
  }

  /// The file that must hold `name`; throws when the index does not list it.
  const SafetensorsFile& file_of(const std::string& name) const {
    if (index_path_.empty()) return *files_.at("");
    auto it = shard_of_.find(name);
    if (it == shard_of_.end()) throw ModelError(index_path_, "weight_map: missing tensor '" + name + "'");
    return *files_.at(it->second);
  }

  /// Every (file, tensor) pair stored, for the unexpected-tensor check.
  std::vector<std::pair<const SafetensorsFile*, std::string>> all_tensors() const {
    std::vector<std::pair<const SafetensorsFile*, std::string>> out;
    for (const auto& [key, file] : files_)
      for (const SafetensorsEntry& e : file->entries()) out.emplace_back(file.get(), e.name);
    return out;
  }

 private:
  std::string index_path_;
  std::map<std::string, std::string> shard_of_;
  std::map<std::string, std::unique_ptr<SafetensorsFile>> files_;
};

/// Stored tensors transformers would skip without complaint.
bool ignorable(const std::string& name, const ModelConfig& config) {
  const std::string inv_freq = "rotary_emb.inv_freq";  // a buffer older checkpoints saved
  if (name.size() > inv_freq.size() && name.compare(name.size() - inv_freq.size(), inv_freq.size(), inv_freq) == 0)
    return true;
  return config.tie_word_embeddings && name == "lm_head.weight";  // tied: embed_tokens wins
}

}  // namespace

std::unique_ptr<CausalLM> CausalLM::from_pretrained(const std::string& dir, const ModelOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->config = ModelConfig::load(dir);
  impl->device = options.device;
  impl->dtype = options.dtype;
  impl->source = dir + "/config.json";
  dtype_name(options.dtype);
  const WeightFiles files(dir);

  std::set<std::string> expected;
  visit_weights(impl->config, impl->weights,
                [&](const std::string& name, at::Tensor& slot, const std::vector<int64_t>& shape, InitKind) {
                  const SafetensorsFile& file = files.file_of(name);
                  if (!file.contains(name)) throw ModelError(file.path(), "missing tensor '" + name + "'");
                  const SafetensorsEntry& entry = file.entry(name);
                  if (entry.shape != shape)
                    throw ModelError(file.path(), "tensor '" + name + "': expected shape " + shape_text(shape) +
                                                      " for this config, found " + shape_text(entry.shape));
                  if (entry.dtype != "F32" && entry.dtype != "F16" && entry.dtype != "BF16" && entry.dtype != "F64")
                    throw ModelError(file.path(), "tensor '" + name + "': expected a floating dtype (F32, F16, BF16), found " +
                                                      entry.dtype);
                  slot = file.load(name, options.dtype).to(options.device).requires_grad_(true);
                  expected.insert(name);
                });
  for (const auto& [file, name] : files.all_tensors())
    if (expected.count(name) == 0 && !ignorable(name, impl->config))
      throw ModelError(file->path(), "unexpected tensor '" + name + "' (not part of a " + impl->config.architecture +
                                         " with this config.json)");

  const std::string generation_path = dir + "/generation_config.json";
  if (fs::exists(generation_path)) {
    impl->generation_config = read_json_file(generation_path);
    if (!impl->generation_config.is_object())
      throw ModelError(generation_path, "expected a JSON object, got " + impl->generation_config.dump());
  }
  impl->finish();
  log::debug("loaded " + impl->config.architecture + " from " + dir + " (" +
             std::to_string(impl->config.num_parameters()) + " parameters)");
  return std::make_unique<CausalLM>(Key{}, std::move(impl));
}

void CausalLM::save_pretrained(const std::string& dir) const {
  const Impl& m = *impl_;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw ModelError(dir, "cannot create the model folder: " + ec.message());

  ModelConfig config = m.config;
  config.torch_dtype = dtype_name(m.dtype);
  write_text_atomically(dir + "/config.json", config.to_json().dump(2) + "\n");

  std::vector<std::pair<std::string, at::Tensor>> tensors;
  tensors.reserve(m.named.size());
  for (const auto& [name, t] : m.named) tensors.emplace_back(name, t.detach());
  save_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  // A stale index would make the next load read the old shards instead of the file just written.
  fs::remove(dir + "/model.safetensors.index.json", ec);

  json generation = m.generation_config;
  if (generation.empty()) {  // what transformers derives from config.json
    generation = {{"_from_model_config", true}};
    if (config.bos_token_id) generation["bos_token_id"] = *config.bos_token_id;
    if (config.eos_token_ids.size() == 1) generation["eos_token_id"] = config.eos_token_ids[0];
    else if (!config.eos_token_ids.empty()) generation["eos_token_id"] = config.eos_token_ids;
    if (config.pad_token_id) generation["pad_token_id"] = *config.pad_token_id;
  }
  write_text_atomically(dir + "/generation_config.json", generation.dump(2) + "\n");
}

}  // namespace trl
