// trl/sdk/plugin.h: what a plugin author writes against. The component interfaces, the registry they are
// registered into, and the TRL_PLUGIN macro that emits the three C entry points of abi.h.
//
// A complete plugin:
//
//   #include <trl/sdk/plugin.h>
//   class Shorter : public trl::GroupFilter { ... };
//   TRL_PLUGIN("myfilters", "Apache-2.0", "Group filters for GFPO", TRL_GROUP_FILTER("shorter"));
//   void trl_plugin_register(trl::Registry& registry) {
//     registry.add_group_filter("shorter", trl::ParamTable{}, [](const trl::Args&) {
//       return std::make_unique<Shorter>(); });
//   }
//
// TRL_PLUGIN declares an experimental plugin; TRL_PLUGIN_STABLE a stable one. The plugin's version comes
// from the build (trl_add_plugin(... VERSION x.y.z)); every ABI field comes from the headers compiled in.
//
// Lifetime: the host never unloads a plugin, so objects, std::function and exceptions from it stay
// valid for the whole process. A component is destroyed through its virtual destructor, i.e. by the
// plugin's own code. Threading: the host calls a component from one thread at a time.
// Errors: throw any std::exception (preferably a trl::Error); the host catches it at the call and reports
// "plugin 'name': <kind> '<component>': <call>: <what>". Nothing may throw across the C entry points;
// the macro's entry points catch everything.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/api/include/torch/version.h>

#include "trl/sdk/abi.h"
#include "trl/sdk/params.h"

namespace trl {

class CausalLM;
class Metrics;
class Tokenizer;
struct CallbackArgs;
struct TrainerContext;

/// The kinds of component a plugin can provide (mirrors trl_component_kind).
enum class ComponentKind : uint32_t {
  trainer = TRL_KIND_TRAINER,            ///< Trainer
  callback = TRL_KIND_CALLBACK,          ///< Callback
  reward = TRL_KIND_REWARD,              ///< RewardFunction
  group_filter = TRL_KIND_GROUP_FILTER   ///< GroupFilter
};

/// "trainer", "callback", "reward", "group_filter".
std::string to_string(ComponentKind kind);
/// Parses the names to_string gives; nullopt for anything else.
std::optional<ComponentKind> parse_component_kind(const std::string& text);

/// Base of every component: owns nothing but a virtual destructor (the key function lives in libtrl_sdk).
class Component {
 public:
  virtual ~Component();
};

// ---------------------------------------------------------------------------------------------------
// Trainer

/// Supplies what differs between training algorithms; the SDK's TrainingLoop owns everything else
/// (optimizer, schedule, accumulation, clipping, logging, checkpoints, resume, signals, callbacks).
class Trainer : public Component {
 public:
  ~Trainer() override;

  /// Called once before training: tokenize data, load or copy the reference model, precompute.
  /// The policy is ctx.model; the trainer's parameters are in ctx.trainer_args (and its factory's Args).
  virtual void prepare(TrainerContext& ctx) = 0;

  /// Micro-batches in one pass over the training data; the loop derives steps per epoch from it
  /// (micro-batches / gradient_accumulation_steps, at least 1).
  virtual int64_t micro_batches_per_epoch() const = 0;

  /// The loss of micro-batch `micro_batch_index` (0-based, counted since training began, so a resumed
  /// run sees the same data), scaled for gradient accumulation: the loop calls backward() on it as is
  /// and logs the sum over one optimizer step's micro-batches as `loss`. Adds the trainer's metrics
  /// (TRL names) to `metrics`. Returns a 0-dim float tensor with grad.
  virtual at::Tensor compute_loss(TrainerContext& ctx, int64_t micro_batch_index, Metrics& metrics) = 0;

  /// After each optimizer step, before callbacks' on_step_end (e.g. TR-DPO's reference sync).
  /// `global_step` is the step just completed (1-based).
  virtual void on_optimizer_step(TrainerContext& ctx, int64_t global_step);

  /// Whether an eval dataset was given; evaluate() is only called when true.
  virtual bool has_eval_data() const;

  /// Runs the same loss over the eval data without gradient; adds metrics without the `eval_` prefix
  /// (the loop adds it). `loss` must be among them.
  virtual void evaluate(TrainerContext& ctx, Metrics& metrics);

  /// The frozen reference model, handed to callbacks (BEMA may overwrite it); nullptr if none.
  virtual CausalLM* ref_model();

  /// Writes trainer-specific state (reference weights if they changed, buffers) into a checkpoint folder.
  virtual void save_state(TrainerContext& ctx, const std::string& checkpoint_dir) const;

  /// Restores what save_state wrote; called after prepare() when resuming.
  virtual void load_state(TrainerContext& ctx, const std::string& checkpoint_dir);
};

// ---------------------------------------------------------------------------------------------------
// Callback

/// Observes and steers the loop, as transformers' TrainerCallback: every event gets the state, the
/// control flags, the model, the reference model and the optimizer through CallbackArgs (train/loop.h).
/// Every method has an empty default.
class Callback : public Component {
 public:
  ~Callback() override;
  /// Before the first step (after the trainer's prepare and any resume).
  virtual void on_train_begin(CallbackArgs& args);
  /// After the last step, before the final model is saved.
  virtual void on_train_end(CallbackArgs& args);
  /// Before each optimizer step's first micro-batch.
  virtual void on_step_begin(CallbackArgs& args);
  /// After each optimizer step (state.global_step already counts it).
  virtual void on_step_end(CallbackArgs& args);
  /// After metrics are logged; `logs` is the object just written to metrics.jsonl.
  virtual void on_log(CallbackArgs& args, const nlohmann::json& logs);
  /// After evaluation; `metrics` carries the `eval_` prefix.
  virtual void on_evaluate(CallbackArgs& args, const nlohmann::json& metrics);
  /// After a checkpoint folder has been written and renamed into place.
  virtual void on_save(CallbackArgs& args, const std::string& checkpoint_dir);
};

// ---------------------------------------------------------------------------------------------------
// Reward function (GRPO / GFPO)

/// A batch of completions to score. All vectors have the same length N; completions of one prompt are
/// adjacent (num_generations in a row).
struct RewardInput {
  std::vector<std::string> prompts;                  ///< the prompt as text (a chat prompt rendered with its template)
  std::vector<std::string> completions;              ///< the completion, decoded without special tokens
  std::vector<std::vector<int64_t>> completion_ids;  ///< the completion's token ids (EOS included if generated)
  std::vector<nlohmann::json> columns;               ///< the dataset row's other columns, a JSON object per completion
  int64_t global_step = 0;                           ///< optimizer steps done so far
  /// The dataset's prompt as written (TRL's `prompts`): a JSON string, or for conversational data the message
  /// list [{"role": ..., "content": ...}, ...]. Empty when the trainer does not provide it (use `prompts`).
  std::vector<nlohmann::json> prompt_values;
  /// Whether the prompts are message lists; TRL then hands reward functions each completion as a one-message
  /// list [{"role": "assistant", "content": completion}].
  bool conversational = false;
  int64_t max_steps = 0;                             ///< optimizer steps the run will take (0 if unknown)
  double epoch = 0.0;                                ///< fractional epochs done so far
};

/// Scores completions; the trainer combines several with reward_weights.
class RewardFunction : public Component {
 public:
  ~RewardFunction() override;
  /// One score per completion (size N); nullopt where the function does not apply (TRL's None).
  virtual std::vector<std::optional<double>> score(const RewardInput& input) = 0;
  /// The name its metrics carry (rewards/<name>/mean), as TRL's reward function __name__; empty (the
  /// default) means the component's name in the run config.
  virtual std::string metric_name() const;
};

// ---------------------------------------------------------------------------------------------------
// Group filter (GFPO)

/// One prompt's group of num_generations completions and their rewards.
struct CompletionGroup {
  std::string prompt;                                ///< the prompt as text
  std::vector<std::string> completions;              ///< G decoded completions
  std::vector<std::vector<int64_t>> completion_ids;  ///< G token-id lists
  std::vector<int64_t> lengths;                      ///< G completion lengths in tokens
  std::vector<double> rewards;                       ///< G weighted total rewards (NaN-free)
  nlohmann::json columns;                            ///< the prompt's dataset row, other columns
  nlohmann::json prompt_value;                       ///< the prompt as written (RewardInput::prompt_values); may be null
  bool conversational = false;                       ///< whether the prompt is a message list (RewardInput::conversational)
};

/// What a group filter decides for a whole generation batch: per group, its scores and how many to keep.
struct GroupScores {
  std::vector<std::vector<double>> scores;  ///< one list of G scores per group, in group order
  std::vector<int64_t> keep_counts;         ///< rows to keep per group (clamped to [2, G] by the trainer)
};

/// Scores completions within a group; the trainer keeps the highest-scoring num_remains_in_group.
class GroupFilter : public Component {
 public:
  ~GroupFilter() override;
  /// One score per completion of the group (size G); higher is kept first, ties keep the lower index.
  virtual std::vector<double> score(const CompletionGroup& group) = 0;
  /// How many of this group to keep, given the configured num_remains_in_group. Filters that adapt the
  /// count (Adaptive Difficulty GFPO) override this; the result is clamped to [2, G] by the trainer.
  virtual int64_t num_to_keep(const CompletionGroup& group, int64_t num_remains_in_group);
  /// Every group of one generation batch at once, as TRL's GFPOTrainer calls its group_filter_func. The
  /// trainer calls this, never score() directly. The default visits the groups in order, calling
  /// num_to_keep(group, R) then score(group) for each, so a per-group filter needs only score(); a filter
  /// that must see the batch whole (a Python group_filter_func) overrides this.
  virtual GroupScores score_groups(const std::vector<CompletionGroup>& groups, int64_t num_remains_in_group);
};

// ---------------------------------------------------------------------------------------------------
// Registry

/// Builds a component from its validated parameters.
template <class T>
using Factory = std::function<std::unique_ptr<T>(const Args& args)>;

/// One registered component: its kind, name, declared parameters and factory.
struct ComponentEntry {
  ComponentKind kind = ComponentKind::trainer;         ///< what it is
  std::string name;                                    ///< unique within its kind
  ParamTable params;                                   ///< its own parameters (trainers: without TrainingArguments)
  std::string help;                                    ///< one line for `plugins info`
  std::function<std::unique_ptr<Component>(const Args&)> create;  ///< never empty
};

/// Where a plugin's init puts its factories. The host compares the result with the descriptor's
/// declared components and refuses the plugin on any difference.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Registers a trainer; `params` are its own, TrainingArguments are added by the host.
  void add_trainer(const std::string& name, ParamTable params, Factory<Trainer> create, std::string help = "");
  /// Registers a callback.
  void add_callback(const std::string& name, ParamTable params, Factory<Callback> create, std::string help = "");
  /// Registers a reward function.
  void add_reward(const std::string& name, ParamTable params, Factory<RewardFunction> create, std::string help = "");
  /// Registers a group filter.
  void add_group_filter(const std::string& name, ParamTable params, Factory<GroupFilter> create,
                        std::string help = "");
  /// Everything registered so far, in registration order.
  const std::vector<ComponentEntry>& entries() const { return entries_; }

 private:
  void add(ComponentEntry entry);
  std::vector<ComponentEntry> entries_;
};

namespace plugin_detail {

/// A component as TRL_PLUGIN's arguments declare it.
struct ComponentDecl {
  uint32_t kind;     ///< a trl_component_kind
  const char* name;  ///< component name
};

/// Copies `src` into a fixed field, NUL-terminated; a too-long text is cut (the host then refuses the
/// plugin for an unterminated or mismatching field, so keep names short).
constexpr void copy_text(char* dst, size_t capacity, const char* src) {
  for (size_t i = 0; src[i] != '\0' && i + 1 < capacity; ++i) dst[i] = src[i];
}

/// The descriptor as a compile-time constant, so it lands in the file's trl_desc section.
constexpr trl_plugin_descriptor make_descriptor(uint32_t stability, const char* name, const char* version,
                                                const char* license, const char* description,
                                                std::initializer_list<ComponentDecl> components) {
  trl_plugin_descriptor d{};
  copy_text(d.magic, sizeof d.magic, TRL_PLUGIN_MAGIC);
  d.descriptor_size = sizeof(trl_plugin_descriptor);
  d.descriptor_version = TRL_DESCRIPTOR_VERSION;
  d.abi_major = TRL_SDK_ABI_MAJOR;
  d.abi_minor = TRL_SDK_ABI_MINOR;
  d.abi_patch = TRL_SDK_ABI_PATCH;
  d.stability = stability;
  d.torch_major = TORCH_VERSION_MAJOR;
  d.torch_minor = TORCH_VERSION_MINOR;
  d.torch_patch = TORCH_VERSION_PATCH;
  d.cxx11_abi = _GLIBCXX_USE_CXX11_ABI;
#if defined(__clang__)
  copy_text(d.compiler, sizeof d.compiler, "clang " __clang_version__);
#elif defined(__GNUC__)
  copy_text(d.compiler, sizeof d.compiler, "gcc " __VERSION__);
#else
  copy_text(d.compiler, sizeof d.compiler, "unknown");
#endif
  copy_text(d.name, sizeof d.name, name);
  copy_text(d.version, sizeof d.version, version);
  copy_text(d.license, sizeof d.license, license);
  copy_text(d.description, sizeof d.description, description);
  uint32_t n = 0;
  for (const ComponentDecl& c : components) {
    if (n == TRL_MAX_COMPONENTS) break;  // the count below then disagrees with init: refused by the host
    d.components[n].kind = c.kind;
    copy_text(d.components[n].name, sizeof d.components[n].name, c.name);
    ++n;
  }
  d.num_components = static_cast<uint32_t>(components.size());
  return d;
}

/// Body of trl_plugin_init_v1: checks the host's ABI, runs the author's register function and turns any
/// exception into TRL_ERROR with its message. Inline so it runs inside the plugin.
inline int run_init(const trl_host_api_v1* host, trl_registry* registry, trl_error* err,
                    void (*register_fn)(Registry&)) noexcept {
  auto say = [err](const std::string& text) {
    if (err == nullptr) return;
    size_t n = text.size() < sizeof err->message - 1 ? text.size() : sizeof err->message - 1;
    text.copy(err->message, n);
    err->message[n] = '\0';
  };
  try {
    if (host == nullptr || registry == nullptr) {
      say("init called without a host API or registry");
      return TRL_ERROR;
    }
    if (host->abi_major != TRL_SDK_ABI_MAJOR) {
      say("built for SDK ABI " + std::to_string(TRL_SDK_ABI_MAJOR) + ", host has ABI " +
          std::to_string(host->abi_major));
      return TRL_INCOMPATIBLE;
    }
    register_fn(*reinterpret_cast<Registry*>(registry));
    return TRL_OK;
  } catch (const std::exception& e) {
    say(e.what());
  } catch (...) {
    say("unknown exception");
  }
  return TRL_ERROR;
}

/// Body of trl_plugin_shutdown_v1: runs the author's optional hook, swallowing exceptions.
inline void run_shutdown(void (*hook)()) noexcept {
  try {
    if (hook != nullptr) hook();
  } catch (...) {
  }
}

}  // namespace plugin_detail
}  // namespace trl

/// Declares a trainer component in TRL_PLUGIN's list.
#define TRL_TRAINER(name) ::trl::plugin_detail::ComponentDecl{TRL_KIND_TRAINER, name}
/// Declares a callback component.
#define TRL_CALLBACK(name) ::trl::plugin_detail::ComponentDecl{TRL_KIND_CALLBACK, name}
/// Declares a reward-function component.
#define TRL_REWARD(name) ::trl::plugin_detail::ComponentDecl{TRL_KIND_REWARD, name}
/// Declares a group-filter component.
#define TRL_GROUP_FILTER(name) ::trl::plugin_detail::ComponentDecl{TRL_KIND_GROUP_FILTER, name}

// The plugin's version comes from the build; without it the compiler names this identifier.
#ifndef TRL_PLUGIN_VERSION_STRING
#define TRL_PLUGIN_VERSION_STRING TRL_PLUGIN_VERSION_STRING_undefined_build_with_trl_add_plugin
#endif

/// Exported, default-visibility symbol (plugins build with -fvisibility=hidden).
#define TRL_PLUGIN_EXPORT_ __attribute__((visibility("default")))

/// Emits the descriptor and the entry points. The author then defines
/// `void trl_plugin_register(trl::Registry&)` and, optionally, `void trl_plugin_on_shutdown()`.
#define TRL_PLUGIN_WITH_STABILITY_(STABILITY, NAME, LICENSE, DESCRIPTION, ...)                           \
  void trl_plugin_register(::trl::Registry& registry);                                                  \
  void trl_plugin_on_shutdown() __attribute__((weak));                                                  \
  namespace {                                                                                           \
  constexpr trl_plugin_descriptor trl_plugin_descriptor_value_ = ::trl::plugin_detail::make_descriptor( \
      STABILITY, NAME, TRL_PLUGIN_VERSION_STRING, LICENSE, DESCRIPTION, {__VA_ARGS__});                 \
  }                                                                                                     \
  extern "C" TRL_PLUGIN_EXPORT_ __attribute__((section(TRL_DESCRIPTOR_SECTION), used))                 \
  const trl_plugin_descriptor trl_plugin_descriptor_v1 = trl_plugin_descriptor_value_;                 \
  extern "C" TRL_PLUGIN_EXPORT_ int trl_plugin_init_v1(const trl_host_api_v1* host,                    \
                                                       trl_registry* registry, trl_error* err) noexcept { \
    return ::trl::plugin_detail::run_init(host, registry, err, &trl_plugin_register);                   \
  }                                                                                                     \
  extern "C" TRL_PLUGIN_EXPORT_ void trl_plugin_shutdown_v1(void) noexcept {                           \
    ::trl::plugin_detail::run_shutdown(&trl_plugin_on_shutdown);                                        \
  }

/// Declares an experimental plugin: NAME, SPDX LICENSE, one-line DESCRIPTION, then its components
/// (TRL_TRAINER("x"), TRL_CALLBACK("y"), ...).
#define TRL_PLUGIN(NAME, LICENSE, DESCRIPTION, ...) \
  TRL_PLUGIN_WITH_STABILITY_(TRL_STABILITY_EXPERIMENTAL, NAME, LICENSE, DESCRIPTION, __VA_ARGS__)

/// Declares a stable plugin: the same arguments as TRL_PLUGIN.
#define TRL_PLUGIN_STABLE(NAME, LICENSE, DESCRIPTION, ...) \
  TRL_PLUGIN_WITH_STABILITY_(TRL_STABILITY_STABLE, NAME, LICENSE, DESCRIPTION, __VA_ARGS__)
