"""PyTorch reference networks for the benchmarks, architecturally identical to native/models/.

MedicalNet's 3D ResNets (github.com/Tencent/MedicalNet models/resnet.py): stem conv 7x7x7 stride 2
+ BN + ReLU + max pool 3/2; four stages of Bottlenecks (ResNet50: [3, 4, 6, 3]) or BasicBlocks
(ResNet10, the agent: [1, 1, 1, 1]) with strides [1, 2, 1, 1] and dilations [1, 1, 2, 4] applied to
every block of a stage; type-B shortcuts (1x1x1 conv + BN, applied) where the shape changes; global
average pool and a Linear head.

SpotTune3d (Schmitz, Guo, Wang 2024): a shared frozen stem, a frozen copy `blocks` and a fine-tuned
copy `parallel_blocks` of the 16 blocks, mixed per sample and block by a hard Gumbel-softmax policy
from the agent (a ResNet10 with 2 logits per block): x = I * F^(x) + (1 - I) * F(x). The reference
always computes both copies, as the study's code does.

Written from the papers and reference-study.md, not copied; the fixes of the study's bugs
(bn0 applied, every block of stages 3-4 dilated) are the same as ours.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

PLANES = (64, 128, 256, 512)
STRIDES = (1, 2, 1, 1)
DILATIONS = (1, 1, 2, 4)
RESNET50 = dict(bottleneck=True, layers=(3, 4, 6, 3))
RESNET10 = dict(bottleneck=False, layers=(1, 1, 1, 1))


def conv(cin, cout, k, stride=1, padding=0, dilation=1):
    return nn.Conv3d(cin, cout, k, stride=stride, padding=padding, dilation=dilation, bias=False)


class Block3d(nn.Module):
    """A whole residual block (residual add and final ReLU included)."""

    def __init__(self, cin, planes, stride=1, dilation=1, bottleneck=True):
        super().__init__()
        self.bottleneck = bottleneck
        d = dilation
        if bottleneck:
            self.conv1 = conv(cin, planes, 1)
            self.bn1 = nn.BatchNorm3d(planes)
            self.conv2 = conv(planes, planes, 3, stride, d, d)
            self.bn2 = nn.BatchNorm3d(planes)
            self.conv3 = conv(planes, planes * 4, 1)
            self.bn3 = nn.BatchNorm3d(planes * 4)
            self.out_planes = planes * 4
        else:
            self.conv1 = conv(cin, planes, 3, stride, d, d)
            self.bn1 = nn.BatchNorm3d(planes)
            self.conv2 = conv(planes, planes, 3, 1, d, d)
            self.bn2 = nn.BatchNorm3d(planes)
            self.out_planes = planes
        self.downsample = None
        if stride != 1 or cin != self.out_planes:
            self.downsample = nn.Sequential(conv(cin, self.out_planes, 1, stride), nn.BatchNorm3d(self.out_planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        if self.bottleneck:
            out = F.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
        else:
            out = self.bn2(self.conv2(out))
        residual = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + residual)


def make_stages(owner, bottleneck, layers):
    """Registers layer1..layer4 on owner; returns the blocks in order."""
    flat = []
    cin = 64
    for stage in range(4):
        blocks = nn.ModuleList()
        for i in range(layers[stage]):
            b = Block3d(cin, PLANES[stage], STRIDES[stage] if i == 0 else 1, DILATIONS[stage], bottleneck)
            cin = b.out_planes
            blocks.append(b)
            flat.append(b)
        setattr(owner, f'layer{stage + 1}', blocks)
    return flat, cin


def stem(module, x):
    return F.max_pool3d(F.relu(module.bn1(module.conv1(x))), 3, 2, 1)


def initialise(module):
    """MedicalNet's init: Conv3d kaiming normal (fan_out, relu), BN 1/0, Linear PyTorch default."""
    for m in module.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ResNet3d(nn.Module):
    def __init__(self, bottleneck=True, layers=(3, 4, 6, 3), in_channels=1, num_classes=1):
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.blocks, width = make_stages(self, bottleneck, layers)
        self.fc = nn.Linear(width, num_classes)
        initialise(self)

    def forward(self, x):
        x = stem(self, x)
        for b in self.blocks:
            x = b(x)
        return self.fc(x.mean(dim=(2, 3, 4)))


class BlockStack(nn.Module):
    def __init__(self, bottleneck, layers):
        super().__init__()
        self.blocks, self.width = make_stages(self, bottleneck, layers)


def gumbel_softmax_hard(logits, tau, generator=None):
    """Straight-through hard Gumbel-softmax over the last axis (as SpotTune's gumbel_softmax.py)."""
    u = torch.rand(logits.shape, generator=generator).to(logits.device)
    g = -torch.log(-torch.log(u + 1e-20) + 1e-20)
    z = logits + g
    soft = F.softmax(z / tau, dim=-1)
    hard = torch.zeros_like(soft).scatter_(-1, z.argmax(-1, keepdim=True), 1.0)
    return (hard - soft).detach() + soft


class SpotTune3d(nn.Module):
    def __init__(self, arch=RESNET50, agent_arch=RESNET10, in_channels=1, num_classes=1):
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.blocks = BlockStack(**arch)
        self.parallel_blocks = BlockStack(**arch)
        self.fc = nn.Linear(self.blocks.width, num_classes)
        n_blocks = len(self.blocks.blocks)
        self.agent = ResNet3d(in_channels=in_channels, num_classes=2 * n_blocks, **agent_arch)
        initialise(self)
        self.parallel_blocks.load_state_dict(self.blocks.state_dict())
        # frozen: the stem and the pretrained copy
        for p in list(self.conv1.parameters()) + list(self.bn1.parameters()) + list(self.blocks.parameters()):
            p.requires_grad_(False)

    @property
    def num_blocks(self):
        return len(self.blocks.blocks)

    def main_parameters(self):
        """What the study's main Adam trains: the fine-tuned copy and the head."""
        return list(self.parallel_blocks.parameters()) + list(self.fc.parameters())

    def agent_logits(self, x):
        return self.agent(x).view(x.shape[0], self.num_blocks, 2)

    def forward(self, x, policy):
        """Both copies of every block, mixed by policy [N, B] (the reference's way)."""
        x = stem(self, x)
        for t, (frozen, tuned) in enumerate(zip(self.blocks.blocks, self.parallel_blocks.blocks)):
            choice = policy[:, t].view(-1, 1, 1, 1, 1).to(x.dtype)
            x = frozen(x) * (1 - choice) + tuned(x) * choice
        return self.fc(x.mean(dim=(2, 3, 4)))


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
