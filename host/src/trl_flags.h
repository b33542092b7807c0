// TRL-style command lines: `trl-host dpo --model_name_or_path DIR --dataset_name FILE --beta 0.1 ...`
// turned into the run config `trl-host train` takes, as TRL's TrlParser turns flags into dataclasses.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trl/sdk/params.h"

namespace trl::host {

/// Builds a run config for `trainer` from an optional config document and TRL-style flags.
///
/// `document` (null when there is no --config) is a run config object ({"model", "args": {...}, ...}) or
/// a flat TRL-style one ({"model_name_or_path": ..., "beta": 0.1, ...}), or a mix; `flags` are the
/// command-line words after the command ("--beta", "0.1", "--loss_type", "sigmoid", "hinge", "--x=1",
/// "--bf16"). Flags override the document, as TrlParser lets the command line override a YAML config.
///
/// Names (TRL / transformers spelling): model_name_or_path → model; ref_model; dataset_name → the train
/// dataset (a JSON/JSONL file, or a folder holding <dataset_train_split>.jsonl|.json, and
/// <dataset_test_split>.jsonl|.json for eval when eval_strategy is not "no"); train_dataset,
/// eval_dataset; reward_funcs (names) and callbacks (names) as lists of {"name"}; group_filter (a name);
/// every other name must be a parameter of `params` (the trainer's merged table) and goes into "args",
/// converted to the parameter's type (a list parameter takes one or more words or a comma list; a
/// boolean flag alone means true). Errors are ConfigError naming the flag (or `document_path`): an
/// unknown name (with a "did you mean"), a missing or extra value, or a trainer that differs.
nlohmann::json run_config_from_trl_flags(const std::string& trainer, const nlohmann::json& document,
                                         const std::string& document_path, const std::vector<std::string>& flags,
                                         const ParamTable& params);

}  // namespace trl::host
