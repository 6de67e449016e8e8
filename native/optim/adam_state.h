// Adam's per-parameter state (step, exp_avg, exp_avg_sq) by parameter name, so that a checkpoint
// can carry it and a resumed run continues exactly where the uninterrupted one would be.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace optim {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Entries `<prefix>step.<name>` (int64 scalar), `<prefix>exp_avg.<name>`, `<prefix>exp_avg_sq.<name>`
// for every parameter that has state, copied to the CPU.
NamedTensors export_adam_state(torch::optim::Adam& optimizer, const NamedTensors& params, const std::string& prefix);

// Adam's state for some parameters, read from checkpoint entries but not yet in an optimizer.
struct PreparedAdamState {
  std::vector<std::pair<torch::Tensor, std::unique_ptr<torch::optim::AdamParamState>>> states;  // (parameter, state)
  size_t entries_used = 0;  // how many of the entries this prefix claimed (3 per parameter)
};

// The inverse of export_adam_state, in two halves so that a load that fails changes nothing:
// prepare_adam_state reads and checks every entry under `prefix` (a complete step/exp_avg/exp_avg_sq
// triple per parameter, a one-element non-negative step, exp_avg* of the parameter's shape) and
// copies it to the parameter's device and dtype, throwing std::invalid_argument on the first
// problem; commit_adam_state then replaces the optimizer's state with it (parameters without
// entries lose theirs). Check every optimizer's entries before committing any.
PreparedAdamState prepare_adam_state(const NamedTensors& params, const std::string& prefix,
                                     const std::map<std::string, torch::Tensor>& entries);
void commit_adam_state(torch::optim::Adam& optimizer, PreparedAdamState prepared);

// Moves every state tensor to `device` (after the parameters moved).
void move_adam_state(torch::optim::Adam& optimizer, const torch::Device& device);

}  // namespace optim
