/**
 * A synthetic cohort laid out exactly like UPENN-GBM, for the demo, the tests and the benchmarks
 * (the real collection cannot ship with the library). Brain-like volumes with a tumour, and an
 * MGMT-linked signal of tunable strength inside the tumour.
 * @module
 */
import { makeDirectory } from '../util/atomic.js';
import { join, resolve } from 'node:path';
import {
  GEOMETRY_PRESETS,
  GROUP_FOLDERS,
  MODALITIES,
  MODALITY_GROUPS,
  SynthSchema,
  type Modality,
  type SynthConfig,
  type SynthOptions,
} from '../config/data.js';
import { writeNifti } from '../io/nifti.js';
import type { Affine, VoxelArray } from '../io/volume.js';
import { writeFileAtomic } from '../util/atomic.js';
import { mulberry32 } from '../util/mulberry32.js';

/** What {@link synthCohort} wrote. */
export interface SynthCohortResult {
  root: string;
  config: SynthConfig;
  /** Every scan written, with its status and the groups it has. */
  scans: Array<{ id: string; mgmt: string; groups: string[]; corrected: boolean; followUp: boolean }>;
  /** The clinical CSV path (UPENN-GBM) or the RSNA-style labels CSV (BraTS 2021). */
  clinicalCsv: string;
  /** Files written. */
  files: number;
}

/** Progress of {@link synthCohort}: one event per scan written. */
export interface SynthProgress {
  done: number;
  total: number;
  id: string;
}

// Tissue classes of the generated volumes.
const BG = 0;
const CSF = 1;
const GM = 2;
const WM = 3;
const OEDEMA = 4;
const RIM = 5;
const CORE = 6;

/**
 * Relative intensity of each class per modality [bg, CSF, GM, WM, oedema, enhancing rim, necrotic
 * core], roughly as the sequences look, and the factor that turns them into stored values.
 */
const LEVELS: Record<Modality, { levels: number[]; scale: number; dtype: 'int16' | 'float32'; slope?: number }> = {
  T1: { levels: [0, 0.25, 0.55, 0.75, 0.45, 0.55, 0.2], scale: 1000, dtype: 'int16' },
  T1GD: { levels: [0, 0.25, 0.55, 0.75, 0.45, 1.0, 0.2], scale: 1000, dtype: 'int16' },
  T2: { levels: [0, 1.0, 0.6, 0.45, 0.85, 0.65, 0.95], scale: 1000, dtype: 'int16' },
  FLAIR: { levels: [0, 0.1, 0.55, 0.45, 0.9, 0.7, 0.35], scale: 1000, dtype: 'int16' },
  // DTI in mm^2/s (FA unitless), stored as int16 with scl_slope, as many DTI pipelines write them
  DTI_AD: { levels: [0, 3.0, 1.1, 1.4, 1.8, 1.3, 2.4], scale: 1e-3, dtype: 'int16', slope: 1e-6 },
  DTI_FA: { levels: [0, 0.05, 0.15, 0.55, 0.2, 0.15, 0.08], scale: 1, dtype: 'int16', slope: 1e-4 },
  DTI_RD: { levels: [0, 3.0, 0.85, 0.5, 1.3, 1.0, 2.2], scale: 1e-3, dtype: 'int16', slope: 1e-6 },
  DTI_TR: { levels: [0, 9.0, 2.8, 2.4, 4.4, 3.3, 6.8], scale: 1e-3, dtype: 'int16', slope: 1e-6 },
  // DSC derivatives as float32
  'DSC_ap-rCBV': { levels: [0, 0.5, 2.0, 1.0, 1.2, 4.0, 0.4], scale: 1, dtype: 'float32' },
  DSC_PH: { levels: [0, 5, 30, 15, 18, 45, 6], scale: 1, dtype: 'float32' },
  DSC_PSR: { levels: [0, 0.9, 0.85, 0.9, 0.88, 0.7, 0.9], scale: 1, dtype: 'float32' },
};

/** A seed for (seed, scan number, stream), mixed so nearby inputs give unrelated streams. */
function mix(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p & 0xffff), 0x01000193);
    h = Math.imul(h ^ (p >>> 16), 0x01000193);
  }
  return h >>> 0;
}

/** Smooth noise in [-1, 1]: a coarse random grid, trilinearly upsampled to `shape`. */
function smoothField(shape: readonly number[], cells: number, random: () => number): Float32Array {
  const [D, H, W] = shape;
  const g = [Math.max(2, Math.round(cells * (D / W))) + 1, cells + 1, cells + 1];
  const grid = Float32Array.from({ length: g[0] * g[1] * g[2] }, () => random() * 2 - 1);
  const out = new Float32Array(D * H * W);
  const axis = (n: number, m: number) => {
    const i0 = new Int32Array(n);
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = (i / Math.max(1, n - 1)) * (m - 1);
      const f = Math.min(m - 2, Math.floor(t));
      i0[i] = f;
      w[i] = t - f;
    }
    return { i0, w };
  };
  const az = axis(D, g[0]);
  const ay = axis(H, g[1]);
  const ax = axis(W, g[2]);
  const sy = g[2];
  const sz = g[1] * g[2];
  let o = 0;
  for (let z = 0; z < D; z++) {
    const z0 = az.i0[z] * sz;
    const wz = az.w[z];
    for (let y = 0; y < H; y++) {
      const y0 = ay.i0[y] * sy;
      const wy = ay.w[y];
      for (let x = 0; x < W; x++, o++) {
        const b = z0 + y0 + ax.i0[x];
        const wx = ax.w[x];
        const c00 = grid[b] * (1 - wx) + grid[b + 1] * wx;
        const c01 = grid[b + sy] * (1 - wx) + grid[b + sy + 1] * wx;
        const c10 = grid[b + sz] * (1 - wx) + grid[b + sz + 1] * wx;
        const c11 = grid[b + sz + sy] * (1 - wx) + grid[b + sz + sy + 1] * wx;
        out[o] = (c00 * (1 - wy) + c01 * wy) * (1 - wz) + (c10 * (1 - wy) + c11 * wy) * wz;
      }
    }
  }
  return out;
}

interface Anatomy {
  classes: Uint8Array; // per voxel class (automated labels derive from it)
  corrected: Uint8Array; // labels of the "corrected" mask
  smooth: Float32Array;
  noise: Float32Array;
  blobs: Float32Array; // texture inside the oedema, in [-1, 1]
}

/** Builds a brain (ellipsoid with cortex, white matter and ventricles) and a tumour. */
function anatomy(shape: [number, number, number], spacingMm: number, random: () => number): Anatomy {
  const [D, H, W] = shape;
  const n = D * H * W;
  const f = shape[1] / 240; // 1 for full size, 0.5 for small
  const jitter = (a: number, r: number) => a * (1 + (random() * 2 - 1) * r);
  // brain ellipsoid inside the paper's crop box [0:140, 39:211, 44:208] (scaled for 'small')
  const c = [jitter(72 * f, 0.03), jitter(125 * f, 0.02), jitter(126 * f, 0.02)];
  const r = [jitter(62 * f, 0.05), jitter(80 * f, 0.05), jitter(68 * f, 0.05)];
  // tumour centre in a hemisphere, at 0.2-0.5 of the brain radius from the centre
  const side = random() < 0.5 ? -1 : 1;
  const t = [c[0] + (random() * 2 - 1) * 0.3 * r[0], c[1] + (random() * 2 - 1) * 0.35 * r[1], c[2] + side * (0.25 + random() * 0.2) * r[2]];
  const tr = jitter(24 * f, 0.25); // oedema radius in voxels
  const rimFrac = jitter(0.62, 0.1);
  const coreFrac = jitter(0.36, 0.15);
  const smooth = smoothField(shape, 8, random);
  const classes = new Uint8Array(n);
  const corrected = new Uint8Array(n);
  const noise = new Float32Array(n);
  for (let i = 0; i < n; i++) noise[i] = random() * 2 - 1;
  const blobs = new Float32Array(n);
  const period = 20 / spacingMm; // a 20 mm texture: coarse enough to survive the 2x downscale
  const phase = [random() * 6.28, random() * 6.28, random() * 6.28];
  const k = (2 * Math.PI) / period;
  let o = 0;
  for (let z = 0; z < D; z++) {
    const dz = (z - c[0]) / r[0];
    const tz = z - t[0];
    for (let y = 0; y < H; y++) {
      const dy = (y - c[1]) / r[1];
      const ty = y - t[1];
      for (let x = 0; x < W; x++, o++) {
        const dx = (x - c[2]) / r[2];
        const rb = Math.sqrt(dz * dz + dy * dy + dx * dx) + 0.03 * smooth[o];
        if (rb >= 1) continue;
        // ventricles: two small ellipsoids either side of the midline
        const vx = Math.abs(dx) - 0.12;
        const vent = (dz * dz) / 0.05 + (dy * dy) / 0.12 + (vx * vx) / 0.006 < 1;
        let cls = vent ? CSF : rb > 0.86 ? GM : WM;
        let ccls = cls;
        const tx = x - t[2];
        const d = Math.sqrt(tz * tz + ty * ty + tx * tx) / tr + 0.12 * smooth[o];
        if (d < 1) {
          cls = d < coreFrac ? CORE : d < rimFrac ? RIM : OEDEMA;
          blobs[o] = Math.sin(z * k + phase[0]) * Math.sin(y * k + phase[1]) * Math.sin(x * k + phase[2]);
        }
        // the corrected mask: a slightly larger oedema and a smaller core, as a reader would redraw it
        if (d < 1.06) ccls = d < coreFrac * 0.9 ? CORE : d < rimFrac ? RIM : OEDEMA;
        classes[o] = cls;
        corrected[o] = ccls;
      }
    }
  }
  return { classes, corrected, smooth, noise, blobs };
}

const LABEL = [0, 0, 0, 0, 2, 4, 1]; // class -> BraTS label (2 oedema, 4 enhancing, 1 necrotic core)

function labels(classes: Uint8Array): Uint8Array {
  const out = new Uint8Array(classes.length);
  for (let i = 0; i < classes.length; i++) out[i] = LABEL[classes[i]];
  return out;
}

/** One modality of one scan. `signal` > 0 for methylated tumours when the modality carries it. */
function modalityVolume(a: Anatomy, modality: Modality, signal: number, random: () => number, offset: number): VoxelArray {
  const spec = LEVELS[modality];
  const levels = spec.levels.map((l, cls) => (cls === BG ? 0 : l * (1 + (random() * 2 - 1) * 0.06)));
  // MGMT signal: every tumour class but the brightest darkens (30% at signal 1), so the contrast
  // survives per-volume min-max scaling whichever class sets the maximum; the oedema gains texture
  const tumour = [OEDEMA, RIM, CORE];
  const brightest = tumour.reduce((best, c) => (spec.levels[c] > spec.levels[best] ? c : best), OEDEMA); // nominal, not jittered
  for (const c of tumour) if (c !== brightest) levels[c] *= 1 - Math.min(0.7, 0.3 * signal);
  const texture = 0.15 * signal * levels[OEDEMA];
  const n = a.classes.length;
  const out = spec.dtype === 'int16' ? new Int16Array(n) : new Float32Array(n);
  const scale = spec.scale / (spec.slope ?? 1);
  for (let i = 0; i < n; i++) {
    const cls = a.classes[i];
    if (cls === BG) continue;
    let v = levels[cls] * (1 + 0.08 * a.smooth[i]) * (1 + 0.04 * a.noise[(i + offset) % n]);
    if (cls === OEDEMA) v += texture * a.blobs[i];
    out[i] = spec.dtype === 'int16' ? Math.round(v * scale) : v * scale;
  }
  if (out instanceof Float32Array) {
    // keep 12 significant bits of the mantissa (~4 digits): gzip then takes a fraction of the time
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = (bits[i] + 0x400) & 0xfffff800;
  }
  return out;
}

/**
 * Writes a synthetic UPENN-GBM-like cohort: `images_structural`, `images_DTI/images_DTI`,
 * `images_DSC` (derivatives plus the 4-D `<ID>_DSC.nii.gz`), `automated_segm` for every baseline
 * scan, `images_segm` (corrected masks) for about a quarter of them, and
 * `UPENN-GBM_clinical_info_v2.1.csv`.
 *
 * `patients` baseline (_11) patients get a definite MGMT status (Methylated about 42%, as in the
 * paper's 111/262); on top of them come about 10% Indeterminate and 10% Not Available scans, a few
 * `_21` follow-ups, patients without DTI (~15%) or DSC (~25%), one with an incomplete DTI set, and
 * an `old/` subfolder, all of which {@link openCohort} must leave out or report.
 *
 * Volumes: an ellipsoid brain (cortex, white matter, ventricles; skull-stripped), smooth bias and
 * voxel noise, a tumour with necrotic core (label 1), enhancing rim (4) and oedema (2). Methylated
 * tumours carry `signal`: every tumour class but the modality's brightest darkens (by 30% at
 * `signal` 1) and the oedema gains a 20 mm texture, in `signalModalities`. Structural images are
 * int16, DTI/DSC float32, masks uint8. Deterministic: the same options give the same files.
 *
 * With `layout: 'brats2021'` it writes the BraTS 2021 twin of the same cohort instead (see
 * writeBratsTwin below): the same patients and structural volumes in the BraTS layout.
 *
 * @see SynthSchema for the options; GEOMETRY_PRESETS for the 'full' and 'small' geometry.
 * @example
 * await synthCohort({ out: '/tmp/upenn-synth', patients: 40, size: 'small', seed: 1 });
 */
export async function synthCohort(options: SynthOptions, onProgress?: (p: SynthProgress) => void): Promise<SynthCohortResult> {
  const config = SynthSchema.parse(options);
  const signalModalities = new Set<string>(config.signalModalities ?? MODALITIES);
  for (const m of signalModalities) {
    if (!(MODALITIES as readonly string[]).includes(m))
      throw new RangeError(`Unknown modality ${JSON.stringify(m)} in signalModalities; expected some of ${MODALITIES.join(', ')}`);
  }
  const root = resolve(config.out);
  const geometry = config.size === 'full' ? GEOMETRY_PRESETS.paper : GEOMETRY_PRESETS.small;
  const shape = [...geometry.sourceShape] as [number, number, number];
  const s = geometry.spacingMm[0];
  // SRI-24-like orientation (LPS on disk): x and y flipped
  const affine: Affine = [
    [-s, 0, 0, (shape[2] - 1) * s * 0.5],
    [0, -s, 0, (shape[1] - 1) * s * 0.5 + 20],
    [0, 0, s, -(shape[0] - 1) * s * 0.4],
    [0, 0, 0, 1],
  ];
  const spacing: [number, number, number] = [s, s, s];
  const level = config.compressionLevel;

  // The scan plan.
  const N = config.patients;
  const plan = mulberry32(mix(config.seed, 0xc0ffee));
  const extras = N >= 4 ? Math.max(1, Math.round(0.1 * N)) : 0;
  const total = N + 2 * extras;
  const order = shuffle([...Array(total).keys()], plan); // scan numbers assigned to roles at random
  const methylated = new Set(
    shuffle([...Array(N).keys()], plan).slice(
      0,
      N >= 2 ? Math.min(N - 1, Math.max(1, Math.round(N * config.methylatedFraction))) : Math.round(N * config.methylatedFraction),
    ),
  );
  const scans: Array<{
    num: number;
    id: string;
    mgmt: string;
    dti: boolean;
    dsc: boolean;
    partialDti: boolean;
    corrected: boolean;
    followUp: boolean;
  }> = [];
  for (let k = 0; k < total; k++) {
    const num = order[k] + 1;
    const mgmt = k < N ? (methylated.has(k) ? 'Methylated' : 'Unmethylated') : k < N + extras ? 'Indeterminate' : 'Not Available';
    const u = plan();
    const dti = !(N >= 6 && u < 0.15);
    const dsc = !(N >= 4 && u > 0.75);
    scans.push({
      num,
      id: `UPENN-GBM-${String(num).padStart(5, '0')}_11`,
      mgmt,
      dti,
      dsc,
      partialDti: false,
      corrected: plan() < 0.25,
      followUp: false,
    });
  }
  if (N >= 8) {
    const withDti = scans.filter((x, k) => k < N && x.dti);
    if (withDti.length > 0) withDti[withDti.length - 1].partialDti = true;
  }
  const followUps = N >= 4 ? Math.max(1, Math.round(N / 12)) : 0;
  for (let k = 0; k < followUps; k++) {
    const base = scans[k];
    scans.push({
      ...base,
      id: base.id.replace(/_11$/, '_21'),
      dti: false,
      dsc: false,
      partialDti: false,
      corrected: false,
      followUp: true,
    });
  }
  scans.sort((a, b) => a.id.localeCompare(b.id));

  if (config.layout === 'brats2021') return writeBratsTwin(config, root, scans, { shape, spacing, affine }, onProgress);

  await makeDirectory(root);
  let files = 0;
  let done = 0;
  const write = async (path: string, data: VoxelArray | VoxelArray[], sclSlope?: number) => {
    const vols = (Array.isArray(data) ? data : [data]).map((d) => ({ data: d, shape, spacing, affine }));
    await writeNifti(path, vols.length === 1 ? vols[0] : vols, { compressionLevel: level, sclSlope });
    files++;
  };
  const oldFolderFor = scans.find((x) => !x.followUp)?.id;

  for (const scan of scans) {
    const a = anatomy(shape, s, mulberry32(mix(config.seed, scan.num, scan.followUp ? 21 : 11)));
    const tasks: Array<() => Promise<void>> = [];
    const struct = join(root, GROUP_FOLDERS.struct, scan.id);
    const signal = scan.mgmt === 'Methylated' ? config.signal : 0;
    const modalities: Modality[] = [...MODALITY_GROUPS.struct];
    if (scan.dti) modalities.push(...MODALITY_GROUPS.DTI.filter((m) => !(scan.partialDti && m === 'DTI_RD')));
    if (scan.dsc) modalities.push(...MODALITY_GROUPS.DSC);
    for (const [idx, m] of modalities.entries()) {
      const folder = MODALITY_GROUPS.struct.includes(m as never)
        ? struct
        : MODALITY_GROUPS.DTI.includes(m as never)
          ? join(root, GROUP_FOLDERS.DTI, GROUP_FOLDERS.DTI, scan.id)
          : join(root, GROUP_FOLDERS.DSC, scan.id);
      // volumes are made when their write starts, so at most a few are in memory at once
      tasks.push(async () => {
        const random = mulberry32(mix(config.seed, scan.num, scan.followUp ? 21 : 11, 100 + idx));
        const vol = modalityVolume(a, m, signalModalities.has(m) ? signal : 0, random, 7919 * (idx + 1));
        await write(join(folder, `${scan.id}_${m}.nii.gz`), vol, LEVELS[m].slope);
        if (m === 'T1' && scan.id === oldFolderFor) await write(join(struct, 'old', `${scan.id}_${m}.nii.gz`), vol);
      });
    }
    if (scan.dsc) {
      // the 4-D DSC series, which the study does not use: two smooth time points
      const t0 = new Int16Array(a.classes.length);
      const t1 = new Int16Array(a.classes.length);
      for (let i = 0; i < t0.length; i++) if (a.classes[i] !== BG) [t0[i], t1[i]] = [400, 380 - (a.classes[i] >= OEDEMA ? 60 : 20)];
      tasks.push(() => write(join(root, GROUP_FOLDERS.DSC, scan.id, `${scan.id}_DSC.nii.gz`), [t0, t1]));
    }
    if (!scan.followUp) {
      const auto = labels(a.classes);
      tasks.push(() => write(join(root, 'automated_segm', `${scan.id}_automated_approx_segm.nii.gz`), auto));
      if (scan.corrected) {
        const corr = labels(a.corrected);
        tasks.push(() => write(join(root, 'images_segm', `${scan.id}_segm.nii.gz`), corr));
      }
    }
    await runLimited(tasks, 4); // gzip runs on the libuv pool: a few files at once
    done++;
    onProgress?.({ done, total: scans.length, id: scan.id });
  }

  const header =
    'ID,Gender,Age_at_scan_years,Survival_from_surgery_days_UPDATED,Survival_Status,Survival_Censor,IDH1,MGMT,KPS,GTR_over90percent';
  const rows = scans.map((x) => {
    const r = mulberry32(mix(config.seed, x.num, 7));
    const age = (35 + r() * 45).toFixed(0);
    const days = Math.round(100 + r() * 1500);
    return [
      x.id,
      r() < 0.6 ? 'M' : 'F',
      age,
      String(days),
      r() < 0.8 ? 'Deceased' : 'Alive',
      '1',
      'Wildtype',
      x.mgmt,
      'Not Available',
      r() < 0.5 ? 'Y' : 'N',
    ].join(',');
  });
  const clinicalCsv = join(root, 'UPENN-GBM_clinical_info_v2.1.csv');
  await writeFileAtomic(clinicalCsv, `${header}\n${rows.join('\n')}\n`);
  files++;
  return {
    root,
    config,
    clinicalCsv,
    files,
    scans: scans.map((x) => ({
      id: x.id,
      mgmt: x.mgmt,
      groups: ['struct', ...(x.dti && !x.partialDti ? ['DTI'] : []), ...(x.dsc ? ['DSC'] : [])],
      corrected: x.corrected && !x.followUp,
      followUp: x.followUp,
    })),
  };
}

/** BraTS 2021 sequence names of the UPENN-GBM structural modalities (T1GD is BraTS's t1ce). */
const BRATS_NAMES: Partial<Record<Modality, string>> = { T1: 't1', T1GD: 't1ce', T2: 't2', FLAIR: 'flair' };

/**
 * The BraTS 2021 twin of the UPENN-GBM cohort the same options write: the same baseline scans
 * (scan number n becomes `BraTS2021_<n, five digits>`), the same structural volumes byte for byte
 * (the same random streams), the automated mask as `_seg`, no follow-ups, DTI or DSC, and the
 * RSNA-MICCAI labels file `train_labels.csv` (`BraTS21ID` unpadded, `MGMT_value` 1 = methylated)
 * for the definite-status patients only, so the Indeterminate and Not Available scans are folders
 * without a label.
 */
async function writeBratsTwin(
  config: SynthConfig,
  root: string,
  scans: Array<{ num: number; id: string; mgmt: string; followUp: boolean }>,
  grid: { shape: [number, number, number]; spacing: [number, number, number]; affine: Affine },
  onProgress?: (p: SynthProgress) => void,
): Promise<SynthCohortResult> {
  await makeDirectory(root);
  let files = 0;
  const baseline = scans.filter((x) => !x.followUp);
  const signalModalities = new Set<string>(config.signalModalities ?? MODALITIES);
  const write = async (path: string, data: VoxelArray, sclSlope?: number) => {
    await writeNifti(path, { data, ...grid }, { compressionLevel: config.compressionLevel, sclSlope });
    files++;
  };
  const out: SynthCohortResult['scans'] = [];
  for (const [done, scan] of baseline.entries()) {
    const id = `BraTS2021_${String(scan.num).padStart(5, '0')}`;
    const dir = join(root, id);
    const a = anatomy(grid.shape, grid.spacing[0], mulberry32(mix(config.seed, scan.num, 11)));
    const signal = scan.mgmt === 'Methylated' ? config.signal : 0;
    const tasks: Array<() => Promise<void>> = MODALITY_GROUPS.struct.map((m, idx) => async () => {
      // the stream of the UPENN-GBM writer: the structural modalities come first there too
      const random = mulberry32(mix(config.seed, scan.num, 11, 100 + idx));
      const vol = modalityVolume(a, m, signalModalities.has(m) ? signal : 0, random, 7919 * (idx + 1));
      await write(join(dir, `${id}_${BRATS_NAMES[m]}.nii.gz`), vol, LEVELS[m].slope);
    });
    tasks.push(() => write(join(dir, `${id}_seg.nii.gz`), labels(a.classes)));
    await runLimited(tasks, 4);
    out.push({ id, mgmt: scan.mgmt, groups: ['struct'], corrected: false, followUp: false });
    onProgress?.({ done: done + 1, total: baseline.length, id });
  }
  const rows = baseline
    .filter((x) => x.mgmt === 'Methylated' || x.mgmt === 'Unmethylated')
    .map((x) => `${x.num},${x.mgmt === 'Methylated' ? 1 : 0}`);
  const clinicalCsv = join(root, 'train_labels.csv');
  await writeFileAtomic(clinicalCsv, `BraTS21ID,MGMT_value\n${rows.join('\n')}\n`);
  files++;
  return { root, config, clinicalCsv, files, scans: out };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

async function runLimited(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
}
