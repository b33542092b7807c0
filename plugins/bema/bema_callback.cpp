// The `bema` callback: TRL's BEMACallback and its bema_for_ref_model subclass (spec/trl-reference.md
// §2.1-§2.2) over the SDK's CausalLM. The update math is BemaState's; this file wires it to the loop.
#include "bema_callback.h"

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "bema_checkpoint.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/lora.h"
#include "trl/sdk/tokenizer/tokenizer.h"
#include "trl/sdk/train/loop.h"
#include "trl/sdk/train/training_args.h"

namespace trl::bema {

namespace {

// TRL saves the BEMA model on the main process only. Processes follow torchrun's RANK variable
// (DESIGN.md, "Scale"); a single process has none.
bool is_main_process() {
  const char* rank = std::getenv("RANK");
  return rank == nullptr || *rank == '\0' || std::string(rank) == "0";
}

// The checkpoint folder the loop resumed from: "last" is the newest checkpoint-N of output_dir, and its N
// is the step the loop resumed at.
std::optional<std::string> resumed_checkpoint(const CallbackArgs& args) {
  const std::optional<std::string>& spec = args.args.resume_from_checkpoint;
  if (!spec || args.state.global_step == 0) return std::nullopt;
  if (*spec != "last") return *spec;
  return (std::filesystem::path(args.args.output_dir) / ("checkpoint-" + std::to_string(args.state.global_step)))
      .string();
}

std::string size_text(int64_t bytes) {
  if (bytes < (int64_t{1} << 20)) return std::to_string((bytes + 512) >> 10) + " KiB";
  return std::to_string((bytes + (int64_t{1} << 19)) >> 20) + " MiB";
}

}  // namespace

BemaCallback::BemaCallback(BemaCallbackParams params, const std::string& where)
    : params_(std::move(params)), where_(where), state_(params_.bema, where) {
  if (params_.ref_model_update_freq < 1)
    throw ConfigError(where, "ref_model_update_freq",
                      "expected an integer >= 1, got " + std::to_string(params_.ref_model_update_freq));
  if (params_.ref_model_update_after < 0)
    throw ConfigError(where, "ref_model_update_after",
                      "expected an integer >= 0, got " + std::to_string(params_.ref_model_update_after));
}

BemaCallback::~BemaCallback() = default;

void BemaCallback::on_train_begin(CallbackArgs& args) {
  // Deliberate departure from TRL (spec §2.2): without a separate reference model TRL writes the BEMA
  // weights into the policy itself (or, for PEFT, into the base weights under the adapters), which
  // silently replaces what is being trained. Refuse before any step runs instead.
  // With LoRA and no ref_model the reference is the base under the adapters, which TRL's PEFT branch
  // overwrites (adapter keys filtered); see on_step_end.
  if (params_.update_ref_model && args.ref_model == nullptr && !has_lora_adapters(args.model))
    throw ConfigError(where_, "update_ref_model",
                      "is true, but the trainer has no separate reference model (e.g. DPO with "
                      "precompute_ref_log_probs); TRL would then write the BEMA weights into the policy being "
                      "trained. Give the trainer a reference model or set update_ref_model to false");

  const CausalLM& model = args.model;
  // TRL: a new model of the same class and config on the buffer device, loaded with the policy's weights.
  // A clone when the device is the policy's; otherwise a model built there (its random init is then
  // overwritten by BemaState::begin).
  const c10::Device device = state_.device();
  const bool same_device = device.type() == model.device().type() &&
                           (!device.has_index() || device.index() == model.device().index());
  running_ = same_device ? model.clone()
                         : CausalLM::from_config(model.config(), /*seed=*/0, ModelOptions{device, model.dtype()});
  running_->set_requires_grad(false);
  if (has_lora_adapters(model) && !has_lora_adapters(*running_)) {
    // Built on another device: the frozen base comes from the policy, the adapters are filled by begin().
    running_->copy_weights_from(model);
    add_lora_adapters(*running_, lora_config(model), /*seed=*/0);
  }
  for (const auto& [name, tensor] : lora_named_parameters(*running_)) tensor.requires_grad_(false);

  // TRL tracks the trainable parameters: every weight, or with LoRA only the adapters' A and B.
  std::vector<std::string> names;
  std::vector<at::Tensor> live;
  for (const auto& [name, tensor] : trainable_named_parameters(model)) {
    names.push_back(name);
    live.push_back(tensor);
  }
  std::vector<at::Tensor> running;
  const auto running_named = trainable_named_parameters(*running_);
  TRL_INTERNAL_ASSERT(running_named.size() == names.size(), "bema: running model has a different parameter count");
  for (size_t i = 0; i < running_named.size(); ++i) {
    TRL_INTERNAL_ASSERT(running_named[i].first == names[i], "bema: running model parameter order differs at '" +
                                                                names[i] + "'");
    running.push_back(running_named[i].second);
  }
  state_.begin(std::move(names), std::move(live), std::move(running));
  ref_model_update_steps_.clear();
  if (args.state.global_step > 0) restore_from_checkpoint(args);
  log::info("bema: theta_0, EMA and BEMA weights on " + device.str() + ": " + size_text(state_.buffer_bytes()) +
            " (three copies of the trainable parameters)");
}

void BemaCallback::restore_from_checkpoint(CallbackArgs& args) {
  const std::optional<std::string> dir = resumed_checkpoint(args);
  const std::string path = dir ? (std::filesystem::path(*dir) / kBemaStateFile).string() : std::string();
  if (path.empty() || !std::filesystem::exists(path)) {
    // A checkpoint written without this callback (or a resume the loop did not report): TRL's behaviour.
    log::warn("bema: resuming at step " + std::to_string(args.state.global_step) + " without " + kBemaStateFile +
              ": theta_0, the EMA and the BEMA weights restart from the resumed weights, as in TRL");
    return;
  }
  load_bema_checkpoint(path, state_, params_.update_ref_model ? args.ref_model : nullptr, args.state.global_step);
  log::info("bema: restored theta_0, the EMA and the BEMA weights" +
            std::string(params_.update_ref_model ? " and the reference model" : "") + " from " + path);
}

void BemaCallback::on_step_end(CallbackArgs& args) {
  TRL_INTERNAL_ASSERT(running_ != nullptr, "bema: on_step_end before on_train_begin");
  const int64_t step = args.state.global_step;
  // TRL's subclass runs the parent's BEMA logic first, so a refresh at the same step sees the new weights.
  const BemaAction action = state_.on_step_end(step);
  if (action == BemaAction::update) log::debug("bema: updated BEMA weights at step " + std::to_string(step));
  if (action == BemaAction::snapshot) log::debug("bema: theta_0 and EMA snapshot at step " + std::to_string(step));

  if (!ref_model_refresh_due(params_, step)) return;
  if (args.ref_model == nullptr && has_lora_adapters(args.model)) {
    // TRL's PEFT case (spec §2.2): the BEMA model's weights go into the policy's base model, adapter keys
    // filtered out. The base is frozen and BEMA tracks only the adapters, so those base weights are the
    // base's own: the reference (the policy with its adapters off) is unchanged, as in TRL.
    args.model.copy_weights_from(*running_);
    ref_model_update_steps_.push_back(step);
    log::info("bema: reference (the base under the LoRA adapters) overwritten with the BEMA model's base weights at "
              "step " + std::to_string(step) + " (adapter keys filtered; the frozen base is unchanged)");
    return;
  }
  // on_train_begin refused a missing reference model; the trainer hands the same one to every event.
  TRL_INTERNAL_ASSERT(args.ref_model != nullptr, "bema: the reference model disappeared after train begin");
  // TRL loads the running model's state dict into the reference model; if no BEMA update has happened
  // yet, that is the weights at train begin (spec §2.2).
  args.ref_model->copy_weights_from(*running_);
  ref_model_update_steps_.push_back(step);
  log::info("bema: reference model overwritten with the BEMA weights at step " + std::to_string(step));
}

void BemaCallback::on_save(CallbackArgs& args, const std::string& checkpoint_dir) {
  TRL_INTERNAL_ASSERT(running_ != nullptr, "bema: on_save before on_train_begin");
  if (!is_main_process()) return;
  save_bema_checkpoint((std::filesystem::path(checkpoint_dir) / kBemaStateFile).string(), state_,
                       params_.update_ref_model ? args.ref_model : nullptr, args.state.global_step);
}

void BemaCallback::on_train_end(CallbackArgs& args) {
  TRL_INTERNAL_ASSERT(running_ != nullptr, "bema: on_train_end before on_train_begin");
  if (!is_main_process()) return;
  // TRL saves only the model (config and weights); the tokenizer is saved too so the folder is a
  // complete HF model directory that trl-host and transformers load as is.
  const std::string dir = (std::filesystem::path(args.args.output_dir) / "bema").string();
  // With LoRA the BEMA model is an adapter on the base (PEFT's save_pretrained of a PeftModel writes the
  // adapter only): bema/ then holds adapter_model.safetensors and adapter_config.json.
  if (has_lora_adapters(*running_)) save_lora_adapter(*running_, dir);
  else running_->save_pretrained(dir);
  args.tokenizer.save(dir);
  log::info("bema: saved the BEMA model to " + dir);
}

}  // namespace trl::bema
