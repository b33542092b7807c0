// The bad-input table of `trl-host train` (issue 10), black box: one row per way a user's input can be
// wrong (config, model folder, tokenizer, safetensors, dataset, plugins, components, output folder, a
// full disk). Every row must end with the documented exit code (2 usage/config, 3 plugin refused or
// failed, 1 runtime/data/model: host/src/cli.h), exactly one error line holding the row's key phrases
// (file:line, the key, the suggestion), no death by a signal (no core dump), and nothing left in
// output_dir that a later run would trust: no final model, no checkpoint-N without its files, no
// temporary left behind.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host_process.h"
#include "trl/sdk/torch_runtime.h"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// The shared tiny model of this build (made on first use: examples/models/ is not in the repository).
std::string tiny_model() { return host_process::tiny_model(); }
const std::string kPrefs = std::string(TRL_TEST_DATA_DIR) + "/../examples/data/prefs_train.jsonl";

std::string fixture(const std::string& name) {
  return std::string(TRL_FIXTURE_PLUGIN_DIR) + "/" + name + "/fixture_" + name + ".so";
}

/// A private folder for one row: the inputs it writes and the run's output_dir ("run").
class Workspace {
 public:
  std::string path(const std::string& name = "") const { return dir_.path(name); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
  }
  /// A copy of the tiny example model in `name`, to corrupt.
  std::string model_copy(const std::string& name) const {
    fs::copy(tiny_model(), path(name), fs::copy_options::recursive);
    return path(name);
  }
  /// A DPO run config (tiny model, bundled data, 2 steps, checkpoint at step 2) with `patch` merged in.
  std::string dpo(const json& patch = json::object(), const std::string& name = "run.json") const {
    json config = {{"trainer", "dpo"},
                   {"model", tiny_model()},
                   {"train_dataset", kPrefs},
                   {"args",
                    {{"output_dir", path("run")},
                     {"max_steps", 2},
                     {"per_device_train_batch_size", 2},
                     {"max_length", 32},
                     {"save_steps", 2},
                     {"num_threads", 1}}}};
    config.merge_patch(patch);
    write(name, config.dump(2));
    return path(name);
  }
  /// A GFPO run config whose only reward is `reward` (a fixture plugin's component).
  std::string gfpo(const json& reward) const {
    write("prompts.jsonl", R"({"prompt": "1 plus 1 is "})"
                           "\n"
                           R"({"prompt": "2 plus 2 is "})"
                           "\n");
    const json config = {{"trainer", "gfpo"},
                         {"model", tiny_model()},
                         {"train_dataset", path("prompts.jsonl")},
                         {"reward_funcs", json::array({reward})},
                         {"args",
                          {{"output_dir", path("run")},
                           {"max_steps", 1},
                           {"num_generations", 2},
                           {"per_device_train_batch_size", 4},
                           {"max_completion_length", 4},
                           {"save_steps", 0},
                           {"num_threads", 1}}}};
    write("gfpo.json", config.dump(2));
    return path("gfpo.json");
  }

 private:
  host_process::TempDir dir_{"bad-input"};
};

/// One row of the table.
struct BadInputCase {
  std::string name;                  ///< the gtest name of the row
  int exit_code;                     ///< the documented exit code
  std::vector<std::string> phrases;  ///< must all appear in stderr; "{ws}" stands for the workspace path
  std::function<std::vector<std::string>(const Workspace&)> prepare;  ///< writes inputs, returns the arguments
  rlim_t file_size_limit = 0;        ///< RLIMIT_FSIZE of the child (0: none): writes past it fail with EFBIG
  /// The message reports a crash of the plugin's probe process ("killed by signal 11 (Segmentation
  /// fault)"), so the crash words may appear in it; the host itself must still exit normally.
  bool reports_a_probe_crash = false;
  std::map<std::string, std::string> env;  ///< extra environment of the child
};

/// gtest prints a row by its name (not as bytes) in failure messages.
void PrintTo(const BadInputCase& c, std::ostream* os) { *os << c.name; }

/// How a run ended, with the signal if one killed it.
struct Outcome {
  int exit_code = -1;
  int signal = 0;
  std::string err;
};

/// Runs trl-host in `ws` with an optional file-size limit. The limit makes write(2) fail with EFBIG (a
/// full disk as the process sees it) instead of raising SIGXFSZ, which the child ignores (inherited by exec).
Outcome run_host(const Workspace& ws, const std::vector<std::string>& args, rlim_t file_size_limit,
                 std::map<std::string, std::string> env) {
  const std::string out = ws.path("host.stdout"), err = ws.path("host.stderr");
  const pid_t pid = fork();
  if (pid == 0) {
    if (file_size_limit > 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      const rlimit limit{file_size_limit, file_size_limit};
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
    }
    env["OMP_NUM_THREADS"] = "1";
    host_process::exec_host(args, env, out, err);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  Outcome o;
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) o.signal = WTERMSIG(status);
  o.err = host_process::slurp(err);
  return o;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

/// What a later run could wrongly trust in output_dir; "" when there is none.
std::string untrustworthy_leftovers(const std::string& output_dir) {
  std::string found;
  std::error_code ec;
  if (!fs::exists(output_dir, ec)) return found;
  if (fs::exists(output_dir + "/model.safetensors")) found += "a final model.safetensors; ";
  for (const auto& entry : fs::recursive_directory_iterator(output_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp") != std::string::npos) found += "temporary " + entry.path().string() + "; ";
    if (entry.is_directory() && name.rfind("checkpoint-", 0) == 0) {
      for (const char* file : {"trainer_state.json", "model.safetensors", "optimizer.safetensors"})
        if (!fs::exists(entry.path() / file)) found += name + " without " + file + "; ";
    }
  }
  return found;
}

/// Overwrites `count` bytes of `file` at `offset` with `bytes`.
void patch_bytes(const std::string& file, std::streamoff offset, const std::string& bytes) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Replaces the first `from` in the safetensors header of `file` with `to` (same length: offsets stay).
void edit_header(const std::string& file, const std::string& from, const std::string& to) {
  std::string text = host_process::slurp(file);
  const size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  ASSERT_EQ(from.size(), to.size());
  patch_bytes(file, static_cast<std::streamoff>(at), to);
}

/// "abi_major" -> "AbiMajor", for row names.
std::string camel_case(const std::string& snake) {
  std::string out;
  bool upper = true;
  for (const char c : snake) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

std::vector<std::string> train(const std::string& config, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"train", config};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<BadInputCase> cases() {
  std::vector<BadInputCase> t;
  // ------------------------------------------------------------ run config (exit 2)
  t.push_back({"ConfigMalformedJson", 2, {"{ws}/bad.json:3:", "invalid JSON"}, [](const Workspace& ws) {
                 ws.write("bad.json", "{\"trainer\": \"dpo\",\n \"model\": \"m\",\n \"args\": {\"beta\": }\n}\n");
                 return train(ws.path("bad.json"));
               }});
  t.push_back({"ConfigNumberOverflow", 2, {"{ws}/big.json: invalid JSON", "number overflow parsing '1e999'"},
               [](const Workspace& ws) {
                 ws.write("big.json", "{\"trainer\": \"dpo\", \"model\": \"m\", \"train_dataset\": \"d\", "
                                      "\"args\": {\"beta\": 1e999}}");
                 return train(ws.path("big.json"));
               }});
  t.push_back({"ConfigUnknownKeySuggests", 2, {"trainr: unknown key (did you mean \"trainer\"?)"},
               [](const Workspace& ws) { return train(ws.dpo({{"trainr", "dpo"}})); }});
  t.push_back({"ConfigMissingKey", 2, {"run.json: train_dataset: is required"}, [](const Workspace& ws) {
                 return train(ws.dpo({{"train_dataset", nullptr}}));
               }});
  t.push_back({"ArgsUnknownKeySuggests", 2, {"betta: unknown parameter (did you mean \"beta\"?)"},
               [](const Workspace& ws) { return train(ws.dpo({{"args", {{"betta", 0.2}}}})); }});
  t.push_back({"ArgsWrongType", 2, {"beta: expected a number, got a string \"abc\""},
               [](const Workspace& ws) { return train(ws.dpo({{"args", {{"beta", "abc"}}}})); }});
  t.push_back({"ArgsOutOfRange", 2, {"per_device_train_batch_size: expected a number >= 1, got 0"},
               [](const Workspace& ws) { return train(ws.dpo({{"args", {{"per_device_train_batch_size", 0}}}})); }});
  t.push_back({"SetWithoutValue", 2, {"--set", "expected key=value"},
               [](const Workspace& ws) { return train(ws.dpo(), {"--set", "max_steps"}); }});
  t.push_back({"ConfigFileMissing", 2, {"{ws}/none.json", "cannot be read"},
               [](const Workspace& ws) { return train(ws.path("none.json")); }});
  // ------------------------------------------------------------ model folder, tokenizer, weights (exit 1)
  t.push_back({"ModelDirMissing", 1, {"{ws}/nope: no such model folder (\"model\" of {ws}/run.json"},
               [](const Workspace& ws) { return train(ws.dpo({{"model", ws.path("nope")}})); }});
  t.push_back({"ModelConfigMalformed", 1, {"{ws}/m/config.json"}, [](const Workspace& ws) {
                 ws.model_copy("m");
                 ws.write("m/config.json", "{\"model_type\": \"qwen2\", ");
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  t.push_back({"TokenizerMissing", 1, {"{ws}/m/tokenizer.json: cannot open"}, [](const Workspace& ws) {
                 ws.model_copy("m");
                 fs::remove(ws.path("m/tokenizer.json"));
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  t.push_back({"TokenizerMalformedJson", 1, {"{ws}/m/tokenizer.json: not valid JSON"}, [](const Workspace& ws) {
                 ws.model_copy("m");
                 ws.write("m/tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": ");
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  t.push_back({"TokenizerUnsupportedModel", 1, {"{ws}/m/tokenizer.json", "Unigram"}, [](const Workspace& ws) {
                 ws.model_copy("m");
                 json tok = json::parse(host_process::slurp(ws.path("m/tokenizer.json")));
                 tok["model"]["type"] = "Unigram";
                 ws.write("m/tokenizer.json", tok.dump());
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  t.push_back({"SafetensorsHeaderPastEnd", 1, {"{ws}/m/model.safetensors: header length", "runs past the end"},
               [](const Workspace& ws) {
                 ws.model_copy("m");
                 fs::resize_file(ws.path("m/model.safetensors"), 1000);
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  t.push_back({"SafetensorsHeaderTooLong", 1, {"{ws}/m/model.safetensors", "exceeds the 100000000-byte limit"},
               [](const Workspace& ws) {
                 ws.model_copy("m");
                 patch_bytes(ws.path("m/model.safetensors"), 0, std::string("\xff\xff\xff\xff\xff\xff\x00\x00", 8));
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  t.push_back({"SafetensorsHeaderNotJson", 1, {"{ws}/m/model.safetensors"}, [](const Workspace& ws) {
                 ws.model_copy("m");
                 patch_bytes(ws.path("m/model.safetensors"), 8, "#!garbage");
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  t.push_back({"SafetensorsDataTruncated", 1, {"{ws}/m/model.safetensors"}, [](const Workspace& ws) {
                 ws.model_copy("m");
                 fs::resize_file(ws.path("m/model.safetensors"), fs::file_size(ws.path("m/model.safetensors")) - 8);
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  t.push_back({"SafetensorsWrongShape", 1, {"{ws}/m/model.safetensors", "model.embed_tokens.weight"},
               [](const Workspace& ws) {
                 ws.model_copy("m");
                 // [320,64] -> [64,320]: the same byte count, so only the shape check can catch it.
                 edit_header(ws.path("m/model.safetensors"), "[320,64]", "[64,320]");
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  t.push_back({"SafetensorsUnknownDtype", 1, {"{ws}/m/model.safetensors", "F31"}, [](const Workspace& ws) {
                 ws.model_copy("m");
                 edit_header(ws.path("m/model.safetensors"), "\"F32\"", "\"F31\"");
                 return train(ws.dpo({{"model", ws.path("m")}}));
               }});
  // ------------------------------------------------------------ datasets (exit 1)
  t.push_back({"DatasetMissing", 1, {"{ws}/none.jsonl: no such file"},
               [](const Workspace& ws) { return train(ws.dpo({{"train_dataset", ws.path("none.jsonl")}})); }});
  t.push_back({"DatasetMalformedLine", 1, {"{ws}/bad.jsonl:2: invalid JSON at column"}, [](const Workspace& ws) {
                 ws.write("bad.jsonl", "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{\"prompt\": \"a\", \n");
                 return train(ws.dpo({{"train_dataset", ws.path("bad.jsonl")}}));
               }});
  t.push_back({"DatasetEmpty", 1, {"{ws}/empty.jsonl", "empty"}, [](const Workspace& ws) {
                 ws.write("empty.jsonl", "");
                 return train(ws.dpo({{"train_dataset", ws.path("empty.jsonl")}}));
               }});
  t.push_back({"DatasetMissingColumn", 1, {"{ws}/cols.jsonl:2: missing column 'rejected'"}, [](const Workspace& ws) {
                 ws.write("cols.jsonl", "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n"
                                        "{\"prompt\": \"a\", \"chosen\": \"b\"}\n");
                 return train(ws.dpo({{"train_dataset", ws.path("cols.jsonl")}}));
               }});
  // Found by the json_rows fuzzer: nlohmann throws out_of_range (not parse_error) for a number past double.
  t.push_back({"DatasetNumberOverflow", 1, {"{ws}/big.jsonl:2: invalid JSON: number overflow parsing '1e999'"},
               [](const Workspace& ws) {
                 ws.write("big.jsonl", "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n"
                                       "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\", \"w\": 1e999}\n");
                 return train(ws.dpo({{"train_dataset", ws.path("big.jsonl")}}));
               }});
  t.push_back({"DatasetRowNotAnObject", 1, {"{ws}/rows.jsonl:1:", "got array"}, [](const Workspace& ws) {
                 ws.write("rows.jsonl", "[1, 2]\n");
                 return train(ws.dpo({{"train_dataset", ws.path("rows.jsonl")}}));
               }});
  // ------------------------------------------------------------ plugins (exit 3; a missing file is usage: 2)
  t.push_back({"PluginFileMissing", 2, {"--plugin", "{ws}/none.so", "cannot open"},
               [](const Workspace& ws) { return std::vector<std::string>{"--plugin", ws.path("none.so"), "train", ws.dpo()}; }});
  t.push_back({"TrainerNotFoundSuggests", 2, {"unknown trainer 'dop' (did you mean 'dpo'?)"},
               [](const Workspace& ws) { return train(ws.dpo({{"trainer", "dop"}})); }});
  for (const auto& [fixture_name, rule] :
       std::vector<std::pair<std::string, std::string>>{{"abi_major", "SDK ABI major"},
                                                        {"abi_minor", "SDK ABI minor"},
                                                        {"cxx11_abi", "C++ ABI"},
                                                        {"torch_other", "LibTorch"},
                                                        {"bad_stability", "stability"},
                                                        {"wrong_size", "fixture_wrong_size.so"}}) {
    const std::string name = camel_case(fixture_name);
    const std::string file = fixture(fixture_name);
    t.push_back({"PluginRefused" + name, 3, {"refused " + file + ": ", rule}, [file](const Workspace& ws) {
                   return std::vector<std::string>{"--plugin", file, "train", ws.dpo()};
                 }});
  }
  t.push_back({"PluginRefusedWorldWritable", 3, {"refused {ws}/plugins/fixture_stable.so: file permissions",
                                                 "writable by others"},
               [](const Workspace& ws) {
                 fs::create_directories(ws.path("plugins"));
                 ::chmod(ws.path("plugins").c_str(), 0700);
                 fs::copy_file(fixture("stable"), ws.path("plugins/fixture_stable.so"));
                 ::chmod(ws.path("plugins/fixture_stable.so").c_str(), 0666);
                 return std::vector<std::string>{"--plugin", ws.path("plugins/fixture_stable.so"), "train", ws.dpo()};
               }});
  t.push_back({"PluginRefusedStableOnly", 3, {"bema", "stable-only"}, [](const Workspace& ws) {
                 return std::vector<std::string>{"--stable-only", "train",
                                                 ws.dpo({{"callbacks", json::array({{{"name", "bema"}}})}})};
               }});
  for (const auto& [fixture_name, reward, phrase] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"init_throws", "never_registered", "fixture_init_throws"},
           {"undeclared", "declared_a", "fixture_undeclared"},
           {"missing_init", "missing_init_reward", "fixture_missing_init"},
           {"missing_dep", "gone_reward", "libtrl_fixture_gone.so"},
           {"mutating_descriptor", "mutating_reward", "fixture_mutating"}}) {
    const std::string name = camel_case(fixture_name);
    const std::string file = fixture(fixture_name);
    const std::string reward_name = reward;
    t.push_back({"PluginLoadFails" + name, 3, {phrase}, [file, reward_name](const Workspace& ws) {
                   return std::vector<std::string>{"--plugin", file, "train", ws.gfpo({{"name", reward_name}})};
                 }});
  }
  // A plugin that crashes, aborts or hangs at load: `train` probes it in a child process first, so the
  // run ends with exit 3 naming it instead of dying with it (the hang: after TRL_PLUGIN_PROBE_TIMEOUT; on a
  // loaded machine the probe may time out before it reaches dlopen, which the message says too).
  for (const auto& [fixture_name, reward, fate] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"segv_static", "segv_reward", "killed by signal 11"},
           {"abort_static", "abort_reward", "killed by signal 6"},
           {"hang_static", "hang_reward", "timed out after 5 s"}}) {
    const std::string name = camel_case(fixture_name);
    const std::string file = fixture(fixture_name);
    const std::string reward_name = reward;
    BadInputCase row{"PluginCrashesAtLoad" + name, 3, {file, "probed in a child process", fate},
                     [file, reward_name](const Workspace& ws) {
                       return std::vector<std::string>{"--plugin", file, "train", ws.gfpo({{"name", reward_name}})};
                     }};
    row.reports_a_probe_crash = true;
    if (fixture_name == "hang_static") row.env = {{"TRL_PLUGIN_PROBE_TIMEOUT", "5"}};  // default 120 s
    if (fixture_name == "segv_static") row.env = {host_process::asan_leaves_segv_alone()};
    t.push_back(row);
  }
  // ------------------------------------------------------------ what this LibTorch cannot run (exit 2, before
  // any model is loaded: the model folder does not exist, and the error is still the dtype's or the device's)
  if (!trl::dtype_unsupported_reason(c10::Device(c10::kCPU), c10::kHalf).empty()) {  // LibTorch 1.13's CPU
    t.push_back({"Float16WithoutHalfLinearLayers", 2,
                 {"torch_dtype: \"float16\" cannot train on cpu with LibTorch ", "(use float32, or bfloat16)"},
                 [](const Workspace& ws) {
                   return train(ws.dpo({{"model", ws.path("no-model")}, {"args", {{"torch_dtype", "float16"}}}}));
                 }});
  }
  if (!trl::torch_runtime().cuda_loaded) {
    t.push_back({"CudaWithoutCudaLibTorch", 2,
                 {"device: \"cuda\" needs LibTorch's CUDA backend, and this trl-host runs " + trl::torch_runtime().describe()},
                 [](const Workspace& ws) {
                   return train(ws.dpo({{"model", ws.path("no-model")}, {"args", {{"device", "cuda"}}}}));
                 }});
  }
  // ------------------------------------------------------------ plugin components that fail
  const std::string throws = fixture("factory_throws");
  t.push_back({"ComponentFactoryThrows", 3, {"plugin 'fixture_factory_throws'", "throwing_factory",
                                             "fixture: factory failed on purpose"},
               [throws](const Workspace& ws) {
                 return std::vector<std::string>{"--plugin", throws, "train", ws.gfpo({{"name", "throwing_factory"}})};
               }});
  t.push_back({"ComponentFactoryReturnsNull", 3, {"null_factory", "the factory returned null"},
               [throws](const Workspace& ws) {
                 return std::vector<std::string>{"--plugin", throws, "train", ws.gfpo({{"name", "null_factory"}})};
               }});
  t.push_back({"ComponentRejectsItsArgs", 2, {"config_factory"}, [throws](const Workspace& ws) {
                 return std::vector<std::string>{"--plugin", throws, "train",
                                                 ws.gfpo({{"name", "config_factory"}, {"args", {{"threshold", -1.0}}}})};
               }});
  t.push_back({"ComponentThrowsDuringTraining", 3, {"plugin 'fixture_factory_throws'", "throwing_score",
                                                    "fixture: score failed on purpose"},
               [throws](const Workspace& ws) {
                 return std::vector<std::string>{"--plugin", throws, "train", ws.gfpo({{"name", "throwing_score"}})};
               }});
  t.push_back({"ComponentFailsATorchCheck", 3, {"plugin 'fixture_factory_throws'", "torch_check",
                                                "fixture: expected 1000 completions"},
               [throws](const Workspace& ws) {
                 return std::vector<std::string>{"--plugin", throws, "train", ws.gfpo({{"name", "torch_check"}})};
               }});
  // ------------------------------------------------------------ output folder and a full disk
  t.push_back({"OutputDirBlockedByAFile", 2, {"output_dir: cannot create {ws}/afile/run"}, [](const Workspace& ws) {
                 ws.write("afile", "x");
                 return train(ws.dpo({{"args", {{"output_dir", ws.path("afile/run")}}}}));
               }});
  // The tiny model's weights are 449 KB and its AdamW state twice that: with a 600 KB file-size limit the
  // checkpoint's model.safetensors is written and its optimizer.safetensors fails half way.
  t.push_back({"DiskFullWhileCheckpointing", 1, {"checkpoint-2", "File too large"},
               [](const Workspace& ws) { return train(ws.dpo()); }, 600 * 1000});
  // 200 KB: the final model (no checkpoints) cannot be written.
  t.push_back({"DiskFullWhileSavingTheModel", 1, {"{ws}/run", "File too large"},
               [](const Workspace& ws) { return train(ws.dpo({{"args", {{"save_steps", 0}}}})); }, 200 * 1000});
  return t;
}

class BadInput : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(BadInput, ExitsWithOneClearMessageAndNothingToTrust) {
  const BadInputCase& c = GetParam();
  Workspace ws;
  const std::vector<std::string> args = c.prepare(ws);
  if (::testing::Test::HasFatalFailure()) return;
  const Outcome o = run_host(ws, args, c.file_size_limit, c.env);
  ASSERT_EQ(o.signal, 0) << "killed by signal " << o.signal << "\n" << o.err;
  EXPECT_EQ(o.exit_code, c.exit_code) << o.err;
  for (const std::string& phrase : c.phrases) {
    const std::string want = replace_all(phrase, "{ws}", ws.path());
    EXPECT_NE(o.err.find(want), std::string::npos) << "missing \"" << want << "\" in:\n" << o.err;
  }
  EXPECT_EQ(count(o.err, "[error]"), 1u) << "expected exactly one error line:\n" << o.err;
  for (const char* crash : {"terminate called", "Aborted", "core dumped", "Segmentation fault", "AddressSanitizer"}) {
    if (!c.reports_a_probe_crash || std::string(crash) == "AddressSanitizer") {
      EXPECT_EQ(o.err.find(crash), std::string::npos) << crash << "\n" << o.err;
    }
  }
  const std::string leftovers = untrustworthy_leftovers(ws.path("run"));
  EXPECT_TRUE(leftovers.empty()) << leftovers;
}

INSTANTIATE_TEST_SUITE_P(Table, BadInput, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<BadInputCase>& info) { return info.param.name; });

}  // namespace
