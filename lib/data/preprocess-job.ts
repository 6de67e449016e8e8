/**
 * One patient's preprocessing job: read the mask once, then each modality -> preprocess -> .npy.
 * Runs in a worker thread (preprocess-worker.ts) or in-process; internal.
 * @module
 */
import type { CropBox, PreprocessConfig } from '../config/data.js';
import { readNiftiRaw, type NiftiRawVolume } from '../io/nifti.js';
import { writeNpy } from '../io/npy.js';
import { maskRegion, preprocessVolume, type MaskRegion, type SkipCode } from './preprocess/index.js';

export interface PatientJob {
  id: string;
  maskPath: string;
  box: CropBox;
  config: PreprocessConfig;
  items: Array<{ modality: string; imagePath: string; outPath: string }>;
}

/**
 * One modality's outcome. A failure's `error` is the code of the error behind a 'read-error' (a
 * NiftiError's ERR_NIFTI_*, a system error's ENOENT..., or ERR_PREPARE_WORKER when the worker
 * thread died), so a cohort's unreadable files can be told apart.
 */
export type ItemResult =
  | { id: string; modality: string; ok: true; decoded: number }
  | { id: string; modality: string; ok: false; code: SkipCode; reason: string; error?: string; decoded: number };

/** The code of a thrown value, when it has one. */
function codeOf(err: unknown): { error?: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { error: code } : {};
}

/** Runs a job, reporting each modality as it finishes. Never throws for bad data or unreadable files. */
export async function runPatientJob(job: PatientJob, report: (r: ItemResult) => void, aborted: () => boolean = () => false): Promise<void> {
  let mask: (NiftiRawVolume & { region: MaskRegion }) | undefined;
  let maskError: { reason: string; error?: string } | undefined;
  let decoded = 0;
  const writes: Promise<void>[] = [];
  try {
    const m = await readNiftiRaw(job.maskPath);
    mask = Object.assign(m, { region: maskRegion(m.data, m.shape) }); // where the tumour is: once for every modality
    decoded++;
  } catch (err) {
    maskError = { reason: `cannot read the mask ${job.maskPath}: ${(err as Error).message}`, ...codeOf(err) };
  }
  // the next image inflates on libuv's thread pool while this one is preprocessed
  const read = (path: string) =>
    readNiftiRaw(path).then(
      (image) => ({ image }),
      (err: Error) => ({ err }),
    );
  let next = mask && job.items.length > 0 ? read(job.items[0].imagePath) : undefined;
  for (const [k, item] of job.items.entries()) {
    if (aborted()) break;
    const base = { id: job.id, modality: item.modality };
    if (!mask) {
      report({ ...base, ok: false, code: 'read-error', ...maskError!, decoded });
      decoded = 0;
      continue;
    }
    const got = await next!;
    next = k + 1 < job.items.length && !aborted() ? read(job.items[k + 1].imagePath) : undefined;
    if ('err' in got) {
      report({
        ...base,
        ok: false,
        code: 'read-error',
        reason: `cannot read ${item.imagePath}: ${got.err.message}`,
        ...codeOf(got.err),
        decoded,
      });
      decoded = 0;
      continue;
    }
    const image = got.image;
    decoded++;
    // stored voxels straight in: scaled integers become float32 (as SimpleITK reads them), others keep their type for img_as_float
    const result = preprocessVolume(
      { data: image.stored, shape: image.shape, sourceDtype: image.header.dtype, slope: image.slope, inter: image.inter },
      mask,
      job.box,
      job.config,
    );
    if (result.ok) {
      // the write (fsync, rename) overlaps the next volume's work
      const d = decoded;
      const write = writeNpy(item.outPath, result.data, result.shape).then(() => report({ ...base, ok: true, decoded: d }));
      write.catch(() => {}); // observed now, rethrown by Promise.all below: no unhandled rejection meanwhile
      writes.push(write);
    } else {
      report({ ...base, ok: false, code: result.code, reason: result.reason, decoded });
    }
    decoded = 0;
  }
  await next; // an aborted job leaves no read running
  await Promise.all(writes);
}
