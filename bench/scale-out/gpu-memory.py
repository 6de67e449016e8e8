"""GPU memory and throughput of concurrent SpotTune3D-50 trainings (PyTorch twin of the study's
network: stem, two copies of the ResNet50 bottlenecks mixed by the policy, a ResNet10 agent,
Gumbel-softmax; REF's layout: strides [1,2,1,1], dilation only in the first block of stages 3-4,
shortcut conv without BN). One training step = forward, BCE loss, backward, two Adam steps.

  python3 gpu-memory.py measure [spottune|resnet] BATCH STEPS   -> one JSON line
  python3 gpu-memory.py scale K BATCH STEPS                     -> K concurrent processes
"""
import json, subprocess, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Bottleneck(nn.Module):
    def __init__(s, cin, planes, stride=1, dilation=1):
        super().__init__()
        s.conv1 = nn.Conv3d(cin, planes, 1, bias=False); s.bn1 = nn.BatchNorm3d(planes)
        s.conv2 = nn.Conv3d(planes, planes, 3, stride, padding=dilation, dilation=dilation, bias=False); s.bn2 = nn.BatchNorm3d(planes)
        s.conv3 = nn.Conv3d(planes, planes * 4, 1, bias=False); s.bn3 = nn.BatchNorm3d(planes * 4)
        s.down = nn.Conv3d(cin, planes * 4, 1, stride, bias=False) if stride != 1 or cin != planes * 4 else None

    def forward(s, x):
        r = s.down(x) if s.down is not None else x
        y = F.relu(s.bn1(s.conv1(x)))
        y = F.relu(s.bn2(s.conv2(y)))
        return F.relu(s.bn3(s.conv3(y)) + r)


class Basic(nn.Module):
    def __init__(s, cin, planes, stride=1, dilation=1):
        super().__init__()
        s.conv1 = nn.Conv3d(cin, planes, 3, stride, padding=dilation, dilation=dilation, bias=False); s.bn1 = nn.BatchNorm3d(planes)
        s.conv2 = nn.Conv3d(planes, planes, 3, padding=1, bias=False); s.bn2 = nn.BatchNorm3d(planes)
        s.down = nn.Sequential(nn.Conv3d(cin, planes, 1, stride, bias=False), nn.BatchNorm3d(planes)) if stride > 1 or dilation > 1 else None

    def forward(s, x):
        r = s.down(x) if s.down is not None else x
        y = F.relu(s.bn1(s.conv1(x)))
        return F.relu(s.bn2(s.conv2(y)) + r)


def stages(block, layers, expansion):
    out, cin = [], 64
    for planes, n, stride, dil in zip([64, 128, 256, 512], layers, [1, 2, 1, 1], [1, 1, 2, 4]):
        for i in range(n):
            out.append(block(cin, planes, stride if i == 0 else 1, dil if i == 0 else 1))
            cin = planes * expansion
    return nn.ModuleList(out), cin


def stem():
    return nn.Sequential(nn.Conv3d(1, 64, 7, 2, 3, bias=False), nn.BatchNorm3d(64), nn.ReLU(), nn.MaxPool3d(3, 2, 1))


class SpotTune(nn.Module):
    def __init__(s, spottune=True):
        super().__init__()
        s.stem = stem()
        s.blocks, c = stages(Bottleneck, [3, 4, 6, 3], 4)
        s.parallel = stages(Bottleneck, [3, 4, 6, 3], 4)[0] if spottune else None
        s.classify = nn.Linear(c, 1)

    def forward(s, x, policy=None):
        x = s.stem(x)
        for t, b in enumerate(s.blocks):
            if policy is None:
                x = b(x)
            else:
                i = policy[:, t].view(-1, 1, 1, 1, 1)
                x = b(x) * (1 - i) + s.parallel[t](x) * i
        return s.classify(F.adaptive_avg_pool3d(x, 1).flatten(1))


class Agent(nn.Module):
    def __init__(s):
        super().__init__()
        s.stem = stem()
        s.blocks, c = stages(Basic, [1, 1, 1, 1], 1)
        s.fc = nn.Linear(c, 32)

    def forward(s, x):
        x = s.stem(x)
        for b in s.blocks:
            x = b(x)
        return s.fc(F.adaptive_avg_pool3d(x, 1).flatten(1))


def measure(kind, batch, steps):
    dev = torch.device('cuda')
    free0, total = torch.cuda.mem_get_info()
    torch.backends.cudnn.benchmark = True
    net = SpotTune(kind == 'spottune').to(dev)
    params = [p for n, p in net.named_parameters() if kind != 'spottune' or n.startswith(('parallel', 'classify'))]
    if kind == 'spottune':
        for n, p in net.named_parameters():
            p.requires_grad = n.startswith(('parallel', 'classify'))
        agent = Agent().to(dev)
        opt2 = torch.optim.Adam(agent.parameters(), lr=1e-4, weight_decay=1e-8)
    opt = torch.optim.Adam(params, lr=1e-5, weight_decay=1e-8)
    x = torch.randn(batch, 1, 70, 86, 86, device=dev)
    y = torch.randint(0, 2, (batch, 1), device=dev).float()
    times = []
    for step in range(steps):
        torch.cuda.synchronize(); t = time.perf_counter()
        if kind == 'spottune':
            logits = agent(x).view(batch, 16, 2)
            policy = F.gumbel_softmax(logits, tau=5, hard=True)[:, :, 1]
            loss = F.binary_cross_entropy_with_logits(net(x, policy), y)
            opt.zero_grad(); opt2.zero_grad(); loss.backward(); opt.step(); opt2.step()
        else:
            loss = F.binary_cross_entropy_with_logits(net(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
        torch.cuda.synchronize(); times.append(time.perf_counter() - t)
    free1, _ = torch.cuda.mem_get_info()
    steady = times[2:] or times
    return {
        'kind': kind, 'batch': batch, 'steps': steps,
        'max_allocated_gib': torch.cuda.max_memory_allocated() / 2**30,
        'max_reserved_gib': torch.cuda.max_memory_reserved() / 2**30,
        'device_used_by_process_gib': (free0 - free1) / 2**30,
        'step_s': sum(steady) / len(steady),
        'params_m': sum(p.numel() for p in net.parameters()) / 1e6 + (sum(p.numel() for p in agent.parameters()) / 1e6 if kind == 'spottune' else 0),
        'gpu_total_gib': total / 2**30, 'torch': torch.__version__, 'gpu': torch.cuda.get_device_name(0),
    }


if __name__ == '__main__':
    mode = sys.argv[1]
    if mode == 'measure':
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))), flush=True)
    elif mode == 'scale':
        k, batch, steps = int(sys.argv[2]), sys.argv[3], sys.argv[4]
        t = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, __file__, 'measure', 'spottune', batch, steps], stdout=subprocess.PIPE, text=True) for _ in range(k)]
        outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        step = sum(o['step_s'] for o in outs) / k
        print(json.dumps({'concurrent': k, 'mean_step_s': step, 'samples_per_s': k * int(batch) / step, 'wall_s': time.perf_counter() - t,
                          'max_allocated_gib_each': max(o['max_allocated_gib'] for o in outs)}), flush=True)
