#include "optim/adam_state.h"

#include <cmath>
#include <sstream>
#include <type_traits>

namespace optim {

namespace {
// LibTorch keys optimizer state by the parameter's TensorImpl: 1.13 by its address printed as a
// string, later versions by the pointer itself. This picks whichever the installed headers use.
template <typename Map>
typename Map::key_type state_key(const Map&, const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream out;
    out << p.unsafeGetTensorImpl();
    return out.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}
}  // namespace

NamedTensors export_adam_state(torch::optim::Adam& optimizer, const NamedTensors& params, const std::string& prefix) {
  NamedTensors out;
  auto& state = optimizer.state();
  for (const auto& [name, p] : params) {
    auto it = state.find(state_key(state, p));
    if (it == state.end()) continue;
    auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
    out.emplace_back(prefix + "step." + name, torch::tensor(static_cast<int64_t>(s.step()), torch::kInt64));
    out.emplace_back(prefix + "exp_avg." + name, s.exp_avg().detach().to(torch::kCPU).clone());
    out.emplace_back(prefix + "exp_avg_sq." + name, s.exp_avg_sq().detach().to(torch::kCPU).clone());
  }
  return out;
}

PreparedAdamState prepare_adam_state(const NamedTensors& params, const std::string& prefix,
                                     const std::map<std::string, torch::Tensor>& entries) {
  PreparedAdamState out;
  for (const auto& [name, p] : params) {
    auto step = entries.find(prefix + "step." + name);
    auto avg = entries.find(prefix + "exp_avg." + name);
    auto avg_sq = entries.find(prefix + "exp_avg_sq." + name);
    const int found = (step != entries.end()) + (avg != entries.end()) + (avg_sq != entries.end());
    if (found == 0) continue;
    if (found != 3) {
      throw std::invalid_argument("optimizer state for " + prefix + name +
                                  " is incomplete: step, exp_avg and exp_avg_sq travel together");
    }
    // One count of steps: int64 as export_adam_state writes it, or a float holding an integer (PyTorch
    // stores step as a float tensor); a count above 2^53 is no step count a run reaches.
    const torch::Tensor& s = step->second;
    const double count = s.numel() == 1 ? s.to(torch::kFloat64).item<double>() : -1;
    if (!(count >= 0 && count <= 9007199254740992.0 && std::floor(count) == count)) {
      throw std::invalid_argument("optimizer state " + step->first + ": expected one non-negative integer but received " +
                                  std::to_string(s.numel()) + " value(s)" +
                                  (s.numel() == 1 ? " (" + std::to_string(count) + ")" : std::string()));
    }
    for (const auto& it : {avg, avg_sq}) {
      if (it->second.sizes() != p.sizes() || !it->second.is_floating_point()) {
        throw std::invalid_argument("optimizer state " + it->first + ": expected floating-point values of shape " +
                                    c10::str(p.sizes()) + " but received " + c10::str(it->second.sizes()) + " " +
                                    std::string(c10::toString(it->second.scalar_type())));
      }
    }
    auto state = std::make_unique<torch::optim::AdamParamState>();
    state->step(static_cast<int64_t>(count));
    state->exp_avg(avg->second.to(p.device(), p.scalar_type()).clone());
    state->exp_avg_sq(avg_sq->second.to(p.device(), p.scalar_type()).clone());
    out.states.emplace_back(p, std::move(state));
    out.entries_used += 3;
  }
  return out;
}

void commit_adam_state(torch::optim::Adam& optimizer, PreparedAdamState prepared) {
  auto& state = optimizer.state();
  std::remove_reference_t<decltype(state)> fresh;
  for (auto& [p, s] : prepared.states) fresh[state_key(fresh, p)] = std::move(s);
  state.swap(fresh);  // built aside first: an allocation failing above leaves the old state
}

void move_adam_state(torch::optim::Adam& optimizer, const torch::Device& device) {
  for (auto& entry : optimizer.state()) {
    auto& s = static_cast<torch::optim::AdamParamState&>(*entry.second);
    s.exp_avg(s.exp_avg().to(device));
    s.exp_avg_sq(s.exp_avg_sq().to(device));
    if (s.max_exp_avg_sq().defined()) s.max_exp_avg_sq(s.max_exp_avg_sq().to(device));
  }
}

}  // namespace optim
