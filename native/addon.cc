// The export table of spottune3d.node and its per-environment state. Nothing else lives here.
#include "bridge/common.h"
#include "bridge/tensor.h"

namespace bridge {
void init_runtime(Napi::Env env, Napi::Object exports);
}
namespace ops {
void init_conv(Napi::Env env, Napi::Object exports);
void init_augment(Napi::Env env, Napi::Object exports);
}  // namespace ops

namespace models {
void init_network(Napi::Env env, Napi::Object exports);
}

namespace {
Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new bridge::AddonData();
  env.SetInstanceData<bridge::AddonData>(data);  // deleted by Node when this environment ends
  bridge::TensorWrap::init(env, exports, data);
  bridge::init_runtime(env, exports);
  ops::init_conv(env, exports);
  ops::init_augment(env, exports);
  models::init_network(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(spottune3d, init)
