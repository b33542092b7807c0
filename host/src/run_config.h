// The run config of `trl-host train`: read from JSON or YAML, --set overrides applied, top-level keys checked.
#pragma once

#include <string>
#include <vector>

#include "trl/sdk/train/context.h"

namespace trl::host {

/// Reads a config file into JSON: YAML when its name ends in .yaml or .yml, JSON when it ends in .json,
/// otherwise JSON if its first non-blank character is '{' and YAML if not. ConfigError names the file
/// and, for a syntax error, "line:column". Relative paths in it are resolved against the file's folder
/// (resolve_config_paths), so the document means the same from any current directory.
nlohmann::json read_config_document(const std::string& path);

/// Makes every relative path value of a config document read from `config_path` relative to that file's
/// folder instead of the current directory: the value becomes `<absolute folder of config_path>/<value>`,
/// lexically normalised ("a/../b" is "b"). Path keys: at the top level model, model_name_or_path, ref_model,
/// train_dataset, eval_dataset, dataset_name, output_dir, resume_from_checkpoint, logging_dir (the last
/// four for TRL-style flat configs); inside "args" output_dir, resume_from_checkpoint, logging_dir.
/// Absolute paths, non-string values, empty strings and resume_from_checkpoint's keyword "last" are left
/// as they are; "~" is not expanded. Values given later on the command line (--set, TRL-style flags) are
/// not passed through here: they stay relative to the current directory, as on any command line.
void resolve_config_paths(nlohmann::json& document, const std::string& config_path);

/// The absolute folder of the config file `config_path` (what relative paths in it are relative to), or ""
/// if it cannot be resolved. Components get it as Args::config_dir().
std::string config_folder(const std::string& config_path);

/// Checks that the inputs a run names exist before anything is loaded: `model` (and `ref_model`) must
/// be folders (ModelError), `train_dataset` (and `eval_dataset`) must exist (DataError). The message
/// names the path as resolved and the run-config key, so a path resolved against the config file's
/// folder rather than the current directory is easy to see.
void check_input_paths(const RunConfig& run);

/// Reads and checks CONFIG (JSON or YAML, see read_config_document). Each `overrides` entry is "key=value": a dotted path from the root
/// ("args.beta=0.2", "model=dir"); a bare key that is not a top-level key goes into "args"
/// ("max_steps=5"). The value is parsed as JSON when it is valid JSON, else taken as a string.
/// Errors are ConfigError naming the file (with line:column for bad JSON) or "--set" and the key.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

/// Checks a run config object (after overrides): unknown top-level keys (with a "did you mean"), required
/// keys, and each key's type. `path` names the config in errors.
RunConfig parse_run_config(const nlohmann::json& config, const std::string& path);

}  // namespace trl::host
