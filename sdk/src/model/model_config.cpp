// config.json parsing for the Llama / Mistral / Qwen2 / Qwen3 family (trl/sdk/model/model_config.h).
//
// Defaults follow the transformers config classes (LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config);
// a key that would change the forward pass and is not implemented is a ModelError naming it.
#include "trl/sdk/model/model_config.h"

#include <fstream>
#include <map>

#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

namespace trl {
namespace {

using json = nlohmann::json;

/// What transformers assumes for a key that config.json leaves out, per model_type.
struct FamilyDefaults {
  const char* architecture;
  int64_t vocab_size;
  int64_t hidden_size;
  int64_t intermediate_size;
  int64_t num_key_value_heads;   // -1: num_attention_heads
  int64_t head_dim;              // 0: hidden_size / num_attention_heads
  int64_t max_position_embeddings;
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> eos_token_id;
};

const std::map<std::string, FamilyDefaults>& family_defaults() {
  static const std::map<std::string, FamilyDefaults> table = {
      {"llama", {"LlamaForCausalLM", 32000, 4096, 11008, -1, 0, 2048, 1, 2}},
      {"mistral", {"MistralForCausalLM", 32000, 4096, 14336, 8, 0, 4096 * 32, 1, 2}},
      {"qwen2", {"Qwen2ForCausalLM", 151936, 4096, 22016, 32, 0, 32768, std::nullopt, std::nullopt}},
      {"qwen3", {"Qwen3ForCausalLM", 151936, 4096, 22016, 32, 128, 32768, std::nullopt, std::nullopt}},
  };
  return table;
}

/// Reads typed keys of one JSON object, naming `prefix + key` and the file in every error.
class Reader {
 public:
  Reader(const json& object, std::string file, std::string prefix = "")
      : j_(object), file_(std::move(file)), prefix_(std::move(prefix)) {}

  bool has(const std::string& key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  bool present(const std::string& key) const { return j_.contains(key); }
  const json& at(const std::string& key) const { return j_.at(key); }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ModelError(file_, prefix_ + key + ": " + what);
  }

  int64_t integer(const std::string& key, int64_t fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_number_integer()) fail(key, "expected an integer, got " + v.dump());
    return v.get<int64_t>();
  }
  int64_t positive(const std::string& key, int64_t fallback) const {
    int64_t v = integer(key, fallback);
    if (v <= 0) fail(key, "expected an integer > 0, got " + std::to_string(v));
    return v;
  }
  std::optional<int64_t> optional_integer(const std::string& key, std::optional<int64_t> fallback) const {
    if (!present(key)) return fallback;
    if (j_.at(key).is_null()) return std::nullopt;
    return integer(key, 0);
  }
  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_number()) fail(key, "expected a number, got " + v.dump());
    return v.get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_boolean()) fail(key, "expected true or false, got " + v.dump());
    return v.get<bool>();
  }
  std::string string(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_string()) fail(key, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }

 private:
  const json& j_;
  std::string file_;
  std::string prefix_;
};

/// The architecture and model_type, cross-checked; either may be absent but not both.
void read_family(const Reader& r, ModelConfig& c) {
  const auto& families = family_defaults();
  std::string arch;
  if (r.has("architectures")) {
    const json& archs = r.at("architectures");
    if (!archs.is_array() || archs.empty() || !archs[0].is_string())
      r.fail("architectures", "expected a non-empty list of strings, got " + archs.dump());
    arch = archs[0].get<std::string>();
    bool known = false;
    for (const auto& [type, d] : families) known = known || arch == d.architecture;
    if (!known)
      r.fail("architectures[0]", "'" + arch + "' is not supported (supported: LlamaForCausalLM, "
                                 "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)");
  }
  std::string type = r.string("model_type", "");
  if (type.empty() && arch.empty())
    r.fail("model_type", "missing, and no architectures to infer it from");
  if (!type.empty() && families.count(type) == 0)
    r.fail("model_type", "'" + type + "' is not supported (supported: llama, mistral, qwen2, qwen3)");
  if (type.empty()) {
    for (const auto& [t, d] : families)
      if (arch == d.architecture) type = t;
  }
  if (arch.empty()) arch = families.at(type).architecture;
  if (arch != families.at(type).architecture)
    r.fail("model_type", "'" + type + "' does not match architectures[0] '" + arch + "'");
  c.architecture = arch;
  c.model_type = type;
}

/// rope_theta and the scaling, from the v4 keys (rope_theta, rope_scaling) or the v5 rope_parameters.
void read_rope(const Reader& r, const std::string& file, ModelConfig& c) {
  c.rope_theta = r.number("rope_theta", 10000.0);
  std::string key = "rope_scaling";
  if (r.has("rope_parameters")) key = "rope_parameters";
  if (!r.has(key)) return;
  const json& scaling = r.at(key);
  if (!scaling.is_object()) r.fail(key, "expected an object or null, got " + scaling.dump());
  Reader s(scaling, file, key + ".");
  for (const auto& [k, v] : scaling.items())
    if (v.is_object()) s.fail(k, "per-layer-type RoPE parameters are not supported");
  if (key == "rope_parameters") c.rope_theta = s.number("rope_theta", c.rope_theta);
  std::string type = s.has("rope_type") ? s.string("rope_type", "default") : s.string("type", "default");
  if (s.number("partial_rotary_factor", 1.0) != 1.0)
    s.fail("partial_rotary_factor", "partial rotary embeddings are not supported");
  if (s.has("attention_factor") && s.number("attention_factor", 1.0) != 1.0)
    s.fail("attention_factor", "a RoPE attention factor is not supported");
  RopeScaling& out = c.rope_scaling;
  out.rope_type = type;
  if (type == "default") return;
  if (type != "linear" && type != "llama3")
    s.fail("rope_type", "'" + type + "' is not implemented (implemented: default, linear, llama3)");
  if (!s.has("factor")) s.fail("factor", "required for rope_type '" + type + "'");
  out.factor = s.number("factor", 1.0);
  if (out.factor <= 0) s.fail("factor", "expected a number > 0, got " + scaling.at("factor").dump());
  if (type == "llama3") {
    for (const char* required : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      if (!s.has(required)) s.fail(required, "required for rope_type 'llama3'");
    out.low_freq_factor = s.number("low_freq_factor", 1.0);
    out.high_freq_factor = s.number("high_freq_factor", 4.0);
    out.original_max_position_embeddings = s.positive("original_max_position_embeddings", 0);
    if (out.high_freq_factor <= out.low_freq_factor)
      s.fail("high_freq_factor", "expected a number > low_freq_factor, got " + scaling.at("high_freq_factor").dump());
  }
}

/// The window width if any layer uses sliding-window attention, as transformers decides it.
std::optional<int64_t> read_sliding_window(const Reader& r, const ModelConfig& c) {
  // MistralAttention applies config.sliding_window to every layer (layer_types only draws a warning).
  if (c.model_type == "mistral") return r.optional_integer("sliding_window", 4096);
  if (c.model_type != "qwen2" && c.model_type != "qwen3") return std::nullopt;
  // Qwen2Config/Qwen3Config: the window is None unless use_sliding_window; then layer i slides when
  // layer_types says so, or by default when i >= max_window_layers.
  if (!r.boolean("use_sliding_window", false)) return std::nullopt;
  std::optional<int64_t> window = r.optional_integer("sliding_window", 4096);
  if (!window) return std::nullopt;
  if (r.has("layer_types")) {
    const json& types = r.at("layer_types");
    if (!types.is_array() || static_cast<int64_t>(types.size()) != c.num_hidden_layers)
      r.fail("layer_types", "expected a list of " + std::to_string(c.num_hidden_layers) + " strings, got " +
                                types.dump());
    bool any_sliding = false;
    for (const json& t : types) {
      if (t == "sliding_attention") any_sliding = true;
      else if (t != "full_attention")
        r.fail("layer_types", "expected \"full_attention\" or \"sliding_attention\", got " + t.dump());
    }
    return any_sliding ? window : std::nullopt;
  }
  int64_t first_sliding_layer = r.integer("max_window_layers", 28);
  return first_sliding_layer < c.num_hidden_layers ? window : std::nullopt;
}

std::vector<int64_t> read_eos(const Reader& r, std::optional<int64_t> fallback) {
  if (!r.present("eos_token_id")) return fallback ? std::vector<int64_t>{*fallback} : std::vector<int64_t>{};
  const json& v = r.at("eos_token_id");
  if (v.is_null()) return {};
  if (v.is_number_integer()) return {v.get<int64_t>()};
  std::vector<int64_t> ids;
  if (v.is_array()) {
    for (const json& e : v) {
      if (!e.is_number_integer()) r.fail("eos_token_id", "expected an integer or a list of integers, got " + v.dump());
      ids.push_back(e.get<int64_t>());
    }
    return ids;
  }
  r.fail("eos_token_id", "expected an integer or a list of integers, got " + v.dump());
}

/// Keys that exist in transformers for these models and would change the math if we ignored them.
void refuse_unimplemented(const Reader& r, const ModelConfig& c) {
  std::string act = r.string("hidden_act", "silu");
  if (act != "silu" && act != "swish")
    r.fail("hidden_act", "only \"silu\" is implemented, got \"" + act + "\"");
  if (r.boolean("mlp_bias", false)) r.fail("mlp_bias", "MLP biases are not implemented");
  if (r.has("quantization_config")) r.fail("quantization_config", "quantized checkpoints are not supported");
  if (r.number("partial_rotary_factor", 1.0) != 1.0)
    r.fail("partial_rotary_factor", "partial rotary embeddings are not supported");
  if (r.number("attention_dropout", 0.0) != 0.0)
    log::warn("config.json: attention_dropout " + r.at("attention_dropout").dump() + " ignored: " + c.architecture +
              " runs without dropout here (TRL disables dropout for DPO by default)");
}

void check_shapes(const Reader& r, const ModelConfig& c, bool head_dim_derived) {
  if (head_dim_derived && c.hidden_size % c.num_attention_heads != 0)
    r.fail("num_attention_heads", std::to_string(c.num_attention_heads) + " does not divide hidden_size " +
                                      std::to_string(c.hidden_size));
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    r.fail("num_key_value_heads", std::to_string(c.num_key_value_heads) + " does not divide num_attention_heads " +
                                      std::to_string(c.num_attention_heads));
  if (c.head_dim % 2 != 0)
    r.fail("head_dim", "expected an even number (RoPE rotates pairs of dimensions), got " + std::to_string(c.head_dim));
  if (c.rms_norm_eps <= 0) r.fail("rms_norm_eps", "expected a number > 0");
  if (c.rope_theta <= 0) r.fail("rope_theta", "expected a number > 0");
  if (c.sliding_window && *c.sliding_window <= 0)
    r.fail("sliding_window", "expected an integer > 0 or null, got " + std::to_string(*c.sliding_window));
  if (c.pad_token_id && (*c.pad_token_id < 0 || *c.pad_token_id >= c.vocab_size))
    r.fail("pad_token_id", "expected an id in [0, vocab_size), got " + std::to_string(*c.pad_token_id));
}

}  // namespace

ModelConfig ModelConfig::from_json(const json& j, const std::string& file) {
  if (!j.is_object()) throw ModelError(file, "expected a JSON object, got " + std::string(j.type_name()));
  Reader r(j, file);
  ModelConfig c;
  c.raw = j;
  read_family(r, c);
  const FamilyDefaults& d = family_defaults().at(c.model_type);

  c.vocab_size = r.positive("vocab_size", d.vocab_size);
  c.hidden_size = r.positive("hidden_size", d.hidden_size);
  c.intermediate_size = r.positive("intermediate_size", d.intermediate_size);
  c.num_hidden_layers = r.positive("num_hidden_layers", 32);
  c.num_attention_heads = r.positive("num_attention_heads", 32);
  // transformers: an explicit null means "as many as the query heads"; an absent key the class default.
  c.num_key_value_heads = r.present("num_key_value_heads") && r.at("num_key_value_heads").is_null()
                              ? c.num_attention_heads
                              : r.positive("num_key_value_heads",
                                           d.num_key_value_heads < 0 ? c.num_attention_heads : d.num_key_value_heads);
  bool head_dim_derived = !r.has("head_dim") && d.head_dim == 0;
  int64_t derived = c.hidden_size / c.num_attention_heads;
  c.head_dim = r.present("head_dim") && r.at("head_dim").is_null()
                   ? derived
                   : r.positive("head_dim", d.head_dim == 0 ? derived : d.head_dim);
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  read_rope(r, file, c);
  c.max_position_embeddings = r.positive("max_position_embeddings", d.max_position_embeddings);

  // Biases and q/k norm are fixed by the architecture in transformers, except where a key exists.
  if (c.model_type == "qwen2") {
    c.attention_bias = true;        // Qwen2Attention: q/k/v bias=True, o_proj bias=False, no key
    c.attention_out_bias = false;
  } else if (c.model_type == "mistral") {
    c.attention_bias = c.attention_out_bias = false;  // MistralAttention hard-codes bias=False
  } else {
    c.attention_bias = c.attention_out_bias = r.boolean("attention_bias", false);
  }
  c.qk_norm = c.model_type == "qwen3";
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  c.sliding_window = read_sliding_window(r, c);
  c.initializer_range = r.number("initializer_range", 0.02);
  c.bos_token_id = r.optional_integer("bos_token_id", d.bos_token_id);
  c.eos_token_ids = read_eos(r, d.eos_token_id);
  c.pad_token_id = r.optional_integer("pad_token_id", std::nullopt);
  c.torch_dtype = r.string("torch_dtype", r.string("dtype", "float32"));
  refuse_unimplemented(r, c);
  check_shapes(r, c, head_dim_derived);
  return c;
}

ModelConfig ModelConfig::load(const std::string& dir) {
  const std::string path = dir + "/config.json";
  std::ifstream in(path);
  if (!in) throw ModelError(path, "cannot open the model config (is " + dir + " a model folder?)");
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw ModelError(path, std::string("invalid JSON: ") + e.what());
  }
  return from_json(j, path);
}

json ModelConfig::to_json() const {
  json j = raw.is_object() ? raw : json::object();
  j["architectures"] = json::array({architecture});
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  if (!j.contains("hidden_act")) j["hidden_act"] = "silu";
  j["rms_norm_eps"] = rms_norm_eps;
  j["max_position_embeddings"] = max_position_embeddings;
  j["initializer_range"] = initializer_range;
  j["tie_word_embeddings"] = tie_word_embeddings;
  if (model_type == "llama" || model_type == "qwen3") j["attention_bias"] = attention_bias;

  json scaling = nullptr;
  if (rope_scaling.rope_type == "linear") {
    scaling = {{"rope_type", "linear"}, {"factor", rope_scaling.factor}};
  } else if (rope_scaling.rope_type == "llama3") {
    scaling = {{"rope_type", "llama3"},
               {"factor", rope_scaling.factor},
               {"low_freq_factor", rope_scaling.low_freq_factor},
               {"high_freq_factor", rope_scaling.high_freq_factor},
               {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
  }
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    json params = scaling.is_null() ? json{{"rope_type", "default"}} : scaling;
    params["rope_theta"] = rope_theta;
    j["rope_parameters"] = params;
  } else {
    j["rope_theta"] = rope_theta;
    j["rope_scaling"] = scaling;
  }

  // An absent key would bring back transformers' default window (4096), so always write the state.
  if (model_type == "mistral") {
    j["sliding_window"] = sliding_window ? json(*sliding_window) : json(nullptr);
  } else if (model_type == "qwen2" || model_type == "qwen3") {
    j["use_sliding_window"] = sliding_window.has_value();
    if (sliding_window) {
      j["sliding_window"] = *sliding_window;
      if (!j.contains("layer_types") && !j.contains("max_window_layers")) j["max_window_layers"] = 0;
    }
  }

  j["bos_token_id"] = bos_token_id ? json(*bos_token_id) : json(nullptr);
  if (eos_token_ids.empty()) j["eos_token_id"] = nullptr;
  else if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  else j["eos_token_id"] = eos_token_ids;
  if (pad_token_id) j["pad_token_id"] = *pad_token_id;
  else if (j.contains("pad_token_id")) j["pad_token_id"] = nullptr;
  j.erase("dtype");
  j["torch_dtype"] = torch_dtype;
  return j;
}

int64_t ModelConfig::num_parameters() const {
  const int64_t H = hidden_size, q_width = num_attention_heads * head_dim, kv_width = num_key_value_heads * head_dim;
  int64_t attention = H * q_width + 2 * H * kv_width + q_width * H;
  if (attention_bias) attention += q_width + 2 * kv_width;
  if (attention_out_bias) attention += H;
  if (qk_norm) attention += 2 * head_dim;
  const int64_t mlp = 3 * H * intermediate_size;
  const int64_t per_layer = attention + mlp + 2 * H;
  int64_t total = vocab_size * H + num_hidden_layers * per_layer + H;
  if (!tie_word_embeddings) total += vocab_size * H;
  return total;
}

}  // namespace trl
