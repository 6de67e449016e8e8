/**
 * The prepared-volume cache: each patient's modalities preprocessed once, written atomically as
 * float32 `.npy` files, keyed by the source files' identity and the preprocessing parameters, and
 * reused on later runs without decoding any NIfTI. Work runs in worker threads, reports progress,
 * and can be interrupted and resumed.
 *
 * Layout (the contract other areas read):
 * - `manifest.json`: `{ format, version, complete, shape, params, patients: [{ id, label, modalities }],
 *   skipped: [{ id, modality, code, reason, error? }], entries }`;
 * - `<ID>_<MODALITY>.npy` (lib/io/npy.ts): float32, C order, shape `shape` ([D, H, W]), values in [0, 1].
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { MODALITIES, type CropBox, type Modality, type PreprocessConfig, type PreprocessOptions } from '../config/data.js';
import { readNifti, type NiftiVolume } from '../io/nifti.js';
import { readNpy } from '../io/npy.js';
import { removeStaleTemporaries, writeJsonAtomic } from '../util/atomic.js';
import { packageRoot } from '../util/package-root.js';
import { checkInteger, describeValue } from '../util/validate.js';
import { openCohort, type Cohort } from './cohort.js';
import { runPatientJob, type ItemResult, type PatientJob } from './preprocess-job.js';
import { preparedShape, presetCropBox, resolvePreprocess, tumourBox, unionBox, type Shape3 } from './preprocess/index.js';

const log = debuglog('spottune:data');
const CACHE_FORMAT = 'spottune3d-prepared-cohort';
/** Bump when the preprocessing code changes its output, so old caches are recomputed. */
const CACHE_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// The manifest

/** One patient of a prepared cohort. */
export interface PreparedPatient {
  id: string;
  /** 1 = methylated, 0 = unmethylated. */
  label: 0 | 1;
  /** Modalities with a prepared file, in the study's channel order. */
  modalities: Modality[];
}

/** A skipped volume and why (empty mask, NaN/Inf, constant, shape mismatch, unreadable file). */
export interface SkippedVolume {
  id: string;
  modality: Modality;
  code: string;
  reason: string;
  /**
   * For code 'read-error': the code of the error behind it, e.g. ERR_NIFTI_FORMAT (a NiftiError),
   * ENOENT, or ERR_PREPARE_WORKER (the worker thread preparing the patient died: out of memory,
   * a fatal error or an exit; the patient's volumes not yet reported carry it).
   */
  error?: string;
}

interface Entry {
  key: string;
  file?: string;
  skipped?: { code: string; reason: string };
}

/** The `manifest.json` of a cache directory. */
export interface CacheManifest {
  format: typeof CACHE_FORMAT;
  version: number;
  /** False while a run is in progress or after an interrupted one. */
  complete: boolean;
  /** [D, H, W] of every file. */
  shape: Shape3;
  /** Resolved preprocessing parameters, with the crop box used. */
  params: PreprocessConfig & { cropBox: CropBox };
  /** The cohort root the volumes came from. */
  source: string;
  patients: PreparedPatient[];
  skipped: SkippedVolume[];
  /** Per patient and modality: the cache key and the file (or why it was skipped). */
  entries: Record<string, Partial<Record<Modality, Entry>>>;
  /** The cohort-derived crop box ('tumour'), keyed by the masks it came from. */
  tumourBox?: { key: string; box: CropBox };
}

/** A prepared cohort: what training reads. */
export interface PreparedCohort {
  dir: string;
  /** [D, H, W] of every volume. */
  shape: Shape3;
  params: CacheManifest['params'];
  /** Patients with at least one prepared modality, sorted by ID. */
  patients: PreparedPatient[];
  skipped: SkippedVolume[];
  /** Path of a prepared file. */
  path(id: string, modality: Modality): string;
  /** Loads one volume: contiguous [D, H, W] float32 in [0, 1]. Rejects when it was not prepared. */
  load(id: string, modality: Modality): Promise<Float32Array>;
}

function fileName(id: string, modality: string): string {
  return `${id}_${modality}.npy`;
}

/**
 * Opens a cache directory written by {@link prepareCohort}.
 * @throws Error when there is no manifest, it is from another format/version, or the run that
 *   wrote it did not complete (run prepare again to resume it).
 * @example
 * const cache = await openCache('/data/cache');
 * const t2 = await cache.load(cache.patients[0].id, 'T2'); // Float32Array of 70*86*86
 */
export async function openCache(dir: string): Promise<PreparedCohort> {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new TypeError(`Expected a directory path for dir but received ${describeValue(dir)}`);
  dir = resolve(dir);
  const manifest = await readManifest(dir);
  if (!manifest) throw new Error(`${dir}: no ${CACHE_FORMAT} manifest.json; run \`spottune data prepare --out ${dir}\` first`);
  if (!manifest.complete) throw new Error(`${dir}: the cache is incomplete (an interrupted prepare); run prepare again to resume it`);
  const byId = new Map(manifest.patients.map((p) => [p.id, p]));
  const shape = manifest.shape;
  const size = shape[0] * shape[1] * shape[2];
  return {
    dir,
    shape,
    params: manifest.params,
    patients: manifest.patients,
    skipped: manifest.skipped,
    path: (id, modality) => join(dir, fileName(id, modality)),
    async load(id, modality) {
      const p = byId.get(id);
      if (!p) throw new RangeError(`Unknown patient ${JSON.stringify(id)} in the cache at ${dir}`);
      if (!p.modalities.includes(modality)) {
        const skip = manifest.skipped.find((s) => s.id === id && s.modality === modality);
        throw new RangeError(
          `${id} has no prepared ${modality}${skip ? ` (skipped: ${skip.reason})` : ''}; it has ${p.modalities.join(', ') || 'none'}`,
        );
      }
      const { data, shape: got } = await readNpy(join(dir, fileName(id, modality)));
      if (data.length !== size || got.some((n, i) => n !== shape[i]))
        throw new Error(`${join(dir, fileName(id, modality))}: shape [${got.join(', ')}] differs from the cache's [${shape.join(', ')}]`);
      return data;
    },
  };
}

async function readManifest(dir: string): Promise<CacheManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    return undefined;
  }
  const m = JSON.parse(text) as CacheManifest;
  if (m.format !== CACHE_FORMAT) throw new Error(`${dir}/manifest.json is not a ${CACHE_FORMAT} manifest`);
  return m.version === CACHE_VERSION ? m : undefined; // an older cache: everything is recomputed
}

// ---------------------------------------------------------------------------------------------
// prepareCohort

/** A progress event: one per volume (prepared, reused from the cache, or skipped). */
export interface PrepareProgress {
  done: number;
  total: number;
  id: string;
  modality: Modality;
  status: 'prepared' | 'reused' | 'skipped';
  reason?: string;
}

/** Options of {@link prepareCohort}: where the cache goes, what to prepare and how. */
export interface PrepareOptions {
  /** Cache directory. */
  out: string;
  /** Preprocessing parameters (PreprocessSchema; defaults: the paper's). The mask choice is the cohort's when a Cohort is passed. */
  preprocess?: PreprocessOptions;
  /** Modalities to prepare (default all eleven). */
  modalities?: readonly Modality[];
  /** Worker threads (default: CPUs - 1, at most 8); 0 runs in this thread. */
  workers?: number;
  /** Stops dispatching work; finished volumes stay cached and a later run resumes. */
  signal?: AbortSignal;
  /** Called once per volume, as it is prepared, reused from the cache or skipped. */
  onProgress?: (event: PrepareProgress) => void;
}

/** What {@link prepareCohort} did: the cache's manifest and counts of volumes by outcome. */
export interface PrepareResult {
  /** The cache directory, absolute. */
  dir: string;
  /** The manifest written to `dir/manifest.json`. */
  manifest: CacheManifest;
  /** Volumes preprocessed by this run. */
  prepared: number;
  /** Volumes taken from the cache (same source file and parameters), skips recorded by an earlier run included. */
  reused: number;
  /** Volumes this run could not prepare; the manifest's `skipped` lists every skip with its reason. */
  skipped: number;
  /** NIfTI files decoded by this run (0 when everything came from the cache). */
  decoded: number;
  /** True when `signal` stopped the run before the end (the manifest says complete: false). */
  interrupted: boolean;
}

async function identity(path: string): Promise<{ path: string; size: number; mtimeMs: number }> {
  const s = await stat(path);
  return { path: resolve(path), size: s.size, mtimeMs: Math.trunc(s.mtimeMs) };
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

/** The worker script: the compiled sibling, or dist/ when running from TypeScript sources. */
function workerScript(): string | undefined {
  const sibling = new URL('./preprocess-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return fileURLToPath(sibling);
  try {
    const built = join(packageRoot(), 'dist', 'lib', 'data', 'preprocess-worker.js');
    if (existsSync(built)) return built;
  } catch {
    /* not inside the package */
  }
  return undefined;
}

/**
 * Preprocesses a cohort into a cache directory (see the module doc for the layout). Volumes whose
 * key (source path, size, mtime of image and mask, parameters, cache version) is already in the
 * manifest are reused without decoding; the rest are prepared in worker threads and written
 * atomically, and the manifest is rewritten as work completes, so an interrupted run resumes.
 *
 * @param cohort A cohort from {@link openCohort}, or its root directory.
 * @throws RangeError for inconsistent parameters (padTo smaller than the rescaled crop);
 *   Error when a worker fails to write. A worker thread that dies (out of memory, a fatal error,
 *   an exit) fails only the volumes of the patient it was preparing: they are skipped with code
 *   'read-error' and error ERR_PREPARE_WORKER, and a new worker takes the remaining patients.
 * @example
 * const result = await prepareCohort('/data/NIfTI-files', { out: '/data/cache', onProgress: (e) => console.log(e.done, e.total) });
 */
export async function prepareCohort(cohort: Cohort | string, options: PrepareOptions): Promise<PrepareResult> {
  if (typeof options !== 'object' || options === null || typeof options.out !== 'string')
    throw new TypeError(`Expected options.out to be a directory path but received ${describeValue(options?.out)}`);
  const c = typeof cohort === 'string' ? await openCohort(cohort, { mask: options.preprocess?.mask }) : cohort;
  const config = resolvePreprocess({ ...options.preprocess, mask: c.maskSource });
  const workers = checkInteger(options.workers ?? Math.min(8, Math.max(1, availableParallelism() - 1)), 'options.workers', {
    min: 0,
    max: 64,
  });
  const modalities = options.modalities ?? ((c.modalities ?? MODALITIES) as readonly Modality[]);
  // the cohort's own modality names (a layout other than UPENN-GBM names them); the study's otherwise
  const known = (c.modalities ?? MODALITIES) as readonly string[];
  for (const m of modalities)
    if (!known.includes(m))
      throw new RangeError(`Unknown modality ${describeValue(m)} in options.modalities; expected some of ${known.join(', ')}`);
  const dir = resolve(options.out);
  const previous = await readManifest(dir);
  // volumes of a killed prepare (kill -9 mid-write) leave .<ID>_<MODALITY>.npy.<pid>.<hex>.tmp files
  await removeStaleTemporaries(dir);
  let decoded = 0;

  // The crop box: a preset, an explicit box, or the cohort's tumour extent (cached by mask identity).
  let box: CropBox;
  let tumour: CacheManifest['tumourBox'];
  if (config.crop === 'tumour') {
    const ids = await Promise.all(c.patients.map((p) => identity(p.mask)));
    const key = hash({ v: CACHE_VERSION, masks: ids, margin: config.cropMargin });
    if (previous?.tumourBox?.key === key) box = previous.tumourBox.box;
    else {
      const boxes: CropBox[] = [];
      let shape: Shape3 | undefined;
      for (const p of c.patients) {
        let m: NiftiVolume;
        try {
          m = await readNifti(p.mask);
        } catch (err) {
          // its patient's job reads the mask again and records the failure per volume
          log('%s: mask %s left out of the tumour box: %s', p.id, p.mask, (err as Error).message);
          continue;
        }
        decoded++;
        shape ??= m.shape;
        const b = tumourBox(m.data, m.shape);
        if (b) boxes.push(b);
      }
      const u = shape && unionBox(boxes, shape, config.cropMargin);
      if (!u) throw new Error(`${c.root}: no tumour voxel in any mask; cannot compute crop 'tumour'`);
      box = u;
    }
    tumour = { key, box };
  } else box = presetCropBox(config.crop);
  const shape = preparedShape(box, config);
  const params = { ...config, cropBox: box };
  const paramsKey = hash({ v: CACHE_VERSION, params });

  // Plan: what is cached, what must be computed.
  const entries: CacheManifest['entries'] = {};
  const jobs: PatientJob[] = [];
  const results = new Map<string, ItemResult | 'reused'>();
  let total = 0;
  for (const p of c.patients) {
    const mask = await identity(p.mask);
    const items: PatientJob['items'] = [];
    entries[p.id] = {};
    for (const m of modalities) {
      const image = p.images[m];
      if (!image) continue;
      total++;
      const key = hash({ paramsKey, image: await identity(image), mask });
      const file = fileName(p.id, m);
      entries[p.id][m] = { key };
      const old = previous?.entries[p.id]?.[m];
      if (old?.key === key && (old.skipped || (old.file && existsSync(join(dir, old.file))))) {
        entries[p.id][m] = old;
        results.set(`${p.id}\0${m}`, 'reused');
      } else items.push({ modality: m, imagePath: image, outPath: join(dir, file) });
    }
    if (items.length > 0) jobs.push({ id: p.id, maskPath: p.mask, box, config, items });
  }

  const manifestOf = (complete: boolean): CacheManifest => {
    const patients: PreparedPatient[] = [];
    const skipped: SkippedVolume[] = [];
    for (const p of c.patients) {
      const mods = modalities.filter((m) => entries[p.id]?.[m]?.file);
      if (mods.length > 0) patients.push({ id: p.id, label: p.label, modalities: mods });
      for (const m of modalities) {
        const s = entries[p.id]?.[m]?.skipped;
        if (s) skipped.push({ id: p.id, modality: m, code: s.code, reason: s.reason });
      }
    }
    return {
      format: CACHE_FORMAT,
      version: CACHE_VERSION,
      complete,
      shape,
      params,
      source: c.root,
      patients,
      skipped,
      entries,
      ...(tumour ? { tumourBox: tumour } : {}),
    };
  };

  let done = 0;
  let prepared = 0;
  let reused = 0;
  let skipped = 0;
  const emit = (id: string, modality: Modality, status: PrepareProgress['status'], reason?: string) => {
    done++;
    options.onProgress?.({ done, total, id, modality, status, ...(reason ? { reason } : {}) });
  };
  for (const p of c.patients) {
    for (const m of modalities) {
      if (results.get(`${p.id}\0${m}`) === 'reused') {
        reused++;
        const s = entries[p.id][m]?.skipped;
        emit(p.id, m, 'reused', s?.reason);
      }
    }
  }

  // Throttled manifest writes: the manifest on disk always describes files that exist.
  let lastWrite = 0;
  let writing: Promise<void> = Promise.resolve();
  const saveManifest = (complete: boolean, force = false) => {
    const now = Date.now();
    if (!force && now - lastWrite < 1000) return writing;
    lastWrite = now;
    const snapshot = manifestOf(complete);
    writing = writing.then(() => writeJsonAtomic(join(dir, 'manifest.json'), snapshot));
    return writing;
  };
  const skippedUnkeyed: SkippedVolume[] = [];
  const onItem = (r: ItemResult) => {
    decoded += r.decoded;
    const m = r.modality as Modality;
    const key = entries[r.id][m]!.key;
    if (r.ok) {
      entries[r.id][m] = { key, file: fileName(r.id, m) };
      prepared++;
      emit(r.id, m, 'prepared');
    } else {
      // unreadable files are not cached as skipped: a later run retries them
      if (r.code === 'read-error') delete entries[r.id][m];
      else entries[r.id][m] = { key, skipped: { code: r.code, reason: r.reason } };
      skipped++;
      log('%s %s skipped: %s', r.id, m, r.reason);
      emit(r.id, m, 'skipped', r.reason);
      if (r.code === 'read-error')
        skippedUnkeyed.push({ id: r.id, modality: m, code: r.code, reason: r.reason, ...(r.error ? { error: r.error } : {}) });
    }
    void saveManifest(false);
  };

  if (jobs.length > 0) await saveManifest(false, true);
  const signal = options.signal;
  const script = workers > 0 ? workerScript() : undefined;
  if (workers > 0 && !script) log('no compiled worker script found; preparing in the main thread');
  if (script && jobs.length > 0) await runInWorkers(script, Math.min(workers, jobs.length), jobs, onItem, signal);
  else {
    for (const job of jobs) {
      if (signal?.aborted) break;
      await runPatientJob(job, onItem, () => signal?.aborted ?? false);
    }
  }
  const interrupted = signal?.aborted === true && done < total;
  await writing;
  const manifest = manifestOf(!interrupted);
  for (const s of skippedUnkeyed) manifest.skipped.push(s);
  await writeJsonAtomic(join(dir, 'manifest.json'), manifest);
  return { dir, manifest, prepared, reused, skipped, decoded, interrupted };
}

/** The `error` of volumes whose worker thread died (see {@link SkippedVolume.error}). */
const WORKER_DIED = 'ERR_PREPARE_WORKER';

/**
 * Runs jobs on a pool of worker threads; resolves when all are done or the signal stops dispatch.
 * A worker that dies (its 'error' event: out of memory, an uncaught error; or an exit while it
 * holds a job) is replaced, and its job's unreported modalities are reported as failures with
 * error ERR_PREPARE_WORKER: one hostile file costs its patient, never the run. A job that
 * rejects (a write failing: a full disk) still stops the pool. `resourceLimits` are the workers'
 * (tests cap the heap so a runaway read dies fast). Internal: exported for the tests.
 */
export function runInWorkers(
  script: string,
  count: number,
  jobs: PatientJob[],
  onItem: (r: ItemResult) => void,
  signal?: AbortSignal,
  resourceLimits?: ResourceLimits,
): Promise<void> {
  return new Promise((resolvePool, rejectPool) => {
    let next = 0;
    let active = 0;
    let settled = false;
    const pool = new Set<Worker>();
    const finish = (err?: Error) => {
      if (settled) return;
      if (!err && active > 0) return;
      settled = true;
      for (const w of pool) void w.terminate();
      if (err) rejectPool(err);
      else resolvePool();
    };
    const more = () => next < jobs.length && !signal?.aborted;
    const start = () => {
      const w = new Worker(script, resourceLimits ? { resourceLimits } : undefined);
      pool.add(w);
      let job: PatientJob | undefined; // the patient this worker holds
      let reported = new Set<string>();
      let death: Error | undefined;
      const dispatch = () => {
        if (settled) return;
        if (more()) {
          active++;
          job = jobs[next++];
          reported = new Set();
          w.postMessage(job);
        } else {
          job = undefined;
          finish();
        }
      };
      w.on('message', (msg: { type: string; id?: string; message?: string } & ItemResult) => {
        if (msg.type === 'item') {
          reported.add(msg.modality);
          onItem(msg);
        } else if (msg.type === 'patient-done') {
          active--;
          dispatch();
        } else if (msg.type === 'patient-failed') finish(new Error(`preparing ${msg.id} failed: ${msg.message}`));
      });
      w.on('error', (err) => (death ??= err));
      w.on('exit', (code) => {
        pool.delete(w);
        if (settled || !job) return; // terminated by finish, or idle
        const lost = job;
        job = undefined;
        active--;
        const why = death ? `${(death as NodeJS.ErrnoException).code ?? death.name}: ${death.message}` : `exit code ${code}`;
        log('the worker preparing %s died (%s); replacing it', lost.id, why);
        for (const item of lost.items) {
          if (reported.has(item.modality)) continue;
          onItem({
            id: lost.id,
            modality: item.modality,
            ok: false,
            code: 'read-error',
            reason: `the preprocessing worker died while preparing ${lost.id} (${why}); ${item.imagePath} was not prepared`,
            error: WORKER_DIED,
            decoded: 0,
          });
        }
        if (more()) start();
        else finish();
      });
      dispatch();
    };
    for (let i = 0; i < count; i++) start();
  });
}
