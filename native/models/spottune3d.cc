#include "models/spottune3d.h"

namespace models {

namespace F = torch::nn::functional;

torch::Tensor gumbel_softmax_hard(const torch::Tensor& logits, const torch::Tensor& noise, double tau) {
  torch::Tensor z = logits + noise;                  // [N, B, 2]
  torch::Tensor soft = torch::softmax(z / tau, -1);  // the backward path
  torch::Tensor hard = torch::zeros_like(soft).scatter_(-1, z.argmax(-1, /*keepdim=*/true), 1.0);
  return (hard - soft).detach() + soft;
}

torch::Tensor sample_gumbel(c10::IntArrayRef shape, at::Generator& generator) {
  torch::Tensor u = torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat32));
  u.uniform_(0.0, 1.0, generator);
  return -torch::log(-torch::log(u + 1e-20) + 1e-20);
}

SpotTune3dImpl::SpotTune3dImpl(const SpotTune3dOptions& options) : options_(options) {
  conv1 = register_module(
      "conv1", torch::nn::Conv3d(torch::nn::Conv3dOptions(options.input_channels(), 64, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", torch::nn::BatchNorm3d(64));
  blocks = register_module("blocks", BlockStack(options.arch()));
  parallel_blocks = register_module("parallel_blocks", BlockStack(options.arch()));
  fc = register_module("fc", torch::nn::Linear(512 * options.arch().expansion(), options.num_classes()));
  agent = register_module("agent", ResNet3d(ResNet3dOptions()
                                                .arch(options.agent_arch())
                                                .input_channels(options.input_channels())
                                                .num_classes(2 * options.arch().num_blocks())));
}

void SpotTune3dImpl::copy_blocks_to_parallel() {
  torch::NoGradGuard no_grad;
  auto source = blocks->named_parameters();
  auto source_buffers = blocks->named_buffers();
  for (auto& p : parallel_blocks->named_parameters()) p.value().copy_(source[p.key()]);
  for (auto& b : parallel_blocks->named_buffers()) b.value().copy_(source_buffers[b.key()]);
}

torch::Tensor SpotTune3dImpl::stem(const torch::Tensor& x) {
  return F::max_pool3d(bn1(conv1(x)).relu_(), F::MaxPool3dFuncOptions(3).stride(2).padding(1));
}

torch::Tensor SpotTune3dImpl::agent_logits(const torch::Tensor& x) {
  torch::Tensor logits = agent(x);  // [N, 2B]
  return logits.view({logits.size(0), num_blocks(), 2});
}

torch::Tensor SpotTune3dImpl::forward(const torch::Tensor& input, const torch::Tensor& policy, ForwardContext* ctx) {
  torch::Tensor x = stem(input);
  auto& frozen = blocks->blocks();
  auto& tuned = parallel_blocks->blocks();
  for (size_t t = 0; t < frozen.size(); ++t) {
    // [N] -> [N, 1, 1, 1, 1], broadcast over the block's output
    torch::Tensor choice = policy.select(1, static_cast<int64_t>(t)).view({-1, 1, 1, 1, 1}).to(x.scalar_type());
    x = frozen[t]->forward(x) * (1 - choice) + tuned[t]->forward(x) * choice;
  }
  return classify(x, fc, options_.dropout(), is_training(), ctx);
}

torch::Tensor SpotTune3dImpl::forward_selected(const torch::Tensor& input, const torch::Tensor& policy, ForwardContext* ctx) {
  torch::Tensor x = stem(input);
  auto& frozen = blocks->blocks();
  auto& tuned = parallel_blocks->blocks();
  torch::Tensor chosen = policy.to(torch::kCPU).to(torch::kBool);  // [N, B]
  for (size_t t = 0; t < frozen.size(); ++t) {
    torch::Tensor pick = chosen.select(1, static_cast<int64_t>(t));
    const int64_t n_tuned = pick.sum().item<int64_t>();
    if (n_tuned == x.size(0)) {
      x = tuned[t]->forward(x);
    } else if (n_tuned == 0) {
      x = frozen[t]->forward(x);
    } else {
      torch::Tensor idx_tuned = pick.nonzero().view(-1).to(x.device());
      torch::Tensor idx_frozen = pick.logical_not().nonzero().view(-1).to(x.device());
      torch::Tensor y_tuned = tuned[t]->forward(x.index_select(0, idx_tuned));
      torch::Tensor y_frozen = frozen[t]->forward(x.index_select(0, idx_frozen));
      // [n_tuned, C', d, h, w] + [n_frozen, ...] -> [N, C', d, h, w] in the original sample order
      std::vector<int64_t> shape = y_tuned.sizes().vec();
      shape[0] = x.size(0);
      torch::Tensor out = torch::empty(shape, y_tuned.options());
      out.index_copy_(0, idx_tuned, y_tuned);
      out.index_copy_(0, idx_frozen, y_frozen);
      x = out;
    }
  }
  return classify(x, fc, options_.dropout(), is_training(), ctx);
}

}  // namespace models
