// Garbage into every native entry point, in a child process: the child must end normally, having
// seen only JS exceptions. A segfault or abort would show as a signal or a non-zero exit.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const addon = fileURLToPath(new URL('../../dist/lib/native/binding.js', import.meta.url));

test('no argument to the raw binding can crash the process', () => {
  const script = `
    const { native } = await import(${JSON.stringify(addon)});
    const b = native();
    const garbage = [undefined, null, 0, -1, 1.5, NaN, 'x', 'cuda:99', {}, [], [-1], [1e20], [1, 'a'],
      new Float32Array(3), new Uint16Array(2), () => 1, Symbol('s'), 10n];
    let thrown = 0, calls = 0;
    const fns = ['runtime', 'setNumThreads', 'manualSeed', 'conv3d'].map((k) => [k, b[k]]);
    fns.push(['fromArray', b.NativeTensor.fromArray]);
    const t = b.NativeTensor.fromArray(new Float32Array(4), [4], null);
    for (const m of ['to', 'data', 'dataSync', 'shape', 'dtype', 'device', 'dispose'])
      fns.push([m, (...a) => t[m](...a)]);
    for (const [name, fn] of fns) {
      for (const a of garbage) for (const c of garbage.slice(0, 10)) {
        calls++;
        try { const r = fn(a, c, a); if (r && typeof r.then === 'function') await r.catch(() => thrown++); }
        catch (e) { if (!(e instanceof Error)) throw new Error(name + ' threw a non-Error'); thrown++; }
      }
    }
    try { new b.NativeTensor().shape(); } catch { thrown++; }
    console.log(JSON.stringify({ calls, thrown }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(run.signal).toBeNull();
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const { calls, thrown } = JSON.parse(run.stdout.trim().split('\n').pop()!);
  expect(calls).toBeGreaterThan(1000);
  expect(thrown).toBeGreaterThan(100); // the bad calls were refused, not silently accepted
});

test('tensors left to the garbage collector are freed', () => {
  // 1500 x 4 MB = 6 GB if finalizers did not release LibTorch memory
  const script = `
    const { native } = await import(${JSON.stringify(addon)});
    const b = native();
    for (let i = 0; i < 1500; i++) {
      b.NativeTensor.fromArray(new Float32Array(1 << 20), [1 << 20], null);
      if (i % 50 === 0) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
    }
    globalThis.gc();
    console.log(process.memoryUsage().rss);
  `;
  const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(run.status).toBe(0);
  expect(Number(run.stdout.trim())).toBeLessThan(1.5e9);
});

test('a worker thread ended in the middle of a training step takes neither the process nor the network thread with it', () => {
  const lib = fileURLToPath(new URL('../../dist/lib/index.js', import.meta.url));
  const worker = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(lib)}).then(async (lib) => {
      const net = await lib.createSpotTune3d({ depth: 10, agentDepth: 10 });
      parentPort.postMessage('ready');
      // steps back to back: the end lands inside a step or inside a native call's entry
      for (;;) await net.trainStep(new Float32Array(2 * 24 ** 3).fill(0.5), [2, 1, 24, 24, 24], new Float32Array([1, 0]), { seed: 1, tau: 100 });
    });`;
  const script = `
    import { Worker } from 'node:worker_threads';
    import { readFileSync } from 'node:fs';
    const threads = () => Number(/Threads:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
    const counts = [];
    for (const delay of [0, 1, 5, 10, 30, 60]) {
      const w = new Worker(${JSON.stringify(worker)}, { eval: true, execArgv: [] });
      await new Promise((resolve) => w.on('message', resolve));
      await new Promise((resolve) => setTimeout(resolve, delay)); // the step is running
      await w.terminate();
      for (let i = 0; i < 200 && threads() > (counts[0] ?? Infinity); i++) await new Promise((r) => setTimeout(r, 25));
      counts.push(threads());
    }
    const lib = await import(${JSON.stringify(lib)});
    const net = await lib.createResNet3d({ depth: 10 });
    const out = await net.predict(new Float32Array(16 ** 3), [1, 1, 16, 16, 16]);
    console.log(JSON.stringify({ counts, probabilities: out.probabilities.length }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 240_000 });
  expect(run.signal, run.stderr).toBeNull();
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const { counts, probabilities } = JSON.parse(run.stdout.trim().split('\n').pop()!);
  expect(probabilities).toBe(1); // the main thread's networks still work
  expect(counts.at(-1)).toBe(counts[0]); // the ended workers' network threads are gone, not piling up
});

test('process.exit in the middle of a training step ends the process with its code, not a segfault', () => {
  const lib = fileURLToPath(new URL('../../dist/lib/index.js', import.meta.url));
  // The exit timer is half a measured step, so it lands inside the step however loaded the
  // machine is; the child reports whether the step was still pending when the timer fired.
  const script = (midStep: boolean) => `
    const lib = await import(${JSON.stringify(lib)});
    const net = await lib.createSpotTune3d({ depth: 10, agentDepth: 10 });
    const input = new Float32Array(2 * 24 ** 3).fill(0.5);
    const train = () => net.trainStep(input, [2, 1, 24, 24, 24], new Float32Array([1, 0]), { seed: 1, tau: 100 });
    await train(); // the first step also builds oneDNN's kernels: time the second
    const started = performance.now();
    await train();
    const stepMs = performance.now() - started;
    process.on('exit', () => console.log('listener ran'));
    let settled = false;
    const step = train().then(() => (settled = true));
    if (!${midStep}) await step;
    setTimeout(() => {
      console.log(settled ? 'timer after the step' : 'timer inside the step');
      process.exit(3);
    }, Math.max(1, stepMs / 2));
  `;
  for (const midStep of [true, false]) {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script(midStep)], { encoding: 'utf8', timeout: 120_000 });
    expect(run.signal, `mid-step ${midStep}`).toBeNull();
    expect(run.status, `mid-step ${midStep}: ${run.stderr}`).toBe(3);
    if (midStep) {
      expect(run.stdout).toContain('timer inside the step');
      // The addon's listener ended the process at once: listeners added after it never ran.
      expect(run.stdout).not.toContain('listener ran');
    } else {
      expect(run.stdout).toContain('timer after the step');
      // With nothing running, exit goes on as usual, later listeners included.
      expect(run.stdout).toContain('listener ran');
    }
  }
});
