// trl/sdk/train/lr_schedule.h: the learning-rate schedules of transformers.get_scheduler, as a pure
// function of the step so a resumed run needs no scheduler state beyond the step count.
#pragma once

#include <cstdint>

#include "trl/sdk/train/training_args.h"

namespace trl {

/// Learning rate as a function of completed optimizer steps.
class LrScheduler {
 public:
  /// `total_steps` of the run, `warmup_steps` of linear warmup from 0, peak `base_lr`.
  LrScheduler(LrSchedulerType type, double base_lr, int64_t warmup_steps, int64_t total_steps);
  /// The rate used by optimizer step `step + 1`, i.e. after `step` completed steps (transformers' lr_lambda(step) × base_lr).
  double lr_at(int64_t step) const;
  /// Warmup steps for `total_steps`: warmup_steps if > 0, else ceil(total_steps × warmup_ratio) (transformers).
  static int64_t warmup_for(const TrainingArguments& args, int64_t total_steps);

 private:
  LrSchedulerType type_;
  double base_lr_;
  int64_t warmup_steps_;
  int64_t total_steps_;
};

}  // namespace trl
