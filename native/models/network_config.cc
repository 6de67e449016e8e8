#include "models/network_config.h"

#include "bridge/common.h"

namespace models {

using bridge::CodedError;

namespace {
constexpr const char* kConfig = "network config";

Architecture read_architecture(const Napi::Object& obj, const char* where) {
  Architecture arch;
  arch.bottleneck = bridge::bool_field(obj, where, "bottleneck");
  // 'A' or 'B', checked by the schema; any other string reads as 'B'.
  arch.shortcut = bridge::string_field(obj, where, "shortcut") == "A" ? 'A' : 'B';
  arch.layers = bridge::shape_field(obj, where, "layers");
  // Kept here although TS builds it from RESNET_LAYOUTS: the ResNet constructors index layers[0..3].
  if (arch.layers.size() != 4) throw CodedError("ERR_INVALID_ARG_VALUE", std::string(where) + ".layers must have 4 entries");
  return arch;
}

// A TypedArray of exactly `shape` as a float32 tensor, or an undefined tensor for null.
torch::Tensor optional_tensor(const Napi::Object& obj, const char* where, const char* key, const std::vector<int64_t>& shape) {
  auto array = bridge::typed_array_or_null_field(obj, where, key);
  return array ? bridge::tensor_from_typed_array(*array, shape, torch::kFloat32) : torch::Tensor();
}
}  // namespace

NetworkConfig read_network_config(const Napi::Object& obj) {
  NetworkConfig c;
  c.spottune = bridge::string_field(obj, kConfig, "kind") == "spottune";
  c.arch = read_architecture(bridge::object_field(obj, kConfig, "architecture"), "network config.architecture");
  c.agent_arch = read_architecture(bridge::object_field(obj, kConfig, "agentArchitecture"), "network config.agentArchitecture");
  c.input_channels = bridge::integer_field(obj, kConfig, "inputChannels");
  c.num_classes = bridge::integer_field(obj, kConfig, "numClasses");
  c.dropout = bridge::number_field(obj, kConfig, "dropout");
  c.trainable_blocks = bridge::integer_field(obj, kConfig, "trainableBlocks");
  c.frozen_bn_updates = bridge::bool_field(obj, kConfig, "frozenBatchNormUpdatesStats");
  c.device = bridge::string_field(obj, kConfig, "device");
  c.bf16 = bridge::string_field(obj, kConfig, "mixedPrecision") == "bf16";
  c.channels_last = bridge::bool_field(obj, kConfig, "channelsLast");
  c.lr = bridge::number_field(obj, kConfig, "learningRate");
  c.agent_lr = bridge::number_field(obj, kConfig, "agentLearningRate");
  c.wd = bridge::number_field(obj, kConfig, "weightDecay");
  c.agent_wd = bridge::number_field(obj, kConfig, "agentWeightDecay");
  c.beta1 = bridge::number_field(obj, kConfig, "beta1");
  c.beta2 = bridge::number_field(obj, kConfig, "beta2");
  c.eps = bridge::number_field(obj, kConfig, "eps");
  if (!bridge::field(obj, kConfig, "posWeight").IsNull()) c.pos_weight = bridge::numbers_field(obj, kConfig, "posWeight");
  const char* where = "network config.scheduler";
  auto s = bridge::object_field(obj, kConfig, "scheduler");
  c.plateau.maximize = bridge::string_field(s, where, "mode") == "max";
  c.plateau.factor = bridge::number_field(s, where, "factor");
  c.plateau.patience = bridge::integer_field(s, where, "patience");
  c.plateau.threshold = bridge::number_field(s, where, "threshold");
  c.plateau.relative = bridge::string_field(s, where, "thresholdMode") == "rel";
  c.plateau.cooldown = bridge::integer_field(s, where, "cooldown");
  c.plateau.min_lr = bridge::number_field(s, where, "minLr");
  c.plateau.eps = bridge::number_field(s, where, "eps");
  c.init_seed = static_cast<uint64_t>(bridge::integer_field(obj, kConfig, "seed"));
  return c;
}

CallOptions read_predict_options(const Napi::Object& obj, int64_t n, int64_t blocks) {
  const char* where = "predict options";
  CallOptions c;
  // The four modes are TS's enum; C++ maps what it knows and reads the rest as 'none'.
  const std::string mode = bridge::string_field(obj, where, "policyMode");
  c.policy_mode = mode == "sample"   ? PolicyMode::kSample
                  : mode == "argmax" ? PolicyMode::kArgmax
                  : mode == "fixed"  ? PolicyMode::kFixed
                                     : PolicyMode::kNone;
  c.seed = static_cast<uint64_t>(bridge::integer_field(obj, where, "seed"));
  c.select = bridge::string_field(obj, where, "routing") == "select";
  c.policy = optional_tensor(obj, where, "policy", {n, blocks});
  c.noise = optional_tensor(obj, where, "noise", {n, blocks, 2});
  // A fixed policy without its tensor would be read as undefined on the worker.
  if (c.policy_mode == PolicyMode::kFixed && !c.policy.defined()) {
    throw CodedError("ERR_INVALID_ARG_VALUE", "predict options.policy must be a TypedArray when policyMode is 'fixed'");
  }
  return c;
}

CallOptions read_train_step_options(const Napi::Object& obj, int64_t n, int64_t blocks, bool spottune) {
  const char* where = "trainStep options";
  CallOptions c;
  c.seed = static_cast<uint64_t>(bridge::integer_field(obj, where, "seed"));
  // ResNets have no Gumbel-softmax: TS passes null there.
  if (spottune || !bridge::field(obj, where, "tau").IsNull()) c.tau = bridge::number_field(obj, where, "tau");
  c.noise = optional_tensor(obj, where, "noise", {n, blocks, 2});
  return c;
}

optim::PlateauState read_scheduler_state(const Napi::Object& obj, std::vector<double>& learning_rates) {
  const char* where = "scheduler state";
  optim::PlateauState st;
  st.best = bridge::number_field(obj, where, "best");
  st.num_bad_epochs = bridge::integer_field(obj, where, "numBadEpochs");
  st.cooldown_counter = bridge::integer_field(obj, where, "cooldownCounter");
  st.last_epoch = bridge::integer_field(obj, where, "lastEpoch");
  learning_rates = bridge::numbers_field(obj, where, "learningRates");
  return st;
}

}  // namespace models
