// The schedules of transformers/optimization.py (get_constant_schedule[_with_warmup],
// get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup with num_cycles = 0.5).
#include "trl/sdk/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace trl {

LrScheduler::LrScheduler(LrSchedulerType type, double base_lr, int64_t warmup_steps, int64_t total_steps)
    : type_(type), base_lr_(base_lr), warmup_steps_(warmup_steps), total_steps_(total_steps) {}

double LrScheduler::lr_at(int64_t step) const {
  const double s = static_cast<double>(step);
  const double warm = static_cast<double>(warmup_steps_);
  if (type_ == LrSchedulerType::constant) return base_lr_;
  if (step < warmup_steps_) return base_lr_ * s / std::max(1.0, warm);
  const double decay_span = std::max(1.0, static_cast<double>(total_steps_ - warmup_steps_));
  const double progress = (s - warm) / decay_span;
  switch (type_) {
    case LrSchedulerType::constant_with_warmup: return base_lr_;
    case LrSchedulerType::linear:
      return base_lr_ * std::max(0.0, static_cast<double>(total_steps_ - step) / decay_span);
    case LrSchedulerType::cosine:
      return base_lr_ * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 2.0 * 0.5 * progress)));
    case LrSchedulerType::constant: break;
  }
  return base_lr_;
}

int64_t LrScheduler::warmup_for(const TrainingArguments& args, int64_t total_steps) {
  if (args.warmup_steps > 0) return args.warmup_steps;
  return static_cast<int64_t>(std::ceil(static_cast<double>(total_steps) * args.warmup_ratio));
}

}  // namespace trl
