/**
 * Loads MedicalNet `.pth` weights into the study's SpotTune network: the README's second quick start.
 *
 * Run (see examples/README.md): `node dist/examples/load-medicalnet.js [resnet_50.pth]`
 * Given no file, it first writes a stand-in: a freshly initialised ResNet3D-50 saved in MedicalNet's
 * own layout (`{'state_dict': ...}`, DataParallel's `module.` keys, no classifier; docs/study.md
 * section 7), so it runs without the download. Prints the detected architecture, then how many
 * tensors came from the file and how many were initialised (the classifier and the agent).
 *
 * The lines between the `#region readme` markers are the README's snippet, word for word
 * (test/examples.test.ts compares them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// #region readme
import { createSpotTune3d, detectArchitecture, loadMedicalNet, loadPth, stateDictOf } from 'spottune3d';
// #endregion readme
import { createResNet3d, savePth, type StateDict } from 'spottune3d';

/** Writes a MedicalNet-layout ResNet3D-50 checkpoint (184 MB) into `dir`; returns its path. */
async function writeStandIn(dir: string): Promise<string> {
  const path = join(dir, 'resnet_50.pth');
  await using resnet = await createResNet3d({ depth: 50 });
  const medicalnet: StateDict = new Map();
  for (const [name, tensor] of await resnet.stateDict()) if (!name.startsWith('fc.')) medicalnet.set(`module.${name}`, tensor);
  await savePth(path, new Map([['state_dict', medicalnet]]));
  return path;
}

const dir = mkdtempSync(join(tmpdir(), 'spottune-example-'));
try {
  const file = process.argv[2] ?? (await writeStandIn(dir));
  // #region readme

  const sd = stateDictOf(await loadPth(file)); // file: 'resnet_50.pth'; no Python; refuses anything but tensors
  console.log(detectArchitecture(sd).summary); // "MedicalNet resnet50 (bottleneck [3, 4, 6, 3], shortcut B), ..."

  await using net = await createSpotTune3d({ depth: 50 }); // the study's network
  const report = await loadMedicalNet(net, file); // both SpotTune copies, strict
  console.log(report.loaded.length, 'tensors loaded;', report.initialised.length, 'initialised'); // fc.* and agent.*: from scratch
  // #endregion readme
} finally {
  rmSync(dir, { recursive: true, force: true });
}
