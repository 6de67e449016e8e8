// The resolved network configuration and per-call options as C++ structs, read from the objects
// lib/models/network.ts builds (their TS types: NativeNetworkConfig, NativePredictOptions and
// NativeTrainStepOptions in lib/native/binding.ts). Every field is required: defaults live in
// lib/config and value rules in TS; reading checks only what keeps C++ defined.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/resnet3d.h"
#include "optim/plateau.h"

namespace models {

// Everything a network needs to be built, shared by the JS object and any worker running on it.
struct NetworkConfig {
  bool spottune = false;
  Architecture arch, agent_arch;
  int64_t input_channels = 0, num_classes = 0;
  double dropout = 0;
  int64_t trainable_blocks = -1;  // ResNet only: -1 = everything trains; N = fc + last N blocks
  bool frozen_bn_updates = true;
  std::string device;
  bool bf16 = false, channels_last = false;
  double lr = 0, agent_lr = 0, wd = 0, agent_wd = 0, beta1 = 0, beta2 = 0, eps = 0;
  std::vector<double> pos_weight;  // empty: no positive-class weight
  optim::PlateauOptions plateau;
  uint64_t init_seed = 0;
};

NetworkConfig read_network_config(const Napi::Object& obj);

// How SpotTune picks each block's copy in predict().
enum class PolicyMode { kNone, kSample, kArgmax, kFixed };

// The options of one predict() or trainStep() call, tensors already copied off the JS heap.
struct CallOptions {
  PolicyMode policy_mode = PolicyMode::kNone;
  torch::Tensor policy;  // [N, B] float, when fixed
  torch::Tensor noise;   // [N, B, 2] float, when given instead of sampled
  uint64_t seed = 0;
  double tau = 0;      // trainStep on SpotTune only
  bool select = true;  // predict: compute only the chosen copy of each block
};

// `n` samples, `blocks` = the policy length (0 for ResNets): the TypedArrays must hold exactly that.
CallOptions read_predict_options(const Napi::Object& obj, int64_t n, int64_t blocks);
CallOptions read_train_step_options(const Napi::Object& obj, int64_t n, int64_t blocks, bool spottune);

optim::PlateauState read_scheduler_state(const Napi::Object& obj, std::vector<double>& learning_rates);

}  // namespace models
