// The project-level files `plugins new` writes: CMakeLists.txt and the README, per kind
// (plugins_new_templates.h).
#include "plugins_new_templates.h"

namespace trl::host::new_plugin_text {

std::string cmake_lists() {
  return R"cmake(# @NAME@: a trl-host plugin (written by `trl-host plugins new`, trl-host @HOST_VERSION@).
#
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=<trl-host prefix> -DCMAKE_BUILD_TYPE=Release
#   cmake --build build
#
# The plugin's version (in its descriptor: `trl-host plugins list` shows it) is this project's version.
cmake_minimum_required(VERSION 3.22)
project(@NAME@ VERSION 0.1.0 LANGUAGES CXX)

# The installed SDK: trl::sdk (headers, libtrl_sdk, LibTorch, nlohmann_json) and trl_add_plugin().
# The version is the SDK ABI: any @SDK_ABI_MAJOR@.x SDK at least as new as this one will do.
find_package(TrlSdk @SDK_ABI_MAJOR@.@SDK_ABI_MINOR@ REQUIRED)

# @NAME@.so, exporting only the trl_plugin_* entry points. `cmake --install build --prefix P` puts it in
# P/lib/trl/plugins; -DTRL_PLUGIN_INSTALL_DIR=<trl-host prefix>/lib/trl/plugins installs it next to the
# shipped plugins, where trl-host finds it without TRL_PLUGIN_PATH.
trl_add_plugin(@NAME@ SOURCES @NAME@.cpp)
target_compile_options(@NAME@ PRIVATE -Wall -Wextra)
)cmake";
}

namespace {

std::string usage(const std::string& kind) {
  if (kind == "reward")
    return R"md(A reward function is named in a GRPO/GFPO run config's `reward_funcs`, like the built-in ones of
the `gfpo` plugin:

```json
"trainer": "gfpo",
"reward_funcs": [ { "name": "@NAME@", "args": { "keywords": ["please", "thank"] } } ],
```

Its mean and standard deviation appear in metrics.jsonl as `rewards/@NAME@/mean` and `rewards/@NAME@/std`,
and each completion's score in `completions.jsonl` under `rewards`.)md";
  if (kind == "group_filter")
    return R"md(A group filter is named in a GFPO run config's `group_filter`; the trainer keeps the
`num_remains_in_group` best-scoring completions of each group:

```json
"trainer": "gfpo",
"group_filter": { "name": "@NAME@", "args": { "alpha": 0.5 } },
"args": { "num_generations": 8, "num_remains_in_group": 4, ... }
```

`completions.jsonl` in the output folder marks each completion `kept` or not.)md";
  if (kind == "callback")
    return R"md(A callback is listed in any run config's `callbacks`, e.g. a DPO run:

```json
"trainer": "dpo",
"callbacks": [ { "name": "@NAME@", "args": { "metric": "loss", "patience": 3 } } ],
```

It stops training (with a checkpoint) once the metric has not improved for `patience` logged values.)md";
  return R"md(`run.json` trains a model folder `model` on `data.jsonl` ({prompt, completion} rows) with this
trainer; make a small random model first and run from this folder:

```sh
trl-host init-model --preset tiny --out model
trl-host train run.json --plugin build/@NAME@.so
```

metrics.jsonl in `runs/@NAME@` has `loss` (mean next-token loss of the completion tokens),
`mean_token_accuracy`, `entropy` and `num_tokens`; the trained model is saved there in Hugging Face layout.)md";
}

}  // namespace

std::string readme(const std::string& kind) {
  return R"md(# @NAME@

A trl-host plugin with one )md" + kind + R"md( component, `@NAME@`, written by `trl-host plugins new`
(trl-host @HOST_VERSION@). The component in `@NAME@.cpp` is small but complete: change it into yours.
The plugin authoring guide (`docs/plugin-authoring.md` of trl-host) explains each part.

## Build and check

```sh
cmake -S . -B build -DCMAKE_PREFIX_PATH=<trl-host prefix> -DCMAKE_BUILD_TYPE=Release
cmake --build build
trl-host plugins check build/@NAME@.so          # loads it in a child process: PASS per step
TRL_PLUGIN_PATH=$PWD/build trl-host plugins list # shows @NAME@ with status ok
trl-host plugins info build/@NAME@.so           # every descriptor field, and the parameters
```

`<trl-host prefix>` is where trl-host was installed (`cmake --install build --prefix <prefix>` in
trl-host's tree); it holds `lib/cmake/TrlSdk`.

## Use it

)md" + usage(kind) + R"md(

The host finds the plugin through `--plugin build/@NAME@.so`, `--plugin-dir build`, or
`TRL_PLUGIN_PATH`; after `cmake --install build --prefix <trl-host prefix>` it is found by default.

## Stability

`TRL_PLUGIN(...)` declares the plugin experimental: trl-host warns once per run that its API may change
(`TRL_EXPERIMENTAL_SILENCE=@NAME@` silences it) and `--stable-only` refuses it. Write
`TRL_PLUGIN_STABLE(...)` with the same arguments once the component's name, parameters and outputs
follow semver.
)md";
}

}  // namespace trl::host::new_plugin_text
