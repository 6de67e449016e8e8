#include "optim/adam_state.h"

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

void import_adam_state(torch::optim::Adam& optimizer, const NamedTensors& params, const std::string& prefix,
                       const std::map<std::string, torch::Tensor>& entries) {
  auto& state = optimizer.state();
  // Check everything first: a failed load leaves the optimizer as it was.
  for (const auto& [name, p] : params) {
    for (const char* field : {"exp_avg.", "exp_avg_sq."}) {
      auto it = entries.find(prefix + field + name);
      if (it != entries.end() && it->second.sizes() != p.sizes()) {
        throw std::invalid_argument("optimizer state " + prefix + field + name + ": expected shape " +
                                    c10::str(p.sizes()) + " but received " + c10::str(it->second.sizes()));
      }
    }
  }
  state.clear();
  for (const auto& [name, p] : params) {
    auto step = entries.find(prefix + "step." + name);
    auto avg = entries.find(prefix + "exp_avg." + name);
    auto avg_sq = entries.find(prefix + "exp_avg_sq." + name);
    if (step == entries.end() || avg == entries.end() || avg_sq == entries.end()) continue;
    auto s = std::make_unique<torch::optim::AdamParamState>();
    s->step(step->second.to(torch::kInt64).item<int64_t>());
    s->exp_avg(avg->second.to(p.device(), p.scalar_type()).clone());
    s->exp_avg_sq(avg_sq->second.to(p.device(), p.scalar_type()).clone());
    state[state_key(state, p)] = std::move(s);
  }
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
