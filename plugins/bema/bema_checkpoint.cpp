// The BEMA buffers in a checkpoint folder (bema_state.safetensors): θ₀, EMA, running weights and, when the
// callback refreshes it, the reference model's weights, so a resumed run continues exactly.
#include "bema_checkpoint.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/GradMode.h>
#include <c10/util/StringUtil.h>

#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/safetensors.h"

namespace trl::bema {

namespace {

constexpr char kFormat[] = "trl-host bema 1";

// The saved tensor `key`, which must exist with the shape of `like`.
at::Tensor load_like(const SafetensorsFile& file, const std::string& key, const at::Tensor& like) {
  if (!file.contains(key)) throw CheckpointError(file.path(), "tensor " + key + " is missing");
  at::Tensor t = file.load(key);
  if (t.sizes() != like.sizes())
    throw CheckpointError(file.path(), "tensor " + key + " has shape " + c10::str(t.sizes()) +
                                           ", the model's parameter " + c10::str(like.sizes()));
  return t;
}

}  // namespace

void save_bema_checkpoint(const std::string& path, const BemaState& state, const CausalLM* ref_model,
                          int64_t global_step) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  const std::vector<std::string>& names = state.names();
  for (size_t i = 0; i < names.size(); ++i) tensors.emplace_back("theta0." + names[i], state.theta0()[i]);
  for (size_t i = 0; i < names.size(); ++i) tensors.emplace_back("ema." + names[i], state.ema()[i]);
  for (size_t i = 0; i < names.size(); ++i) tensors.emplace_back("running." + names[i], state.running()[i]);
  if (ref_model != nullptr)
    for (const auto& [name, weight] : ref_model->named_parameters()) tensors.emplace_back("ref." + name, weight);
  const std::map<std::string, std::string> metadata = {
      {"format", kFormat},
      {"global_step", std::to_string(global_step)},
      {"snapshot_step", state.snapshot_step() ? std::to_string(*state.snapshot_step()) : std::string()}};
  save_safetensors(path, tensors, metadata);
}

void load_bema_checkpoint(const std::string& path, BemaState& state, CausalLM* ref_model, int64_t global_step) {
  const SafetensorsFile file(path);
  const std::map<std::string, std::string>& meta = file.metadata();
  const auto field = [&](const std::string& key) {
    const auto it = meta.find(key);
    if (it == meta.end())
      throw CheckpointError(path, "metadata has no \"" + key + "\"; not a file the bema callback wrote");
    return it->second;
  };
  if (field("format") != kFormat)
    throw CheckpointError(path, "format \"" + field("format") + "\", expected \"" + kFormat + "\"");
  if (field("global_step") != std::to_string(global_step))
    throw CheckpointError(path, "saved at step " + field("global_step") + ", but the run resumes at step " +
                                    std::to_string(global_step));
  const std::string snapshot_text = field("snapshot_step");
  std::optional<int64_t> snapshot_step;
  if (!snapshot_text.empty()) {
    try {
      snapshot_step = std::stoll(snapshot_text);
    } catch (const std::exception&) {
      throw CheckpointError(path, "snapshot_step \"" + snapshot_text + "\" is not an integer");
    }
  }

  std::vector<at::Tensor> theta0, ema, running;
  const std::vector<std::string>& names = state.names();
  for (size_t i = 0; i < names.size(); ++i) {
    theta0.push_back(load_like(file, "theta0." + names[i], state.theta0()[i]));
    ema.push_back(load_like(file, "ema." + names[i], state.ema()[i]));
    running.push_back(load_like(file, "running." + names[i], state.running()[i]));
  }
  std::vector<at::Tensor> ref;  // everything is read before anything is overwritten
  if (ref_model != nullptr)
    for (const auto& [name, weight] : ref_model->named_parameters())
      ref.push_back(load_like(file, "ref." + name, weight));

  state.restore(theta0, ema, running, snapshot_step, path);
  if (ref_model == nullptr) return;
  // The reference as it was at the checkpoint, overwritten in place as CausalLM::copy_weights_from does.
  at::NoGradGuard no_grad;
  const auto& ref_named = ref_model->named_parameters();
  for (size_t i = 0; i < ref_named.size(); ++i) ref_named[i].second.copy_(ref[i]);
}

}  // namespace trl::bema
