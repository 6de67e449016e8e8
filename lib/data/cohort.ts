/**
 * The UPENN-GBM cohort as downloaded from The Cancer Imaging Archive: discovers the NIfTI package
 * layout and the clinical CSV, keeps the study's patients, and reports everything it leaves out.
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { GROUP_FOLDERS, GROUPS, MODALITIES, MODALITY_GROUPS, type Modality } from '../config/data.js';
import { checkOneOf, describeValue } from '../util/validate.js';
import { BRATS_REGIONS, parseDelimited, type Endpoint } from './cohort/manifest.js';

/** MGMT promoter status as written in the clinical CSV's `MGMT` column. */
export type MgmtStatus = 'Methylated' | 'Unmethylated' | 'Indeterminate' | 'Not Available';
const MGMT_VALUES: readonly MgmtStatus[] = ['Methylated', 'Unmethylated', 'Indeterminate', 'Not Available'];

/** Which tumour mask a patient's volumes are masked with. */
export type MaskSource = 'automated' | 'corrected';

/**
 * A patient kept by {@link openCohort} (baseline scan, definite MGMT status, a tumour mask) or by
 * a layout adapter (lib/data/cohort/layouts.ts: a label inside the endpoint's mapping, a segmentation).
 */
export interface CohortPatient {
  /** Patient or scan ID, e.g. `UPENN-GBM-00001_11`, `BraTS2021_00002`. */
  id: string;
  /** 1 = the positive class (for MGMT: methylated), 0 = the negative. */
  label: 0 | 1;
  /** The raw label value as written in the clinical or labels file (UPENN-GBM: `Methylated` or `Unmethylated`). */
  mgmt: string;
  /** Absolute paths of the modality files found, by the cohort's modality names. */
  images: Partial<Record<Modality, string>> & Record<string, string | undefined>;
  /** Absolute paths of the masks found: automated_segm and images_segm (corrected). */
  masks: { automated?: string; corrected?: string };
  /** The mask to use (per the cohort's mask choice; a manifest's segmentation otherwise). */
  mask: string;
  /** 'automated' also for a manifest's segmentation (there is no choice to make). */
  maskSource: MaskSource;
  /** Groups for which every modality file is present. */
  groups: string[];
}

/** Per-group availability. */
export interface CohortGroup {
  /** IDs of patients with every file of the group, sorted. */
  ids: string[];
  methylated: number;
  unmethylated: number;
  /** Kept patients with some but not all files of the group. */
  incomplete: Array<{ id: string; missing: Modality[] }>;
}

/** A cohort: its patients, per-group availability, and everything left out with the reason. */
export interface Cohort {
  /** The dataset folder (the NIfTI package root for UPENN-GBM). */
  root: string;
  /** The layout read: `upenn`, `brats2021`, `folders` or `manifest`. */
  layout: string;
  /** The clinical or labels file used; null when the labels came from the manifest itself. */
  clinicalCsv: string | null;
  maskSource: MaskSource;
  /** The binary endpoint and its value mapping (UPENN-GBM: MGMT, Methylated = 1). */
  endpoint: Endpoint;
  /** Every modality name of the cohort, in channel order. */
  modalities: string[];
  /** Group name -> modalities (UPENN-GBM: the study's struct, DTI, DSC). */
  modalityGroups: Record<string, string[]>;
  /** Tumour region name -> segmentation label values (radiomics regions; docs/study.md section 9). */
  regions: Record<string, number[]>;
  /** Kept patients, sorted by ID. */
  patients: CohortPatient[];
  groups: Record<string, CohortGroup>;
  /** Scan IDs left out, with the reason (follow-up scan, MGMT not definite, no mask, ...). */
  excluded: Array<{ id: string; reason: string }>;
  /** Files and folders that follow no documented pattern, relative to `root`. */
  unmatched: Array<{ path: string; reason: string }>;
  /** Files recognised but not used (the 4-D DSC series, `old/` subfolders), relative to `root`. */
  ignored: Array<{ path: string; reason: string }>;
}

/** Options of {@link openCohort}: the tumour mask to use and where the clinical CSV is. */
export interface OpenCohortOptions {
  /** 'automated' (automated_segm, the study's choice; the default) or 'corrected' (images_segm where present, else automated). */
  mask?: MaskSource;
  /**
   * Path of the clinical CSV; default: the newest `UPENN-GBM_clinical_info_v*.csv` in `root`, else
   * in a subfolder of it. Never one in the parent or a sibling folder: a file the user did not name
   * and that is not inside the dataset could belong to another dataset (REF kept it in `../csvs/`:
   * name it).
   */
  clinicalCsv?: string;
}

const ID = /^UPENN-GBM-\d{5}_\d{2}$/;
/** UPENN-GBM's endpoint: the clinical CSV's MGMT column, Methylated = 1 (docs/study.md section 1). */
const UPENN_ENDPOINT: Endpoint = { name: 'MGMT', column: 'MGMT', positive: ['methylated'], negative: ['unmethylated'] };
const NIFTI = /\.nii(\.gz)?$/;

/** Parses CSV text (RFC 4180: quoted fields, doubled quotes, CRLF) into rows of strings. */
export function parseCsv(text: string): string[][] {
  return parseDelimited(text, ',');
}

/** Reads the clinical CSV: ID -> MGMT status (raw, trimmed). Throws when the ID or MGMT column is missing. */
export async function readClinicalCsv(path: string): Promise<Map<string, string>> {
  const rows = parseCsv((await readFile(path, 'utf8')).replace(/^\uFEFF/, ''));
  if (rows.length === 0) throw new Error(`${path}: the clinical CSV is empty`);
  const header = rows[0].map((h) => h.trim());
  const idCol = header.indexOf('ID');
  const mgmtCol = header.indexOf('MGMT');
  if (idCol < 0 || mgmtCol < 0) {
    throw new Error(
      `${path}: expected columns "ID" and "MGMT" in the clinical CSV but found ${header.map((h) => JSON.stringify(h)).join(', ')}`,
    );
  }
  const out = new Map<string, string>();
  for (const r of rows.slice(1)) {
    const id = (r[idCol] ?? '').trim();
    if (id) out.set(id, (r[mgmtCol] ?? '').trim());
  }
  return out;
}

function versionKey(name: string): number[] {
  const m = /_v([\d.]+)\.csv$/i.exec(name);
  return m ? m[1].split('.').filter(Boolean).map(Number) : [];
}

async function findClinicalCsv(root: string): Promise<string | undefined> {
  const pattern = /^UPENN-GBM_clinical_info_v[\d.]+\.csv$/i;
  const candidates: string[] = [];
  const scan = async (dir: string, depth: number) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isFile() && pattern.test(e.name)) candidates.push(join(dir, e.name));
      else if (e.isDirectory() && depth > 0 && !e.name.startsWith('.')) await scan(join(dir, e.name), depth - 1);
    }
  };
  // nearest first: the root itself, then its subfolders; never outside the dataset's own folder
  await scan(root, 0);
  if (candidates.length === 0) await scan(root, 1);
  candidates.sort((a, b) => {
    const va = versionKey(basename(a));
    const vb = versionKey(basename(b));
    for (let i = 0; i < Math.max(va.length, vb.length); i++) if ((va[i] ?? 0) !== (vb[i] ?? 0)) return (vb[i] ?? 0) - (va[i] ?? 0);
    return a.localeCompare(b);
  });
  return candidates[0];
}

async function listDir(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
}

/** The ID a file name starts with (`UPENN-GBM-00001_11_T1.nii.gz` -> `UPENN-GBM-00001_11`), as REF keys patients. */
function idOf(name: string): string {
  return name.split('.')[0].split('_').slice(0, 2).join('_');
}

/**
 * Discovers a UPENN-GBM NIfTI package.
 *
 * Layout (docs/study.md section 1): `images_structural/<ID>/<ID>_{T1,T1GD,T2,FLAIR}.nii.gz`,
 * `images_DTI/[images_DTI/]<ID>/<ID>_DTI_{AD,FA,RD,TR}.nii.gz`,
 * `images_DSC/<ID>/<ID>_DSC_{ap-rCBV,PH,PSR}.nii.gz` (the 4-D `<ID>_DSC.nii.gz` is ignored),
 * `automated_segm/<ID>_automated_approx_segm.nii.gz`, `images_segm/<ID>_segm.nii.gz`, and the
 * clinical CSV (`ID`, `MGMT`). Keeps baseline scans (`_11`) with a definite MGMT status
 * (Methylated = 1, Unmethylated = 0) and a tumour mask; only a patient folder's top-level files are
 * used (`old/` subfolders are ignored). Nothing is dropped silently: see `excluded`, `unmatched`
 * and `ignored`.
 *
 * @param root The NIfTI package folder (holding images_structural, ...).
 * @throws Error when `root` is not a folder, or no clinical CSV is found or it lacks ID/MGMT.
 * @example
 * const cohort = await openCohort('/data/upenn_GBM/images/NIfTI-files');
 * cohort.groups.DSC.ids.length; // patients with all three DSC derivatives
 */
export async function openCohort(root: string, options: OpenCohortOptions = {}): Promise<Cohort> {
  if (typeof root !== 'string' || root.length === 0)
    throw new TypeError(`Expected a directory path for root but received ${describeValue(root)}`);
  const maskSource = checkOneOf(options.mask ?? 'automated', 'options.mask', ['automated', 'corrected'] as const);
  root = resolve(root);
  const rootStat = await stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) throw new Error(`${root}: not a directory (expected the UPENN-GBM NIfTI package folder)`);
  const clinicalCsv = options.clinicalCsv ? resolve(options.clinicalCsv) : await findClinicalCsv(root);
  if (!clinicalCsv) {
    throw Object.assign(
      new Error(
        `${root}: no UPENN-GBM_clinical_info_v*.csv found in the folder or its subfolders; pass clinicalCsv (--clinical-csv / --labels) to use one elsewhere`,
      ),
      { code: 'ERR_NO_LABELS' },
    );
  }
  const clinical = await readClinicalCsv(clinicalCsv);

  const unmatched: Cohort['unmatched'] = [];
  const ignored: Cohort['ignored'] = [];
  const rel = (p: string) => relative(root, p);
  const images = new Map<string, Partial<Record<Modality, string>>>();
  const masks = new Map<string, { automated?: string; corrected?: string }>();
  const seen = new Set<string>();
  const known = new Set<string>([...Object.values(GROUP_FOLDERS), 'automated_segm', 'images_segm']);

  for (const group of GROUPS) {
    const folder = join(root, GROUP_FOLDERS[group]);
    const suffixes = new Map<string, Modality>(MODALITY_GROUPS[group].map((m) => [m, m]));
    const scanGroup = async (dir: string, nested: boolean) => {
      const entries = await listDir(dir);
      if (!entries) return;
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory() && e.name === GROUP_FOLDERS[group] && !nested) {
          await scanGroup(path, true); // images_DTI/images_DTI/<ID>/ in the Faspex package
        } else if (e.isDirectory() && ID.test(e.name)) {
          await scanPatient(path, e.name);
        } else {
          unmatched.push({
            path: rel(path),
            reason: e.isDirectory()
              ? `folder in ${GROUP_FOLDERS[group]} is not a scan ID`
              : `file in ${GROUP_FOLDERS[group]} outside a scan-ID folder`,
          });
        }
      }
    };
    const scanPatient = async (dir: string, id: string) => {
      for (const e of (await listDir(dir)) ?? []) {
        const path = join(dir, e.name);
        if (e.isDirectory()) {
          ignored.push({ path: rel(path), reason: 'subfolder of a scan folder (only top-level files are used)' });
          continue;
        }
        if (!NIFTI.test(e.name) || !e.name.startsWith(`${id}_`)) {
          unmatched.push({
            path: rel(path),
            reason: NIFTI.test(e.name) ? `file does not start with its folder's ID ${id}_` : 'not a .nii/.nii.gz file',
          });
          continue;
        }
        const suffix = e.name.slice(id.length + 1).replace(NIFTI, '');
        const modality = suffixes.get(suffix);
        if (modality) {
          seen.add(id);
          const entry = images.get(id) ?? {};
          entry[modality] = path;
          images.set(id, entry);
        } else if (group === 'DSC' && suffix === 'DSC') {
          ignored.push({ path: rel(path), reason: '4-D DSC series (the study uses the derivatives)' });
        } else {
          unmatched.push({ path: rel(path), reason: `unknown ${group} modality suffix "${suffix}"` });
        }
      }
    };
    await scanGroup(folder, false);
  }

  for (const [folder, kind, suffix] of [
    ['automated_segm', 'automated', '_automated_approx_segm'],
    ['images_segm', 'corrected', '_segm'],
  ] as const) {
    for (const e of (await listDir(join(root, folder))) ?? []) {
      const path = join(root, folder, e.name);
      const stem = e.name.replace(NIFTI, '');
      const id = stem.slice(0, stem.length - suffix.length);
      if (e.isFile() && NIFTI.test(e.name) && stem.endsWith(suffix) && ID.test(id)) {
        const entry = masks.get(id) ?? {};
        entry[kind] = path;
        masks.set(id, entry);
      } else {
        unmatched.push({ path: rel(path), reason: `not <ID>${suffix}.nii.gz` });
      }
    }
  }
  for (const e of (await listDir(root)) ?? []) {
    if (known.has(e.name) || e.name.startsWith('.')) continue;
    const path = join(root, e.name);
    if (path === clinicalCsv) continue;
    if (e.isFile() && /\.csv$/i.test(e.name)) ignored.push({ path: rel(path), reason: 'CSV other than the clinical CSV used' });
    else unmatched.push({ path: rel(path), reason: 'not part of the UPENN-GBM NIfTI layout' });
  }

  // Patients: every scan ID on disk or in the CSV.
  const excluded: Cohort['excluded'] = [];
  const patients: CohortPatient[] = [];
  const ids = [...new Set([...seen, ...masks.keys(), ...clinical.keys()])].sort();
  for (const id of ids) {
    const onDisk = seen.has(id);
    const status = clinical.get(id);
    if (!id.endsWith('_11')) {
      if (onDisk || masks.has(id)) excluded.push({ id, reason: `not a pre-operative baseline scan (_${id.split('_').pop()})` });
      continue;
    }
    if (status === undefined) {
      excluded.push({ id, reason: 'not in the clinical CSV' });
      continue;
    }
    if (status !== 'Methylated' && status !== 'Unmethylated') {
      if (!onDisk) continue; // a CSV row without scans and without a status: nothing to report
      excluded.push({
        id,
        reason: MGMT_VALUES.includes(status as MgmtStatus) ? `MGMT ${status}` : `MGMT value ${JSON.stringify(status)} not recognised`,
      });
      continue;
    }
    if (!onDisk) {
      excluded.push({ id, reason: 'MGMT known but no images on disk' });
      continue;
    }
    const found = masks.get(id) ?? {};
    const chosen = maskSource === 'corrected' && found.corrected ? 'corrected' : 'automated';
    const mask = found[chosen];
    if (!mask) {
      excluded.push({ id, reason: 'no automated tumour mask (automated_segm)' });
      continue;
    }
    const files = images.get(id) ?? {};
    const groups = GROUPS.filter((g) => MODALITY_GROUPS[g].every((m) => files[m]));
    if (groups.length === 0) {
      excluded.push({ id, reason: 'no modality group with every file' });
      continue;
    }
    patients.push({
      id,
      label: status === 'Methylated' ? 1 : 0,
      mgmt: status,
      images: files,
      masks: found,
      mask,
      maskSource: chosen,
      groups,
    });
  }

  const groups = {} as Record<string, CohortGroup>;
  for (const g of GROUPS) {
    const members = patients.filter((p) => p.groups.includes(g));
    groups[g] = {
      ids: members.map((p) => p.id),
      methylated: members.filter((p) => p.label === 1).length,
      unmethylated: members.filter((p) => p.label === 0).length,
      incomplete: patients
        .filter((p) => !p.groups.includes(g) && MODALITY_GROUPS[g].some((m) => p.images[m]))
        .map((p) => ({ id: p.id, missing: MODALITY_GROUPS[g].filter((m) => !p.images[m]) })),
    };
  }
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return {
    root,
    layout: 'upenn',
    clinicalCsv,
    maskSource,
    endpoint: UPENN_ENDPOINT,
    modalities: [...MODALITIES],
    modalityGroups: Object.fromEntries(GROUPS.map((g) => [g, [...MODALITY_GROUPS[g]]])),
    regions: Object.fromEntries(Object.entries(BRATS_REGIONS).map(([r, l]) => [r, [...l]])),
    patients,
    groups,
    excluded,
    unmatched: unmatched.sort(byPath),
    ignored: ignored.sort(byPath),
  };
}

/**
 * Counts per group and class, as `spottune data summary` prints them (`methylated` counts label 1,
 * `unmethylated` label 0, whatever the endpoint).
 */
export function summarizeCohort(cohort: Cohort): {
  patients: number;
  methylated: number;
  unmethylated: number;
  groups: Record<string, { patients: number; methylated: number; unmethylated: number; incomplete: number }>;
  excluded: Record<string, number>;
  unmatched: number;
  ignored: number;
} {
  const excluded: Record<string, number> = {};
  for (const e of cohort.excluded) excluded[e.reason] = (excluded[e.reason] ?? 0) + 1;
  const groups = {} as Record<string, { patients: number; methylated: number; unmethylated: number; incomplete: number }>;
  for (const g of Object.keys(cohort.groups)) {
    const c = cohort.groups[g];
    groups[g] = { patients: c.ids.length, methylated: c.methylated, unmethylated: c.unmethylated, incomplete: c.incomplete.length };
  }
  return {
    patients: cohort.patients.length,
    methylated: cohort.patients.filter((p) => p.label === 1).length,
    unmethylated: cohort.patients.filter((p) => p.label === 0).length,
    groups,
    excluded,
    unmatched: cohort.unmatched.length,
    ignored: cohort.ignored.length,
  };
}
