#!/usr/bin/python3
"""The PyTorch / scipy / nibabel side of the benchmarks: a worker driven by bench/run.mjs.

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.
  {"op": "setup", "case": NAME, "params": {...}} -> {"ok": true, "info": {...}}
  {"op": "run"}                                  -> {"ok": true, "ms": wall milliseconds of one repetition}
  {"op": "peak"}                                 -> {"ok": true, "vmhwm_kb": ..., "vmrss_kb": ..., "cuda_peak_bytes": ...}
  {"op": "exit"}
Failures reply {"ok": false, "error": "..."}; the worker keeps serving.

Every case does the same work as bench/ours.mjs's case of the same name; run.mjs alternates the two.
"""
import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import models  # noqa: E402


def read_status():
    out = {}
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(('VmHWM:', 'VmRSS:')):
                key, value = line.split(':', 1)
                out[key.lower() + '_kb'] = int(value.split()[0])
    return out


class Case:
    """setup() once, then run() per repetition; run() returns after the work is complete."""

    def __init__(self, params):
        self.p = params
        self.device = torch.device(params.get('device', 'cpu'))
        self.amp = params.get('amp') == 'bf16'
        self.channels_last = bool(params.get('channelsLast'))
        self.info = {}

    def sync(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize()

    def autocast(self):
        if self.amp:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return torch.autocast(self.device.type, enabled=False)

    def volume(self, batch, shape, seed=1):
        """The batch in host memory, as a data loader hands it over (never timed)."""
        g = torch.Generator().manual_seed(seed)
        self.host = torch.rand((batch, 1, *shape), generator=g)
        return self.host

    @property
    def x(self):
        """The batch on the device, moved from host memory at every step as ours is."""
        x = self.host.to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return x

    def place(self, module):
        module = module.to(self.device)
        if self.channels_last:
            module = module.to(memory_format=torch.channels_last_3d)
        return module


class SpotTuneTrain(Case):
    """One training step: agent, hard Gumbel policy, both copies, BCE, backward, both Adam steps."""

    def setup(self):
        p = self.p
        torch.manual_seed(p.get('seed', 42))
        self.model = self.place(models.spottune50()).train()
        self.opt = torch.optim.Adam(models.main_parameters(self.model), lr=p.get('lr', 1e-5), weight_decay=p.get('weightDecay', 1e-8))
        self.agent_opt = torch.optim.Adam(self.model.agent.parameters(), lr=p.get('agentLr', 1e-4), weight_decay=p.get('agentWeightDecay', 1e-8))
        self.volume(p['batch'], p['shape'])
        self.y = (torch.arange(p['batch']) % 2).float().view(-1, 1).to(self.device)
        self.tau = p.get('tau', 100.0)
        self.gen = torch.Generator().manual_seed(7)
        fwd, bwd = models.count_flops(self.model, self.step)
        self.opt.zero_grad(set_to_none=True)
        self.agent_opt.zero_grad(set_to_none=True)
        self.info = {'flops': fwd + bwd, 'forwardFlops': fwd}

    def step(self):
        with self.autocast():
            x = self.x
            logits = self.model.agent_logits(x)
            policy = models.gumbel_policy(logits, self.tau, self.gen)
            if self.amp:
                policy = policy.to(torch.bfloat16)  # keeps the mix in bf16, as ours does
            out = self.model(x, policy)
            loss = F.binary_cross_entropy_with_logits(out.float(), self.y)
        self.opt.zero_grad(set_to_none=True)
        self.agent_opt.zero_grad(set_to_none=True)
        loss.backward()
        return loss

    def run(self):
        self.step()
        self.opt.step()
        self.agent_opt.step()
        self.sync()


class SpotTunePredict(Case):
    """Eval-mode prediction: agent, hard Gumbel policy, then BOTH copies of every block (the study's way)."""

    def setup(self):
        p = self.p
        torch.manual_seed(p.get('seed', 42))
        self.model = self.place(models.spottune50()).eval()
        self.volume(p['batch'], p['shape'])
        self.gen = torch.Generator().manual_seed(7)
        with torch.no_grad():
            fwd, _ = models.count_flops(self.model, self.predict)
        self.info = {'flops': fwd}

    def predict(self):
        with self.autocast():
            x = self.x
            logits = self.model.agent_logits(x)
            policy = models.gumbel_policy(logits, 1.0, self.gen)
            if self.amp:
                policy = policy.to(torch.bfloat16)
            return torch.sigmoid(self.model(x, policy).float())

    def run(self):
        with torch.no_grad():
            self.predict()
        self.sync()


class ResNetForward(Case):
    def setup(self):
        torch.manual_seed(self.p.get('seed', 42))
        self.model = self.place(models.resnet50()).eval()
        self.volume(self.p['batch'], self.p['shape'])
        with torch.no_grad():
            fwd, _ = models.count_flops(self.model, self.forward)
        self.info = {'flops': fwd}

    def forward(self):
        with self.autocast():
            return self.model(self.x)

    def run(self):
        with torch.no_grad():
            self.forward()
        self.sync()


class ResNetTrain(Case):
    """One training step of ResNet3D-50 (all parameters trained): BCE, backward, Adam."""

    def setup(self):
        p = self.p
        torch.manual_seed(p.get('seed', 42))
        self.model = self.place(models.resnet50()).train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=p.get('lr', 1e-5), weight_decay=p.get('weightDecay', 1e-8))
        self.volume(p['batch'], p['shape'])
        self.y = (torch.arange(p['batch']) % 2).float().view(-1, 1).to(self.device)
        fwd, bwd = models.count_flops(self.model, self.step)
        self.opt.zero_grad(set_to_none=True)
        self.info = {'flops': fwd + bwd, 'forwardFlops': fwd}

    def step(self):
        with self.autocast():
            loss = F.binary_cross_entropy_with_logits(self.model(self.x).float(), self.y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()

    def run(self):
        self.step()
        self.opt.step()
        self.sync()


class Augment(Case):
    """Rotation (linear, (D, H) plane) then elastic deformation (nearest, 3x3x3 grid, sigma 5) of a
    [D, H, W] float32 volume with scipy.ndimage, as scripts/fixtures/augment/reference.py does."""

    def setup(self):
        sys.path.insert(0, os.path.join(HERE, '..', '..', 'scripts', 'fixtures', 'augment'))
        import reference as aug  # the training engineer's scipy/skimage reference
        self.aug = aug
        rng = np.random.default_rng(3)
        self.image = rng.random(self.p['shape'], dtype=np.float64).astype(np.float32)
        self.angle = float(self.p.get('angleDeg', 37.0))
        self.displacement = np.asarray(self.p['displacement'], dtype=np.float64)
        self.points = [self.p.get('points', 3)] * 3

    def run(self):
        rotated = self.aug.rotate(self.image, self.angle, (0, 1), 1, 'scipy')
        self.aug.elastic(rotated, self.displacement, self.points, 0)


class Preprocess(Case):
    """Decode a NIfTI image and its tumour mask, then the study's preprocessing: mask, crop, skimage
    rescale(0.5) (Gaussian anti-aliasing, linear zoom, mirror), min-max to [0, 1], pad to 70x86x86.
    Uses the data area's reference (scripts/fixtures/data/preprocess-reference.py)."""

    def setup(self):
        import importlib.util
        path = os.path.join(HERE, '..', '..', 'scripts', 'fixtures', 'data', 'preprocess-reference.py')
        spec = importlib.util.spec_from_file_location('preprocess_reference', path)
        self.ref = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.ref)
        self.files = self.p['files']  # [[image, mask], ...]
        self.crop = self.p.get('crop', [[0, 140], [39, 211], [44, 208]])
        self.scale = self.p.get('scale', 0.5)
        self.pad_to = self.p.get('padTo', [70, 86, 86])

    def run(self):
        for image_path, mask_path in self.files:
            image, mask = self.ref.load_as_sitk(image_path), self.ref.load_as_sitk(mask_path)
            self.ref.pipeline(image, mask, self.crop, self.scale, self.pad_to).astype(np.float32)


CASES = {
    'spottune-train': SpotTuneTrain,
    'spottune-predict': SpotTunePredict,
    'resnet-forward': ResNetForward,
    'resnet-train': ResNetTrain,
    'augment': Augment,
    'preprocess': Preprocess,
}


def main():
    threads = int(os.environ.get('BENCH_THREADS', '0'))
    if threads > 0:
        torch.set_num_threads(threads)
    case = None
    reply = lambda obj: (sys.stdout.write(json.dumps(obj) + '\n'), sys.stdout.flush())
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        op = msg.get('op')
        try:
            if op == 'exit':
                break
            if op == 'hello':
                reply({'ok': True, 'info': {
                    'torch': torch.__version__, 'threads': torch.get_num_threads(), 'python': sys.version.split()[0],
                    'cuda': torch.cuda.is_available(),
                    'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                }})
            elif op == 'setup':
                params = msg.get('params', {})
                if params.get('device', 'cpu') == 'cuda':
                    # LibTorch's defaults, which our side runs with: cuDNN may use TF32 for float32
                    # convolutions, matmuls may not; cudnn.benchmark off unless asked
                    if 'tf32' in params:
                        torch.backends.cuda.matmul.allow_tf32 = bool(params['tf32'])
                        torch.backends.cudnn.allow_tf32 = bool(params['tf32'])
                    torch.backends.cudnn.benchmark = bool(params.get('cudnnBenchmark', False))
                case = CASES[msg['case']](params)
                t = time.perf_counter()
                case.setup()
                info = dict(case.info)
                info['setupMs'] = (time.perf_counter() - t) * 1e3
                reply({'ok': True, 'info': info})
            elif op == 'run':
                t = time.perf_counter()
                case.run()
                reply({'ok': True, 'ms': (time.perf_counter() - t) * 1e3})
            elif op == 'peak':
                out = read_status()
                if torch.cuda.is_available():
                    out['cuda_peak_bytes'] = torch.cuda.max_memory_allocated()
                reply({'ok': True, **out})
            else:
                reply({'ok': False, 'error': f'unknown op {op}'})
        except Exception as e:  # keep serving: the harness reports the failure for this case
            reply({'ok': False, 'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-2000:]})


if __name__ == '__main__':
    main()
