/**
 * Trains a 3D ResNet from TypeScript for a few steps, then predicts: the README's first quick start.
 *
 * Run (see examples/README.md): `node dist/examples/train-resnet.js`
 * Prints `step <k> loss <x>` for each step, then `probabilities <p0> <p1>`.
 *
 * The lines between the `#region readme` markers are the README's snippet, word for word
 * (test/examples.test.ts compares them).
 */
// #region readme
import { createResNet3d, setNumThreads } from 'spottune3d';

setNumThreads(2);
const net = await createResNet3d({ depth: 18, device: 'cpu' }); // or 'cuda', 'cuda:1'
const shape = [2, 1, 16, 24, 24]; // [N, C, D, H, W]
const x = new Float32Array(2 * 16 * 24 * 24).fill(0.5);
for (let step = 0; step < 3; step++) {
  // BCE, one Adam step; tau is SpotTune's Gumbel-softmax temperature, which a ResNet ignores
  const { loss } = await net.trainStep(x, shape, new Float32Array([1, 0]), { seed: step, tau: 1 });
  console.log('step', step, 'loss', loss.toFixed(4));
}
const { probabilities } = await net.predict(x, shape);
console.log('probabilities', ...Array.from(probabilities, (p) => p.toFixed(4)));
net.dispose(); // or `await using net = ...`
// #endregion readme
