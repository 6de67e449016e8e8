// The 3D SpotTune network (Schmitz, Guo, Wang 2024, after Guo et al. 2019): a ResNet3D stem shared by
// two copies of every residual block, the pretrained copy F (`blocks`, frozen) and the fine-tuned
// copy F^ (`parallel_blocks`), and an agent ResNet3D whose head gives 2 logits per block. Per sample
// and block, a hard Gumbel-softmax policy I picks the copy: x_l = I_l * F^_l(x) + (1 - I_l) * F_l(x).
#pragma once

#include "models/resnet3d.h"

namespace models {

// layer1..layer4 without a stem or head: `blocks` and `parallel_blocks` are each one of these.
class BlockStackImpl : public torch::nn::Module {
 public:
  explicit BlockStackImpl(const Architecture& arch) { blocks_ = register_stages(*this, arch); }
  std::vector<Block3d>& blocks() { return blocks_; }

 private:
  std::vector<Block3d> blocks_;
};
TORCH_MODULE(BlockStack);

struct SpotTune3dOptions {
  TORCH_ARG(Architecture, arch);
  TORCH_ARG(Architecture, agent_arch);
  TORCH_ARG(int64_t, input_channels) = 1;
  TORCH_ARG(int64_t, num_classes) = 1;
  TORCH_ARG(double, dropout) = 0.0;
};

// Straight-through hard Gumbel-softmax over the last axis of `logits` [N, B, 2] with noise G of the
// same shape: the forward value is one_hot(argmax(logits + G)), the gradient that of
// softmax((logits + G) / tau).
torch::Tensor gumbel_softmax_hard(const torch::Tensor& logits, const torch::Tensor& noise, double tau);
// G = -log(-log(U + 1e-20) + 1e-20), U ~ uniform[0, 1) from the generator, on the CPU.
torch::Tensor sample_gumbel(c10::IntArrayRef shape, at::Generator& generator);

class SpotTune3dImpl : public torch::nn::Module {
 public:
  explicit SpotTune3dImpl(const SpotTune3dOptions& options);

  // The agent's raw logits, [N, C, D, H, W] -> [N, B, 2].
  torch::Tensor agent_logits(const torch::Tensor& x);
  // Both copies of every block, mixed by `policy` [N, B] (float, 0 or 1; differentiable).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& policy, ForwardContext* ctx = nullptr);
  // Only the chosen copy of each block per sample (samples grouped by choice); `policy` [N, B] on the
  // CPU, 0 or 1. Equal to forward() in eval mode, where BatchNorm treats samples independently.
  torch::Tensor forward_selected(const torch::Tensor& x, const torch::Tensor& policy, ForwardContext* ctx = nullptr);

  int64_t num_blocks() const { return options_.arch().num_blocks(); }
  const SpotTune3dOptions& options() const { return options_; }
  // parallel_blocks := blocks (F^ starts as a copy of F).
  void copy_blocks_to_parallel();

  torch::nn::Conv3d conv1{nullptr};
  torch::nn::BatchNorm3d bn1{nullptr};
  BlockStack blocks{nullptr};
  BlockStack parallel_blocks{nullptr};
  torch::nn::Linear fc{nullptr};
  ResNet3d agent{nullptr};

 private:
  torch::Tensor stem(const torch::Tensor& x);
  SpotTune3dOptions options_;
};
TORCH_MODULE(SpotTune3d);

}  // namespace models
