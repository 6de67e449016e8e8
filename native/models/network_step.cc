#include "models/network_step.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>

#include "bridge/common.h"

namespace models {

using bridge::CodedError;

namespace {

// bf16 autocast for the forward pass on CUDA. Autocast state is thread-local, and libuv reuses its
// pool threads, so the scope restores what it found.
class AutocastScope {
 public:
  explicit AutocastScope(bool enable) : enabled_(enable) {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
    previous_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, previous_);
    at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
#else
    at::autocast::set_enabled(previous_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

torch::Tensor to_host(const torch::Tensor& t) { return t.detach().to(torch::kCPU).to(torch::kFloat32).contiguous(); }

// Frees the gradients (PyTorch's zero_grad(set_to_none=True); LibTorch 1.13's zero_grad() only zeroes
// them). Done before the forward pass, so the last step's gradients are not held through this step's
// activations, and stay readable through gradients() until the next step.
void clear_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      if (p.mutable_grad().defined()) p.mutable_grad().reset();
    }
  }
}

}  // namespace

Outputs run_predict(NetworkState& s, const torch::Tensor& input, const CallOptions& o) {
  torch::NoGradGuard no_grad;  // grad mode is thread-local: set on the worker
  s.set_training(false);
  ForwardContext ctx{at::make_generator<at::CPUGeneratorImpl>(o.seed)};
  AutocastScope autocast(s.on_cuda() && s.config.bf16);
  torch::Tensor x = s.prepare_input(input);
  Outputs out;
  if (!s.config.spottune) {
    out.logits = s.resnet->forward(x, &ctx);
  } else {
    torch::Tensor policy;  // [N, B] on the CPU
    if (o.policy_mode == PolicyMode::kFixed) {
      policy = o.policy;
    } else {
      torch::Tensor z = s.spottune->agent_logits(x).to(torch::kCPU).to(torch::kFloat32);  // [N, B, 2]
      out.agent_logits = z.contiguous();
      if (o.policy_mode == PolicyMode::kSample) {
        z = z + (o.noise.defined() ? o.noise : sample_gumbel(z.sizes(), ctx.generator));
      }
      policy = z.argmax(-1).to(torch::kFloat32);
    }
    out.logits = o.select ? s.spottune->forward_selected(x, policy, &ctx) : s.spottune->forward(x, policy.to(s.device), &ctx);
    out.policy = policy.to(torch::kUInt8).contiguous();
  }
  out.logits = to_host(out.logits);
  out.probabilities = torch::sigmoid(out.logits);
  return out;
}

namespace {

// The buffers as they were before a step's forward pass. A train-mode forward updates BatchNorm's
// running statistics and num_batches_tracked as it goes, before the loss exists; a step that is
// then refused (a NaN loss, or any failure before Adam runs) puts them back, so a refused step
// leaves the network as it found it. The buffers are small (ResNet50: 159 tensors, 53k values, against
// 46M parameters), so the copy costs little next to the step (docs/networks.md, the A/B).
// Parameters and Adam's state change only after the loss is checked; the randomness of a step is
// its own generator, seeded per call, so nothing else needs keeping.
class BufferSnapshot {
 public:
  explicit BufferSnapshot(NetworkState& s) {
    torch::NoGradGuard no_grad;
    for (const auto& name : s.order) {
      if (s.is_parameter.at(name)) continue;
      const torch::Tensor& t = s.entries.at(name);
      saved_.emplace_back(t, t.clone());
    }
  }
  void restore() {
    torch::NoGradGuard no_grad;
    for (auto& [live, copy] : saved_) live.copy_(copy);
  }

 private:
  std::vector<std::pair<torch::Tensor, torch::Tensor>> saved_;  // (the network's buffer, its copy)
};

// One step, forward to Adam. `stepping` turns true when Adam starts changing parameters: a failure
// before then changed only the buffers, which run_train_step puts back.
Outputs apply_train_step(NetworkState& s, const torch::Tensor& input, const torch::Tensor& labels, const CallOptions& o,
                         bool& stepping) {
  torch::AutoGradMode grad(true);
  clear_gradients(*s.main_opt);
  if (s.agent_opt) clear_gradients(*s.agent_opt);
  s.set_training(true);
  ForwardContext ctx{at::make_generator<at::CPUGeneratorImpl>(o.seed)};
  Outputs out;
  torch::Tensor logits;
  {
    AutocastScope autocast(s.on_cuda() && s.config.bf16);
    torch::Tensor x = s.prepare_input(input);
    if (!s.config.spottune) {
      logits = s.resnet->forward(x, &ctx);
    } else {
      torch::Tensor z = s.spottune->agent_logits(x).to(torch::kFloat32);  // [N, B, 2]
      torch::Tensor noise = o.noise.defined() ? o.noise : sample_gumbel(z.sizes(), ctx.generator);
      torch::Tensor action = gumbel_softmax_hard(z, noise.to(s.device), o.tau);
      torch::Tensor policy = action.select(2, 1);  // [N, B]; 1 = the fine-tuned copy
      logits = s.spottune->forward(x, policy, &ctx);
      out.policy = policy.detach().to(torch::kCPU).to(torch::kUInt8).contiguous();
    }
  }
  logits = logits.to(torch::kFloat32);
  torch::Tensor loss = torch::nn::functional::binary_cross_entropy_with_logits(
      logits, labels.to(s.device), torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(s.pos_weight));
  out.loss = loss.item<double>();
  if (!std::isfinite(out.loss)) {
    throw CodedError("ERR_NONFINITE_LOSS", "the loss is " + std::to_string(out.loss) +
                                               "; the step was not applied (check the inputs and the learning rate)");
  }
  loss.backward();
  stepping = true;
  s.main_opt->step();
  if (s.agent_opt) s.agent_opt->step();
  out.probabilities = torch::sigmoid(to_host(logits));
  return out;
}

}  // namespace

Outputs run_train_step(NetworkState& s, const torch::Tensor& input, const torch::Tensor& labels, const CallOptions& o) {
  BufferSnapshot before(s);
  bool stepping = false;
  try {
    return apply_train_step(s, input, labels, o, stepping);
  } catch (...) {
    if (!stepping) before.restore();
    throw;
  }
}

}  // namespace models
