// `trl-host logits --model DIR [--adapter DIR] --ids 1,2,3 [--ids ...] --out FILE.safetensors`: one forward
// pass of a model folder on given token ids, the logits written to a safetensors file. It exists so that
// other implementations can be held against ours on the very same ids: `make parity` (docs/parity.md, case 5)
// loads a trl-host output dir with transformers and requires equal logits.
//
// The file holds "input_ids" (B, T) int64 and "logits" (B, T, V) float32, computed in float32 on the CPU
// with every position real (no padding), so position p of a row sees ids 0..p of that row. Each --ids is one
// row; all rows must have the same length.
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <CLI/CLI.hpp>

#include "cli.h"
#include "host_setup.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/lora.h"
#include "trl/sdk/model/model_config.h"
#include "trl/sdk/model/safetensors.h"

namespace trl::host {
namespace {

struct LogitsOptions {
  std::string model_dir;
  std::string adapter_dir;
  std::vector<std::string> ids;  ///< one comma-separated row per --ids
  std::string out_file;
};

/// "1, 2,3" -> {1, 2, 3}; ConfigError naming --ids and the row on anything else.
std::vector<int64_t> parse_row(const std::string& text, size_t row) {
  std::vector<int64_t> ids;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    int64_t id = -1;
    try {
      id = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < item.size() && item[used] == ' ') ++used;
    if (used == 0 || used != item.size() || id < 0)
      throw ConfigError("--ids", "", "row " + std::to_string(row) + ": expected comma-separated token ids >= 0, got \"" +
                                         text + "\"");
    ids.push_back(id);
  }
  if (ids.empty()) throw ConfigError("--ids", "", "row " + std::to_string(row) + ": expected at least one token id");
  return ids;
}

void run_logits(const LogitsOptions& o) {
  std::vector<int64_t> flat;
  int64_t T = 0;
  for (size_t r = 0; r < o.ids.size(); ++r) {
    const std::vector<int64_t> row = parse_row(o.ids[r], r);
    if (r == 0) T = static_cast<int64_t>(row.size());
    if (static_cast<int64_t>(row.size()) != T)
      throw ConfigError("--ids", "", "row " + std::to_string(r) + " has " + std::to_string(row.size()) +
                                         " ids but row 0 has " + std::to_string(T) + ": every row must have the same length");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  const int64_t B = static_cast<int64_t>(o.ids.size());
  std::unique_ptr<CausalLM> model = CausalLM::from_pretrained(o.model_dir, {c10::Device(c10::kCPU), c10::kFloat});
  if (!o.adapter_dir.empty()) load_lora_adapter(*model, o.adapter_dir);
  const int64_t V = model->config().vocab_size;
  for (int64_t id : flat)
    if (id >= V)
      throw ConfigError("--ids", "", "token id " + std::to_string(id) + " is outside the model's vocabulary [0, " +
                                         std::to_string(V) + ")");
  const at::Tensor input_ids = at::tensor(flat, at::kLong).view({B, T});  // (B, T)
  at::Tensor logits;
  {
    at::NoGradGuard no_grad;
    logits = model->logits(model->hidden_states(input_ids)).to(at::kFloat);  // (B, T, V)
  }
  save_safetensors(o.out_file, {{"input_ids", input_ids}, {"logits", logits}}, {{"format", "pt"}});
  log::info("logits of " + std::to_string(B) + " x " + std::to_string(T) + " ids by " + o.model_dir +
            (o.adapter_dir.empty() ? std::string() : " with adapter " + o.adapter_dir) + ": wrote " + o.out_file);
}

}  // namespace

void add_logits_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  auto* cmd = app.add_subcommand("logits", "Write a model's logits on given token ids to a safetensors file");
  auto o = std::make_shared<LogitsOptions>();
  cmd->add_option("--model", o->model_dir, "Model folder (config.json, model.safetensors)")->required();
  cmd->add_option("--adapter", o->adapter_dir,
                  "LoRA adapter folder (PEFT layout: adapter_config.json, adapter_model.safetensors) to apply");
  cmd->add_option("--ids", o->ids, "One row of comma-separated token ids (repeat for more rows, equal lengths)")
      ->required();
  cmd->add_option("--out", o->out_file, "Output file: input_ids (B, T) int64 and logits (B, T, V) float32")->required();
  cmd->callback([&common, &exit_code, o] {
    apply_common_options(common);
    run_logits(*o);
    exit_code = kExitOk;
  });
}

}  // namespace trl::host
