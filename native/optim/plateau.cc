#include "optim/plateau.h"

#include <cmath>
#include <limits>

namespace optim {

ReduceLROnPlateau::ReduceLROnPlateau(std::vector<torch::optim::Optimizer*> optimizers, PlateauOptions options)
    : optimizers_(std::move(optimizers)), options_(options) {
  state_.best = options_.maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double a) const {
  const double best = state_.best;
  if (options_.maximize) {
    return options_.relative ? a > best * (options_.threshold + 1.0) : a > best + options_.threshold;
  }
  return options_.relative ? a < best * (1.0 - options_.threshold) : a < best - options_.threshold;
}

bool ReduceLROnPlateau::step(double metric) {
  state_.last_epoch += 1;
  if (is_better(metric)) {
    state_.best = metric;
    state_.num_bad_epochs = 0;
  } else {
    state_.num_bad_epochs += 1;
  }
  if (state_.cooldown_counter > 0) {
    state_.cooldown_counter -= 1;
    state_.num_bad_epochs = 0;  // ignore bad epochs in cooldown
  }
  if (state_.num_bad_epochs <= options_.patience) return false;
  bool reduced = false;
  for (auto* optimizer : optimizers_) {
    for (auto& group : optimizer->param_groups()) {
      const double old_lr = group.options().get_lr();
      const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
      if (old_lr - new_lr > options_.eps) {
        group.options().set_lr(new_lr);
        reduced = true;
      }
    }
  }
  state_.cooldown_counter = options_.cooldown;
  state_.num_bad_epochs = 0;
  return reduced;
}

std::vector<double> ReduceLROnPlateau::learning_rates() const {
  std::vector<double> out;
  for (auto* optimizer : optimizers_) {
    for (auto& group : optimizer->param_groups()) out.push_back(group.options().get_lr());
  }
  return out;
}

void ReduceLROnPlateau::set_learning_rates(const std::vector<double>& lrs) {
  size_t i = 0;
  for (auto* optimizer : optimizers_) {
    for (auto& group : optimizer->param_groups()) {
      TORCH_CHECK(i < lrs.size(), "expected ", i + 1, " or more learning rates, got ", lrs.size());
      group.options().set_lr(lrs[i++]);
    }
  }
  TORCH_CHECK(i == lrs.size(), "expected ", i, " learning rates, got ", lrs.size());
}

}  // namespace optim
