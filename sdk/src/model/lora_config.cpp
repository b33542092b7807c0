// The "peft" block and adapter_config.json: PEFT's LoraConfig names, defaults and file layout
// (peft/tuners/lora/config.py; the saved fields are those of PEFT 0.12-0.13, which every later PEFT reads).
#include <cmath>
#include <fstream>
#include <sstream>

#include "lora_impl.h"
#include "trl/sdk/error.h"
#include "trl/sdk/params.h"

namespace trl {
namespace {

const std::vector<std::string>& all_linear_modules() {
  static const std::vector<std::string> names = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"};
  return names;
}

// PEFT fields accepted only at PEFT's default value: the features they switch on are not implemented.
struct DefaultOnlyField {
  const char* name;
  nlohmann::json default_value;
  const char* feature;
};
const std::vector<DefaultOnlyField>& default_only_fields() {
  static const std::vector<DefaultOnlyField> fields = {
      {"fan_in_fan_out", false, "Conv1D-style (in, out) weights"},
      {"lora_bias", false, "a bias on lora_B"},
      {"modules_to_save", nullptr, "fully trained extra modules"},
      {"layers_to_transform", nullptr, "adapting only some layers"},
      {"layers_pattern", nullptr, "layer patterns"},
      {"exclude_modules", nullptr, "excluded modules"},
      {"rank_pattern", nlohmann::json::object(), "per-module ranks"},
      {"alpha_pattern", nlohmann::json::object(), "per-module alphas"},
  };
  return fields;
}

// Resolves target_modules (None, "all-linear", a regex string, or a list of names) into `config`.
void resolve_target_modules(const nlohmann::json& value, LoraConfig& config, const std::string& where) {
  config.target_regex.reset();
  if (value.is_null()) {
    // PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for llama, mistral, qwen2 and qwen3.
    config.target_modules = {"q_proj", "v_proj"};
    return;
  }
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (text == "all-linear") {
      // PEFT: every nn.Linear except the output layer (lm_head).
      config.target_modules = all_linear_modules();
    } else if (text.empty()) {
      throw ConfigError(where, "target_modules", "expected module names, \"all-linear\" or a regex, got \"\"");
    } else {
      config.target_modules = {text};
      config.target_regex = text;
    }
    return;
  }
  if (!value.is_array() || value.empty())
    throw ConfigError(where, "target_modules",
                      "expected null, \"all-linear\", a regex string or a non-empty list of module names, got " +
                          value.dump());
  config.target_modules.clear();
  for (const nlohmann::json& item : value) {
    if (!item.is_string() || item.get<std::string>().empty())
      throw ConfigError(where, "target_modules", "expected module names (strings), got " + item.dump());
    const std::string name = item.get<std::string>();
    const std::string last = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
    if (last == "lm_head" || last == "embed_tokens")
      throw ConfigError(where, "target_modules",
                        "\"" + name + "\": adapters on the embedding or lm_head are not implemented; use the "
                        "projections q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
    config.target_modules.push_back(name);
  }
}

LoraConfig config_from_args(const Args& a, const std::string& where) {
  LoraConfig c;
  c.r = a.integer("r");
  c.lora_alpha = a.number("lora_alpha");
  c.lora_dropout = a.number("lora_dropout");
  c.bias = a.string("bias");
  c.use_rslora = a.boolean("use_rslora");
  c.use_dora = a.boolean("use_dora");
  c.init_lora_weights = a.value("init_lora_weights");
  const nlohmann::json& init = c.init_lora_weights;
  // PEFT's other initialisations (pissa, olora, loftq, eva, corda, orthogonal, ...) decompose or fit the base
  // weights; none is implemented.
  if (!init.is_boolean() && init != "gaussian")
    throw ConfigError(where, "init_lora_weights",
                      "expected true, false or \"gaussian\" (other PEFT initialisations such as \"pissa\", "
                      "\"olora\" or \"loftq\" are not implemented), got " + init.dump());
  for (const DefaultOnlyField& field : default_only_fields()) {
    const nlohmann::json& value = a.value(field.name);
    const bool is_default = value == field.default_value || (value.is_null() && field.default_value.is_object());
    if (!is_default)
      throw ConfigError(where, field.name,
                        std::string(field.feature) + " is not implemented; expected " + field.default_value.dump() +
                            ", got " + value.dump());
  }
  const std::optional<std::string> task = a.optional_string("task_type");
  if (task && *task != "CAUSAL_LM")
    throw ConfigError(where, "task_type", "expected \"CAUSAL_LM\" or null, got \"" + *task + "\"");
  const std::optional<std::string> peft_type = a.optional_string("peft_type");
  if (peft_type && *peft_type != "LORA")
    throw ConfigError(where, "peft_type", "only \"LORA\" is implemented, got \"" + *peft_type + "\"");
  resolve_target_modules(a.value("target_modules"), c, where);
  return c;
}

}  // namespace

double LoraConfig::scaling() const {
  // PEFT LoraLayer.update_layer: alpha / sqrt(r) with use_rslora (Kalajdzievski 2023), else alpha / r.
  return use_rslora ? lora_alpha / std::sqrt(static_cast<double>(r)) : lora_alpha / static_cast<double>(r);
}

ParamTable lora_params() {
  ParamTable t;
  t.add("r", ParamType::integer, 8, "LoRA rank: A is (r, in), B is (out, r)").at_least(1);
  t.add("lora_alpha", ParamType::number, 8, "scaling numerator: the update is scaled by lora_alpha / r");
  t.add("lora_dropout", ParamType::number, 0.0, "dropout on the adapter input while training")
      .range(0.0, 1.0, /*lo_inclusive=*/true, /*hi_inclusive=*/false);
  t.add("target_modules", ParamType::object, nullptr,
        "modules to adapt: a list of names (suffix match), \"all-linear\" (all projections but lm_head), a regex "
        "string (full match on e.g. model.layers.0.self_attn.q_proj), or null = q_proj, v_proj");
  t.add("bias", ParamType::string, "none",
        "which base biases train with the adapters: none, all (every bias), lora_only (those of adapted modules)")
      .one_of({"none", "all", "lora_only"});
  t.add("use_rslora", ParamType::boolean, false, "scale by lora_alpha / sqrt(r) instead of lora_alpha / r");
  t.add("use_dora", ParamType::boolean, false,
        "DoRA: a trained magnitude per output feature rescales W + scaling·BA (lora_magnitude_vector)");
  t.add("init_lora_weights", ParamType::object, true,
        "true: A kaiming-uniform, B zeros (the adapter starts as a no-op); false: both random; \"gaussian\"");
  t.add("task_type", ParamType::string, nullptr, "PEFT task type; only \"CAUSAL_LM\"");
  t.add("peft_type", ParamType::string, nullptr, "PEFT method; only \"LORA\"");
  for (const DefaultOnlyField& field : default_only_fields())
    t.add(field.name, ParamType::object, field.default_value,
          std::string("PEFT field accepted only at its default (") + field.feature + " is not implemented)")
        .allow_null();
  return t;
}

LoraConfig lora_config_from_json(const nlohmann::json& block, const std::string& where) {
  if (!block.is_object()) throw ConfigError(where, "", "expected an object of LoRA parameters, got " + block.dump());
  return config_from_args(lora_params().validate(block, where), where);
}

LoraConfig read_adapter_config(const std::string& dir) {
  const std::string file = dir + "/adapter_config.json";
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ModelError(file, "cannot be read (is " + dir + " a PEFT adapter folder?)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(file, std::string("invalid JSON: ") + e.what());
  }
  if (!j.is_object()) throw ModelError(file, "expected a JSON object");
  if (j.value("peft_type", std::string()) != "LORA")
    throw ModelError(file, "peft_type: expected \"LORA\", got " + (j.contains("peft_type") ? j["peft_type"].dump() : "nothing"));
  // PEFT adds fields over versions (peft_version, eva_config, ...); only the declared ones matter here.
  const ParamTable table = lora_params();
  nlohmann::json known = nlohmann::json::object();
  for (const ParamSpec& spec : table.specs())
    if (j.contains(spec.name)) known[spec.name] = j[spec.name];
  if (known.contains("task_type") && known["task_type"].is_null()) known.erase("task_type");
  try {
    LoraConfig config = config_from_args(table.validate_known(known, file), file);
    if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
      config.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
    return config;
  } catch (const ConfigError& e) {
    throw ModelError(file, e.what());
  }
}

nlohmann::json adapter_config_json(const LoraConfig& c) {
  nlohmann::json target = c.target_regex ? nlohmann::json(*c.target_regex) : nlohmann::json(c.target_modules);
  // An integral alpha is written as an integer, as PEFT's dataclass (lora_alpha: int) does.
  const nlohmann::json alpha = std::floor(c.lora_alpha) == c.lora_alpha && std::abs(c.lora_alpha) < 1e15
                                   ? nlohmann::json(static_cast<int64_t>(c.lora_alpha))
                                   : nlohmann::json(c.lora_alpha);
  return nlohmann::json{{"alpha_pattern", nlohmann::json::object()},
                        {"auto_mapping", nullptr},
                        {"base_model_name_or_path", c.base_model_name_or_path ? nlohmann::json(*c.base_model_name_or_path)
                                                                              : nlohmann::json(nullptr)},
                        {"bias", c.bias},
                        {"fan_in_fan_out", false},
                        {"inference_mode", true},
                        {"init_lora_weights", c.init_lora_weights},
                        {"layer_replication", nullptr},
                        {"layers_pattern", nullptr},
                        {"layers_to_transform", nullptr},
                        {"loftq_config", nlohmann::json::object()},
                        {"lora_alpha", alpha},
                        {"lora_dropout", c.lora_dropout},
                        {"megatron_config", nullptr},
                        {"megatron_core", "megatron.core"},
                        {"modules_to_save", nullptr},
                        {"peft_type", "LORA"},
                        {"r", c.r},
                        {"rank_pattern", nlohmann::json::object()},
                        {"revision", nullptr},
                        {"target_modules", target},
                        {"task_type", "CAUSAL_LM"},
                        {"use_dora", c.use_dora},
                        {"use_rslora", c.use_rslora}};
}

}  // namespace trl
