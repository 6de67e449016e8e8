#include "bridge/serial_thread.h"

namespace bridge {

SerialThread::SerialThread() : queue_(std::make_shared<Queue>()), thread_([queue = queue_]() { loop(queue); }) {}

SerialThread::~SerialThread() {
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->stopping = true;
  }
  queue_->wake.notify_one();
  // Destroyed on its own thread (a call's work released there when its environment went away):
  // joining would wait on itself, so the thread finishes alone.
  if (std::this_thread::get_id() == thread_.get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

void SerialThread::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->tasks.push_back(std::move(task));
  }
  queue_->wake.notify_one();
}

void SerialThread::loop(const std::shared_ptr<Queue>& queue) {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(queue->mutex);
      queue->wake.wait(lock, [&]() { return queue->stopping || !queue->tasks.empty(); });
      if (queue->tasks.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue->tasks.front());
      queue->tasks.pop_front();
    }
    task();  // ThreadPromise's tasks catch everything; nothing escapes here
  }
}

}  // namespace bridge
