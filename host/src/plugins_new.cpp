// `trl-host plugins new NAME --kind KIND --out DIR` (plugins_new.h): checks the arguments, fills the
// project text of plugins_new_templates.h in, and writes it into a new or empty folder.
#include "plugins_new.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "host_setup.h"
#include "plugin_checks.h"
#include "plugins_new_templates.h"
#include "trl/sdk/error.h"
#include "trl/sdk/version.h"

namespace trl::host {
namespace fs = std::filesystem;
namespace {

constexpr const char* kWhere = "plugins new";

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

std::string fill(std::string text, const std::string& name) {
  replace_all(text, "@NAME@", name);
  replace_all(text, "@SDK_ABI_MAJOR@", std::to_string(TRL_SDK_ABI_MAJOR));
  replace_all(text, "@SDK_ABI_MINOR@", std::to_string(TRL_SDK_ABI_MINOR));
  replace_all(text, "@HOST_VERSION@", TRL_HOST_VERSION);
  return text;
}

void check_name(const std::string& name) {
  if (!is_valid_name(name))
    throw ConfigError(kWhere, "NAME", "expected [a-z0-9_]+ (lower-case letters, digits, _), got '" + name + "'");
  if (name.size() > kMaxNewPluginName)
    throw ConfigError(kWhere, "NAME",
                      "expected at most " + std::to_string(kMaxNewPluginName) + " characters, got " +
                          std::to_string(name.size()));
}

ComponentKind check_kind(const std::string& kind) {
  const std::optional<ComponentKind> parsed = parse_component_kind(kind);
  if (!parsed) throw ConfigError(kWhere, "--kind", "expected reward, callback, trainer or group_filter, got '" + kind + "'");
  return *parsed;
}

// A new folder, or an empty one: never overwrite someone's files.
void check_out(const std::string& out) {
  if (out.empty()) throw ConfigError(kWhere, "--out", "expected a folder path, got an empty string");
  std::error_code ec;
  const fs::file_status status = fs::status(out, ec);
  if (!fs::exists(status)) return;
  if (!fs::is_directory(status))
    throw ConfigError(kWhere, "--out", out + " exists and is not a folder; give a new or empty folder");
  fs::directory_iterator it(out, ec);
  if (ec) throw ConfigError(kWhere, "--out", "cannot read the folder " + out + ": " + ec.message());
  if (it != fs::directory_iterator())
    throw ConfigError(kWhere, "--out",
                      out + " is not empty (it holds " + it->path().filename().string() +
                          "); give a new or empty folder so that no file is overwritten");
}

void write_file(const fs::path& path, const std::string& content) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw Error(std::string(kWhere) + ": cannot create " + path.parent_path().string() + ": " + ec.message());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) throw Error(std::string(kWhere) + ": cannot write " + path.string());
}

// Where an installed trl-host's SDK lives (its prefix holds include/trl/sdk), for the "next" lines.
std::string sdk_prefix_hint() {
  const fs::path prefix = fs::path(executable_dir()).parent_path();
  std::error_code ec;
  if (fs::exists(prefix / "include" / "trl" / "sdk" / "abi.h", ec)) return prefix.string();
  return "<prefix of an installed trl-host: cmake --install <build> --prefix <prefix>>";
}

}  // namespace

std::vector<GeneratedFile> new_plugin_project(const std::string& name, ComponentKind kind) {
  namespace text = new_plugin_text;
  std::string source;
  switch (kind) {
    case ComponentKind::reward: source = text::reward_source(); break;
    case ComponentKind::callback: source = text::callback_source(); break;
    case ComponentKind::group_filter: source = text::group_filter_source(); break;
    case ComponentKind::trainer: source = text::trainer_source(); break;
  }
  std::vector<GeneratedFile> files = {{"CMakeLists.txt", fill(text::cmake_lists(), name)},
                                      {name + ".cpp", fill(source, name)},
                                      {"README.md", fill(text::readme(to_string(kind)), name)}};
  if (kind == ComponentKind::trainer) {
    files.push_back({"run.json", fill(text::trainer_run_config(), name)});
    files.push_back({"data.jsonl", fill(text::trainer_data(), name)});
  }
  return files;
}

int run_plugins_new(const NewPluginOptions& options) {
  check_name(options.name);
  const ComponentKind kind = check_kind(options.kind);
  check_out(options.out);
  const fs::path out = fs::absolute(options.out).lexically_normal();
  const std::vector<GeneratedFile> files = new_plugin_project(options.name, kind);
  for (const GeneratedFile& f : files) write_file(out / f.path, f.content);

  std::cout << "wrote " << to_string(kind) << " plugin '" << options.name << "' to " << out.string() << ":\n";
  for (const GeneratedFile& f : files) std::cout << "  " << f.path << "\n";
  std::cout << "next:\n"
            << "  cmake -S " << out.string() << " -B " << (out / "build").string()
            << " -DCMAKE_PREFIX_PATH=" << sdk_prefix_hint() << "\n"
            << "  cmake --build " << (out / "build").string() << "\n"
            << "  trl-host plugins check " << (out / "build" / (options.name + ".so")).string() << "\n"
            << "  TRL_PLUGIN_PATH=" << (out / "build").string() << " trl-host plugins list\n"
            << "(README.md says how to use it in a run)\n";
  return kExitOk;
}

void add_plugins_new_command(CLI::App& plugins, const CommonOptions& common, int& exit_code) {
  CLI::App* cmd = plugins.add_subcommand(
      "new", "Write a ready-to-build plugin project into a new or empty folder: CMakeLists.txt (find_package(TrlSdk), "
             "trl_add_plugin), NAME.cpp (TRL_PLUGIN, the registration and a working component of KIND) and a "
             "README (a trainer also gets run.json and data.jsonl)");
  auto options = std::make_shared<NewPluginOptions>();
  cmd->add_option("name", options->name,
                  "Plugin name, also the component's: [a-z0-9_]+, at most " + std::to_string(kMaxNewPluginName) +
                      " characters")
      ->required();
  cmd->add_option("--kind", options->kind, "Component kind: reward, callback, trainer or group_filter")->required();
  cmd->add_option("--out", options->out, "Project folder to create; an existing one must be empty")->required();
  cmd->callback([&common, &exit_code, options] {
    apply_common_options(common);
    exit_code = run_plugins_new(*options);
  });
}

}  // namespace trl::host
