// conv3d(input, weight, bias | null, {stride, padding, dilation}): one 3D convolution off the JS thread. The smallest real verb
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
    // Every option is required and bounded by lib/ops.ts (a huge padding makes LibTorch allocate
    // without limit); only the JS types are checked here.
    torch::Tensor input = TensorWrap::unwrap(info[0], "input");
    torch::Tensor weight = TensorWrap::unwrap(info[1], "weight");
    std::optional<torch::Tensor> bias;
    if (!info[2].IsNull()) bias = TensorWrap::unwrap(info[2], "bias");  // required: a Tensor or null
    Napi::Object opts = bridge::object_arg(info, 3, "conv3d options");
    const int64_t stride = bridge::integer_field(opts, "conv3d options", "stride");
    const int64_t padding = bridge::integer_field(opts, "conv3d options", "padding");
    const int64_t dilation = bridge::integer_field(opts, "conv3d options", "dilation");
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
