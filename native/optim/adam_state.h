// Adam's per-parameter state (step, exp_avg, exp_avg_sq) by parameter name, so that a checkpoint
// can carry it and a resumed run continues exactly where the uninterrupted one would be.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace optim {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Entries `<prefix>step.<name>` (int64 scalar), `<prefix>exp_avg.<name>`, `<prefix>exp_avg_sq.<name>`
// for every parameter that has state, copied to the CPU.
NamedTensors export_adam_state(torch::optim::Adam& optimizer, const NamedTensors& params, const std::string& prefix);

// The inverse; parameters without entries lose their state. Throws on a shape mismatch.
void import_adam_state(torch::optim::Adam& optimizer, const NamedTensors& params, const std::string& prefix,
                       const std::map<std::string, torch::Tensor>& entries);

// Moves every state tensor to `device` (after the parameters moved).
void move_adam_state(torch::optim::Adam& optimizer, const torch::Device& device);

}  // namespace optim
