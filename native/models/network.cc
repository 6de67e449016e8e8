// NativeNetwork: one ResNet3d or SpotTune3d with its optimizers and scheduler, as a JS object.
// lib/models/network.ts validates every argument and resolves the configuration; this file trusts
// what it receives and holds no defaults. Every call that runs the network runs on a worker thread
// (one step per call, driven by a TS loop, so a long training never holds a libuv pool thread), and
// every such call does its arithmetic on the network's own thread (bridge/serial_thread.h).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <map>
#include <memory>

#include "bridge/common.h"
#include "bridge/serial_thread.h"
#include "models/resnet3d.h"
#include "models/spottune3d.h"
#include "optim/adam_state.h"
#include "optim/plateau.h"

namespace models {

using bridge::CodedError;
using bridge::ThreadPromise;
using optim::NamedTensors;

namespace {

// ---------------------------------------------------------------------------------------------
// Reading the resolved configuration (every field is required: defaults live in lib/config).

Napi::Value require(const Napi::Object& obj, const char* key) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) throw CodedError("ERR_INVALID_ARG_VALUE", std::string("network config lacks '") + key + "'");
  return v;
}
double req_number(const Napi::Object& obj, const char* key) {
  Napi::Value v = require(obj, key);
  if (!v.IsNumber()) throw CodedError("ERR_INVALID_ARG_TYPE", std::string("network config '") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}
int64_t req_int(const Napi::Object& obj, const char* key) { return static_cast<int64_t>(req_number(obj, key)); }
bool req_bool(const Napi::Object& obj, const char* key) {
  Napi::Value v = require(obj, key);
  if (!v.IsBoolean()) throw CodedError("ERR_INVALID_ARG_TYPE", std::string("network config '") + key + "' must be a boolean");
  return v.As<Napi::Boolean>().Value();
}
std::string req_string(const Napi::Object& obj, const char* key) {
  Napi::Value v = require(obj, key);
  if (!v.IsString()) throw CodedError("ERR_INVALID_ARG_TYPE", std::string("network config '") + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}
Napi::Object req_object(const Napi::Object& obj, const char* key) {
  Napi::Value v = require(obj, key);
  if (!v.IsObject()) throw CodedError("ERR_INVALID_ARG_TYPE", std::string("network config '") + key + "' must be an object");
  return v.As<Napi::Object>();
}

Architecture read_architecture(const Napi::Object& obj) {
  Architecture arch;
  arch.bottleneck = req_bool(obj, "bottleneck");
  const std::string shortcut = req_string(obj, "shortcut");
  if (shortcut != "A" && shortcut != "B") throw CodedError("ERR_INVALID_ARG_VALUE", "shortcut must be 'A' or 'B'");
  arch.shortcut = shortcut[0];
  arch.layers = bridge::to_shape(require(obj, "layers"), "layers");
  if (arch.layers.size() != 4) throw CodedError("ERR_INVALID_ARG_VALUE", "layers must have 4 entries");
  return arch;
}

// Everything a network needs, shared by the JS object and any worker running on it.
struct Config {
  bool spottune = false;
  Architecture arch, agent_arch;
  int64_t input_channels = 0, num_classes = 0;
  double dropout = 0;
  int64_t trainable_blocks = -1;  // ResNet only: -1 = everything trains; N = fc + last N blocks
  bool frozen_bn_updates = true;
  std::string device;
  bool bf16 = false, channels_last = false;
  double lr = 0, agent_lr = 0, wd = 0, agent_wd = 0, beta1 = 0, beta2 = 0, eps = 0;
  std::vector<double> pos_weight;
  optim::PlateauOptions plateau;
  uint64_t init_seed = 0;
};

Config read_config(const Napi::Object& obj) {
  Config c;
  const std::string kind = req_string(obj, "kind");
  if (kind != "resnet" && kind != "spottune") throw CodedError("ERR_INVALID_ARG_VALUE", "kind must be 'resnet' or 'spottune'");
  c.spottune = kind == "spottune";
  c.arch = read_architecture(req_object(obj, "architecture"));
  if (c.spottune) c.agent_arch = read_architecture(req_object(obj, "agentArchitecture"));
  c.input_channels = req_int(obj, "inputChannels");
  c.num_classes = req_int(obj, "numClasses");
  c.dropout = req_number(obj, "dropout");
  c.trainable_blocks = req_int(obj, "trainableBlocks");
  c.frozen_bn_updates = req_bool(obj, "frozenBatchNormUpdatesStats");
  c.device = req_string(obj, "device");
  c.bf16 = req_string(obj, "mixedPrecision") == "bf16";
  c.channels_last = req_bool(obj, "channelsLast");
  c.lr = req_number(obj, "learningRate");
  c.agent_lr = req_number(obj, "agentLearningRate");
  c.wd = req_number(obj, "weightDecay");
  c.agent_wd = req_number(obj, "agentWeightDecay");
  c.beta1 = req_number(obj, "beta1");
  c.beta2 = req_number(obj, "beta2");
  c.eps = req_number(obj, "eps");
  Napi::Value pw = obj.Get("posWeight");
  if (pw.IsArray()) {
    auto arr = pw.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) c.pos_weight.push_back(arr.Get(i).As<Napi::Number>().DoubleValue());
  }
  auto s = req_object(obj, "scheduler");
  c.plateau.maximize = req_string(s, "mode") == "max";
  c.plateau.factor = req_number(s, "factor");
  c.plateau.patience = req_int(s, "patience");
  c.plateau.threshold = req_number(s, "threshold");
  c.plateau.relative = req_string(s, "thresholdMode") == "rel";
  c.plateau.cooldown = req_int(s, "cooldown");
  c.plateau.min_lr = req_number(s, "minLr");
  c.plateau.eps = req_number(s, "eps");
  c.init_seed = static_cast<uint64_t>(req_number(obj, "seed"));
  return c;
}

// ---------------------------------------------------------------------------------------------
// bf16 autocast for the forward pass on CUDA. Autocast state is thread-local, and libuv reuses its
// pool threads, so the scope restores what it found.
class AutocastScope {
 public:
  explicit AutocastScope(bool enable) : enabled_(enable) {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
    previous_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, previous_);
    at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
#else
    at::autocast::set_enabled(previous_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

// ---------------------------------------------------------------------------------------------

struct State {
  std::shared_ptr<bridge::SerialThread> thread;  // first member, so the last destroyed
  Config config;
  torch::Device device{torch::kCPU};
  ResNet3d resnet{nullptr};
  SpotTune3d spottune{nullptr};
  std::shared_ptr<torch::nn::Module> root;
  std::map<std::string, torch::Tensor> entries;        // every parameter and buffer by name
  std::vector<std::string> order;                      // their names in PyTorch's state_dict order
  std::map<std::string, bool> is_parameter;
  NamedTensors main_params, agent_params;              // trainable, by name
  std::vector<std::shared_ptr<torch::nn::Module>> frozen;  // modules whose parameters do not train
  std::unique_ptr<torch::optim::Adam> main_opt, agent_opt;
  std::unique_ptr<optim::ReduceLROnPlateau> scheduler;
  torch::Tensor pos_weight;
  int64_t num_blocks = 0;

  bool on_cuda() const { return device.is_cuda(); }

  void set_training(bool training) {
    root->train(training);
    // frozenBatchNormUpdatesStats = false: frozen BatchNorms use and keep their running statistics.
    if (training && !config.frozen_bn_updates) {
      for (auto& m : frozen) m->eval();
    }
  }

  torch::Tensor prepare_input(const torch::Tensor& x) const {
    torch::Tensor out = x.to(device);
    if (on_cuda() && config.channels_last) out = out.contiguous(torch::MemoryFormat::ChannelsLast3d);
    return out;
  }
};

void collect_entries(State& s) {
  s.entries.clear();
  s.order.clear();
  s.is_parameter.clear();
  for (const auto& item : s.root->named_modules()) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      s.order.push_back(prefix + p.key());
      s.entries[prefix + p.key()] = p.value();
      s.is_parameter[prefix + p.key()] = true;
    }
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) {
      if (!b.value().defined()) continue;
      s.order.push_back(prefix + b.key());
      s.entries[prefix + b.key()] = b.value();
      s.is_parameter[prefix + b.key()] = false;
    }
  }
}

void freeze(const std::shared_ptr<torch::nn::Module>& m, State& s) {
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  s.frozen.push_back(m);
}

NamedTensors trainable_under(torch::nn::Module& m, const std::string& prefix) {
  NamedTensors out;
  for (const auto& p : m.named_parameters()) {
    if (p.value().requires_grad()) out.emplace_back(prefix + p.key(), p.value());
  }
  return out;
}

std::unique_ptr<torch::optim::Adam> make_adam(const NamedTensors& params, double lr, double wd, const Config& c) {
  std::vector<torch::Tensor> tensors;
  for (const auto& p : params) tensors.push_back(p.second);
  return std::make_unique<torch::optim::Adam>(
      tensors, torch::optim::AdamOptions(lr).betas(std::make_tuple(c.beta1, c.beta2)).eps(c.eps).weight_decay(wd));
}

void convert_channels_last(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) {
    if (p.dim() == 5) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast3d));
  }
}

std::shared_ptr<State> build_state(const Config& c, std::shared_ptr<bridge::SerialThread> thread) {
  auto s = std::make_shared<State>();
  s->thread = std::move(thread);
  s->config = c;
  s->device = bridge::parse_device(c.device);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(c.init_seed);
  if (c.spottune) {
    s->spottune = SpotTune3d(SpotTune3dOptions()
                                 .arch(c.arch)
                                 .agent_arch(c.agent_arch)
                                 .input_channels(c.input_channels)
                                 .num_classes(c.num_classes)
                                 .dropout(c.dropout));
    s->root = s->spottune.ptr();
    initialise(*s->spottune, generator);
    s->spottune->copy_blocks_to_parallel();  // F^ starts as F
    s->num_blocks = s->spottune->num_blocks();
    freeze(s->spottune->conv1.ptr(), *s);
    freeze(s->spottune->bn1.ptr(), *s);
    freeze(s->spottune->blocks.ptr(), *s);
    s->main_params = trainable_under(*s->spottune->parallel_blocks, "parallel_blocks.");
    auto fc = trainable_under(*s->spottune->fc, "fc.");
    s->main_params.insert(s->main_params.end(), fc.begin(), fc.end());
    s->agent_params = trainable_under(*s->spottune->agent, "agent.");
  } else {
    s->resnet = ResNet3d(ResNet3dOptions()
                             .arch(c.arch)
                             .input_channels(c.input_channels)
                             .num_classes(c.num_classes)
                             .dropout(c.dropout));
    s->root = s->resnet.ptr();
    initialise(*s->resnet, generator);
    s->num_blocks = c.arch.num_blocks();
    if (c.trainable_blocks >= 0) {
      freeze(s->resnet->conv1.ptr(), *s);
      freeze(s->resnet->bn1.ptr(), *s);
      const auto& blocks = s->resnet->blocks();
      const int64_t first_trainable = static_cast<int64_t>(blocks.size()) - c.trainable_blocks;
      for (int64_t i = 0; i < first_trainable; ++i) freeze(blocks[i].ptr(), *s);
    }
    s->main_params = trainable_under(*s->resnet, "");
  }
  collect_entries(*s);
  s->root->to(s->device);
  if (s->on_cuda() && c.channels_last) convert_channels_last(*s->root);
  s->main_opt = make_adam(s->main_params, c.lr, c.wd, c);
  std::vector<torch::optim::Optimizer*> optimizers{s->main_opt.get()};
  if (c.spottune) {
    s->agent_opt = make_adam(s->agent_params, c.agent_lr, c.agent_wd, c);
    optimizers.push_back(s->agent_opt.get());
  }
  s->scheduler = std::make_unique<optim::ReduceLROnPlateau>(optimizers, c.plateau);
  if (!c.pos_weight.empty()) {
    s->pos_weight = torch::tensor(c.pos_weight, torch::kFloat32).to(s->device);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Per-call options (validated in TS).

struct CallOptions {
  std::string policy_mode = "none";  // 'sample' | 'argmax' | 'fixed' | 'none'
  torch::Tensor policy;              // [N, B] float, when fixed
  torch::Tensor noise;               // [N, B, 2] float, when given instead of sampled
  uint64_t seed = 0;
  double tau = 1.0;
  bool select = true;                // policy-aware inference
};

CallOptions read_call_options(const Napi::Object& o, int64_t n, int64_t blocks) {
  CallOptions c;
  c.policy_mode = bridge::get_string(o, "policyMode", "none");
  c.seed = static_cast<uint64_t>(bridge::get_number(o, "seed", 0));
  c.tau = bridge::get_number(o, "tau", 1.0);
  c.select = bridge::get_string(o, "routing", "select") == "select";
  Napi::Value policy = o.Get("policy");
  if (policy.IsTypedArray()) {
    c.policy = bridge::tensor_from_typed_array(policy.As<Napi::TypedArray>(), {n, blocks}, torch::kFloat32);
  }
  Napi::Value noise = o.Get("noise");
  if (noise.IsTypedArray()) {
    c.noise = bridge::tensor_from_typed_array(noise.As<Napi::TypedArray>(), {n, blocks, 2}, torch::kFloat32);
  }
  return c;
}

struct Outputs {
  torch::Tensor logits, probabilities, policy, agent_logits;
  double loss = 0;
};

Napi::Object outputs_to_js(Napi::Env env, Outputs& out, bool with_loss) {
  auto obj = Napi::Object::New(env);
  if (out.logits.defined()) obj.Set("logits", bridge::typed_array_from_tensor(env, out.logits));
  obj.Set("probabilities", bridge::typed_array_from_tensor(env, out.probabilities));
  if (out.policy.defined()) obj.Set("policy", bridge::typed_array_from_tensor(env, out.policy));
  if (out.agent_logits.defined()) obj.Set("agentLogits", bridge::typed_array_from_tensor(env, out.agent_logits));
  if (with_loss) obj.Set("loss", Napi::Number::New(env, out.loss));
  return obj;
}

Napi::TypedArray typed_array_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsTypedArray()) throw CodedError("ERR_INVALID_ARG_TYPE", std::string(what) + " must be a TypedArray");
  return info[i].As<Napi::TypedArray>();
}
Napi::Object object_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsObject()) throw CodedError("ERR_INVALID_ARG_TYPE", std::string(what) + " must be an object");
  return info[i].As<Napi::Object>();
}

torch::Tensor to_host(const torch::Tensor& t) { return t.detach().to(torch::kCPU).to(torch::kFloat32).contiguous(); }

Outputs run_predict(State& s, const torch::Tensor& input, const CallOptions& o) {
  torch::NoGradGuard no_grad;  // grad mode is thread-local: set on the worker
  s.set_training(false);
  ForwardContext ctx{at::make_generator<at::CPUGeneratorImpl>(o.seed)};
  AutocastScope autocast(s.on_cuda() && s.config.bf16);
  torch::Tensor x = s.prepare_input(input);
  Outputs out;
  if (!s.config.spottune) {
    out.logits = s.resnet->forward(x, &ctx);
  } else {
    torch::Tensor policy;  // [N, B] on the CPU
    if (o.policy_mode == "fixed") {
      policy = o.policy;
    } else {
      torch::Tensor z = s.spottune->agent_logits(x).to(torch::kCPU).to(torch::kFloat32);  // [N, B, 2]
      out.agent_logits = z.contiguous();
      if (o.policy_mode == "sample") {
        z = z + (o.noise.defined() ? o.noise : sample_gumbel(z.sizes(), ctx.generator));
      }
      policy = z.argmax(-1).to(torch::kFloat32);
    }
    out.logits = o.select ? s.spottune->forward_selected(x, policy, &ctx)
                          : s.spottune->forward(x, policy.to(s.device), &ctx);
    out.policy = policy.to(torch::kUInt8).contiguous();
  }
  out.logits = to_host(out.logits);
  out.probabilities = torch::sigmoid(out.logits);
  return out;
}

// Frees the gradients (PyTorch's zero_grad(set_to_none=True); LibTorch 1.13's zero_grad() only zeroes
// them). Done before the forward pass, so the last step's gradients are not held through this step's
// activations, and stay readable through gradients() until the next step.
void clear_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      if (p.mutable_grad().defined()) p.mutable_grad().reset();
    }
  }
}

Outputs run_train_step(State& s, const torch::Tensor& input, const torch::Tensor& labels, const CallOptions& o) {
  torch::AutoGradMode grad(true);
  clear_gradients(*s.main_opt);
  if (s.agent_opt) clear_gradients(*s.agent_opt);
  s.set_training(true);
  ForwardContext ctx{at::make_generator<at::CPUGeneratorImpl>(o.seed)};
  Outputs out;
  torch::Tensor logits;
  {
    AutocastScope autocast(s.on_cuda() && s.config.bf16);
    torch::Tensor x = s.prepare_input(input);
    if (!s.config.spottune) {
      logits = s.resnet->forward(x, &ctx);
    } else {
      torch::Tensor z = s.spottune->agent_logits(x).to(torch::kFloat32);  // [N, B, 2]
      torch::Tensor noise = o.noise.defined() ? o.noise : sample_gumbel(z.sizes(), ctx.generator);
      torch::Tensor action = gumbel_softmax_hard(z, noise.to(s.device), o.tau);
      torch::Tensor policy = action.select(2, 1);  // [N, B]; 1 = the fine-tuned copy
      logits = s.spottune->forward(x, policy, &ctx);
      out.policy = policy.detach().to(torch::kCPU).to(torch::kUInt8).contiguous();
    }
  }
  logits = logits.to(torch::kFloat32);
  torch::Tensor loss = torch::nn::functional::binary_cross_entropy_with_logits(
      logits, labels.to(s.device),
      torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(s.pos_weight));
  out.loss = loss.item<double>();
  if (!std::isfinite(out.loss)) {
    throw CodedError("ERR_NONFINITE_LOSS", "the loss is " + std::to_string(out.loss) +
                                               "; the step was not applied (check the inputs and the learning rate)");
  }
  loss.backward();
  s.main_opt->step();
  if (s.agent_opt) s.agent_opt->step();
  out.probabilities = torch::sigmoid(to_host(logits));
  return out;
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
    Napi::Value data = obj.Get("data");
    if (!data.IsTypedArray()) throw CodedError("ERR_INVALID_ARG_TYPE", "entry data must be a TypedArray");
    const std::string name = bridge::get_string(obj, "name", "");
    out[name] = bridge::tensor_from_typed_array(data.As<Napi::TypedArray>(), bridge::to_shape(obj.Get("shape"), "shape"));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

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
                                          InstanceMethod<&NetworkWrap::learning_rates>("learningRates"),
                                          InstanceMethod<&NetworkWrap::state_info>("stateInfo"),
                                          InstanceMethod<&NetworkWrap::state_dict>("stateDict"),
                                          InstanceMethod<&NetworkWrap::load_state>("loadState"),
                                          InstanceMethod<&NetworkWrap::gradients>("gradients"),
                                          InstanceMethod<&NetworkWrap::optimizer_state>("optimizerState"),
                                          InstanceMethod<&NetworkWrap::load_optimizer_state>("loadOptimizerState"),
                                          InstanceMethod<&NetworkWrap::parameter_count>("parameterCount"),
                                          InstanceMethod<&NetworkWrap::to_device>("to"),
                                          InstanceMethod<&NetworkWrap::device>("device"),
                                          InstanceMethod<&NetworkWrap::busy>("busy"),
                                          InstanceMethod<&NetworkWrap::dispose>("dispose"),
                                      });
    exports.Set("NativeNetwork", ctor);
  }

  explicit NetworkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetworkWrap>(info) {}

 private:
  // The state, checked to be usable now; `what` names the call for the error.
  std::shared_ptr<State> live(const char* what) {
    if (disposed_) throw CodedError("ERR_DISPOSED", std::string("the network was disposed; cannot ") + what);
    if (busy_) {
      throw CodedError("ERR_BUSY", std::string("the network is busy with ") + busy_with_ + "; await it before " + what);
    }
    if (!state_) throw CodedError("ERR_NOT_INITIALISED", std::string("the network is not initialised; cannot ") + what);
    return state_;
  }

  // Marks the network busy for one asynchronous call; the returned function clears it on the JS thread.
  std::function<void()> hold(const char* what) {
    busy_ = true;
    busy_with_ = what;
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

  // Runs `work` on the network's own thread and settles a Promise with `done`; the network is busy
  // with `what` until then.
  template <typename Result, typename Work>
  Napi::Promise start_on(const std::shared_ptr<State>& s, Work work, typename ThreadPromise<Result>::Done done,
                         const char* what) {
    return ThreadPromise<Result>::start(Env(), s->thread, std::move(work), std::move(done), hold(what));
  }

  Napi::Value init_network(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      if (disposed_) throw CodedError("ERR_DISPOSED", "the network was disposed");
      if (busy_ || state_) throw CodedError("ERR_BUSY", "the network is already initialised");
      if (info.Length() < 1 || !info[0].IsObject()) throw CodedError("ERR_INVALID_ARG_TYPE", "config must be an object");
      Config config = read_config(info[0].As<Napi::Object>());
      auto done = hold("initialisation");
      auto thread = std::make_shared<bridge::SerialThread>();
      return ThreadPromise<std::shared_ptr<State>>::start(
          info.Env(), thread, [config, thread]() { return build_state(config, thread); },
          [this, alive = std::weak_ptr<bool>(alive_)](Napi::Env env, std::shared_ptr<State>& s) -> Napi::Value {
            if (!alive.expired() && !disposed_) state_ = s;
            return env.Undefined();
          },
          done);
    });
  }

  Napi::Value predict(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("predict");
      auto shape = bridge::to_shape(info[1], "shape");
      if (shape.size() != 5) throw CodedError("ERR_INVALID_ARG_VALUE", "shape must be [N, C, D, H, W]");
      torch::Tensor input = bridge::tensor_from_typed_array(typed_array_arg(info, 0, "input"), shape, torch::kFloat32);
      CallOptions o = read_call_options(object_arg(info, 2, "options"), shape[0], s->num_blocks);
      return start_on<Outputs>(s, [s, input, o]() { return run_predict(*s, input, o); },
          [](Napi::Env env, Outputs& out) -> Napi::Value { return outputs_to_js(env, out, false); }, "predict");
    });
  }

  Napi::Value train_step(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("trainStep");
      auto shape = bridge::to_shape(info[1], "shape");
      if (shape.size() != 5) throw CodedError("ERR_INVALID_ARG_VALUE", "shape must be [N, C, D, H, W]");
      torch::Tensor input = bridge::tensor_from_typed_array(typed_array_arg(info, 0, "input"), shape, torch::kFloat32);
      torch::Tensor labels = bridge::tensor_from_typed_array(typed_array_arg(info, 2, "labels"),
                                                             {shape[0], s->config.num_classes}, torch::kFloat32);
      CallOptions o = read_call_options(object_arg(info, 3, "options"), shape[0], s->num_blocks);
      return start_on<Outputs>(s, [s, input, labels, o]() { return run_train_step(*s, input, labels, o); },
          [](Napi::Env env, Outputs& out) -> Napi::Value { return outputs_to_js(env, out, true); }, "trainStep");
    });
  }

  Napi::Value lrs_to_js(Napi::Env env, State& s) {
    auto lrs = s.scheduler->learning_rates();
    auto arr = Napi::Array::New(env, lrs.size());
    for (size_t i = 0; i < lrs.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, lrs[i]));
    return arr;
  }

  Napi::Value scheduler_step(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("schedulerStep");
      if (info.Length() < 1 || !info[0].IsNumber()) throw CodedError("ERR_INVALID_ARG_TYPE", "metric must be a number");
      const bool reduced = s->scheduler->step(info[0].As<Napi::Number>().DoubleValue());
      auto obj = Napi::Object::New(info.Env());
      obj.Set("reduced", Napi::Boolean::New(info.Env(), reduced));
      obj.Set("learningRates", lrs_to_js(info.Env(), *s));
      return obj;
    });
  }

  Napi::Value learning_rates(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value { return lrs_to_js(info.Env(), *live("read learning rates")); });
  }

  Napi::Value scheduler_state(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("read the scheduler state");
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
      auto s = live("load a scheduler state");
      auto obj = object_arg(info, 0, "state");
      optim::PlateauState st;
      st.best = req_number(obj, "best");
      st.num_bad_epochs = req_int(obj, "numBadEpochs");
      st.cooldown_counter = req_int(obj, "cooldownCounter");
      st.last_epoch = req_int(obj, "lastEpoch");
      auto lrs_js = require(obj, "learningRates").As<Napi::Array>();
      std::vector<double> lrs;
      for (uint32_t i = 0; i < lrs_js.Length(); ++i) lrs.push_back(lrs_js.Get(i).As<Napi::Number>().DoubleValue());
      s->scheduler->set_learning_rates(lrs);
      s->scheduler->set_state(st);
      return info.Env().Undefined();
    });
  }

  // [{name, shape, dtype, parameter, trainable}] in state_dict order; synchronous (no tensor data).
  Napi::Value state_info(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      if (disposed_) throw CodedError("ERR_DISPOSED", "the network was disposed");
      if (!state_) throw CodedError("ERR_NOT_INITIALISED", "the network is not initialised");
      auto env = info.Env();
      auto arr = Napi::Array::New(env, state_->order.size());
      for (size_t i = 0; i < state_->order.size(); ++i) {
        const auto& name = state_->order[i];
        const auto& t = state_->entries.at(name);
        auto obj = Napi::Object::New(env);
        obj.Set("name", Napi::String::New(env, name));
        obj.Set("shape", bridge::shape_to_array(env, t.sizes()));
        obj.Set("dtype", Napi::String::New(env, bridge::dtype_name(t.scalar_type())));
        obj.Set("parameter", Napi::Boolean::New(env, state_->is_parameter.at(name)));
        obj.Set("trainable", Napi::Boolean::New(env, t.requires_grad()));
        arr.Set(static_cast<uint32_t>(i), obj);
      }
      return arr;
    });
  }

  Napi::Value state_dict(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("stateDict");
      return start_on<Entries>(s, [s]() {
            Entries out;
            for (const auto& name : s->order) {
              out.emplace_back(name, s->entries.at(name).detach().to(torch::kCPU).contiguous().clone());
            }
            return out;
          },
          [](Napi::Env env, Entries& e) -> Napi::Value { return entries_to_js(env, e); }, "stateDict");
    });
  }

  Napi::Value load_state(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("loadStateDict");
      auto incoming = entries_from_js(info[0]);
      for (const auto& [name, t] : incoming) {
        auto it = s->entries.find(name);
        if (it == s->entries.end()) throw CodedError("ERR_STATE_DICT", "unexpected key '" + name + "'");
        if (it->second.sizes() != t.sizes()) {
          throw CodedError("ERR_STATE_DICT", "'" + name + "': expected shape " + c10::str(it->second.sizes()) +
                                                 " but received " + c10::str(t.sizes()));
        }
      }
      return start_on<bool>(s, [s, incoming]() {
            torch::NoGradGuard no_grad;
            for (const auto& [name, t] : incoming) s->entries.at(name).copy_(t);
            return true;
          },
          [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, "loadStateDict");
    });
  }

  Napi::Value gradients(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("gradients");
      return start_on<Entries>(s, [s]() {
            Entries out;
            for (const auto& name : s->order) {
              const auto& t = s->entries.at(name);
              if (t.grad().defined()) out.emplace_back(name, t.grad().detach().to(torch::kCPU).contiguous().clone());
            }
            return out;
          },
          [](Napi::Env env, Entries& e) -> Napi::Value { return entries_to_js(env, e); }, "gradients");
    });
  }

  Napi::Value optimizer_state(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("optimizerState");
      return start_on<Entries>(s, [s]() {
            Entries out = optim::export_adam_state(*s->main_opt, s->main_params, "main.");
            if (s->agent_opt) {
              auto agent = optim::export_adam_state(*s->agent_opt, s->agent_params, "agent.");
              out.insert(out.end(), agent.begin(), agent.end());
            }
            return out;
          },
          [](Napi::Env env, Entries& e) -> Napi::Value { return entries_to_js(env, e); }, "optimizerState");
    });
  }

  Napi::Value load_optimizer_state(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("loadOptimizerState");
      auto incoming = entries_from_js(info[0]);
      return start_on<bool>(s, [s, incoming]() {
            torch::NoGradGuard no_grad;
            optim::import_adam_state(*s->main_opt, s->main_params, "main.", incoming);
            if (s->agent_opt) optim::import_adam_state(*s->agent_opt, s->agent_params, "agent.", incoming);
            return true;
          },
          [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, "loadOptimizerState");
    });
  }

  Napi::Value parameter_count(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      if (disposed_) throw CodedError("ERR_DISPOSED", "the network was disposed");
      if (!state_) throw CodedError("ERR_NOT_INITIALISED", "the network is not initialised");
      // 0: all, 1: trainable only, 2: frozen only
      const int mode = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
      double count = 0;
      for (const auto& p : state_->root->parameters()) {
        if (mode == 0 || (mode == 1) == p.requires_grad()) count += static_cast<double>(p.numel());
      }
      return Napi::Number::New(info.Env(), count);
    });
  }

  Napi::Value to_device(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      auto s = live("move the network");
      if (info.Length() < 1 || !info[0].IsString()) throw CodedError("ERR_INVALID_ARG_TYPE", "device must be a string");
      const torch::Device device = bridge::parse_device(info[0].As<Napi::String>().Utf8Value());
      return start_on<bool>(s, [s, device]() {
            // Module::to keeps each parameter's identity (set_data), so the optimizers still hold them.
            s->root->to(device);
            s->device = device;
            optim::move_adam_state(*s->main_opt, device);
            if (s->agent_opt) optim::move_adam_state(*s->agent_opt, device);
            if (s->pos_weight.defined()) s->pos_weight = s->pos_weight.to(device);
            if (s->on_cuda() && s->config.channels_last) convert_channels_last(*s->root);
            return true;
          },
          [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, "to");
    });
  }

  Napi::Value device(const Napi::CallbackInfo& info) {
    return bridge::guard(info, [&]() -> Napi::Value {
      if (!state_) throw CodedError("ERR_NOT_INITIALISED", "the network is not initialised");
      return Napi::String::New(info.Env(), bridge::device_string(state_->device));
    });
  }

  Napi::Value busy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy_); }

  Napi::Value dispose(const Napi::CallbackInfo& info) {
    // A worker still running holds its own reference to the state; memory goes when it finishes.
    disposed_ = true;
    state_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<State> state_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // expires with this object
  bool busy_ = false;
  std::string busy_with_;
  bool disposed_ = false;
};

}  // namespace

void init_network(Napi::Env env, Napi::Object exports) { NetworkWrap::init(env, exports); }

}  // namespace models
