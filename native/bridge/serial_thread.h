// A thread owned by one network that runs its LibTorch calls one at a time, in order, and settles
// each call's Promise on the JS thread through a ThreadSafeFunction.
//
// Why a network does not run on whichever libuv pool thread picks up its call: glibc gives each
// thread that allocates its own malloc arena, and memory freed into one arena is not reused by
// another. A training loop whose steps hop between pool threads leaves a step's worth of freed
// activations in every arena it visits (measured: 2.50 GB peak RSS for SpotTune3D-50 steps hopping
// across the pool against 1.75 GB on one thread). Thread-local LibTorch state (grad mode, autocast,
// the current CUDA stream, the OpenMP team) also stays with one thread. And the pool, which also
// serves fs and zlib, is left free while a network computes.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "bridge/common.h"

namespace bridge {

class SerialThread {
 public:
  SerialThread();
  ~SerialThread();  // lets queued tasks finish, then joins
  SerialThread(const SerialThread&) = delete;
  SerialThread& operator=(const SerialThread&) = delete;

  // Queues `task` to run on this thread after those queued before it. `task` must not throw.
  void post(std::function<void()> task);

 private:
  // What the thread itself uses, shared with it: if the owner is ever destroyed on this thread, the
  // thread is detached and finishes with its own reference.
  struct Queue {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> tasks;
    bool stopping = false;
  };
  static void loop(const std::shared_ptr<Queue>& queue);

  std::shared_ptr<Queue> queue_;
  std::thread thread_;  // last: started once the queue exists
};

// Runs `work` on `thread` and returns a Promise that `done(env, result)` resolves on the JS thread
// (or that rejects with the coded error `work` threw). `finally` runs on the JS thread first, either
// way. `work` must not touch Napi values; `done` builds them. What the call captures is released on
// the JS thread, unless the environment ends before the call does (see below).
template <typename Result>
class ThreadPromise {
 public:
  using Work = std::function<Result()>;
  using Done = std::function<Napi::Value(Napi::Env, Result&)>;

  static Napi::Promise start(Napi::Env env, const std::shared_ptr<SerialThread>& thread, Work work, Done done,
                             std::function<void()> finally = {}) {
    auto gate = std::make_shared<Gate>();
    auto* call = new Call{Napi::Promise::Deferred::New(env), std::move(work), std::move(done), std::move(finally), gate};
    Napi::Promise promise = call->deferred.Promise();
    Channel channel;
    try {
      channel = Channel::New(env, "spottune3d", 0, 1, nullptr, &ThreadPromise::closed, new std::shared_ptr<Gate>(gate));
    } catch (...) {
      if (call->finally) call->finally();
      delete call;
      throw;
    }
    napi_add_env_cleanup_hook(env, &ThreadPromise::wait_at_teardown, gate.get());
    thread->post([call, channel, gate]() {
      run_work(call->work, call->result, call->failure);
      std::lock_guard<std::mutex> lock(gate->mutex);
      gate->finished = true;
      gate->finished_cv.notify_all();
      if (gate->closed || channel.BlockingCall(call) != napi_ok) {
        // The environment went away first (a worker thread ended): the network the work holds is
        // released here; the rest holds JS handles and is left to the environment's teardown.
        release_work(call);
        if (gate->closed) return;
      }
      channel.Release();
    });
    return promise;
  }

 private:
  // What the call's thread and the JS thread share about the environment's end. Node deletes a
  // thread-safe function when its environment is torn down, even while a thread still holds it;
  // its finalizer closes the gate so that the thread never calls it after that. And an environment
  // that ends (a worker thread terminated) waits in its cleanup hook until the work has finished,
  // so that no computation outlives its environment, or runs on while the process exits.
  struct Gate {
    std::mutex mutex;
    std::condition_variable finished_cv;
    bool closed = false;
    bool finished = false;
    bool hook_ran = false;
  };

  struct Call {
    Napi::Promise::Deferred deferred;
    Work work;
    Done done;
    std::function<void()> finally;
    std::shared_ptr<Gate> gate;
    std::optional<Result> result;
    Failure failure;
  };

  static void wait_at_teardown(void* arg) {
    auto* gate = static_cast<Gate*>(arg);
    std::unique_lock<std::mutex> lock(gate->mutex);
    gate->hook_ran = true;
    gate->finished_cv.wait(lock, [gate]() { return gate->finished; });
  }

  static void closed(Napi::Env, std::shared_ptr<Gate>* gate, std::nullptr_t*) {
    {
      std::lock_guard<std::mutex> lock((*gate)->mutex);
      (*gate)->closed = true;
    }
    delete gate;
  }

  static void release_work(Call* call) {
    call->work = nullptr;
    call->result.reset();
  }

  static void settle(Napi::Env env, Napi::Function, std::nullptr_t*, Call* call) {
    if (call == nullptr) return;
    if (env == nullptr) {  // delivered while the environment tears down
      release_work(call);
      return;
    }
    std::unique_ptr<Call> owned(call);
    if (!owned->gate->hook_ran) napi_remove_env_cleanup_hook(env, &ThreadPromise::wait_at_teardown, owned->gate.get());
    // Nothing may leave this callback: during an environment's teardown JS cannot run, so resolving
    // or rejecting throws, and there is no one left to tell.
    try {
      if (owned->finally) owned->finally();
      if (!owned->result) {
        owned->deferred.Reject(make_error(env, owned->failure).Value());
        return;
      }
      settle_with(env, owned->deferred, [&]() { return owned->done(env, *owned->result); });
    } catch (...) {
    }
  }

  using Channel = Napi::TypedThreadSafeFunction<std::nullptr_t, Call, &ThreadPromise::settle>;
};

}  // namespace bridge
