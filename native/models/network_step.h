// The maths of one call: an eval-mode prediction (with SpotTune's policy: sampled, argmax or fixed,
// and its routing) or one training step (forward, BCE-with-logits, backward, Adam). Runs on the
// network's own thread; plain C++ and LibTorch only.
#pragma once

#include <torch/torch.h>

#include "models/network_config.h"
#include "models/network_state.h"

namespace models {

// What a call hands back to JS (network_wrap.cc converts it on the JS thread).
struct Outputs {
  torch::Tensor logits, probabilities, policy, agent_logits;
  double loss = 0;
};

// `input` [N, C, D, H, W] float32 on the CPU.
Outputs run_predict(NetworkState& s, const torch::Tensor& input, const CallOptions& o);
// `labels` [N, numClasses] float32 on the CPU; throws ERR_NONFINITE_LOSS on a NaN/inf loss. A step that
// throws before Adam runs leaves parameters, buffers (BatchNorm statistics) and Adam's state as they
// were; only the previous step's gradients are gone (they are freed before the forward pass).

Outputs run_train_step(NetworkState& s, const torch::Tensor& input, const torch::Tensor& labels, const CallOptions& o);

}  // namespace models
