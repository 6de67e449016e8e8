#include "models/network_state.h"

#include <ATen/CPUGeneratorImpl.h>

#include "bridge/common.h"

namespace models {

void NetworkState::set_training(bool training) {
  root->train(training);
  // frozenBatchNormUpdatesStats = false: frozen BatchNorms use and keep their running statistics.
  if (training && !config.frozen_bn_updates) {
    for (auto& m : frozen) m->eval();
  }
}

torch::Tensor NetworkState::prepare_input(const torch::Tensor& x) const {
  torch::Tensor out = x.to(device);
  if (on_cuda() && config.channels_last) out = out.contiguous(torch::MemoryFormat::ChannelsLast3d);
  return out;
}

namespace {

void collect_entries(NetworkState& s) {
  s.entries.clear();
  s.order.clear();
  s.is_parameter.clear();
  for (const auto& item : s.root->named_modules()) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      s.order.push_back(prefix + p.key());
      s.entries[prefix + p.key()] = p.value();
      s.is_parameter[prefix + p.key()] = true;
    }
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) {
      if (!b.value().defined()) continue;
      s.order.push_back(prefix + b.key());
      s.entries[prefix + b.key()] = b.value();
      s.is_parameter[prefix + b.key()] = false;
    }
  }
}

void freeze(const std::shared_ptr<torch::nn::Module>& m, NetworkState& s) {
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  s.frozen.push_back(m);
}

optim::NamedTensors trainable_under(torch::nn::Module& m, const std::string& prefix) {
  optim::NamedTensors out;
  for (const auto& p : m.named_parameters()) {
    if (p.value().requires_grad()) out.emplace_back(prefix + p.key(), p.value());
  }
  return out;
}

std::unique_ptr<torch::optim::Adam> make_adam(const optim::NamedTensors& params, double lr, double wd, const NetworkConfig& c) {
  std::vector<torch::Tensor> tensors;
  for (const auto& p : params) tensors.push_back(p.second);
  return std::make_unique<torch::optim::Adam>(
      tensors, torch::optim::AdamOptions(lr).betas(std::make_tuple(c.beta1, c.beta2)).eps(c.eps).weight_decay(wd));
}

void convert_channels_last(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) {
    if (p.dim() == 5) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast3d));
  }
}

}  // namespace

std::shared_ptr<NetworkState> build_state(const NetworkConfig& c, std::shared_ptr<bridge::SerialThread> thread) {
  auto s = std::make_shared<NetworkState>();
  s->thread = std::move(thread);
  s->config = c;
  s->device = bridge::parse_device(c.device);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(c.init_seed);
  if (c.spottune) {
    s->spottune = SpotTune3d(SpotTune3dOptions()
                                 .arch(c.arch)
                                 .agent_arch(c.agent_arch)
                                 .input_channels(c.input_channels)
                                 .num_classes(c.num_classes)
                                 .dropout(c.dropout));
    s->root = s->spottune.ptr();
    initialise(*s->spottune, generator);
    s->spottune->copy_blocks_to_parallel();  // F^ starts as F
    s->num_blocks = s->spottune->num_blocks();
    freeze(s->spottune->conv1.ptr(), *s);
    freeze(s->spottune->bn1.ptr(), *s);
    freeze(s->spottune->blocks.ptr(), *s);
    s->main_params = trainable_under(*s->spottune->parallel_blocks, "parallel_blocks.");
    auto fc = trainable_under(*s->spottune->fc, "fc.");
    s->main_params.insert(s->main_params.end(), fc.begin(), fc.end());
    s->agent_params = trainable_under(*s->spottune->agent, "agent.");
  } else {
    s->resnet =
        ResNet3d(ResNet3dOptions().arch(c.arch).input_channels(c.input_channels).num_classes(c.num_classes).dropout(c.dropout));
    s->root = s->resnet.ptr();
    initialise(*s->resnet, generator);
    s->num_blocks = c.arch.num_blocks();
    if (c.trainable_blocks >= 0) {
      freeze(s->resnet->conv1.ptr(), *s);
      freeze(s->resnet->bn1.ptr(), *s);
      const auto& blocks = s->resnet->blocks();
      const int64_t first_trainable = static_cast<int64_t>(blocks.size()) - c.trainable_blocks;
      for (int64_t i = 0; i < first_trainable; ++i) freeze(blocks[i].ptr(), *s);
    }
    s->main_params = trainable_under(*s->resnet, "");
  }
  collect_entries(*s);
  s->root->to(s->device);
  if (s->on_cuda() && c.channels_last) convert_channels_last(*s->root);
  s->main_opt = make_adam(s->main_params, c.lr, c.wd, c);
  std::vector<torch::optim::Optimizer*> optimizers{s->main_opt.get()};
  if (c.spottune) {
    s->agent_opt = make_adam(s->agent_params, c.agent_lr, c.agent_wd, c);
    optimizers.push_back(s->agent_opt.get());
  }
  s->scheduler = std::make_unique<optim::ReduceLROnPlateau>(optimizers, c.plateau);
  if (!c.pos_weight.empty()) {
    s->pos_weight = torch::tensor(c.pos_weight, torch::kFloat32).to(s->device);
  }
  return s;
}

void move_state(NetworkState& s, const torch::Device& device) {
  // Module::to keeps each parameter's identity (set_data), so the optimizers still hold them.
  s.root->to(device);
  s.device = device;
  optim::move_adam_state(*s.main_opt, device);
  if (s.agent_opt) optim::move_adam_state(*s.agent_opt, device);
  if (s.pos_weight.defined()) s.pos_weight = s.pos_weight.to(device);
  if (s.on_cuda() && s.config.channels_last) convert_channels_last(*s.root);
}

}  // namespace models
