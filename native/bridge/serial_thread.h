// A thread owned by one network that runs its LibTorch calls one at a time, in order.
//
// Why a network does not simply run on whichever libuv pool thread picked up its call: glibc gives
// each thread that allocates its own malloc arena, and memory freed into one arena is not reused by
// another. A training loop whose steps hop between pool threads leaves a step's worth of freed
// activations in every arena it visited (measured: 2.50 GB peak RSS for SpotTune3D-50 steps hopping
// across the pool against 1.75 GB on one thread). Thread-local LibTorch state (grad mode, autocast,
// the current CUDA stream, the OpenMP team) also stays with one thread.
//
// The pool thread that runs a PromiseWorker hands its work here and waits, so a call still occupies
// one pool slot while it runs, exactly as before; only the thread doing the arithmetic changes.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>

namespace bridge {

class SerialThread {
 public:
  SerialThread();
  ~SerialThread();  // lets queued tasks finish, then joins
  SerialThread(const SerialThread&) = delete;
  SerialThread& operator=(const SerialThread&) = delete;

  // Runs `fn` on this thread and waits for it; returns what it returns and rethrows what it throws
  // (the exception object itself, so CodedError and c10::Error keep their codes).
  template <typename Fn>
  std::invoke_result_t<Fn&> run(Fn& fn) {
    using Result = std::invoke_result_t<Fn&>;
    if (std::this_thread::get_id() == thread_.get_id()) return fn();  // already here: nested call
    // Shared with the queued task: the future may wake this caller before the task has returned.
    auto task = std::make_shared<std::packaged_task<Result()>>([&fn]() -> Result { return fn(); });
    std::future<Result> done = task->get_future();
    post([task]() { (*task)(); });
    return done.get();
  }

 private:
  void post(std::function<void()> task);
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace bridge
