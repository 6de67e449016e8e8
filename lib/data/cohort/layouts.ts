/**
 * Layout adapters: they turn a dataset folder into a {@link CohortManifest} (or, for UPENN-GBM,
 * into the cohort {@link openCohort} has always made), and {@link openDataset} opens any of them
 * as a {@link Cohort}, detecting the layout when it is unambiguous.
 *
 * - `upenn`: the UPENN-GBM NIfTI package (lib/data/cohort.ts; docs/study.md section 1).
 * - `brats2021`: `BraTS2021_NNNNN/BraTS2021_NNNNN_{t1,t1ce,t2,flair,seg}.nii.gz` (segmentation
 *   labels 1 necrotic core, 2 oedema, 4 enhancing) joined with the RSNA-MICCAI Brain Tumor
 *   Radiogenomic Classification labels CSV (`BraTS21ID`, `MGMT_value`, 1 = methylated; IDs are
 *   zero-padded to five digits).
 * - `folders`: one folder per patient holding `<modality>.nii.gz` (or `<ID>_<modality>.nii.gz`)
 *   and a segmentation (`seg`, `segmentation`, `mask`), with a labels CSV (an ID column and a label
 *   column).
 * - `manifest`: a manifest file, JSON or CSV (lib/data/cohort/manifest.ts).
 *
 * A labels or clinical file is one the user named, or one inside the dataset's own folder: never
 * one from a parent or sibling folder, which may belong to another dataset.
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { describeValue } from '../../util/validate.js';
import { openCohort, type Cohort, type CohortGroup, type CohortPatient, type MaskSource } from '../cohort.js';
import {
  buildManifest,
  detectDelimiter,
  parseDelimited,
  readManifest,
  type CohortManifest,
  type Endpoint,
  type ManifestCsvOptions,
} from './manifest.js';

/** The layouts {@link openDataset} reads. */
export const LAYOUTS = ['upenn', 'brats2021', 'folders', 'manifest'] as const;
/** A dataset layout name. */
export type Layout = (typeof LAYOUTS)[number];

/** An error of the cohort about the data itself, with a `code` a caller can act on. */
export class CohortError extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_EMPTY_COHORT' | 'ERR_UNUSABLE_PATIENTS' | 'ERR_LAYOUT' | 'ERR_NO_LABELS',
    /** For ERR_UNUSABLE_PATIENTS: every patient left out and why. */
    readonly patients: ReadonlyArray<{ id: string; reason: string }> = [],
  ) {
    super(message);
    this.name = 'CohortError';
  }
}

/** Options of {@link openDataset}. */
export interface OpenDatasetOptions {
  /** Layout; default detected ({@link detectLayout}). */
  layout?: Layout;
  /** Labels file (BraTS 2021: the RSNA-MICCAI CSV; folders: a labels CSV; UPENN-GBM: the clinical CSV). Default: one inside the dataset folder. */
  labels?: string;
  /** UPENN-GBM mask choice. */
  mask?: MaskSource;
  /** Endpoint of `folders` and CSV manifests: label column and value mapping. */
  endpoint?: Partial<Endpoint>;
  /** CSV delimiter of a manifest or labels file; default detected. */
  delimiter?: string;
  /**
   * Leave out patients whose files are missing or unreadable (they are listed in `excluded` with
   * the reason) instead of failing. Default false: such patients are an error listing each one.
   */
  skipUnusable?: boolean;
  /** Accept a cohort without a usable patient (default false: ERR_EMPTY_COHORT). */
  allowEmpty?: boolean;
}

/** A cohort opened by {@link openDataset}, with how its layout was chosen. */
export interface Dataset extends Cohort {
  /** True when the layout was detected, false when it was given. */
  detected: boolean;
}

const BRATS_ID = /^BraTS2021_\d{5}$/;
const NIFTI = /\.nii(\.gz)?$/i;
const SEG_NAMES = ['seg', 'segmentation', 'mask', 'label', 'labels'];

async function entriesOf(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/**
 * The layout of `path`: `manifest` for a file, `upenn` for a folder holding `images_structural`,
 * `brats2021` for one holding `BraTS2021_NNNNN` folders, `folders` for one whose subfolders hold
 * NIfTI files.
 * @throws {CohortError} ERR_LAYOUT when nothing matches or more than one layout does, saying what
 *   was looked for
 */
export async function detectLayout(path: string): Promise<Layout> {
  const full = resolve(path);
  const st = await stat(full).catch(() => undefined);
  if (!st) throw new CohortError(`${full}: no such file or folder`, 'ERR_LAYOUT');
  if (st.isFile()) return 'manifest';
  const entries = await entriesOf(full);
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  const found: Layout[] = [];
  if (dirs.some((d) => d.name === 'images_structural')) found.push('upenn');
  if (dirs.some((d) => BRATS_ID.test(d.name))) found.push('brats2021');
  if (found.length === 0) {
    for (const d of dirs) {
      if ((await entriesOf(join(full, d.name))).some((e) => e.isFile() && NIFTI.test(e.name))) {
        found.push('folders');
        break;
      }
    }
  }
  if (found.length === 1) return found[0];
  if (found.length > 1)
    throw new CohortError(
      `${full}: the layout is ambiguous (it looks like ${found.join(' and ')}); pass the layout (--layout ${found.join('|')})`,
      'ERR_LAYOUT',
    );
  throw new CohortError(
    `${full}: no known layout found. Looked for images_structural/ (upenn), BraTS2021_NNNNN/ folders (brats2021) and patient folders holding .nii/.nii.gz files (folders); for anything else write a manifest (JSON or CSV) and pass it as the data`,
    'ERR_LAYOUT',
  );
}

/** Reads a labels CSV (delimiter detected, BOM dropped): header and rows, or a CohortError naming the file. */
async function readTable(path: string, delimiter?: string): Promise<{ header: string[]; rows: string[][] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CohortError(`Cannot read the labels file ${path}: ${(err as Error).message}`, 'ERR_NO_LABELS');
  }
  const rows = parseDelimited(text, delimiter ?? detectDelimiter(text.replace(/^\uFEFF/, '')));
  if (rows.length === 0) throw new CohortError(`The labels file ${path} is empty`, 'ERR_NO_LABELS');
  return { header: rows[0].map((h) => h.trim()), rows: rows.slice(1) };
}

/** The labels file: the one named, else the single CSV inside `root` that `accept` takes. */
async function labelsFileOf(
  root: string,
  named: string | undefined,
  accept: (header: string[]) => boolean,
  what: string,
  delimiter?: string,
): Promise<string> {
  if (named) return resolve(named);
  const csvs = (await entriesOf(root)).filter((e) => e.isFile() && /\.(csv|tsv)$/i.test(e.name)).map((e) => join(root, e.name));
  const fitting: string[] = [];
  for (const c of csvs) if (accept((await readTable(c, delimiter)).header)) fitting.push(c);
  if (fitting.length === 1) return fitting[0];
  if (fitting.length > 1)
    throw new CohortError(
      `${root}: several ${what} files (${fitting.map((f) => basename(f)).join(', ')}); name one (--labels)`,
      'ERR_NO_LABELS',
    );
  throw new CohortError(
    `${root}: no ${what} file inside the dataset folder (looked for a .csv there${csvs.length ? `; ${csvs.map((f) => basename(f)).join(', ')} lack the columns` : ''}); name one with --labels (files outside the dataset folder are only used when named)`,
    'ERR_NO_LABELS',
  );
}

/**
 * The BraTS 2021 layout joined with the RSNA-MICCAI labels: every `BraTS2021_NNNNN` folder of
 * `root` with its four images and `seg`, the label from `MGMT_value` (1 methylated, 0 unmethylated).
 * Folders without a label and label rows without a folder are listed in `excluded`.
 * @throws {CohortError} ERR_NO_LABELS without a labels file (named, or a CSV inside `root`
 *   with `BraTS21ID` and `MGMT_value`)
 */
export async function bratsManifest(root: string, options: { labels?: string; delimiter?: string } = {}): Promise<CohortManifest> {
  root = resolve(root);
  const labelsFile = await labelsFileOf(
    root,
    options.labels,
    (h) => h.includes('BraTS21ID') && h.includes('MGMT_value'),
    'RSNA-MICCAI labels (BraTS21ID, MGMT_value)',
    options.delimiter,
  );
  const { header, rows } = await readTable(labelsFile, options.delimiter);
  const idCol = header.indexOf('BraTS21ID');
  const valueCol = header.indexOf('MGMT_value');
  if (idCol < 0 || valueCol < 0)
    throw new CohortError(
      `${labelsFile}: expected columns "BraTS21ID" and "MGMT_value" but found ${header.map((h) => JSON.stringify(h)).join(', ')}`,
      'ERR_NO_LABELS',
    );
  const labels = new Map<string, string>();
  for (const r of rows) {
    const raw = (r[idCol] ?? '').trim();
    if (!/^\d{1,5}$/.test(raw)) continue;
    labels.set(`BraTS2021_${raw.padStart(5, '0')}`, (r[valueCol] ?? '').trim());
  }
  const modalities = ['t1', 't1ce', 't2', 'flair'];
  const raws = [];
  const excluded: Array<{ id: string; reason: string }> = [];
  const folders = (await entriesOf(root))
    .filter((e) => e.isDirectory() && BRATS_ID.test(e.name))
    .map((e) => e.name)
    .sort();
  for (const id of folders) {
    const files = new Map(
      (await entriesOf(join(root, id))).filter((e) => e.isFile()).map((e) => [e.name.replace(NIFTI, ''), join(root, id, e.name)] as const),
    );
    if (!labels.has(id)) {
      excluded.push({ id, reason: `not in the labels file ${basename(labelsFile)}` });
      continue;
    }
    const images = Object.fromEntries(modalities.filter((m) => files.has(`${id}_${m}`)).map((m) => [m, files.get(`${id}_${m}`)!]));
    raws.push({ id, value: labels.get(id), images, segmentation: files.get(`${id}_seg`) ?? join(root, id, `${id}_seg.nii.gz`) });
  }
  const onDisk = new Set(folders);
  for (const id of labels.keys()) if (!onDisk.has(id)) excluded.push({ id, reason: 'in the labels file but no folder on disk' });
  const manifest = buildManifest(labelsFile, raws, modalities, {
    layout: 'brats2021',
    root,
    labelsFile,
    endpoint: { name: 'MGMT', column: 'MGMT_value', positive: ['1'], negative: ['0'] },
    // BraTS 2021 has structural MRI only: the four sequences are one group, each one a derivative
    modalityGroups: { struct: modalities },
  });
  manifest.excluded.push(...excluded);
  return manifest;
}

/**
 * A folder per patient (the folder name is the ID) holding `<modality>.nii[.gz]` or
 * `<ID>_<modality>.nii[.gz]` files, one of them the segmentation (`seg`, `segmentation`, `mask`,
 * `label`), joined with a labels CSV: an ID column (`id`, `patient`, `patient_id`, `subject`) and
 * the label column (`endpoint.column`; default `label`, else `MGMT`, else the only other column).
 * @throws {CohortError} ERR_NO_LABELS without a labels file or its columns
 */
export async function foldersManifest(
  root: string,
  options: { labels?: string; endpoint?: Partial<Endpoint>; delimiter?: string } = {},
): Promise<CohortManifest> {
  root = resolve(root);
  const ids = ['id', 'patient', 'patient_id', 'patientid', 'subject'];
  const labelsFile = await labelsFileOf(
    root,
    options.labels,
    (h) => h.some((c) => ids.includes(c.toLowerCase())),
    'labels CSV (an ID column and a label column)',
    options.delimiter,
  );
  const { header, rows } = await readTable(labelsFile, options.delimiter);
  const lower = header.map((h) => h.toLowerCase());
  const idCol = lower.findIndex((h) => ids.includes(h));
  const wanted = options.endpoint?.column;
  let labelCol = wanted
    ? lower.indexOf(wanted.toLowerCase())
    : lower.indexOf('label') >= 0
      ? lower.indexOf('label')
      : lower.indexOf('mgmt');
  if (!wanted && labelCol < 0 && header.length === 2) labelCol = 1 - idCol;
  if (idCol < 0 || labelCol < 0) {
    throw new CohortError(
      `${labelsFile}: expected an ID column (${ids.join(', ')}) and a label column (${wanted ? JSON.stringify(wanted) : '"label" or "MGMT", or name it'}) but found ${header.map((h) => JSON.stringify(h)).join(', ')}`,
      'ERR_NO_LABELS',
    );
  }
  const labels = new Map(rows.map((r) => [(r[idCol] ?? '').trim(), (r[labelCol] ?? '').trim()] as const).filter(([id]) => id !== ''));
  const modalities: string[] = [];
  const raws = [];
  const excluded: Array<{ id: string; reason: string }> = [];
  const folders = (await entriesOf(root))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  for (const id of folders) {
    const files = (await entriesOf(join(root, id))).filter((e) => e.isFile() && NIFTI.test(e.name));
    if (files.length === 0) continue;
    if (!labels.has(id)) {
      excluded.push({ id, reason: `not in the labels file ${basename(labelsFile)}` });
      continue;
    }
    const images: Record<string, string> = {};
    let segmentation = '';
    for (const f of files) {
      let name = f.name.replace(NIFTI, '');
      if (name.startsWith(`${id}_`)) name = name.slice(id.length + 1);
      if (SEG_NAMES.includes(name.toLowerCase())) segmentation = join(root, id, f.name);
      else {
        images[name] = join(root, id, f.name);
        if (!modalities.includes(name)) modalities.push(name);
      }
    }
    if (!segmentation) {
      excluded.push({ id, reason: `no segmentation file (${SEG_NAMES.join(', ')}.nii.gz)` });
      continue;
    }
    raws.push({ id, value: labels.get(id), images, segmentation });
  }
  const onDisk = new Set(folders);
  for (const id of labels.keys()) if (!onDisk.has(id)) excluded.push({ id, reason: 'in the labels file but no folder on disk' });
  modalities.sort();
  const manifest = buildManifest(labelsFile, raws, modalities, {
    layout: 'folders',
    root,
    labelsFile,
    endpoint: { ...options.endpoint, column: header[labelCol], name: options.endpoint?.name ?? header[labelCol] },
  });
  manifest.excluded.push(...excluded);
  return manifest;
}

/**
 * The cohort of a manifest: checks that every named file exists, and makes the per-group
 * availability. A patient whose segmentation or a named image is missing or not a file is
 * unusable: an error listing every one, or, with `skipUnusable`, an `excluded` entry.
 * @throws {CohortError} ERR_UNUSABLE_PATIENTS
 */
export async function cohortOfManifest(manifest: CohortManifest, options: { skipUnusable?: boolean } = {}): Promise<Cohort> {
  const excluded = [...manifest.excluded];
  const unusable: Array<{ id: string; reason: string }> = [];
  const patients: CohortPatient[] = [];
  const isFile = async (p: string) => (await stat(p).catch(() => undefined))?.isFile() === true;
  for (const p of manifest.patients) {
    const missing: string[] = [];
    if (!(await isFile(p.segmentation))) missing.push(`segmentation ${p.segmentation}`);
    for (const [m, path] of Object.entries(p.images)) if (!(await isFile(path))) missing.push(`${m} ${path}`);
    if (missing.length > 0) {
      unusable.push({ id: p.id, reason: `missing or not a file: ${missing.join(', ')}` });
      continue;
    }
    const groups = Object.keys(manifest.modalityGroups).filter((g) => manifest.modalityGroups[g].every((m) => p.images[m]));
    if (groups.length === 0) {
      excluded.push({ id: p.id, reason: 'no modality group with every file' });
      continue;
    }
    patients.push({
      id: p.id,
      label: p.label,
      mgmt: p.value,
      images: { ...p.images },
      masks: {},
      mask: p.segmentation,
      maskSource: 'automated',
      groups,
    });
  }
  if (unusable.length > 0 && !options.skipUnusable) {
    const shown = unusable.slice(0, 20).map((u) => `  - ${u.id}: ${u.reason}`);
    throw new CohortError(
      `${unusable.length} patient(s) of ${manifest.root} cannot be used:\n${shown.join('\n')}${unusable.length > 20 ? `\n  ... and ${unusable.length - 20} more` : ''}\nFix the files, or skip these patients (skipUnusable, --skip-unusable) to go on with the rest`,
      'ERR_UNUSABLE_PATIENTS',
      unusable,
    );
  }
  excluded.push(...unusable);
  const groups: Record<string, CohortGroup> = {};
  for (const [g, members] of Object.entries(manifest.modalityGroups)) {
    const kept = patients.filter((p) => p.groups.includes(g));
    groups[g] = {
      ids: kept.map((p) => p.id),
      methylated: kept.filter((p) => p.label === 1).length,
      unmethylated: kept.filter((p) => p.label === 0).length,
      incomplete: patients
        .filter((p) => !p.groups.includes(g) && members.some((m) => p.images[m]))
        .map((p) => ({ id: p.id, missing: members.filter((m) => !p.images[m]) as never[] })),
    };
  }
  return {
    root: manifest.root,
    layout: manifest.layout,
    clinicalCsv: manifest.labelsFile,
    maskSource: 'automated',
    endpoint: manifest.endpoint,
    modalities: [...manifest.modalities],
    modalityGroups: manifest.modalityGroups,
    regions: manifest.regions,
    patients,
    groups,
    excluded: excluded.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    unmatched: [],
    ignored: [],
  };
}

/**
 * The manifest of a UPENN-GBM cohort ({@link openCohort}): what `spottune data manifest` would
 * write, so that the same cohort can be read back through the manifest path.
 */
export function manifestOfCohort(cohort: Cohort): CohortManifest {
  return {
    format: 'spottune3d-cohort',
    version: 1,
    layout: cohort.layout,
    root: cohort.root,
    labelsFile: cohort.clinicalCsv,
    endpoint: cohort.endpoint,
    modalities: [...cohort.modalities],
    modalityGroups: cohort.modalityGroups,
    regions: cohort.regions,
    patients: cohort.patients.map((p) => ({
      id: p.id,
      label: p.label,
      value: p.mgmt,
      images: Object.fromEntries(Object.entries(p.images).filter((e): e is [string, string] => typeof e[1] === 'string')),
      segmentation: p.mask,
    })),
    excluded: [...cohort.excluded],
  };
}

/**
 * Opens a dataset in any layout as a {@link Cohort}: the layout given or detected, the labels
 * file named or found inside the dataset folder.
 * @throws {CohortError} ERR_LAYOUT (unknown or ambiguous layout), ERR_NO_LABELS, ERR_UNUSABLE_PATIENTS,
 *   ERR_EMPTY_COHORT (no usable patient: the message says what was looked for and where);
 *   {@link ManifestError} for an invalid manifest
 * @example
 * const cohort = await openDataset('/data/brats2021', { labels: '/data/train_labels.csv' });
 * cohort.layout; // 'brats2021'
 */
export async function openDataset(data: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  if (typeof data !== 'string' || data.length === 0)
    throw new TypeError(`Expected a dataset folder or manifest path for data but received ${describeValue(data)}`);
  if (options.layout !== undefined && !(LAYOUTS as readonly string[]).includes(options.layout)) {
    throw new RangeError(`Expected layout to be one of ${LAYOUTS.join(', ')} but received ${describeValue(options.layout)}`);
  }
  const detected = options.layout === undefined;
  const layout = options.layout ?? (await detectLayout(data));
  let cohort: Cohort;
  if (layout === 'upenn') {
    cohort = await openCohort(data, {
      ...(options.mask ? { mask: options.mask } : {}),
      ...(options.labels ? { clinicalCsv: options.labels } : {}),
    }).catch((err: Error & { code?: string }) => {
      throw err.code === 'ERR_NO_LABELS' ? new CohortError(err.message, 'ERR_NO_LABELS') : err;
    });
  } else {
    const csv: ManifestCsvOptions = {
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.delimiter ? { delimiter: options.delimiter } : {}),
    };
    const manifest =
      layout === 'brats2021'
        ? await bratsManifest(data, {
            ...(options.labels ? { labels: options.labels } : {}),
            ...(options.delimiter ? { delimiter: options.delimiter } : {}),
          })
        : layout === 'folders'
          ? await foldersManifest(data, { ...csv, ...(options.labels ? { labels: options.labels } : {}) })
          : await readManifest(data, csv);
    cohort = await cohortOfManifest(manifest, { skipUnusable: options.skipUnusable });
  }
  if (cohort.patients.length === 0 && !options.allowEmpty) {
    const looked: Record<Layout, string> = {
      upenn: `baseline (_11) scans under images_structural/, images_DTI/, images_DSC/ with a mask in automated_segm/ and a Methylated/Unmethylated MGMT in ${cohort.clinicalCsv}`,
      brats2021: `BraTS2021_NNNNN/ folders with t1, t1ce, t2, flair and seg files and an MGMT_value in ${cohort.clinicalCsv}`,
      folders: `patient folders with .nii/.nii.gz images and a segmentation, and a label in ${cohort.clinicalCsv}`,
      manifest: `patients in the manifest with a label in its mapping and their files`,
    };
    const reasons = new Map<string, number>();
    for (const e of cohort.excluded) reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
    const why = [...reasons].slice(0, 8).map(([r, n]) => `  ${n} x ${r}`);
    throw new CohortError(
      `${cohort.root}: 0 usable patients (layout ${layout}${detected ? ', detected' : ''}). Looked for ${looked[layout]}.${why.length ? `\nLeft out:\n${why.join('\n')}` : ' Nothing matched.'}`,
      'ERR_EMPTY_COHORT',
    );
  }
  return Object.assign(cohort, { detected });
}
