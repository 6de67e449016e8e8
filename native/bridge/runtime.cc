// runtime(), setNumThreads(), manualSeed(): facts about and settings of the loaded LibTorch.
// testHooks.raise(): the error conversion's own test hook (see below).
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/version.h>

#include <cstdlib>
#include <limits>

#include "bridge/common.h"
#include "bridge/serial_thread.h"

namespace bridge {

namespace {
Napi::Value runtime(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto out = Napi::Object::New(env);
    out.Set("torchVersion", TORCH_VERSION);
    const bool cuda = torch::cuda::is_available();
    out.Set("cudaAvailable", cuda);
    out.Set("cudaDevices", static_cast<double>(cuda ? torch::cuda::device_count() : 0));
    out.Set("cudnn", cuda && torch::cuda::cudnn_is_available());
    out.Set("threads", static_cast<double>(at::get_num_threads()));
    auto build = Napi::Object::New(env);
    build.Set("buildSystem", SPOTTUNE_BUILD_SYSTEM);
    build.Set("compiledWithCuda", torch::cuda::is_available() || at::hasCUDA());
    build.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
    build.Set("napiVersion", NAPI_VERSION);
    build.Set("parallel", at::get_parallel_info());
    build.Set("config", at::show_config());
    out.Set("buildInfo", build);
    return out;
  });
}

Napi::Value set_num_threads(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    // TS bounds n to [1, 1024]; a value outside int would be truncated by the cast, so it is checked first.
    const int64_t n = integer_arg(info, 0, "n");
    if (n < 1 || n > std::numeric_limits<int>::max()) throw CodedError("ERR_INVALID_ARG_VALUE", "n must be a positive int");
    at::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

// Called from process.on('exit') on the main thread (lib/native/binding.ts). When native work is
// still running on another thread, the rest of exit() would destroy LibTorch's static objects under
// it and crash; the process ends here instead, with its exit code, skipping what is left of exit().
Napi::Value exit_if_busy(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    const int64_t code = integer_arg(info, 0, "code");
    if (work_in_flight().load() > 0) std::_Exit(static_cast<int>(code));
    return Napi::Boolean::New(info.Env(), false);
  });
}

Napi::Value manual_seed(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    // Seeds are passed as a double holding an integer below 2^53; TS checks the range.
    const auto seed = static_cast<uint64_t>(integer_arg(info, 0, "seed"));
    torch::manual_seed(seed);
    if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
    return info.Env().Undefined();
  });
}
// testHooks.raise(kind, where): throws one kind of C++ exception, on the JS thread ('sync'), on a libuv
// pool thread ('pool') or on a network-style serial thread ('thread'), so that test/native/
// exception-paths.test.ts proves what each kind becomes in JS (a TorchError and its code) on every
// path an error travels. Some kinds have no input that reaches them on demand: LibTorch's CPU
// allocator reports exhaustion as a c10::Error, not std::bad_alloc, and nothing throws a non-
// std::exception on purpose. Compiled into every build, because the conversion under test is the
// shipped one; harmless, because all it does is throw and the conversion catches it. Not part of
// the API (lib/native/binding.ts marks it internal).
[[noreturn]] void throw_kind(const std::string& kind) {
  if (kind == "coded") throw CodedError("ERR_TEST", "a coded error");
  if (kind == "torch") TORCH_CHECK(false, "a c10::Error");
  if (kind == "torch-oom") TORCH_CHECK(false, "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes");
  if (kind == "bad_alloc") throw std::bad_alloc();
  if (kind == "std") throw std::logic_error("a std::logic_error");
  if (kind == "unknown") throw 42;  // NOLINT(hicpp-exception-baseclass): the point is a non-std exception
  throw CodedError("ERR_INVALID_ARG_VALUE", "kind must be coded, torch, torch-oom, bad_alloc, std or unknown");
}

Napi::Value raise_for_test(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    const std::string kind = string_arg(info, 0, "kind");
    const std::string where = string_arg(info, 1, "where");
    auto work = [kind]() -> bool { throw_kind(kind); };
    auto done = [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); };
    if (where == "sync") throw_kind(kind);
    if (where == "pool") return PromiseWorker<bool>::start(info.Env(), work, done);
    if (where == "thread") return ThreadPromise<bool>::start(info.Env(), std::make_shared<SerialThread>(), work, done);
    throw CodedError("ERR_INVALID_ARG_VALUE", "where must be sync, pool or thread");
  });
}
}  // namespace

void init_runtime(Napi::Env env, Napi::Object exports) {
  exports.Set("runtime", Napi::Function::New(env, runtime, "runtime"));
  exports.Set("setNumThreads", Napi::Function::New(env, set_num_threads, "setNumThreads"));
  exports.Set("manualSeed", Napi::Function::New(env, manual_seed, "manualSeed"));
  exports.Set("exitIfBusy", Napi::Function::New(env, exit_if_busy, "exitIfBusy"));
  // Apart from the API's functions, so that nothing mistakes it for one.
  auto hooks = Napi::Object::New(env);
  hooks.Set("raise", Napi::Function::New(env, raise_for_test, "raise"));
  exports.Set("testHooks", hooks);
}

}  // namespace bridge
