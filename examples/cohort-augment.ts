/**
 * Reads a cohort in the UPENN-GBM layout, one of its NIfTI volumes, and augments it the study's way
 * (docs/study.md section 3), writing the result back as NIfTI: docs/data.md and docs/training.md in
 * one program.
 *
 * Run (see examples/README.md): `node dist/examples/cohort-augment.js [DATA_DIR]`
 * Given no folder, it writes a small synthetic cohort first (in a temporary folder it removes).
 * Prints the cohort's counts, the volume's shape and spacing, each augmentation, and the shape read
 * back from the written file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flip, openCohort, randomNoise, randomRotate, readNifti, synthCohort, writeNifti } from 'spottune3d';

const dir = mkdtempSync(join(tmpdir(), 'spottune-example-'));
try {
  let data = process.argv[2];
  if (!data) {
    data = join(dir, 'NIfTI-files');
    await synthCohort({ out: data, patients: 6, size: 'small', seed: 1 });
  }

  const cohort = await openCohort(data); // the patients the study can use, and why others are left out
  console.log('patients', cohort.patients.length, 'excluded', cohort.excluded.length, 'DTI', cohort.groups.DTI.ids.length);

  const patient = cohort.patients[0];
  const flair = await readNifti(patient.images.FLAIR!); // [nz, ny, nx] as stored, scl_slope applied
  console.log('FLAIR', flair.shape.join('x'), 'spacing', flair.spacing.join('x'), 'stored as', flair.header.dtype);

  // The augmentations work on values in [0, 1], as the prepared cache holds them (docs/data.md).
  let max = 0;
  for (const v of flair.data) if (v > max) max = v;
  const volume = { data: flair.data.map((v) => v / max), shape: flair.shape };
  const flipped = await flip(volume); // all three axes at once (the study)
  const rotated = await randomRotate(volume, { seed: 7 }); // an angle uniform in [-180, 180)
  const noisy = await randomNoise(volume, { seed: 7 }); // + N(0, 0.01), clipped to [0, 1]
  console.log('flip', flipped.image.shape.join('x'), 'rotate', rotated.angleDeg.toFixed(2), 'noise', noisy.image.shape.join('x'));

  const out = join(dir, 'rotated.nii.gz');
  await writeNifti(out, { ...flair, data: rotated.image.data }, { dtype: 'float32' }); // the source's geometry
  console.log('written', (await readNifti(out)).shape.join('x'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
