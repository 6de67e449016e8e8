#include "bridge/serial_thread.h"

namespace bridge {

SerialThread::SerialThread() : thread_([this]() { loop(); }) {}

SerialThread::~SerialThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  // The owner is never destroyed on this thread (tasks borrow it, they do not hold it); if it ever
  // were, joining would wait on itself.
  if (std::this_thread::get_id() == thread_.get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

void SerialThread::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void SerialThread::loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this]() { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();  // packaged_task stores any exception in its future; nothing escapes here
  }
}

}  // namespace bridge
