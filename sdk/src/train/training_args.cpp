// TrainingArguments: the declaration (names and defaults of transformers.TrainingArguments) and the reader.
#include "trl/sdk/train/training_args.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trl/sdk/error.h"
#include "trl/sdk/torch_runtime.h"

namespace trl {

ParamTable training_arguments_params() {
  using T = ParamType;
  ParamTable p;
  p.add("output_dir", T::string, "", "Folder for metrics.jsonl, checkpoints, the run log and the final model")
      .make_required();
  p.add("num_train_epochs", T::number, 3.0, "Epochs to train when max_steps <= 0 (fractions allowed)").greater_than(0);
  p.add("max_steps", T::integer, -1, "Optimizer steps to train; > 0 overrides num_train_epochs");
  p.add("per_device_train_batch_size", T::integer, 8, "Examples per micro-batch (pairs for DPO, completions for GRPO)")
      .at_least(1);
  p.add("per_device_eval_batch_size", T::integer, 8, "Examples per evaluation batch").at_least(1);
  p.add("gradient_accumulation_steps", T::integer, 1, "Micro-batches accumulated into one optimizer step").at_least(1);
  p.add("learning_rate", T::number, 5e-5, "Peak AdamW learning rate").at_least(0);
  p.add("weight_decay", T::number, 0.0, "AdamW decoupled weight decay, not applied to biases and norm weights")
      .at_least(0);
  p.add("adam_beta1", T::number, 0.9, "AdamW beta1").range(0, 1, true, false);
  p.add("adam_beta2", T::number, 0.999, "AdamW beta2").range(0, 1, true, false);
  p.add("adam_epsilon", T::number, 1e-8, "AdamW epsilon").greater_than(0);
  p.add("max_grad_norm", T::number, 1.0, "Clip the global gradient L2 norm to this; <= 0 disables clipping");
  p.add("lr_scheduler_type", T::string, "linear", "Learning-rate schedule after warmup")
      .one_of({"constant", "constant_with_warmup", "linear", "cosine"});
  p.add("warmup_steps", T::integer, 0, "Linear warmup steps; wins over warmup_ratio when > 0").at_least(0);
  p.add("warmup_ratio", T::number, 0.0, "Warmup as a fraction of the total steps").range(0, 1);
  p.add("logging_steps", T::integer, 500, "Log metrics every N optimizer steps").at_least(1);
  p.add("logging_first_step", T::boolean, false, "Also log after the first step");
  p.add("save_steps", T::integer, 500, "Save a checkpoint every N optimizer steps; 0 = only when interrupted")
      .at_least(0);
  p.add("save_total_limit", T::integer, nullptr, "Keep at most N checkpoints, deleting the oldest").at_least(1);
  p.add("eval_strategy", T::string, "no", "When to evaluate on eval_dataset").one_of({"no", "steps"});
  p.add("eval_steps", T::integer, nullptr, "Evaluate every N steps (eval_strategy=steps); defaults to logging_steps")
      .at_least(1);
  p.add("seed", T::integer, 42, "Seed of model initialisation, data order and sampling");
  p.add("data_seed", T::integer, nullptr, "Seed of the data order only; defaults to seed");
  p.add("dataloader_drop_last", T::boolean, false, "Drop each epoch's incomplete last batch");
  p.add("resume_from_checkpoint", T::string, nullptr,
        "Resume from this checkpoint folder, or \"last\" for the newest checkpoint in output_dir");
  p.add("device", T::string, "cpu", "Where tensors live: cpu, cuda or cuda:N");
  p.add("torch_dtype", T::string, "float32", "Compute dtype of the policy weights")
      .one_of({"float32", "bfloat16", "float16"});
  p.add("bf16", T::boolean, false,
        "bf16 mixed precision: autocast to bfloat16 in the forward pass, float32 weights and optimizer state");
  p.add("num_threads", T::integer, 0, "LibTorch intra-op threads; 0 = OMP_NUM_THREADS if set, else every physical core")
      .at_least(0);
  // Default "all" as transformers 4.x (5.x: "none"): every run writes TensorBoard events, which issue 11
  // asks of the host; parse_report_to checks the names.
  p.add("report_to", T::string_list, nlohmann::json::array({"all"}),
        "Where logs go besides metrics.jsonl: \"tensorboard\", \"all\" (= tensorboard) or \"none\"")
      .accept_single();
  p.add("logging_dir", T::string, nullptr,
        "TensorBoard folder; default TENSORBOARD_LOGGING_DIR, else output_dir/runs/<Mon DD_HH-MM-SS>_<host>");
  return p;
}

namespace {
LrSchedulerType parse_scheduler(const std::string& name) {
  if (name == "constant") return LrSchedulerType::constant;
  if (name == "constant_with_warmup") return LrSchedulerType::constant_with_warmup;
  if (name == "linear") return LrSchedulerType::linear;
  if (name == "cosine") return LrSchedulerType::cosine;
  throw InternalError("lr_scheduler_type '" + name + "' passed validation");
}

// transformers' report_to names trl-host does not implement: naming them says "not here" rather than "typo".
bool is_transformers_integration(const std::string& name) {
  for (const char* known : {"azure_ml", "clearml", "codecarbon", "comet_ml", "dagshub", "dvclive", "flyte", "mlflow",
                            "neptune", "swanlab", "trackio", "wandb"})
    if (name == known) return true;
  return false;
}

// transformers' normalisation (TrainingArguments.__post_init__): "all" -> every available integration,
// "none" -> []. transformers raises ValueError for a name it has no callback for, and a RuntimeError for a
// known integration whose package is missing; both are ConfigErrors here, before anything runs.
std::vector<std::string> parse_report_to(const Args& a) {
  const std::vector<std::string> names = a.strings("report_to");
  const char* const supported = "supported: \"tensorboard\", \"all\" (= tensorboard) or \"none\"";
  std::vector<std::string> out;
  for (const std::string& name : names) {
    if ((name == "none" || name == "all") && names.size() > 1)
      a.fail("report_to", "\"" + name + "\" must be the only entry, got " + nlohmann::json(names).dump());
    if (name == "none") return {};
    if (name == "all" || name == "tensorboard") {
      if (out.empty()) out.push_back("tensorboard");
      continue;
    }
    a.fail("report_to", "\"" + name + "\" " +
                            (is_transformers_integration(name)
                                 ? std::string("is a transformers integration that trl-host does not include")
                                 : std::string("is not an integration")) +
                            "; " + supported + " (metrics.jsonl always has every logged value)");
  }
  return out;
}
c10::ScalarType scalar_type(const std::string& torch_dtype) {
  if (torch_dtype == "bfloat16") return c10::kBFloat16;
  if (torch_dtype == "float16") return c10::kHalf;
  return c10::kFloat;
}

// A dtype this LibTorch cannot run on the device (float16 linear layers on the CPU in LibTorch 1.13) is a
// config error here, before any model is loaded, rather than a failure inside the first linear layer.
void check_dtypes_run(const Args& a, const TrainingArguments& t, bool bf16) {
  const c10::Device device(t.device);
  auto unsupported = [&](c10::ScalarType dtype) { return dtype_unsupported_reason(device, dtype); };
  if (t.torch_dtype != "float32") {
    if (const std::string why = unsupported(scalar_type(t.torch_dtype)); !why.empty())
      a.fail("torch_dtype", "\"" + t.torch_dtype + "\" cannot train on " + t.device + " with " +
                                torch_runtime().describe() + ": its linear layers fail with \"" + why +
                                "\" (use float32" + (t.torch_dtype == "float16" ? ", or bfloat16" : "") + ")");
  }
  if (bf16) {
    if (const std::string why = unsupported(c10::kBFloat16); !why.empty())
      a.fail("bf16", "bfloat16 mixed precision cannot run on " + t.device + " with " + torch_runtime().describe() +
                         ": its linear layers fail with \"" + why + "\"");
  }
}

}  // namespace

TrainingArguments TrainingArguments::from_args(const Args& a) {
  TrainingArguments t;
  t.output_dir = a.string("output_dir");
  if (t.output_dir.empty()) a.fail("output_dir", "must not be empty");
  t.num_train_epochs = a.number("num_train_epochs");
  t.max_steps = a.integer("max_steps");
  t.per_device_train_batch_size = a.integer("per_device_train_batch_size");
  t.per_device_eval_batch_size = a.integer("per_device_eval_batch_size");
  t.gradient_accumulation_steps = a.integer("gradient_accumulation_steps");
  t.learning_rate = a.number("learning_rate");
  t.weight_decay = a.number("weight_decay");
  t.adam_beta1 = a.number("adam_beta1");
  t.adam_beta2 = a.number("adam_beta2");
  t.adam_epsilon = a.number("adam_epsilon");
  t.max_grad_norm = a.number("max_grad_norm");
  t.lr_scheduler_type = parse_scheduler(a.string("lr_scheduler_type"));
  t.warmup_steps = a.integer("warmup_steps");
  t.warmup_ratio = a.number("warmup_ratio");
  t.logging_steps = a.integer("logging_steps");
  t.logging_first_step = a.boolean("logging_first_step");
  t.save_steps = a.integer("save_steps");
  t.save_total_limit = a.optional_integer("save_total_limit");
  t.eval_strategy = a.string("eval_strategy");
  t.eval_steps = a.optional_integer("eval_steps");
  t.seed = a.integer("seed");
  t.data_seed = a.optional_integer("data_seed");
  t.dataloader_drop_last = a.boolean("dataloader_drop_last");
  t.resume_from_checkpoint = a.optional_string("resume_from_checkpoint");
  t.device = a.string("device");
  if (const std::string why = device_unavailable_reason(t.device); !why.empty()) a.fail("device", why);
  t.torch_dtype = a.string("torch_dtype");
  // bf16 is read where it acts, the training loop (mixed_precision_enabled), so TrainingArguments keeps its
  // layout for plugins built against SDK 1.0.
  check_dtypes_run(a, t, a.boolean("bf16"));
  t.num_threads = a.integer("num_threads");
  t.report_to = parse_report_to(a);
  t.logging_dir = a.optional_string("logging_dir");
  if (t.logging_dir && t.logging_dir->empty()) a.fail("logging_dir", "must not be empty (leave it out for the default)");
  return t;
}

bool TrainingArguments::reports_to(const std::string& integration) const {
  for (const std::string& name : report_to)
    if (name == integration) return true;
  return false;
}

}  // namespace trl
