// Key functions of the component interfaces (so their vtables and typeinfo live in libtrl_sdk, one copy
// for the whole process) and the Registry plugins register into.
#include "trl/sdk/plugin.h"

#include <regex>

#include "trl/sdk/error.h"
#include "trl/sdk/train/context.h"

namespace trl {

std::string to_string(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::trainer: return "trainer";
    case ComponentKind::callback: return "callback";
    case ComponentKind::reward: return "reward";
    case ComponentKind::group_filter: return "group_filter";
  }
  return "unknown";
}

std::optional<ComponentKind> parse_component_kind(const std::string& text) {
  if (text == "trainer") return ComponentKind::trainer;
  if (text == "callback") return ComponentKind::callback;
  if (text == "reward") return ComponentKind::reward;
  if (text == "group_filter") return ComponentKind::group_filter;
  return std::nullopt;
}

Component::~Component() = default;

Trainer::~Trainer() = default;
void Trainer::on_optimizer_step(TrainerContext&, int64_t) {}
bool Trainer::has_eval_data() const { return false; }
void Trainer::evaluate(TrainerContext&, Metrics&) {}
CausalLM* Trainer::ref_model() { return nullptr; }
void Trainer::save_state(TrainerContext&, const std::string&) const {}
void Trainer::load_state(TrainerContext&, const std::string&) {}

Callback::~Callback() = default;
void Callback::on_train_begin(CallbackArgs&) {}
void Callback::on_train_end(CallbackArgs&) {}
void Callback::on_step_begin(CallbackArgs&) {}
void Callback::on_step_end(CallbackArgs&) {}
void Callback::on_log(CallbackArgs&, const nlohmann::json&) {}
void Callback::on_evaluate(CallbackArgs&, const nlohmann::json&) {}
void Callback::on_save(CallbackArgs&, const std::string&) {}

RewardFunction::~RewardFunction() = default;
std::string RewardFunction::metric_name() const { return {}; }

GroupFilter::~GroupFilter() = default;
int64_t GroupFilter::num_to_keep(const CompletionGroup&, int64_t num_remains_in_group) { return num_remains_in_group; }
GroupScores GroupFilter::score_groups(const std::vector<CompletionGroup>& groups, int64_t num_remains_in_group) {
  GroupScores out;
  out.scores.reserve(groups.size());
  out.keep_counts.reserve(groups.size());
  for (const CompletionGroup& group : groups) {
    out.keep_counts.push_back(num_to_keep(group, num_remains_in_group));
    out.scores.push_back(score(group));
  }
  return out;
}

ComponentProvider::~ComponentProvider() = default;

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::add(ComponentEntry entry) {
  static const std::regex kName("[a-z0-9_]+");
  if (!std::regex_match(entry.name, kName))
    throw PluginError("", "registry", to_string(entry.kind) + " name '" + entry.name + "' must match [a-z0-9_]+");
  if (!entry.create) throw PluginError("", "registry", to_string(entry.kind) + " '" + entry.name + "' has no factory");
  for (const ComponentEntry& e : entries_) {
    if (e.kind == entry.kind && e.name == entry.name)
      throw PluginError("", "registry", to_string(entry.kind) + " '" + entry.name + "' registered twice");
  }
  entries_.push_back(std::move(entry));
}

namespace {
// A typed factory as the registry's type-erased one (empty stays empty, so add() can refuse it).
template <class T>
std::function<std::unique_ptr<Component>(const Args&)> erase(Factory<T> create) {
  if (!create) return {};
  return [create = std::move(create)](const Args& a) -> std::unique_ptr<Component> { return create(a); };
}
}  // namespace

void Registry::add_trainer(const std::string& name, ParamTable params, Factory<Trainer> create, std::string help) {
  add({ComponentKind::trainer, name, std::move(params), std::move(help), erase(std::move(create))});
}
void Registry::add_callback(const std::string& name, ParamTable params, Factory<Callback> create, std::string help) {
  add({ComponentKind::callback, name, std::move(params), std::move(help), erase(std::move(create))});
}
void Registry::add_reward(const std::string& name, ParamTable params, Factory<RewardFunction> create,
                          std::string help) {
  add({ComponentKind::reward, name, std::move(params), std::move(help), erase(std::move(create))});
}
void Registry::add_group_filter(const std::string& name, ParamTable params, Factory<GroupFilter> create,
                                std::string help) {
  add({ComponentKind::group_filter, name, std::move(params), std::move(help), erase(std::move(create))});
}

}  // namespace trl
