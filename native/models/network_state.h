// The state of one network: its modules, parameters by name, optimisers and scheduler, built from
// a NetworkConfig. Built and changed only on the network's own thread (bridge/serial_thread.h).
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bridge/serial_thread.h"
#include "models/network_config.h"
#include "models/resnet3d.h"
#include "models/spottune3d.h"
#include "optim/adam_state.h"
#include "optim/plateau.h"

namespace models {

struct NetworkState {
  std::shared_ptr<bridge::SerialThread> thread;  // first member, so the last destroyed
  NetworkConfig config;
  torch::Device device{torch::kCPU};
  ResNet3d resnet{nullptr};
  SpotTune3d spottune{nullptr};
  std::shared_ptr<torch::nn::Module> root;
  std::map<std::string, torch::Tensor> entries;  // every parameter and buffer by name
  std::vector<std::string> order;                // their names in PyTorch's state_dict order
  std::map<std::string, bool> is_parameter;
  optim::NamedTensors main_params, agent_params;           // trainable, by name
  std::vector<std::shared_ptr<torch::nn::Module>> frozen;  // modules whose parameters do not train
  std::unique_ptr<torch::optim::Adam> main_opt, agent_opt;
  std::unique_ptr<optim::ReduceLROnPlateau> scheduler;
  torch::Tensor pos_weight;
  int64_t num_blocks = 0;

  bool on_cuda() const { return device.is_cuda(); }
  // Train or eval mode; frozenBatchNormUpdatesStats = false keeps frozen BatchNorms in eval mode.
  void set_training(bool training);
  // The batch on the network's device (and memory format).
  torch::Tensor prepare_input(const torch::Tensor& x) const;
};

// Builds the modules with MedicalNet's seeded initialisation, freezes what does not train, and
// creates the optimisers and the scheduler.
std::shared_ptr<NetworkState> build_state(const NetworkConfig& config, std::shared_ptr<bridge::SerialThread> thread);

// Moves the modules, Adam's state and posWeight to `device`.
void move_state(NetworkState& s, const torch::Device& device);

}  // namespace models
