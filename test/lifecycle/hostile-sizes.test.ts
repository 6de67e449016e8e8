// Size-like arguments that pass a plain integer check but mean nothing for their input (the
// hostile-input issue: conv3d with padding 2^61 made LibTorch segfault). TS bounds every one before
// a native call and throws a RangeError naming it. The calls run in a child process with a time
// bound: a crash or a runaway allocation fails the test instead of the test runner.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const lib = fileURLToPath(new URL('../../dist/lib/index.js', import.meta.url));

test('huge sizes are RangeErrors naming the argument, before any native call', () => {
  const script = `
    const lib = await import(${JSON.stringify(lib)});
    const seen = async (fn) => {
      try { await fn(); return { ok: true }; }
      catch (e) { return { name: e?.constructor?.name, message: e?.message }; }
    };
    const huge = 2 ** 61;
    const x = lib.Tensor.from(new Float32Array(4 * 4 * 4), [1, 1, 4, 4, 4]);
    const w = lib.Tensor.from(new Float32Array(27), [1, 1, 3, 3, 3]);
    const v = lib.Tensor.from(new Float32Array(4 * 4 * 4), [4, 4, 4]);
    const net = await lib.createSpotTune3d({ depth: 10, agentDepth: 10 });
    const input = new Float32Array(8 ** 3);
    const results = {
      padding: await seen(() => lib.conv3d(x, w, null, { padding: huge })),
      padding3: await seen(() => lib.conv3d(x, w, null, { padding: 3 })),
      stride: await seen(() => lib.conv3d(x, w, null, { stride: huge })),
      dilation: await seen(() => lib.conv3d(x, w, null, { dilation: huge })),
      fits: await seen(() => lib.conv3d(x, w, null, { padding: 4, stride: 12, dilation: 4 })),
      tensorShape: await seen(() => lib.Tensor.from(new Float32Array(0), [huge, 0])),
      elasticPoints: await seen(() => lib.elasticDeform(v, new Float64Array(3), [huge, 1, 1])),
      flipAxes: await seen(() => lib.flip(v, { axes: [huge] })),
      threads: await seen(() => lib.setNumThreads(huge)),
      batch: await seen(() => net.predict(input, [huge, 1, 8, 8, 8])),
      policy: await seen(() => net.predict(input, [1, 1, 8, 8, 8], { policy: new Uint8Array(huge > 0 ? 5 : 0) })),
      noise: await seen(() => net.trainStep(input, [1, 1, 8, 8, 8], new Float32Array(1), { seed: 0, tau: 1, gumbelNoise: new Float32Array(3) })),
    };
    net.dispose();
    console.log(JSON.stringify(results));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(run.signal).toBeNull();
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, { ok?: boolean; name?: string; message?: string }>;
  const range = (name: RegExp) => ({ name: 'RangeError', message: expect.stringMatching(name) });
  expect(out.padding).toMatchObject(range(/options\.padding to be at most 2 /));
  expect(out.padding3).toMatchObject(range(/options\.padding/));
  expect(out.stride).toMatchObject(range(/options\.stride to be at most/));
  expect(out.dilation).toMatchObject(range(/options\.dilation to be at most 4 /));
  expect(out.fits).toEqual({ ok: true });
  expect(out.tensorShape).toMatchObject(range(/shape\[0\]/));
  expect(out.elasticPoints).toMatchObject(range(/points\[0\]/));
  expect(out.flipAxes).toMatchObject(range(/options\.axes\[0\]/));
  expect(out.threads).toMatchObject(range(/\bn\b/));
  expect(out.batch).toMatchObject(range(/shape/));
  expect(out.policy).toMatchObject(range(/policy/));
  expect(out.noise).toMatchObject(range(/gumbelNoise/));
});
