// Shared pieces of the boundary between JS and LibTorch: error conversion, device and dtype parsing,
// and the worker that runs a LibTorch call off the JS thread and settles a Promise.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bridge {

// An error with a stable code that JS sees as `err.code` (for example ERR_CUDA_UNAVAILABLE).
class CodedError : public std::runtime_error {
 public:
  CodedError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// The message and code of whatever a LibTorch call threw. c10::Error's what() carries a C++
// backtrace that means nothing to a JS user, so only what_without_backtrace() is kept.
struct Failure {
  std::string code;
  std::string message;
};
Failure describe_current_exception();

// Runs `fn` on the JS thread and turns any C++ exception into a thrown JS Error with a code.
// Every synchronous entry point goes through this, so nothing can escape into Node's C frames.
Napi::Value guard(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& fn);
Napi::Error make_error(Napi::Env env, const Failure& failure);

torch::Device parse_device(const std::string& spec);
std::string device_string(const torch::Device& device);
torch::ScalarType parse_dtype(const std::string& name);
std::string dtype_name(torch::ScalarType type);

// JS values -> C++. TS resolves and validates every value (defaults live in lib/config, ranges and
// enums in lib/), so these readers check only what keeps C++ defined: that a field is there and of
// the right JS type, and that a number cast to an integer is one (a double outside int64, or NaN,
// cast to int64_t is undefined behaviour). A missing or mistyped field is a CodedError naming it
// (`conv3d options.padding`): ERR_INVALID_ARG_VALUE when missing, ERR_INVALID_ARG_TYPE when mistyped.
std::vector<int64_t> to_shape(const Napi::Value& value, const char* what);

// The field `key` of `obj`; `where` names the object in messages ("network config", "predict options").
Napi::Value field(const Napi::Object& obj, const char* where, const char* key);
double number_field(const Napi::Object& obj, const char* where, const char* key);
int64_t integer_field(const Napi::Object& obj, const char* where, const char* key);
bool bool_field(const Napi::Object& obj, const char* where, const char* key);
std::string string_field(const Napi::Object& obj, const char* where, const char* key);
Napi::Object object_field(const Napi::Object& obj, const char* where, const char* key);
std::vector<int64_t> shape_field(const Napi::Object& obj, const char* where, const char* key);
std::vector<double> numbers_field(const Napi::Object& obj, const char* where, const char* key);
// A TypedArray, or null (explicitly: undefined is a missing field).
std::optional<Napi::TypedArray> typed_array_or_null_field(const Napi::Object& obj, const char* where, const char* key);

// Positional arguments, named `what` in messages.
Napi::Object object_arg(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::TypedArray typed_array_arg(const Napi::CallbackInfo& info, size_t i, const char* what);
double number_arg(const Napi::CallbackInfo& info, size_t i, const char* what);
int64_t integer_arg(const Napi::CallbackInfo& info, size_t i, const char* what);
std::string string_arg(const Napi::CallbackInfo& info, size_t i, const char* what);

// TypedArray <-> tensor, always copying (STYLE.md: no external buffers; the GC may free or move a
// JS buffer while a worker thread still reads it).
torch::Tensor tensor_from_typed_array(const Napi::TypedArray& array, const std::vector<int64_t>& shape,
                                      std::optional<torch::ScalarType> dtype = std::nullopt);
Napi::Value typed_array_from_tensor(Napi::Env env, const torch::Tensor& tensor);
Napi::Array shape_to_array(Napi::Env env, c10::IntArrayRef sizes);

// Native work running on a background thread right now, in every environment of the process. At
// process exit, LibTorch's and oneDNN's static objects are destroyed while such work may still be
// computing with them; exitIfBusy() (runtime.cc) ends the process first.
std::atomic<int>& work_in_flight();
struct InFlight {
  InFlight() { work_in_flight().fetch_add(1); }
  ~InFlight() { work_in_flight().fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
};

// Runs `work` on the background thread that calls it, as every worker does: counted in flight, with
// setNumThreads() applied first (OpenMP keeps its thread count per thread, and a thread starts with
// OpenMP's default; LibTorch's own worker threads make the same call). The result lands in `result`,
// or what `work` threw in `failure`.
template <typename Result, typename Work>
void run_work(Work& work, std::optional<Result>& result, Failure& failure) {
  try {
    InFlight in_flight;
    at::init_num_threads();
    result.emplace(work());
  } catch (...) {
    failure = describe_current_exception();
  }
}

// Resolves `deferred` with what `build` returns, or rejects it with whatever `build` threw.
inline void settle_with(Napi::Env env, Napi::Promise::Deferred& deferred, const std::function<Napi::Value()>& build) {
  try {
    deferred.Resolve(build());
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  } catch (...) {
    deferred.Reject(make_error(env, describe_current_exception()).Value());
  }
}

// Runs `work` on a libuv pool thread and resolves the returned Promise with `done(env, result)` on
// the JS thread. `work` must not touch Napi values; `done` builds them.
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Done = std::function<Napi::Value(Napi::Env, Result&)>;

  static Napi::Promise start(Napi::Env env, Work work, Done done, std::function<void()> finally = {}) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(done), std::move(finally));
    auto promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  PromiseWorker(Napi::Env env, Work work, Done done, std::function<void()> finally)
      : Napi::AsyncWorker(env, "spottune3d"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        done_(std::move(done)),
        finally_(std::move(finally)) {}

  void Execute() override {
    run_work(work_, result_, failure_);
    if (!result_) SetError(failure_.message);
  }

  void OnOK() override {
    if (finally_) finally_();
    settle_with(Env(), deferred_, [&]() { return done_(Env(), *result_); });
  }

  void OnError(const Napi::Error&) override {
    if (finally_) finally_();
    deferred_.Reject(make_error(Env(), failure_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::function<void()> finally_;
  std::optional<Result> result_;
  Failure failure_;
};

// Per-environment state (worker_threads each get their own).
struct AddonData {
  Napi::FunctionReference tensor_constructor;
};

}  // namespace bridge
