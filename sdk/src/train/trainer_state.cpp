// TrainerState <-> trainer_state.json, with transformers' field names so tools that read HF checkpoints work.
#include "trl/sdk/error.h"
#include "trl/sdk/train/loop.h"

namespace trl {

nlohmann::json TrainerState::to_json() const {
  return {{"global_step", global_step},
          {"max_steps", max_steps},
          {"epoch", epoch},
          {"num_train_epochs", num_train_epochs},
          {"logging_steps", logging_steps},
          {"eval_steps", eval_steps},
          {"save_steps", save_steps},
          {"train_batch_size", train_batch_size},
          {"steps_per_epoch", steps_per_epoch},
          {"log_history", log_history}};
}

TrainerState TrainerState::from_json(const nlohmann::json& j, const std::string& file) {
  TrainerState s;
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key)) throw CheckpointError(file, std::string("missing key '") + key + "'");
    return j.at(key);
  };
  try {
    s.global_step = need("global_step").get<int64_t>();
    s.max_steps = need("max_steps").get<int64_t>();
    s.epoch = need("epoch").get<double>();
    s.num_train_epochs = need("num_train_epochs").get<double>();
    s.logging_steps = need("logging_steps").get<int64_t>();
    s.eval_steps = need("eval_steps").get<int64_t>();
    s.save_steps = need("save_steps").get<int64_t>();
    s.train_batch_size = need("train_batch_size").get<int64_t>();
    s.steps_per_epoch = j.value("steps_per_epoch", int64_t{0});
    s.log_history = need("log_history");
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(file, std::string("bad field: ") + e.what());
  }
  if (!s.log_history.is_array()) throw CheckpointError(file, "log_history: expected a list");
  if (s.global_step < 0) throw CheckpointError(file, "global_step: expected >= 0");
  return s;
}

}  // namespace trl
