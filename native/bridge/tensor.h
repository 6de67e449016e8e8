// TensorWrap: the JS Tensor's native half, owning one at::Tensor.
#pragma once

#include "bridge/common.h"

namespace bridge {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static void init(Napi::Env env, Napi::Object exports, AddonData* data);
  static Napi::Object wrap(Napi::Env env, torch::Tensor tensor);
  // The tensor inside a JS TensorWrap, or a CodedError naming `what` (disposed, not a tensor).
  static torch::Tensor unwrap(const Napi::Value& value, const char* what);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;

 private:
  static Napi::Value from_array(const Napi::CallbackInfo& info);
  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value data_sync(const Napi::CallbackInfo& info);
  Napi::Value data(const Napi::CallbackInfo& info);
  Napi::Value to(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  const torch::Tensor& live(const char* what) const;
  void set(torch::Tensor tensor);

  torch::Tensor tensor_;
  bool disposed_ = true;
  int64_t reported_bytes_ = 0;  // told to V8 so the GC knows what a small JS object holds
};

}  // namespace bridge
