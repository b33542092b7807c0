// `trl-host plot RUN_DIR [--metrics a,b] [--out FILE.svg|.png]`: the training curves of a run from its
// metrics.jsonl, one panel per metric (svg_plot.h). PNG goes through rsvg-convert (Debian's
// librsvg2-bin) when it is installed; nothing else is needed for SVG.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "host_setup.h"
#include "svg_plot.h"
#include "trl/sdk/error.h"
#include "trl/sdk/params.h"

namespace trl::host {
namespace {
namespace fs = std::filesystem;

struct PlotOptions {
  std::string run_dir;
  std::string metrics;  // comma-separated; empty = the defaults present
  std::string out;      // empty = RUN_DIR/plot.svg
};

// Shown by default when present, in this order: the loss, then DPO's and GFPO's headline metrics.
const std::vector<std::string> kDefaultMetrics = {
    "loss",          "rewards/accuracies",      "rewards/margins", "eval_loss", "eval_rewards/accuracies",
    "reward",        "completions/mean_length", "eval_reward"};

// Every numeric series of metrics.jsonl, in first-seen order; null values (NaN metrics) kept as NaN.
std::vector<PlotSeries> read_series(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot be read (is RUN_DIR the output_dir of a run?)");
  std::vector<PlotSeries> series;
  std::map<std::string, size_t> index;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object() || !entry.contains("step") || !entry["step"].is_number())
      throw DataError(path, number, "expected a JSON object with a numeric \"step\"");
    const double step = entry["step"].get<double>();
    for (const auto& [name, value] : entry.items()) {
      if (name == "step" || name == "epoch" || !(value.is_number() || value.is_null())) continue;
      auto [it, inserted] = index.emplace(name, series.size());
      if (inserted) series.push_back({name, {}, {}});
      series[it->second].steps.push_back(step);
      series[it->second].values.push_back(value.is_null() ? std::numeric_limits<double>::quiet_NaN()
                                                          : value.get<double>());
    }
  }
  return series;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream words(text);
  while (std::getline(words, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<PlotSeries> choose(const std::vector<PlotSeries>& all, const std::string& wanted, const std::string& path) {
  std::vector<std::string> names;
  for (const PlotSeries& s : all) names.push_back(s.name);
  auto find = [&](const std::string& name) {
    return std::find_if(all.begin(), all.end(), [&](const PlotSeries& s) { return s.name == name; });
  };
  std::vector<PlotSeries> chosen;
  if (wanted.empty()) {
    for (const std::string& name : kDefaultMetrics)
      if (find(name) != all.end()) chosen.push_back(*find(name));
    if (chosen.empty() && !all.empty()) chosen.push_back(all.front());
    if (chosen.empty()) throw ConfigError(path + ": no metrics logged yet");
    return chosen;
  }
  for (const std::string& name : split_commas(wanted)) {
    if (find(name) == all.end()) {
      const std::string hint = did_you_mean(name, names);
      std::string known;
      for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
      throw ConfigError("--metrics: no metric '" + name + "' in " + path +
                        (hint.empty() ? std::string() : " (did you mean '" + hint + "'?)") + "; available: " + known);
    }
    chosen.push_back(*find(name));
  }
  if (chosen.empty()) throw ConfigError("--metrics: expected metric names separated by commas, got '" + wanted + "'");
  return chosen;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// rsvg-convert from PATH, or "" when it is not installed.
std::string find_rsvg_convert() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string exe = (dir.empty() ? "." : dir) + "/rsvg-convert";
    if (access(exe.c_str(), X_OK) == 0) return exe;
  }
  return "";
}

void svg_to_png(const std::string& svg_path, const std::string& png_path) {
  const std::string exe = find_rsvg_convert();
  if (exe.empty())
    throw ConfigError("--out: " + png_path + ": PNG needs rsvg-convert (Debian package librsvg2-bin); "
                      "write .svg instead, or install it");
  const pid_t pid = fork();
  if (pid == 0) {
    execl(exe.c_str(), exe.c_str(), "-f", "png", "-o", png_path.c_str(), svg_path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(png_path + ": rsvg-convert failed to convert " + svg_path);
}

// "runs/dpo-demo/" -> "dpo-demo" (the title names the run folder).
std::string run_name(const std::string& run_dir) {
  fs::path path = fs::absolute(run_dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  return path.filename().string();
}

int run_plot(const PlotOptions& options) {
  const std::string metrics_path = options.run_dir + "/metrics.jsonl";
  if (!fs::exists(metrics_path))
    throw ConfigError(options.run_dir + ": no metrics.jsonl (is it the output_dir of a run?)");
  const std::vector<PlotSeries> panels = choose(read_series(metrics_path), options.metrics, metrics_path);
  const std::string out = options.out.empty() ? options.run_dir + "/plot.svg" : options.out;
  const bool png = ends_with(out, ".png");
  if (!png && !ends_with(out, ".svg")) throw ConfigError("--out: expected a .svg or .png file name, got " + out);
  const std::string svg_path = png ? out + ".svg" : out;
  {
    std::ofstream file(svg_path, std::ios::trunc);
    if (!file) throw ConfigError("--out: cannot write " + svg_path);
    file << render_svg_plot(panels, run_name(options.run_dir) + ": training curves");
    if (!file.flush()) throw Error(svg_path + ": write failed");
  }
  if (png) {
    svg_to_png(svg_path, out);
    fs::remove(svg_path);
  }
  std::cout << out << "\n";
  return kExitOk;
}

}  // namespace

void add_plot_command(CLI::App& app, const CommonOptions& common, int& exit_code) {
  auto options = std::make_shared<PlotOptions>();
  auto* cmd = app.add_subcommand("plot", "Draw a run's training curves from its metrics.jsonl (SVG, or PNG)");
  cmd->add_option("run_dir", options->run_dir, "A run's output_dir (holds metrics.jsonl)")->required();
  cmd->add_option("--metrics", options->metrics,
                  "Comma-separated metric names (default: loss and the trainer's main metrics present)");
  cmd->add_option("--out", options->out, "Output file, .svg or .png (default: RUN_DIR/plot.svg)");
  cmd->callback([&common, &exit_code, options] {
    apply_common_options(common);
    exit_code = run_plot(*options);
  });
}

}  // namespace trl::host
