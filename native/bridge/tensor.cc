#include "bridge/tensor.h"

namespace bridge {

void TensorWrap::init(Napi::Env env, Napi::Object exports, AddonData* data) {
  Napi::Function ctor = DefineClass(env, "NativeTensor",
                                    {
                                        StaticMethod<&TensorWrap::from_array>("fromArray"),
                                        InstanceMethod<&TensorWrap::shape>("shape"),
                                        InstanceMethod<&TensorWrap::dtype>("dtype"),
                                        InstanceMethod<&TensorWrap::device>("device"),
                                        InstanceMethod<&TensorWrap::disposed>("disposed"),
                                        InstanceMethod<&TensorWrap::data_sync>("dataSync"),
                                        InstanceMethod<&TensorWrap::data>("data"),
                                        InstanceMethod<&TensorWrap::to>("to"),
                                        InstanceMethod<&TensorWrap::dispose>("dispose"),
                                    });
  data->tensor_constructor = Napi::Persistent(ctor);
  exports.Set("NativeTensor", ctor);
}

namespace {
// A dtype name, or null for "keep the source's": required either way.
std::optional<torch::ScalarType> dtype_or_null_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNull()) return std::nullopt;
  return parse_dtype(string_arg(info, i, "dtype"));
}
}  // namespace

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {}

TensorWrap::~TensorWrap() {
  // Finalizer: the GC collected the JS object without dispose(); the tensor is released here.
  // AdjustExternalMemory is not called: the env may already be tearing down.
  tensor_ = torch::Tensor();
}

void TensorWrap::set(torch::Tensor tensor) {
  tensor_ = std::move(tensor);
  disposed_ = false;
  if (tensor_.device().is_cpu()) {
    reported_bytes_ = static_cast<int64_t>(tensor_.numel() * tensor_.element_size());
    Napi::MemoryManagement::AdjustExternalMemory(Env(), reported_bytes_);
  }
}

Napi::Object TensorWrap::wrap(Napi::Env env, torch::Tensor tensor) {
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object obj = data->tensor_constructor.New({});
  TensorWrap::Unwrap(obj)->set(std::move(tensor));
  return obj;
}

torch::Tensor TensorWrap::unwrap(const Napi::Value& value, const char* what) {
  auto* data = value.Env().GetInstanceData<AddonData>();
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(data->tensor_constructor.Value())) {
    throw CodedError("ERR_INVALID_ARG_TYPE", std::string(what) + " must be a Tensor");
  }
  return TensorWrap::Unwrap(value.As<Napi::Object>())->live(what);
}

const torch::Tensor& TensorWrap::live(const char* what) const {
  if (disposed_) throw CodedError("ERR_DISPOSED", std::string(what) + " was disposed");
  return tensor_;
}

Napi::Value TensorWrap::from_array(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Napi::TypedArray data = typed_array_arg(info, 0, "data");
    auto shape = to_shape(info[1], "shape");
    std::optional<torch::ScalarType> dtype = dtype_or_null_arg(info, 2);
    return wrap(info.Env(), tensor_from_typed_array(data, shape, dtype));
  });
}

Napi::Value TensorWrap::shape(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value { return shape_to_array(info.Env(), live("tensor").sizes()); });
}

Napi::Value TensorWrap::dtype(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value { return Napi::String::New(info.Env(), dtype_name(live("tensor").scalar_type())); });
}

Napi::Value TensorWrap::device(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value { return Napi::String::New(info.Env(), device_string(live("tensor").device())); });
}

Napi::Value TensorWrap::disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

Napi::Value TensorWrap::data_sync(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value { return typed_array_from_tensor(info.Env(), live("tensor")); });
}

Napi::Value TensorWrap::data(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    torch::Tensor source = live("tensor");
    // The device copy and the widening run on the worker; only the final memcpy is on the JS thread.
    return PromiseWorker<torch::Tensor>::start(
        info.Env(),
        [source]() {
          auto t = source.to(torch::kCPU);
          if (t.scalar_type() == torch::kFloat16 || t.scalar_type() == torch::kBFloat16) t = t.to(torch::kFloat32);
          return t.contiguous();
        },
        [](Napi::Env env, torch::Tensor& t) { return typed_array_from_tensor(env, t); });
  });
}

Napi::Value TensorWrap::to(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    torch::Tensor source = live("tensor");
    const torch::Device device = parse_device(string_arg(info, 0, "device"));
    std::optional<torch::ScalarType> dtype = dtype_or_null_arg(info, 1);
    return PromiseWorker<torch::Tensor>::start(
        info.Env(),
        [source, device, dtype]() {
          auto t = source.to(device);
          if (dtype) t = t.to(*dtype);
          return t.clone();  // a new tensor, never aliasing the source
        },
        [](Napi::Env env, torch::Tensor& t) -> Napi::Value { return wrap(env, std::move(t)); });
  });
}

Napi::Value TensorWrap::dispose(const Napi::CallbackInfo& info) {
  if (!disposed_) {
    tensor_ = torch::Tensor();  // a worker still using it holds its own reference
    disposed_ = true;
    if (reported_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -reported_bytes_);
    reported_bytes_ = 0;
  }
  return info.Env().Undefined();
}

}  // namespace bridge
