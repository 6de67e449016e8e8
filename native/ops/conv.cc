// conv3d(input, weight, bias?, options): one 3D convolution off the JS thread. The smallest real verb
// of the addon: tests use it to prove that long native calls leave the event loop free.
#include "bridge/common.h"
#include "bridge/tensor.h"

namespace ops {

using bridge::CodedError;
using bridge::PromiseWorker;
using bridge::TensorWrap;

namespace {
Napi::Value conv3d(const Napi::CallbackInfo& info) {
  return bridge::guard(info, [&]() -> Napi::Value {
    torch::Tensor input = TensorWrap::unwrap(info[0], "input");
    torch::Tensor weight = TensorWrap::unwrap(info[1], "weight");
    std::optional<torch::Tensor> bias;
    if (info.Length() > 2 && info[2].IsObject()) bias = TensorWrap::unwrap(info[2], "bias");
    auto opts = info.Length() > 3 && info[3].IsObject() ? info[3].As<Napi::Object>() : Napi::Object::New(info.Env());
    const auto stride = static_cast<int64_t>(bridge::get_number(opts, "stride", 1));
    const auto padding = static_cast<int64_t>(bridge::get_number(opts, "padding", 0));
    const auto dilation = static_cast<int64_t>(bridge::get_number(opts, "dilation", 1));
    return PromiseWorker<torch::Tensor>::start(
        info.Env(),
        [=]() {
          torch::NoGradGuard no_grad;  // grad mode is thread-local: set it on the worker
          return torch::conv3d(input, weight, bias ? *bias : torch::Tensor(), stride, padding, dilation);
        },
        [](Napi::Env env, torch::Tensor& out) -> Napi::Value { return TensorWrap::wrap(env, std::move(out)); });
  });
}
}  // namespace

void init_conv(Napi::Env env, Napi::Object exports) { exports.Set("conv3d", Napi::Function::New(env, conv3d, "conv3d")); }

}  // namespace ops
