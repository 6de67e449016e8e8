#include "bridge/common.h"

#include <cmath>
#include <cstring>

namespace bridge {

namespace {
bool contains(const std::string& haystack, const char* needle) { return haystack.find(needle) != std::string::npos; }

std::string code_for_torch_message(const std::string& message) {
  // CUDA's allocator says "out of memory"; the CPU allocator (c10/core/impl/alloc_cpu.cpp) "can't allocate
  // memory" in LibTorch 1.13 and "not enough memory" in later versions.
  if (contains(message, "out of memory") || contains(message, "can't allocate memory") ||
      contains(message, "not enough memory")) {
    return "ERR_OUT_OF_MEMORY";
  }
  return "ERR_TORCH";
}
}  // namespace

std::atomic<int>& work_in_flight() {
  static std::atomic<int> count{0};
  return count;
}

Failure describe_current_exception() {
  try {
    throw;
  } catch (const CodedError& e) {
    return {e.code(), e.what()};
  } catch (const c10::Error& e) {
    std::string message = e.what_without_backtrace();
    return {code_for_torch_message(message), message};
  } catch (const std::bad_alloc&) {
    return {"ERR_OUT_OF_MEMORY", "out of host memory (std::bad_alloc)"};
  } catch (const Napi::Error& e) {
    return {"ERR_NATIVE", e.Message()};
  } catch (const std::exception& e) {
    return {"ERR_NATIVE", e.what()};
  } catch (...) {
    return {"ERR_NATIVE", "unknown native exception"};
  }
}

Napi::Error make_error(Napi::Env env, const Failure& failure) {
  auto error = Napi::Error::New(env, failure.message);
  error.Set("code", Napi::String::New(env, failure.code));
  error.Set("native", Napi::Boolean::New(env, true));
  return error;
}

Napi::Value guard(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;  // already a JS error (for example a TypeError built on purpose)
  } catch (...) {
    throw make_error(info.Env(), describe_current_exception());
  }
}

torch::Device parse_device(const std::string& spec) {
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw CodedError("ERR_CUDA_UNAVAILABLE",
                       "device '" + spec + "' was requested but CUDA is not available (this LibTorch build " +
                           std::string(torch::cuda::device_count() == 0 ? "sees no CUDA device" : "has no CUDA") +
                           "); use 'cpu' or build against a CUDA LibTorch (see docs/install.md)");
    }
    int64_t index = 0;
    if (spec.size() > 5) {
      try {
        index = std::stoll(spec.substr(5));
      } catch (...) {
        throw CodedError("ERR_INVALID_ARG_VALUE", "invalid device '" + spec + "'");
      }
    }
    const auto count = static_cast<int64_t>(torch::cuda::device_count());
    if (index < 0 || index >= count) {
      throw CodedError("ERR_CUDA_UNAVAILABLE",
                       "device '" + spec + "' does not exist; " + std::to_string(count) + " CUDA device(s) are visible");
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw CodedError("ERR_INVALID_ARG_VALUE", "invalid device '" + spec + "'; expected 'cpu', 'cuda' or 'cuda:N'");
}

std::string device_string(const torch::Device& device) {
  if (device.is_cpu()) return "cpu";
  return device.str();
}

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  if (name == "float16") return torch::kFloat16;
  if (name == "bfloat16") return torch::kBFloat16;
  if (name == "int64") return torch::kInt64;
  if (name == "int32") return torch::kInt32;
  if (name == "int16") return torch::kInt16;
  if (name == "int8") return torch::kInt8;
  if (name == "uint8") return torch::kUInt8;
  if (name == "bool") return torch::kBool;
  throw CodedError("ERR_INVALID_ARG_VALUE", "unknown dtype '" + name + "'");
}

std::string dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kFloat16: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kInt64: return "int64";
    case torch::kInt32: return "int32";
    case torch::kInt16: return "int16";
    case torch::kInt8: return "int8";
    case torch::kUInt8: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(type);
  }
}

std::vector<int64_t> to_shape(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw CodedError("ERR_INVALID_ARG_TYPE", std::string(what) + " must be an array of integers");
  auto array = value.As<Napi::Array>();
  std::vector<int64_t> shape(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber()) throw CodedError("ERR_INVALID_ARG_TYPE", std::string(what) + " must hold numbers");
    const double d = item.As<Napi::Number>().DoubleValue();
    // Checked before the cast: a double beyond int64 (or NaN) cast to int64_t is undefined.
    if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) {
      throw CodedError("ERR_INVALID_ARG_VALUE", std::string(what) + " must hold non-negative safe integers");
    }
    shape[i] = static_cast<int64_t>(d);
  }
  return shape;
}

namespace {
std::string named(const char* where, const char* key) { return std::string(where) + "." + key; }

const char* js_type(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsTypedArray()) return "a TypedArray";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

CodedError wrong_type(const std::string& name, const char* expected, const Napi::Value& v) {
  return CodedError("ERR_INVALID_ARG_TYPE", name + " must be " + expected + " but is " + js_type(v));
}

// 2^53: every integer up to here is exact in a double, and far inside int64.
constexpr double kMaxSafeInteger = 9007199254740991.0;

int64_t to_integer(const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) throw wrong_type(name, "an integer", v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(std::abs(d) <= kMaxSafeInteger) || std::floor(d) != d) {
    throw CodedError("ERR_INVALID_ARG_TYPE", name + " must be a safe integer but is " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}
}  // namespace

Napi::Value field(const Napi::Object& obj, const char* where, const char* key) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) throw CodedError("ERR_INVALID_ARG_VALUE", named(where, key) + " is required but missing");
  return v;
}
double number_field(const Napi::Object& obj, const char* where, const char* key) {
  Napi::Value v = field(obj, where, key);
  if (!v.IsNumber()) throw wrong_type(named(where, key), "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}
int64_t integer_field(const Napi::Object& obj, const char* where, const char* key) {
  return to_integer(field(obj, where, key), named(where, key));
}
bool bool_field(const Napi::Object& obj, const char* where, const char* key) {
  Napi::Value v = field(obj, where, key);
  if (!v.IsBoolean()) throw wrong_type(named(where, key), "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}
std::string string_field(const Napi::Object& obj, const char* where, const char* key) {
  Napi::Value v = field(obj, where, key);
  if (!v.IsString()) throw wrong_type(named(where, key), "a string", v);
  return v.As<Napi::String>().Utf8Value();
}
Napi::Object object_field(const Napi::Object& obj, const char* where, const char* key) {
  Napi::Value v = field(obj, where, key);
  if (!v.IsObject() || v.IsArray()) throw wrong_type(named(where, key), "an object", v);
  return v.As<Napi::Object>();
}
std::vector<int64_t> shape_field(const Napi::Object& obj, const char* where, const char* key) {
  return to_shape(field(obj, where, key), named(where, key).c_str());
}
std::vector<double> numbers_field(const Napi::Object& obj, const char* where, const char* key) {
  Napi::Value v = field(obj, where, key);
  if (!v.IsArray()) throw wrong_type(named(where, key), "an array of numbers", v);
  auto array = v.As<Napi::Array>();
  std::vector<double> out(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber()) throw wrong_type(named(where, key) + "[" + std::to_string(i) + "]", "a number", item);
    out[i] = item.As<Napi::Number>().DoubleValue();
  }
  return out;
}
std::optional<Napi::TypedArray> typed_array_or_null_field(const Napi::Object& obj, const char* where, const char* key) {
  Napi::Value v = field(obj, where, key);
  if (v.IsNull()) return std::nullopt;
  if (!v.IsTypedArray()) throw wrong_type(named(where, key), "a TypedArray or null", v);
  return v.As<Napi::TypedArray>();
}

namespace {
Napi::Value arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || info[i].IsUndefined()) {
    throw CodedError("ERR_INVALID_ARG_VALUE", std::string(what) + " is required but missing");
  }
  return info[i];
}
}  // namespace

Napi::Object object_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = arg(info, i, what);
  if (!v.IsObject() || v.IsArray()) throw wrong_type(what, "an object", v);
  return v.As<Napi::Object>();
}
Napi::TypedArray typed_array_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = arg(info, i, what);
  if (!v.IsTypedArray()) throw wrong_type(what, "a TypedArray", v);
  return v.As<Napi::TypedArray>();
}
double number_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = arg(info, i, what);
  if (!v.IsNumber()) throw wrong_type(what, "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}
int64_t integer_arg(const Napi::CallbackInfo& info, size_t i, const char* what) { return to_integer(arg(info, i, what), what); }
std::string string_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = arg(info, i, what);
  if (!v.IsString()) throw wrong_type(what, "a string", v);
  return v.As<Napi::String>().Utf8Value();
}

namespace {
torch::ScalarType dtype_of_typed_array(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array: return torch::kFloat32;
    case napi_float64_array: return torch::kFloat64;
    case napi_int32_array: return torch::kInt32;
    case napi_int16_array: return torch::kInt16;
    case napi_int8_array: return torch::kInt8;
    case napi_uint8_array: return torch::kUInt8;
    case napi_uint8_clamped_array: return torch::kUInt8;
    case napi_bigint64_array: return torch::kInt64;
    default: throw CodedError("ERR_INVALID_ARG_TYPE", "unsupported TypedArray type for a tensor");
  }
}
}  // namespace

torch::Tensor tensor_from_typed_array(const Napi::TypedArray& array, const std::vector<int64_t>& shape,
                                      std::optional<torch::ScalarType> dtype) {
  const torch::ScalarType source = dtype_of_typed_array(array.TypedArrayType());
  // The element count, refusing a product that overflows int64 (it could wrap to the array's length).
  int64_t numel = 1;
  for (auto d : shape) {
    if (__builtin_mul_overflow(numel, d, &numel))
      throw CodedError("ERR_INVALID_ARG_VALUE", "shape holds more elements than int64 counts");
  }
  if (static_cast<size_t>(numel) != array.ElementLength()) {
    throw CodedError("ERR_INVALID_ARG_VALUE", "shape holds " + std::to_string(numel) + " elements but the array has " +
                                                  std::to_string(array.ElementLength()));
  }
  // bool is stored as uint8 bytes on both sides, so it reinterprets instead of converting.
  const torch::ScalarType storage = (dtype && *dtype == torch::kBool && source == torch::kUInt8) ? torch::kBool : source;
  auto tensor = torch::empty(shape, torch::TensorOptions().dtype(storage));
  // The view's own data pointer (byteOffset applied) rather than array.ArrayBuffer().Data(): Node-API
  // refuses to hand out a SharedArrayBuffer as an ArrayBuffer ("Invalid argument"), but a view on one
  // reads the same way. The copy runs on the JS thread; another thread writing the shared memory
  // meanwhile races it, as any reader of shared memory would.
  void* bytes = nullptr;
  NAPI_THROW_IF_FAILED(array.Env(), napi_get_typedarray_info(array.Env(), array, nullptr, nullptr, &bytes, nullptr, nullptr),
                       torch::Tensor());
  if (array.ByteLength() > 0) std::memcpy(tensor.data_ptr(), bytes, array.ByteLength());
  if (dtype && *dtype != storage) tensor = tensor.to(*dtype);
  return tensor;
}

Napi::Value typed_array_from_tensor(Napi::Env env, const torch::Tensor& input) {
  auto tensor = input.device().is_cpu() ? input : input.to(torch::kCPU);
  // JS has no 16-bit float array in Node 20: half types widen to float32.
  if (tensor.scalar_type() == torch::kFloat16 || tensor.scalar_type() == torch::kBFloat16) tensor = tensor.to(torch::kFloat32);
  tensor = tensor.contiguous();
  const size_t n = static_cast<size_t>(tensor.numel());
  const size_t bytes = n * tensor.element_size();
  auto buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), tensor.data_ptr(), bytes);
  switch (tensor.scalar_type()) {
    case torch::kFloat32: return Napi::Float32Array::New(env, n, buffer, 0);
    case torch::kFloat64: return Napi::Float64Array::New(env, n, buffer, 0);
    case torch::kInt32: return Napi::Int32Array::New(env, n, buffer, 0);
    case torch::kInt16: return Napi::Int16Array::New(env, n, buffer, 0);
    case torch::kInt8: return Napi::Int8Array::New(env, n, buffer, 0);
    case torch::kUInt8:
    case torch::kBool: return Napi::Uint8Array::New(env, n, buffer, 0);
    case torch::kInt64: return Napi::TypedArrayOf<int64_t>::New(env, n, buffer, 0, napi_bigint64_array);
    default: throw CodedError("ERR_INVALID_ARG_TYPE", "cannot read a tensor of dtype " + dtype_name(tensor.scalar_type()));
  }
}

Napi::Array shape_to_array(Napi::Env env, c10::IntArrayRef sizes) {
  auto out = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i)
    out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(sizes[i])));
  return out;
}

}  // namespace bridge
