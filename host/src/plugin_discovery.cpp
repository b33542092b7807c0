// Discovery: search path -> candidates with a verdict each. The order of the verdict follows DESIGN.md:
// what the file is (ELF with a descriptor), whether it is safe to load, the descriptor rules, then policy.
#include "plugin_discovery.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include "plugin_policy.h"

namespace trl::host {
namespace fs = std::filesystem;
namespace {

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The StrictModes rule for one path (file or folder), "" if it holds.
std::string path_security_problem(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return std::string("cannot stat ") + what + " " + path + ": " + std::strerror(errno);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return std::string(what) + " " + path + " is writable by " +
           ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group") + " (mode " + octal_mode(st.st_mode) +
           "); the host needs it writable only by its owner";
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    return std::string(what) + " " + path + " is owned by uid " + std::to_string(st.st_uid) +
           "; the host needs root (0) or the current user (" + std::to_string(::geteuid()) + ")";
  return "";
}

RuleVerdict security_verdict(const std::string& problem) {
  return {"file permissions", "insecure", "writable only by owner; owner root or current user", false,
          problem + " (use --allow-insecure-plugins to load it anyway)"};
}

RuleVerdict stable_only_verdict() {
  return {"stable-only", "experimental", "stable", false,
          "plugin is experimental and --stable-only (or TRL_STABLE_ONLY=1) refuses experimental plugins"};
}

void refuse(PluginCandidate& c, RuleVerdict verdict) {
  c.status = PluginStatus::refused;
  c.reason = verdict.rule + ": " + verdict.reason;
  c.refusal = std::move(verdict);
}

// The name is trusted for shadowing only when the descriptor is recognisably ours.
std::string descriptor_name(const trl_plugin_descriptor& d) {
  if (std::memcmp(d.magic, TRL_PLUGIN_MAGIC, sizeof d.magic) != 0) return "";
  std::optional<std::string> name = fixed_text(d.name, sizeof d.name);
  return name && is_valid_name(*name) ? *name : "";
}

bool ends_with_so(const std::string& name) { return name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0; }

}  // namespace

std::string to_string(PluginStatus status) {
  switch (status) {
    case PluginStatus::ok: return "ok";
    case PluginStatus::refused: return "refused";
    case PluginStatus::shadowed: return "shadowed";
    case PluginStatus::not_plugin: return "not a plugin";
  }
  return "unknown";
}

std::string PluginCandidate::status_text() const {
  switch (status) {
    case PluginStatus::ok: return "ok";
    case PluginStatus::refused: return "refused: " + reason;
    case PluginStatus::shadowed: return "shadowed by " + shadowed_by;
    case PluginStatus::not_plugin: return "not a plugin: " + reason;
  }
  return "unknown";
}

PluginPolicy policy_from(const CommonOptions& common) {
  PluginPolicy p;
  p.host = host_abi();
  p.stable_only = stable_only(common);
  p.allow_insecure = common.allow_insecure_plugins;
  return p;
}

std::string file_security_problem(const std::string& path) {
  std::string problem = path_security_problem(path, "plugin file");
  if (!problem.empty()) return problem;
  const fs::path given(path);
  problem = path_security_problem(given.parent_path().string(), "plugin folder");
  if (!problem.empty()) return problem;
  std::error_code ec;
  if (fs::is_symlink(given, ec)) {
    const fs::path target = fs::canonical(given, ec);
    if (ec) return "cannot resolve symlink " + path + ": " + ec.message();
    if (target.parent_path() != given.parent_path())
      return path_security_problem(target.parent_path().string(), "plugin folder");
  }
  return "";
}

PluginCandidate examine_plugin_file(const std::string& path, const std::string& origin, const PluginPolicy& policy) {
  PluginCandidate c;
  c.path = path;
  c.origin = origin;
  c.elf = read_elf_descriptor(path);
  if (c.elf.status == ElfStatus::wrong_size) {
    refuse(c, {"descriptor size", "section of " + std::to_string(TRL_DESCRIPTOR_SIZE) + "?",
               std::to_string(TRL_DESCRIPTOR_SIZE), false, c.elf.reason});
    return c;
  }
  if (c.elf.status != ElfStatus::ok) {
    c.status = PluginStatus::not_plugin;
    c.reason = c.elf.reason;
    return c;
  }
  c.name = descriptor_name(c.elf.descriptor);
  if (!policy.allow_insecure) {
    const std::string problem = file_security_problem(path);
    if (!problem.empty()) {
      refuse(c, security_verdict(problem));
      return c;
    }
  }
  if (std::optional<RuleVerdict> refusal = first_refusal(c.elf.descriptor, policy.host)) {
    refuse(c, std::move(*refusal));
    return c;
  }
  if (policy.stable_only && c.elf.descriptor.stability != TRL_STABILITY_STABLE) {
    refuse(c, stable_only_verdict());
    return c;
  }
  c.status = PluginStatus::ok;
  return c;
}

Discovery discover_plugins(const std::vector<SearchEntry>& search_path, const PluginPolicy& policy) {
  Discovery out;
  out.search_path = search_path;
  std::set<std::string> seen_files;             // canonical paths: a file reached twice counts once
  std::map<std::string, std::string> first_of;  // plugin name -> path of the file that claimed it

  auto consider = [&](const std::string& path, const std::string& origin) {
    std::error_code ec;
    const std::string canonical = fs::weakly_canonical(path, ec).string();
    if (!seen_files.insert(ec ? path : canonical).second) return;
    PluginCandidate c = examine_plugin_file(path, origin, policy);
    if (!c.name.empty()) {
      auto [it, inserted] = first_of.emplace(c.name, c.path);
      if (!inserted) {
        c.status = PluginStatus::shadowed;
        c.shadowed_by = it->second;
        c.reason = "shadowed by " + it->second;
        c.refusal.reset();
      }
    }
    out.plugins.push_back(std::move(c));
  };

  for (const SearchEntry& entry : search_path) {
    if (entry.is_file) {
      consider(entry.path, entry.origin);
      continue;
    }
    std::error_code ec;
    if (!fs::is_directory(entry.path, ec)) {
      // The default folder may legitimately be absent; folders the user named are worth a note.
      if (entry.origin != "default")
        out.problems.push_back(entry.origin + " " + entry.path + ": not a folder, skipped");
      continue;
    }
    std::vector<std::string> files;
    fs::directory_iterator it(entry.path, ec), end;
    if (ec) {
      out.problems.push_back(entry.origin + " " + entry.path + ": cannot list: " + ec.message());
      continue;
    }
    for (; it != end; it.increment(ec)) {
      if (ec) break;
      const std::string name = it->path().filename().string();
      std::error_code type_ec;
      if (ends_with_so(name) && it->is_regular_file(type_ec)) files.push_back(it->path().string());
    }
    if (ec) out.problems.push_back(entry.origin + " " + entry.path + ": listing stopped: " + ec.message());
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) consider(f, entry.origin);
  }
  return out;
}

Discovery discover_plugins(const CommonOptions& common) {
  return discover_plugins(plugin_search_path(common), policy_from(common));
}

}  // namespace trl::host
