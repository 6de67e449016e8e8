// A training run in its own process, for train-resume.test.ts. Arguments: OUT_DIR [--resume].
// KILL_AT=epoch:batch makes the process SIGKILL itself right after that step (a crash mid-epoch).
import { createHash } from 'node:crypto';

const [outDir, flag] = process.argv.slice(2);
const lib = await import(new URL('../../dist/lib/index.js', import.meta.url).href);
const shape = [8, 8, 8];
const voxels = 8 * 8 * 8;
const sample = (id, label, k) => ({
  id,
  label,
  load: async () => Float32Array.from({ length: voxels }, (_, i) => ((i * (k + 3)) % 17) / 17 + (label ? 0.2 : 0)),
});
const train = [0, 1, 2, 3, 4, 5].map((k) => sample(`t${k}`, k % 2, k));
const validation = [0, 1, 2, 3].map((k) => sample(`v${k}`, k % 2, k + 10));
const network = await lib.createNetwork({ kind: 'random', depth: 10, seed: 7, learningRate: 1e-3 });
const trainer = new lib.Trainer({
  network,
  train,
  validation,
  shape,
  outDir,
  config: { epochs: 3, batchSize: 2, senThreshold: 0, speThreshold: 0 },
});
const killAt = process.env.KILL_AT?.split(':').map(Number);
trainer.on('step', (s) => {
  if (killAt && s.epoch === killAt[0] && s.batch === killAt[1]) process.kill(process.pid, 'SIGKILL');
});
const result = await trainer.run({ resume: flag === '--resume' });
const hash = createHash('sha256');
for (const [name, t] of await network.stateDict())
  hash.update(name).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
console.log(
  JSON.stringify({
    resumedFrom: result.resumedFrom,
    selectedEpoch: result.selectedEpoch,
    selection: result.selection,
    history: result.history.map(({ seconds, ...r }) => r),
    weights: hash.digest('hex'),
  }),
);
