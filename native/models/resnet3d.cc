#include "models/resnet3d.h"

#include <cmath>
#include <string>

namespace models {

namespace F = torch::nn::functional;

torch::Tensor seeded_dropout(const torch::Tensor& x, double p, bool training, ForwardContext* ctx) {
  if (!training || p <= 0.0) return x;
  if (p >= 1.0) return torch::zeros_like(x);
  torch::Tensor mask = torch::empty(x.sizes(), torch::TensorOptions().dtype(torch::kFloat32));
  if (ctx) {
    mask.bernoulli_(1.0 - p, ctx->generator);
  } else {
    mask.bernoulli_(1.0 - p);
  }
  return x * mask.to(x.device(), x.scalar_type()).div_(1.0 - p);
}

namespace {
torch::nn::Conv3d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  return torch::nn::Conv3d(
      torch::nn::Conv3dOptions(in, out, kernel).stride(stride).padding(padding).dilation(dilation).bias(false));
}
}  // namespace

Block3dImpl::Block3dImpl(const Block3dOptions& options) : options_(options) {
  const int64_t in = options.in_planes(), planes = options.planes(), d = options.dilation(), s = options.stride();
  if (options.bottleneck()) {
    conv1 = register_module("conv1", conv(in, planes, /*kernel=*/1, /*stride=*/1, /*padding=*/0, /*dilation=*/1));
    bn1 = register_module("bn1", torch::nn::BatchNorm3d(planes));
    conv2 = register_module("conv2", conv(planes, planes, /*kernel=*/3, s, /*padding=*/d, d));
    bn2 = register_module("bn2", torch::nn::BatchNorm3d(planes));
    conv3 = register_module("conv3", conv(planes, planes * 4, /*kernel=*/1, /*stride=*/1, /*padding=*/0, /*dilation=*/1));
    bn3 = register_module("bn3", torch::nn::BatchNorm3d(planes * 4));
  } else {
    conv1 = register_module("conv1", conv(in, planes, /*kernel=*/3, s, /*padding=*/d, d));
    bn1 = register_module("bn1", torch::nn::BatchNorm3d(planes));
    conv2 = register_module("conv2", conv(planes, planes, /*kernel=*/3, /*stride=*/1, /*padding=*/d, d));
    bn2 = register_module("bn2", torch::nn::BatchNorm3d(planes));
  }
  if (s != 1 || in != out_planes()) {
    if (options.shortcut() == 'A') {
      pad_shortcut_ = true;
    } else {
      downsample = register_module("downsample",
                                   torch::nn::Sequential(conv(in, out_planes(), /*kernel=*/1, s, /*padding=*/0, /*dilation=*/1),
                                                         torch::nn::BatchNorm3d(out_planes())));
    }
  }
}

// ReLUs and the residual sum work in place, as MedicalNet's nn.ReLU(inplace=True) does: BatchNorm's
// and addition's backward passes need neither output, so each in-place op saves a full activation.
torch::Tensor Block3dImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = bn1(conv1(x)).relu_();
  if (options_.bottleneck()) {
    out = bn2(conv2(out)).relu_();
    out = bn3(conv3(out));
  } else {
    out = bn2(conv2(out));
  }
  torch::Tensor residual = x;
  if (downsample) {
    residual = downsample->forward(x);
  } else if (pad_shortcut_) {
    // MedicalNet's downsample_basic_block: avg_pool3d with kernel 1 (a strided subsample), then zero
    // channels appended: [N, C, D, H, W] -> [N, out_planes, D/s, H/s, W/s]. MedicalNet rebuilds it
    // from `.data`, which cuts the shortcut's gradient; here gradient flows through it.
    const int64_t s = options_.stride();
    residual = s == 1 ? x : F::avg_pool3d(x, F::AvgPool3dFuncOptions(1).stride(s));
    residual = torch::constant_pad_nd(residual, {0, 0, 0, 0, 0, 0, 0, out_planes() - x.size(1)}, 0);
  }
  return out.add_(residual).relu_();
}

int64_t Architecture::num_blocks() const {
  int64_t n = 0;
  for (auto l : layers) n += l;
  return n;
}

std::vector<Block3d> register_stages(torch::nn::Module& owner, const Architecture& arch) {
  static constexpr int64_t kPlanes[4] = {64, 128, 256, 512};
  static constexpr int64_t kStrides[4] = {1, 2, 1, 1};
  static constexpr int64_t kDilations[4] = {1, 1, 2, 4};
  TORCH_CHECK(arch.layers.size() == 4, "a ResNet needs 4 stages, got ", arch.layers.size());
  std::vector<Block3d> flat;
  int64_t in_planes = 64;
  for (int stage = 0; stage < 4; ++stage) {
    torch::nn::ModuleList list;
    for (int64_t i = 0; i < arch.layers[stage]; ++i) {
      auto block = Block3d(Block3dOptions(in_planes, kPlanes[stage])
                               .stride(i == 0 ? kStrides[stage] : 1)
                               .dilation(kDilations[stage])
                               .bottleneck(arch.bottleneck)
                               .shortcut(arch.shortcut));
      in_planes = block->out_planes();
      list->push_back(block);
      flat.push_back(block);
    }
    owner.register_module("layer" + std::to_string(stage + 1), list);
  }
  return flat;
}

void initialise(torch::nn::Module& module, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/true)) {
    if (auto* c = child->as<torch::nn::Conv3dImpl>()) {
      // kaiming_normal_(mode='fan_out', nonlinearity='relu'): std = sqrt(2 / (out * prod(kernel)))
      auto& w = c->weight;
      const double fan_out = static_cast<double>(w.size(0) * w[0][0].numel());
      w.normal_(0.0, std::sqrt(2.0 / fan_out), generator);
      if (c->bias.defined()) c->bias.zero_();
    } else if (auto* b = child->as<torch::nn::BatchNorm3dImpl>()) {
      b->weight.fill_(1.0);
      b->bias.zero_();
    } else if (auto* l = child->as<torch::nn::LinearImpl>()) {
      // PyTorch's Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) is uniform(+-1/sqrt(fan_in)).
      const double bound = 1.0 / std::sqrt(static_cast<double>(l->weight.size(1)));
      l->weight.uniform_(-bound, bound, generator);
      if (l->bias.defined()) l->bias.uniform_(-bound, bound, generator);
    }
  }
}

ResNet3dImpl::ResNet3dImpl(const ResNet3dOptions& options) : options_(options) {
  conv1 = register_module("conv1", conv(options.input_channels(), 64, /*kernel=*/7, /*stride=*/2, /*padding=*/3,
                                        /*dilation=*/1));
  bn1 = register_module("bn1", torch::nn::BatchNorm3d(64));
  blocks_ = register_stages(*this, options.arch());
  fc = register_module("fc", torch::nn::Linear(512 * options.arch().expansion(), options.num_classes()));
}

torch::Tensor ResNet3dImpl::stem(const torch::Tensor& x) {
  return F::max_pool3d(bn1(conv1(x)).relu_(), F::MaxPool3dFuncOptions(3).stride(2).padding(1));
}

torch::Tensor classify(const torch::Tensor& features, torch::nn::Linear& fc, double dropout, bool training,
                       ForwardContext* ctx) {
  // [N, C, d, h, w] -> [N, C]
  torch::Tensor pooled = features.mean({2, 3, 4});
  return fc(seeded_dropout(pooled, dropout, training, ctx));
}

torch::Tensor ResNet3dImpl::forward(const torch::Tensor& input, ForwardContext* ctx) {
  torch::Tensor x = stem(input);
  for (auto& block : blocks_) x = block->forward(x);
  return classify(x, fc, options_.dropout(), is_training(), ctx);
}

}  // namespace models
