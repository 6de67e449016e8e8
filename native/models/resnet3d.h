// MedicalNet's 3D ResNets (Chen, Ma, Zheng 2019; github.com/Tencent/MedicalNet models/resnet.py),
// laid out so that a MedicalNet state dict maps one to one once 'module.' is stripped: the stem
// conv1/bn1, four stages layer1..layer4 of BasicBlocks or Bottlenecks, and a classification head fc.
//
// Stage strides are [1, 2, 1, 1] and dilations [1, 1, 2, 4]; every block of a stage is dilated, as
// MedicalNet's _make_layer does (the SpotTune reference code dilated only the first block).
#pragma once

#include <torch/torch.h>

#include <optional>
#include <vector>

namespace models {

// Everything random in one forward pass (dropout masks, Gumbel noise) comes from this generator,
// seeded by the caller per call, so that a step is reproducible and a resumed run repeats an
// uninterrupted one. It always lives on the CPU; the noise it draws is moved to the model's device.
struct ForwardContext {
  at::Generator generator;
};

// Dropout whose mask is drawn from `ctx.generator` instead of LibTorch's global generator.
torch::Tensor seeded_dropout(const torch::Tensor& x, double p, bool training, ForwardContext* ctx);

struct Block3dOptions {
  Block3dOptions(int64_t in_planes, int64_t planes) : in_planes_(in_planes), planes_(planes) {}
  TORCH_ARG(int64_t, in_planes);
  TORCH_ARG(int64_t, planes);
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, dilation) = 1;
  TORCH_ARG(bool, bottleneck) = false;
  // 'A': parameter-free (strided identity, zero-padded channels); 'B': 1x1x1 conv + BatchNorm.
  // Used only when the block changes the shape (stride != 1 or channels change).
  TORCH_ARG(char, shortcut) = 'B';
};

// MedicalNet's BasicBlock (conv1 3x3x3 stride, conv2 3x3x3) or Bottleneck (conv1 1x1x1, conv2
// 3x3x3 stride, conv3 1x1x1 x4), both with padding = dilation, including the residual add and the
// final ReLU, so that the SpotTune mix x = I*F^(x) + (1-I)*F(x) combines two whole blocks.
class Block3dImpl : public torch::nn::Module {
 public:
  explicit Block3dImpl(const Block3dOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t out_planes() const { return options_.planes() * (options_.bottleneck() ? 4 : 1); }

 private:
  Block3dOptions options_;
  torch::nn::Conv3d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm3d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};  // type B: [Conv3d, BatchNorm3d] -> downsample.0/.1
  bool pad_shortcut_ = false;                 // type A
};
TORCH_MODULE(Block3d);

// The block layout of one ResNet: which block, how many per stage.
struct Architecture {
  bool bottleneck = false;
  std::vector<int64_t> layers;  // blocks per stage, 4 entries
  char shortcut = 'B';
  int64_t expansion() const { return bottleneck ? 4 : 1; }
  int64_t num_blocks() const;
};

// Registers layer1..layer4 (ModuleLists named like PyTorch's nn.Sequential children "0", "1", ...)
// on `owner` and returns the blocks in order, flat.
std::vector<Block3d> register_stages(torch::nn::Module& owner, const Architecture& arch);

// MedicalNet's initialisation with a seeded generator: Conv3d kaiming normal (fan_out, ReLU gain),
// BatchNorm weight 1 and bias 0, Linear as PyTorch's default (uniform +-1/sqrt(fan_in)).
void initialise(torch::nn::Module& module, at::Generator& generator);

struct ResNet3dOptions {
  TORCH_ARG(Architecture, arch);
  TORCH_ARG(int64_t, input_channels) = 1;
  TORCH_ARG(int64_t, num_classes) = 1;
  TORCH_ARG(double, dropout) = 0.0;
};

class ResNet3dImpl : public torch::nn::Module {
 public:
  explicit ResNet3dImpl(const ResNet3dOptions& options);
  // [N, C, D, H, W] -> logits [N, num_classes]
  torch::Tensor forward(const torch::Tensor& x, ForwardContext* ctx = nullptr);
  // The stem (conv1, bn1, relu, maxpool), which SpotTune3d shares.
  torch::Tensor stem(const torch::Tensor& x);
  std::vector<Block3d>& blocks() { return blocks_; }
  const ResNet3dOptions& options() const { return options_; }

  torch::nn::Conv3d conv1{nullptr};
  torch::nn::BatchNorm3d bn1{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  ResNet3dOptions options_;
  std::vector<Block3d> blocks_;
};
TORCH_MODULE(ResNet3d);

// Global average pool, seeded dropout, linear: [N, C, d, h, w] -> [N, num_classes].
torch::Tensor classify(const torch::Tensor& features, torch::nn::Linear& fc, double dropout, bool training,
                       ForwardContext* ctx);

}  // namespace models
