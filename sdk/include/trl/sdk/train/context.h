// trl/sdk/train/context.h: what a trainer sees of the run: paths, arguments, the policy, the tokenizer,
// and a way to build reward functions and group filters named in the run config.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include "trl/sdk/params.h"

namespace trl {

class CausalLM;
class GroupFilter;
class RewardFunction;
class Tokenizer;
struct TrainerState;
struct TrainingArguments;
namespace dist {
class ProcessGroup;
}

/// The run config's top-level keys (DESIGN.md, "The CLI"), validated by the host.
struct RunConfig {
  std::string path;                        ///< the config file, for error messages ("--set" values included)
  std::string trainer;                     ///< trainer component name
  std::string model;                       ///< policy model directory (HF layout)
  std::optional<std::string> ref_model;    ///< reference model directory; nullopt = a frozen copy of the policy
  std::string train_dataset;               ///< JSONL or JSON file
  std::optional<std::string> eval_dataset; ///< JSONL or JSON file
  nlohmann::json reward_funcs = nlohmann::json::array();  ///< [{name, args}] (GRPO/GFPO)
  nlohmann::json group_filter;             ///< {name, args} or null (GFPO)
  nlohmann::json callbacks = nlohmann::json::array();     ///< [{name, args}]
  nlohmann::json raw;                      ///< the whole config after --set overrides
  /// The "peft" block (LoRA with PEFT's LoraConfig names, trl/sdk/model/lora.h), or null for full
  /// fine-tuning. With it the loop adds adapters to the policy and trains only them.
  nlohmann::json peft;
};

/// Builds components named in the run config; the host implements it, wrapping every call into a
/// component so its errors name the plugin.
class ComponentProvider {
 public:
  virtual ~ComponentProvider();
  /// A reward function from {"name": ..., "args": {...}}; `where` locates the spec for errors.
  virtual std::unique_ptr<RewardFunction> make_reward(const nlohmann::json& spec, const std::string& where) = 0;
  /// A group filter from {"name": ..., "args": {...}}.
  virtual std::unique_ptr<GroupFilter> make_group_filter(const nlohmann::json& spec, const std::string& where) = 0;
};

/// Everything a trainer may use; valid from prepare() to the end of training.
struct TrainerContext {
  const RunConfig& run;                  ///< paths and component specs
  const TrainingArguments& args;         ///< the shared training arguments
  const Args& trainer_args;              ///< the whole validated "args" block (shared + the trainer's own)
  CausalLM& model;                       ///< the policy being trained, on `device`
  const Tokenizer& tokenizer;            ///< the policy's tokenizer
  ComponentProvider& components;         ///< builds rewards and group filters
  c10::Device device;                    ///< where tensors live
  c10::ScalarType dtype;                 ///< compute dtype of the policy
  const TrainerState* state = nullptr;   ///< the loop's state (global_step, epoch), read-only; set by the loop
  /// The data-parallel job (trl/sdk/dist/process_group.h), or nullptr for a single process. Trainers shard
  /// their data by its rank and gather their metrics over it; the loop averages gradients over it.
  dist::ProcessGroup* process_group = nullptr;
};

}  // namespace trl
