// NetworkWrap: the JS object of one network (NativeNetwork in lib/native/binding.ts). It converts
// arguments and results between JS and C++ on the JS thread and runs every call that computes on
// the network's own thread (bridge/serial_thread.h): one step per call, driven by a TS loop, so a
// long training never holds a libuv pool thread.
//
// The lifecycle users see (busy, disposed, and the messages and codes for both) is lib/models/
// network.ts's, which checks before any call reaches this file. What stays here is what keeps
// memory safe when the binding is called directly: no call after dispose (the state is gone) and
// no call while another runs (a synchronous read would race the network thread).
#include "bridge/common.h"
#include "bridge/serial_thread.h"
#include "models/network_config.h"
#include "models/network_state.h"
#include "models/network_step.h"

namespace models {

using bridge::CodedError;
using bridge::ThreadPromise;
using optim::NamedTensors;

namespace {

Napi::Object outputs_to_js(Napi::Env env, Outputs& out, bool with_loss) {
  auto obj = Napi::Object::New(env);
  if (out.logits.defined()) obj.Set("logits", bridge::typed_array_from_tensor(env, out.logits));
  obj.Set("probabilities", bridge::typed_array_from_tensor(env, out.probabilities));
  if (out.policy.defined()) obj.Set("policy", bridge::typed_array_from_tensor(env, out.policy));
  if (out.agent_logits.defined()) obj.Set("agentLogits", bridge::typed_array_from_tensor(env, out.agent_logits));
  if (with_loss) obj.Set("loss", Napi::Number::New(env, out.loss));
  return obj;
}

using Entries = NamedTensors;

Napi::Array entries_to_js(Napi::Env env, Entries& entries) {
  auto arr = Napi::Array::New(env, entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    auto obj = Napi::Object::New(env);
    const torch::Tensor& t = entries[i].second;
    obj.Set("name", Napi::String::New(env, entries[i].first));
    obj.Set("dtype", Napi::String::New(env, bridge::dtype_name(t.scalar_type())));
    obj.Set("shape", bridge::shape_to_array(env, t.sizes()));
    obj.Set("data", bridge::typed_array_from_tensor(env, t));
    arr.Set(static_cast<uint32_t>(i), obj);
  }
  return arr;
}

// [{name, shape, data}] -> name -> CPU tensor (copied on the JS thread).
std::map<std::string, torch::Tensor> entries_from_js(const Napi::Value& value) {
  if (!value.IsArray()) throw CodedError("ERR_INVALID_ARG_TYPE", "entries must be an array");
  auto arr = value.As<Napi::Array>();
  std::map<std::string, torch::Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value item = arr.Get(i);
    if (!item.IsObject()) throw CodedError("ERR_INVALID_ARG_TYPE", "entries must hold objects");
    auto obj = item.As<Napi::Object>();
    Napi::Value data = bridge::field(obj, "entry", "data");
    if (!data.IsTypedArray()) throw CodedError("ERR_INVALID_ARG_TYPE", "entry.data must be a TypedArray");
    const std::string name = bridge::string_field(obj, "entry", "name");
    out[name] = bridge::tensor_from_typed_array(data.As<Napi::TypedArray>(), bridge::shape_field(obj, "entry", "shape"));
  }
  return out;
}

// Whether `key` is `<prefix>{step,exp_avg,exp_avg_sq}.<a parameter of params>`.
bool claimed(const std::string& key, const NamedTensors& params, const std::string& prefix) {
  for (const auto& [name, p] : params) {
    for (const char* field : {"step.", "exp_avg.", "exp_avg_sq."}) {
      if (key == prefix + field + name) return true;
    }
  }
  return false;
}

class NetworkWrap : public Napi::ObjectWrap<NetworkWrap> {
 public:
  static void init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NativeNetwork",
                                      {
                                          InstanceMethod<&NetworkWrap::init_network>("init"),
                                          InstanceMethod<&NetworkWrap::predict>("predict"),
                                          InstanceMethod<&NetworkWrap::train_step>("trainStep"),
                                          InstanceMethod<&NetworkWrap::scheduler_step>("schedulerStep"),
                                          InstanceMethod<&NetworkWrap::scheduler_state>("schedulerState"),
                                          InstanceMethod<&NetworkWrap::load_scheduler_state>("loadSchedulerState"),
                                          InstanceMethod<&NetworkWrap::state_info>("stateInfo"),
                                          InstanceMethod<&NetworkWrap::state_dict>("stateDict"),
                                          InstanceMethod<&NetworkWrap::load_state>("loadState"),
                                          InstanceMethod<&NetworkWrap::gradients>("gradients"),
                                          InstanceMethod<&NetworkWrap::optimizer_state>("optimizerState"),
                                          InstanceMethod<&NetworkWrap::load_optimizer_state>("loadOptimizerState"),
                                          InstanceMethod<&NetworkWrap::to_device>("to"),
                                          InstanceMethod<&NetworkWrap::device>("device"),
                                          InstanceMethod<&NetworkWrap::dispose>("dispose"),
                                      });
    exports.Set("NativeNetwork", ctor);
  }

  explicit NetworkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetworkWrap>(info) {}

 private:
  // The state, if no other call is running. Users never see these errors: lib/models/network.ts
  // refuses first, with its own messages (see the top of this file).
  std::shared_ptr<NetworkState> live() {
    if (!state_) throw CodedError("ERR_DISPOSED", "NativeNetwork has no state (disposed or not initialised)");
    if (busy_) throw CodedError("ERR_BUSY", "NativeNetwork is running another call");
    return state_;
  }

  // Marks the network busy for one asynchronous call; the returned function clears it on the JS thread.
  std::function<void()> hold() {
    busy_ = true;
    Napi::ObjectReference self = Napi::Persistent(Value());  // keep this object alive while a worker runs
    auto ref = std::make_shared<Napi::ObjectReference>(std::move(self));
    return [this, ref, alive = std::weak_ptr<bool>(alive_)]() {
      if (alive.expired()) {  // finalized with its environment (a worker ended) before the call settled
        ref->SuppressDestruct();
        return;
      }
      busy_ = false;
      ref->Reset();
    };
  }

  // Runs `work` on the network's own thread and settles a Promise with `done`; busy until then.
  template <typename Result, typename Work>
  Napi::Promise start_on(const std::shared_ptr<NetworkState>& s, Work work, typename ThreadPromise<Result>::Done done) {
    return ThreadPromise<Result>::start(Env(), s->thread, std::move(work), std::move(done), hold());
  }

  // The batch [N, C, D, H, W] of a call; the rank is checked here because N sizes the other arguments.
  static std::vector<int64_t> batch_shape(const Napi::CallbackInfo& info, size_t i) {
    auto shape = bridge::to_shape(info[i], "shape");
    if (shape.size() != 5) throw CodedError("ERR_INVALID_ARG_VALUE", "shape must be [N, C, D, H, W]");
    return shape;
  }

  Napi::Value init_network(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      if (disposed_ || busy_ || state_) throw CodedError("ERR_BUSY", "NativeNetwork.init runs once, on a new object");
      NetworkConfig config = read_network_config(bridge::object_arg(info, 0, "network config"));
      auto done = hold();
      auto thread = std::make_shared<bridge::SerialThread>();
      return ThreadPromise<std::shared_ptr<NetworkState>>::start(
          info.Env(), thread, [config, thread]() { return build_state(config, thread); },
          [this, alive = std::weak_ptr<bool>(alive_)](Napi::Env env, std::shared_ptr<NetworkState>& s) -> Napi::Value {
            if (!alive.expired() && !disposed_) state_ = s;
            return env.Undefined();
          },
          done);
    });
  }

  Napi::Value predict(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      auto shape = batch_shape(info, 1);
      torch::Tensor input = bridge::tensor_from_typed_array(bridge::typed_array_arg(info, 0, "input"), shape, torch::kFloat32);
      CallOptions o = read_predict_options(bridge::object_arg(info, 2, "predict options"), shape[0], s->num_blocks);
      return start_on<Outputs>(
          s, [s, input, o]() { return run_predict(*s, input, o); },
          [](Napi::Env env, Outputs& out) -> Napi::Value { return outputs_to_js(env, out, false); });
    });
  }

  Napi::Value train_step(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      auto shape = batch_shape(info, 1);
      torch::Tensor input = bridge::tensor_from_typed_array(bridge::typed_array_arg(info, 0, "input"), shape, torch::kFloat32);
      torch::Tensor labels = bridge::tensor_from_typed_array(bridge::typed_array_arg(info, 2, "labels"),
                                                             {shape[0], s->config.num_classes}, torch::kFloat32);
      CallOptions o = read_train_step_options(bridge::object_arg(info, 3, "trainStep options"), shape[0], s->num_blocks,
                                              s->config.spottune);
      return start_on<Outputs>(
          s, [s, input, labels, o]() { return run_train_step(*s, input, labels, o); },
          [](Napi::Env env, Outputs& out) -> Napi::Value { return outputs_to_js(env, out, true); });
    });
  }

  static Napi::Value lrs_to_js(Napi::Env env, NetworkState& s) {
    auto lrs = s.scheduler->learning_rates();
    auto arr = Napi::Array::New(env, lrs.size());
    for (size_t i = 0; i < lrs.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, lrs[i]));
    return arr;
  }

  Napi::Value scheduler_step(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      const bool reduced = s->scheduler->step(bridge::number_arg(info, 0, "metric"));
      auto obj = Napi::Object::New(info.Env());
      obj.Set("reduced", Napi::Boolean::New(info.Env(), reduced));
      obj.Set("learningRates", lrs_to_js(info.Env(), *s));
      return obj;
    });
  }

  Napi::Value scheduler_state(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      const auto& st = s->scheduler->state();
      auto env = info.Env();
      auto obj = Napi::Object::New(env);
      obj.Set("best", Napi::Number::New(env, st.best));
      obj.Set("numBadEpochs", Napi::Number::New(env, static_cast<double>(st.num_bad_epochs)));
      obj.Set("cooldownCounter", Napi::Number::New(env, static_cast<double>(st.cooldown_counter)));
      obj.Set("lastEpoch", Napi::Number::New(env, static_cast<double>(st.last_epoch)));
      obj.Set("learningRates", lrs_to_js(env, *s));
      return obj;
    });
  }

  Napi::Value load_scheduler_state(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      std::vector<double> lrs;
      const optim::PlateauState st = read_scheduler_state(bridge::object_arg(info, 0, "scheduler state"), lrs);
      s->scheduler->set_learning_rates(lrs);
      s->scheduler->set_state(st);
      return info.Env().Undefined();
    });
  }

  // [{name, shape, dtype, parameter, trainable}] in state_dict order; synchronous (no tensor data).
  Napi::Value state_info(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      auto env = info.Env();
      auto arr = Napi::Array::New(env, s->order.size());
      for (size_t i = 0; i < s->order.size(); ++i) {
        const auto& name = s->order[i];
        const auto& t = s->entries.at(name);
        auto obj = Napi::Object::New(env);
        obj.Set("name", Napi::String::New(env, name));
        obj.Set("shape", bridge::shape_to_array(env, t.sizes()));
        obj.Set("dtype", Napi::String::New(env, bridge::dtype_name(t.scalar_type())));
        obj.Set("parameter", Napi::Boolean::New(env, s->is_parameter.at(name)));
        obj.Set("trainable", Napi::Boolean::New(env, t.requires_grad()));
        arr.Set(static_cast<uint32_t>(i), obj);
      }
      return arr;
    });
  }

  Napi::Value state_dict(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      return start_on<Entries>(
          s,
          [s]() {
            Entries out;
            for (const auto& name : s->order) {
              out.emplace_back(name, s->entries.at(name).detach().to(torch::kCPU).contiguous().clone());
            }
            return out;
          },
          [](Napi::Env env, Entries& e) -> Napi::Value { return entries_to_js(env, e); });
    });
  }

  Napi::Value load_state(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      auto incoming = entries_from_js(info[0]);
      // Checked here although TS compares names and shapes first: copy_ into another shape would throw
      // half-way, leaving the network partly loaded.
      for (const auto& [name, t] : incoming) {
        auto it = s->entries.find(name);
        if (it == s->entries.end()) throw CodedError("ERR_STATE_DICT", "unexpected key '" + name + "'");
        if (it->second.sizes() != t.sizes()) {
          throw CodedError("ERR_STATE_DICT", "'" + name + "': expected shape " + c10::str(it->second.sizes()) +
                                                 " but received " + c10::str(t.sizes()));
        }
      }
      return start_on<bool>(
          s,
          [s, incoming]() {
            torch::NoGradGuard no_grad;
            for (const auto& [name, t] : incoming) s->entries.at(name).copy_(t);
            return true;
          },
          [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
    });
  }

  Napi::Value gradients(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      return start_on<Entries>(
          s,
          [s]() {
            Entries out;
            for (const auto& name : s->order) {
              const auto& t = s->entries.at(name);
              if (t.grad().defined()) out.emplace_back(name, t.grad().detach().to(torch::kCPU).contiguous().clone());
            }
            return out;
          },
          [](Napi::Env env, Entries& e) -> Napi::Value { return entries_to_js(env, e); });
    });
  }

  Napi::Value optimizer_state(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      return start_on<Entries>(
          s,
          [s]() {
            Entries out = optim::export_adam_state(*s->main_opt, s->main_params, "main.");
            if (s->agent_opt) {
              auto agent = optim::export_adam_state(*s->agent_opt, s->agent_params, "agent.");
              out.insert(out.end(), agent.begin(), agent.end());
            }
            return out;
          },
          [](Napi::Env env, Entries& e) -> Napi::Value { return entries_to_js(env, e); });
    });
  }

  Napi::Value load_optimizer_state(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      auto incoming = entries_from_js(info[0]);
      return start_on<bool>(
          s,
          [s, incoming]() {
            torch::NoGradGuard no_grad;
            // Both optimisers' entries are read and checked before either changes (a failed load changes
            // nothing); lib/models/network.ts checks the same first, with messages for users.
            auto main = optim::prepare_adam_state(s->main_params, "main.", incoming);
            optim::PreparedAdamState agent;
            if (s->agent_opt) agent = optim::prepare_adam_state(s->agent_params, "agent.", incoming);
            if (main.entries_used + agent.entries_used != incoming.size()) {
              for (const auto& entry : incoming) {
                if (!claimed(entry.first, s->main_params, "main.") && !claimed(entry.first, s->agent_params, "agent.")) {
                  throw std::invalid_argument("optimizer state " + entry.first + " names no trainable parameter");
                }
              }
            }
            optim::commit_adam_state(*s->main_opt, std::move(main));
            if (s->agent_opt) optim::commit_adam_state(*s->agent_opt, std::move(agent));
            return true;
          },
          [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
    });
  }

  Napi::Value to_device(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live();
      const torch::Device device = bridge::parse_device(bridge::string_arg(info, 0, "device"));
      return start_on<bool>(
          s,
          [s, device]() {
            move_state(*s, device);
            return true;
          },
          [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
    });
  }

  Napi::Value device(const Napi::CallbackInfo& info) {
    return bridge::guard(info,
                         [&]() -> Napi::Value { return Napi::String::New(info.Env(), bridge::device_string(live()->device)); });
  }

  Napi::Value dispose(const Napi::CallbackInfo& info) {
    // A worker still running holds its own reference to the state; memory goes when it finishes.
    disposed_ = true;
    state_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<NetworkState> state_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // expires with this object
  bool busy_ = false;
  bool disposed_ = false;  // also refuses a state that an init still running would set
};

}  // namespace

void init_network(Napi::Env env, Napi::Object exports) { NetworkWrap::init(env, exports); }

}  // namespace models
