// The guarded proxies of guarded_components.h: one class per component interface, each virtual call
// forwarded through call_plugin.
#include "guarded_components.h"

#include <c10/util/Exception.h>

#include "trl/sdk/dist/process_group.h"

namespace trl::host {
namespace {

class GuardedTrainer final : public Trainer {
 public:
  GuardedTrainer(std::unique_ptr<Trainer> inner, ComponentOrigin origin)
      : inner_(std::move(inner)), origin_(std::move(origin)) {}
  void prepare(TrainerContext& ctx) override {
    call_plugin(origin_, "prepare", [&] { inner_->prepare(ctx); });
  }
  int64_t micro_batches_per_epoch() const override {
    return call_plugin(origin_, "micro_batches_per_epoch", [&] { return inner_->micro_batches_per_epoch(); });
  }
  at::Tensor compute_loss(TrainerContext& ctx, int64_t micro_batch_index, Metrics& metrics) override {
    return call_plugin(origin_, "compute_loss", [&] { return inner_->compute_loss(ctx, micro_batch_index, metrics); });
  }
  void on_optimizer_step(TrainerContext& ctx, int64_t global_step) override {
    call_plugin(origin_, "on_optimizer_step", [&] { inner_->on_optimizer_step(ctx, global_step); });
  }
  bool has_eval_data() const override {
    return call_plugin(origin_, "has_eval_data", [&] { return inner_->has_eval_data(); });
  }
  void evaluate(TrainerContext& ctx, Metrics& metrics) override {
    call_plugin(origin_, "evaluate", [&] { inner_->evaluate(ctx, metrics); });
  }
  CausalLM* ref_model() override {
    return call_plugin(origin_, "ref_model", [&] { return inner_->ref_model(); });
  }
  void save_state(TrainerContext& ctx, const std::string& checkpoint_dir) const override {
    call_plugin(origin_, "save_state", [&] { inner_->save_state(ctx, checkpoint_dir); });
  }
  void load_state(TrainerContext& ctx, const std::string& checkpoint_dir) override {
    call_plugin(origin_, "load_state", [&] { inner_->load_state(ctx, checkpoint_dir); });
  }

 private:
  std::unique_ptr<Trainer> inner_;
  ComponentOrigin origin_;
};

class GuardedCallback final : public Callback {
 public:
  GuardedCallback(std::unique_ptr<Callback> inner, ComponentOrigin origin)
      : inner_(std::move(inner)), origin_(std::move(origin)) {}
  void on_train_begin(CallbackArgs& args) override {
    call_plugin(origin_, "on_train_begin", [&] { inner_->on_train_begin(args); });
  }
  void on_train_end(CallbackArgs& args) override {
    call_plugin(origin_, "on_train_end", [&] { inner_->on_train_end(args); });
  }
  void on_step_begin(CallbackArgs& args) override {
    call_plugin(origin_, "on_step_begin", [&] { inner_->on_step_begin(args); });
  }
  void on_step_end(CallbackArgs& args) override {
    call_plugin(origin_, "on_step_end", [&] { inner_->on_step_end(args); });
  }
  void on_log(CallbackArgs& args, const nlohmann::json& logs) override {
    call_plugin(origin_, "on_log", [&] { inner_->on_log(args, logs); });
  }
  void on_evaluate(CallbackArgs& args, const nlohmann::json& metrics) override {
    call_plugin(origin_, "on_evaluate", [&] { inner_->on_evaluate(args, metrics); });
  }
  void on_save(CallbackArgs& args, const std::string& checkpoint_dir) override {
    call_plugin(origin_, "on_save", [&] { inner_->on_save(args, checkpoint_dir); });
  }

 private:
  std::unique_ptr<Callback> inner_;
  ComponentOrigin origin_;
};

class GuardedReward final : public RewardFunction {
 public:
  GuardedReward(std::unique_ptr<RewardFunction> inner, ComponentOrigin origin)
      : inner_(std::move(inner)), origin_(std::move(origin)) {}
  std::vector<std::optional<double>> score(const RewardInput& input) override {
    return call_plugin(origin_, "score", [&] { return inner_->score(input); });
  }
  std::string metric_name() const override {
    return call_plugin(origin_, "metric_name", [&] { return inner_->metric_name(); });
  }

 private:
  std::unique_ptr<RewardFunction> inner_;
  ComponentOrigin origin_;
};

class GuardedGroupFilter final : public GroupFilter {
 public:
  GuardedGroupFilter(std::unique_ptr<GroupFilter> inner, ComponentOrigin origin)
      : inner_(std::move(inner)), origin_(std::move(origin)) {}
  std::vector<double> score(const CompletionGroup& group) override {
    return call_plugin(origin_, "score", [&] { return inner_->score(group); });
  }
  int64_t num_to_keep(const CompletionGroup& group, int64_t num_remains_in_group) override {
    return call_plugin(origin_, "num_to_keep", [&] { return inner_->num_to_keep(group, num_remains_in_group); });
  }
  GroupScores score_groups(const std::vector<CompletionGroup>& groups, int64_t num_remains_in_group) override {
    return call_plugin(origin_, "score_groups", [&] { return inner_->score_groups(groups, num_remains_in_group); });
  }

 private:
  std::unique_ptr<GroupFilter> inner_;
  ComponentOrigin origin_;
};

}  // namespace

std::string ComponentOrigin::call(const char* call) const { return to_string(kind) + " '" + name + "': " + call; }

void rethrow_from_plugin(const ComponentOrigin& origin, const char* call) {
  try {
    throw;
  } catch (const PluginError&) {
    throw;
  } catch (const ConfigError& e) {
    throw ConfigError("plugin '" + origin.plugin + "': " + origin.call(call) + ": " + e.what());
  } catch (const DataError& e) {
    // The user's data, model or checkpoint is at fault, not the plugin: keep the type (exit code 1).
    throw DataError("plugin '" + origin.plugin + "': " + origin.call(call), 0, e.what());
  } catch (const ModelError& e) {
    throw ModelError("plugin '" + origin.plugin + "': " + origin.call(call), e.what());
  } catch (const CheckpointError& e) {
    throw CheckpointError("plugin '" + origin.plugin + "': " + origin.call(call), e.what());
  } catch (const NonFiniteError&) {
    throw;  // names the step; the loss being NaN is the run's fact, whichever plugin computed it
  } catch (const dist::DistributedError&) {
    throw;  // a peer rank died or timed out: the job's fault, not the plugin's that made the collective call
  } catch (const c10::Error& e) {
    throw PluginError(origin.plugin, origin.call(call), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw PluginError(origin.plugin, origin.call(call), e.what());
  } catch (...) {
    throw PluginError(origin.plugin, origin.call(call), "an exception not derived from std::exception");
  }
}

std::unique_ptr<Trainer> guard_trainer(std::unique_ptr<Trainer> inner, ComponentOrigin origin) {
  return std::make_unique<GuardedTrainer>(std::move(inner), std::move(origin));
}
std::unique_ptr<Callback> guard_callback(std::unique_ptr<Callback> inner, ComponentOrigin origin) {
  return std::make_unique<GuardedCallback>(std::move(inner), std::move(origin));
}
std::unique_ptr<RewardFunction> guard_reward(std::unique_ptr<RewardFunction> inner, ComponentOrigin origin) {
  return std::make_unique<GuardedReward>(std::move(inner), std::move(origin));
}
std::unique_ptr<GroupFilter> guard_group_filter(std::unique_ptr<GroupFilter> inner, ComponentOrigin origin) {
  return std::make_unique<GuardedGroupFilter>(std::move(inner), std::move(origin));
}

}  // namespace trl::host
