// ReduceLROnPlateau with PyTorch's semantics (torch.optim.lr_scheduler.ReduceLROnPlateau), over the
// parameter groups of several optimizers at once: the SpotTune study steps one scheduler per
// optimizer with the same metric, which is the same as one scheduler over both.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace optim {

struct PlateauOptions {
  bool maximize = false;  // mode 'max'
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  bool relative = true;  // threshold_mode 'rel' (else 'abs')
  int64_t cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;
};

// Counters a checkpoint must carry for a resumed run to reduce at the same epoch.
struct PlateauState {
  double best = 0.0;
  int64_t num_bad_epochs = 0;
  int64_t cooldown_counter = 0;
  int64_t last_epoch = 0;
};

class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(std::vector<torch::optim::Optimizer*> optimizers, PlateauOptions options);
  // One epoch's metric; returns true when the learning rates were reduced.
  bool step(double metric);
  std::vector<double> learning_rates() const;
  void set_learning_rates(const std::vector<double>& lrs);
  const PlateauState& state() const { return state_; }
  void set_state(const PlateauState& state) { state_ = state; }
  const PlateauOptions& options() const { return options_; }

 private:
  bool is_better(double a) const;
  std::vector<torch::optim::Optimizer*> optimizers_;
  PlateauOptions options_;
  PlateauState state_;
};

}  // namespace optim
