"""PyTorch reference networks for the benchmarks: the same PyTorch models the library's parity
fixtures are made from (scripts/fixtures/networks/make_fixtures.py, imported, not duplicated):
MedicalNet's ResNet3D (stem 7x7x7/2 + max pool, Bottleneck stages [3, 4, 6, 3] with strides
[1, 2, 1, 1] and dilations [1, 1, 2, 4] on every block, type-B shortcuts, avg pool + fc) and the
SpotTune3D network (shared stem, frozen `blocks`, fine-tuned `parallel_blocks`, agent ResNet3D-10,
straight-through hard Gumbel-softmax) that always computes both copies, as the study's code does.

This module adds what a benchmark needs around them: MedicalNet's initialisation, the frozen set and
the two parameter groups of the study's optimisers, seeded Gumbel noise, and a FLOP counter.
"""
import importlib.util
import os

import torch
import torch.nn as nn

_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts', 'fixtures', 'networks', 'make_fixtures.py')
_spec = importlib.util.spec_from_file_location('network_fixtures', _path)
fixtures = importlib.util.module_from_spec(_spec)
_threads = torch.get_num_threads()
_spec.loader.exec_module(fixtures)
torch.set_num_threads(_threads)  # the fixture script sets its own thread count on import


def initialise(module):
    """MedicalNet's init: Conv3d kaiming normal (fan_out, relu), BN 1/0, Linear PyTorch's default."""
    for m in module.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return module


def resnet50():
    return initialise(fixtures.ResNet3d(50))


def spottune50():
    """SpotTune3D-50 as the study trains it: F^ starts as F; the stem and F are frozen."""
    model = initialise(fixtures.SpotTune3d(depth=50, agent_depth=10))
    model.parallel_blocks.load_state_dict(model.blocks.state_dict())
    for p in list(model.conv1.parameters()) + list(model.bn1.parameters()) + list(model.blocks.parameters()):
        p.requires_grad_(False)
    return model


def main_parameters(model):
    """What the study's main Adam trains: the fine-tuned copy and the head."""
    return list(model.parallel_blocks.parameters()) + list(model.fc.parameters())


def gumbel_policy(logits, tau, generator):
    """Hard Gumbel-softmax sample over (N, blocks, 2), noise from `generator` on the CPU -> policy [N, blocks]."""
    u = torch.rand(logits.shape, generator=generator).to(logits.device)
    noise = -torch.log(-torch.log(u + 1e-20) + 1e-20)
    return fixtures.gumbel_softmax_hard(logits.float(), noise, tau)[:, :, 1]


def count_flops(model, run):
    """Counts the multiply-adds of Conv3d and Linear layers during run() with forward hooks.

    Returns (forward_flops, backward_flops): 2 FLOPs per multiply-add; the backward pass costs one
    forward's worth for the input gradient when the layer's input requires grad, and one more for the
    weight gradient when its weight does.
    """
    stats = {'fwd': 0, 'bwd': 0}

    def hook(m, inputs, output):
        x = inputs[0]
        if isinstance(m, nn.Conv3d):
            k = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3] * m.weight.shape[4]
            macs = output.numel() * k
        else:
            macs = output.numel() * m.weight.shape[1]
        stats['fwd'] += 2 * macs
        if torch.is_grad_enabled():
            stats['bwd'] += 2 * macs * (int(x.requires_grad) + int(m.weight.requires_grad))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv3d, nn.Linear))]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return stats['fwd'], stats['bwd']
