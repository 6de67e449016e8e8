/**
 * The cohort manifest: what every layout adapter produces and what everything downstream reads.
 * Per patient an ID, a binary label (from any column, through a value mapping), the image path of
 * each modality under the user's own modality names, and the segmentation; per cohort the
 * modality groups and which segmentation label values make up each tumour region.
 *
 * A manifest is JSON ({@link parseManifestJson}) or CSV ({@link parseManifestCsv}: comma,
 * semicolon or tab, detected or given; a UTF-8 BOM is dropped). Problems are collected and thrown
 * together as a {@link ManifestError} whose issues name the row and the field.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, resolve } from 'node:path';
import { describeValue } from '../../util/validate.js';

/** A binary endpoint: which raw values of the label column are the positive and the negative class. */
export interface Endpoint {
  /** Display name, e.g. `MGMT`. */
  name: string;
  /** The column (CSV) or field the raw value came from. */
  column: string;
  /** Raw values (compared trimmed, case-insensitively) that mean label 1. */
  positive: string[];
  /** Raw values that mean label 0. Any other value excludes the patient, with the reason. */
  negative: string[];
}

/** One patient of a manifest. */
export interface ManifestPatient {
  id: string;
  /** 1 = the endpoint's positive class (for MGMT: methylated), 0 = negative. */
  label: 0 | 1;
  /** The raw endpoint value the label was mapped from. */
  value: string;
  /** Absolute image path per modality name; a modality absent here is missing for this patient. */
  images: Record<string, string>;
  /** Absolute path of the tumour segmentation. */
  segmentation: string;
}

/** A validated cohort manifest (every path absolute). */
export interface CohortManifest {
  format: 'spottune3d-cohort';
  version: 1;
  /** The layout it was read from: `upenn`, `brats2021`, `folders` or `manifest`. */
  layout: string;
  /** The dataset folder (relative paths of a manifest file resolve against it). */
  root: string;
  /** The labels or clinical file the labels came from, if any. */
  labelsFile: string | null;
  endpoint: Endpoint;
  /** Every modality name, in channel order. */
  modalities: string[];
  /** Group name -> its modalities (ensembles and the splits' anchor name groups). */
  modalityGroups: Record<string, string[]>;
  /** Tumour region name -> the segmentation label values that make it up. */
  regions: Record<string, number[]>;
  patients: ManifestPatient[];
  /** Rows left out on purpose (label value outside the mapping), with the reason. */
  excluded: Array<{ id: string; reason: string }>;
}

/** One problem of a manifest: where (row 1 = the first data row; field = column or key) and what. */
export interface ManifestIssue {
  row?: number;
  field?: string;
  message: string;
}

/** A manifest that does not validate; `issues` lists every problem with its row and field. */
export class ManifestError extends Error {
  readonly code = 'ERR_INVALID_MANIFEST';
  constructor(
    readonly source: string,
    readonly issues: readonly ManifestIssue[],
  ) {
    super(`Invalid cohort manifest ${source}:\n${issues.map((i) => `  - ${where(i)}${i.message}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

const where = (i: ManifestIssue) =>
  i.row !== undefined
    ? `row ${i.row}${i.field ? `, field ${JSON.stringify(i.field)}` : ''}: `
    : i.field
      ? `field ${JSON.stringify(i.field)}: `
      : '';

/**
 * Default value mapping of a binary label: the usual spellings of yes and no, and MGMT's
 * (docs/study.md section 1: methylated is the positive class).
 */
export const DEFAULT_POSITIVE = ['1', 'methylated', 'true', 'yes', 'positive'];
/** See {@link DEFAULT_POSITIVE}. */
export const DEFAULT_NEGATIVE = ['0', 'unmethylated', 'false', 'no', 'negative'];

/**
 * The UPENN-GBM and BraTS segmentation labels (1 necrotic core, 2 oedema, 4 enhancing) as the
 * study's five regions (docs/study.md section 9): the default region definitions.
 */
export const BRATS_REGIONS: Readonly<Record<string, readonly number[]>> = {
  necrotic: [1],
  enhancing: [4],
  core: [1, 4],
  oedema: [2],
  whole: [1, 2, 4],
};

/** What the caller settles about a manifest that the file itself may leave out. */
export interface ManifestDefaults {
  /** Layout name recorded in the manifest. Default `manifest`. */
  layout?: string;
  /** Folder that relative paths resolve against. Default: the manifest file's folder. */
  root?: string;
  /** The labels or clinical file the labels came from, recorded as the manifest's `labelsFile`. Default null (none). */
  labelsFile?: string | null;
  /** Endpoint (name, column, value mapping). Default: column `label`, {@link DEFAULT_POSITIVE} / {@link DEFAULT_NEGATIVE}. */
  endpoint?: Partial<Endpoint>;
  /** Default: one group per modality. */
  modalityGroups?: Record<string, string[]>;
  /** Default {@link BRATS_REGIONS}. */
  regions?: Record<string, readonly number[]>;
}

/** Raw patient rows before validation: ID, raw label, modality -> path, segmentation. */
interface RawRow {
  id: unknown;
  value: unknown;
  images: Record<string, unknown>;
  segmentation: unknown;
}

/**
 * Validates raw rows into a {@link CohortManifest}. Structural problems (no ID, a duplicate ID,
 * no segmentation, a path that is not a string, a group naming an unknown modality, a region
 * without labels) are collected and thrown together; a label value outside the mapping excludes
 * the row with its reason. Whether the files exist is the cohort's concern ({@link openManifest}).
 * @throws {ManifestError}
 */
export function buildManifest(
  source: string,
  rows: readonly RawRow[],
  modalities: readonly string[],
  defaults: ManifestDefaults = {},
): CohortManifest {
  const issues: ManifestIssue[] = [];
  const root = resolve(defaults.root ?? '.');
  const e = defaults.endpoint ?? {};
  const endpoint: Endpoint = {
    name: e.name ?? e.column ?? 'label',
    column: e.column ?? 'label',
    positive: (e.positive ?? DEFAULT_POSITIVE).map(norm),
    negative: (e.negative ?? DEFAULT_NEGATIVE).map(norm),
  };
  const clash = endpoint.positive.filter((v) => endpoint.negative.includes(v));
  if (clash.length > 0)
    issues.push({ field: 'endpoint', message: `values ${clash.map((v) => JSON.stringify(v)).join(', ')} are both positive and negative` });
  if (modalities.length === 0) issues.push({ field: 'modalities', message: 'no modality: name at least one image column or key' });
  const groups = defaults.modalityGroups ?? Object.fromEntries(modalities.map((m) => [m, [m]]));
  for (const [g, members] of Object.entries(groups)) {
    if (!Array.isArray(members) || members.length === 0)
      issues.push({ field: `modalityGroups.${g}`, message: 'a group needs at least one modality' });
    else
      for (const m of members)
        if (!modalities.includes(m))
          issues.push({
            field: `modalityGroups.${g}`,
            message: `unknown modality ${JSON.stringify(m)}; the manifest has ${modalities.join(', ')}`,
          });
  }
  const regions: Record<string, number[]> = {};
  for (const [r, labels] of Object.entries(defaults.regions ?? BRATS_REGIONS)) {
    if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => Number.isInteger(l) && l > 0)) {
      issues.push({
        field: `regions.${r}`,
        message: `expected a non-empty list of positive integer label values but received ${describeValue(labels)}`,
      });
    } else regions[r] = [...labels];
  }
  const patients: ManifestPatient[] = [];
  const excluded: CohortManifest['excluded'] = [];
  const seen = new Map<string, number>();
  const path = (value: unknown, row: number, field: string): string | undefined => {
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') {
      issues.push({ row, field, message: `expected a file path but received ${describeValue(value)}` });
      return undefined;
    }
    return isAbsolute(value.trim()) ? value.trim() : resolve(root, value.trim());
  };
  rows.forEach((r, k) => {
    const row = k + 1;
    const id = typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id).trim() : '';
    if (!id) {
      issues.push({ row, field: 'id', message: `expected a patient ID but received ${describeValue(r.id)}` });
      return;
    }
    if (seen.has(id)) {
      issues.push({ row, field: 'id', message: `duplicate patient ID ${JSON.stringify(id)} (first on row ${seen.get(id)})` });
      return;
    }
    seen.set(id, row);
    const images: Record<string, string> = {};
    for (const [m, v] of Object.entries(r.images)) {
      if (!modalities.includes(m)) {
        issues.push({ row, field: m, message: `unknown modality ${JSON.stringify(m)}; the manifest has ${modalities.join(', ')}` });
        continue;
      }
      const p = path(v, row, m);
      if (p) images[m] = p;
    }
    const segmentation = path(r.segmentation, row, 'segmentation');
    if (!segmentation) {
      if (typeof r.segmentation !== 'string' || r.segmentation === '')
        issues.push({ row, field: 'segmentation', message: 'no segmentation path' });
      return;
    }
    const value = r.value === undefined || r.value === null ? '' : String(r.value).trim();
    const label = endpoint.positive.includes(norm(value)) ? 1 : endpoint.negative.includes(norm(value)) ? 0 : undefined;
    if (label === undefined) {
      excluded.push({
        id,
        reason:
          value === ''
            ? `no ${endpoint.name} value`
            : `${endpoint.name} ${JSON.stringify(value)} is neither positive (${endpoint.positive.join(', ')}) nor negative (${endpoint.negative.join(', ')})`,
      });
      return;
    }
    patients.push({ id, label, value, images, segmentation });
  });
  if (issues.length > 0) throw new ManifestError(source, issues);
  patients.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    format: 'spottune3d-cohort',
    version: 1,
    layout: defaults.layout ?? 'manifest',
    root,
    labelsFile: defaults.labelsFile ?? null,
    endpoint,
    modalities: [...modalities],
    modalityGroups: Object.fromEntries(Object.entries(groups).map(([g, m]) => [g, [...m]])),
    regions,
    patients,
    excluded,
  };
}

const norm = (v: string) => v.trim().toLowerCase();

/** The delimiter of a delimited text: the most frequent of `,`, `;` and tab outside quotes on its first line. */
export function detectDelimiter(text: string): ',' | ';' | '\t' {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && ch in counts) counts[ch as keyof typeof counts]++;
  }
  const best = (Object.keys(counts) as Array<keyof typeof counts>).reduce((a, b) => (counts[b] > counts[a] ? b : a), ',');
  return best;
}

/** Parses delimited text (RFC 4180 quoting, CRLF) into rows of strings; blank lines are dropped and a BOM is removed. */
export function parseDelimited(text: string, delimiter = ','): string[][] {
  text = text.replace(/^\uFEFF/, '');
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === delimiter) {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

/** Options of {@link parseManifestCsv}. */
export interface ManifestCsvOptions extends ManifestDefaults {
  /** `,`, `;` or tab; default detected from the header line. */
  delimiter?: string;
}

const ID_COLUMNS = ['id', 'patient', 'patient_id', 'patientid', 'subject'];
const SEG_COLUMNS = ['segmentation', 'seg', 'mask'];
const NIFTI = /\.nii(\.gz)?$/i;

/**
 * Parses a CSV manifest: an ID column (`id`, `patient`, `patient_id`, `subject`), the label
 * column (`endpoint.column`, default `label`), a segmentation column (`segmentation`, `seg`,
 * `mask`), and one column per modality: columns named `image:<modality>`, or, when there is none,
 * every other column whose filled cells all name `.nii`/`.nii.gz` files. Column names match
 * case-insensitively. Relative paths resolve against `root` (default: the CSV's folder).
 * @throws {ManifestError} naming the row and the field of every problem
 */
export function parseManifestCsv(text: string, source: string, options: ManifestCsvOptions = {}): CohortManifest {
  const delimiter = options.delimiter ?? detectDelimiter(text.replace(/^\uFEFF/, ''));
  if (![',', ';', '\t'].includes(delimiter))
    throw new RangeError(`Expected delimiter to be ",", ";" or a tab but received ${describeValue(delimiter)}`);
  const rows = parseDelimited(text, delimiter);
  if (rows.length === 0) throw new ManifestError(source, [{ message: 'the file is empty' }]);
  const header = rows[0].map((h) => h.trim());
  const lower = header.map((h) => h.toLowerCase());
  const find = (names: readonly string[]) => lower.findIndex((h) => names.includes(h));
  const idCol = find(ID_COLUMNS);
  const labelName = options.endpoint?.column ?? 'label';
  const labelCol = lower.indexOf(labelName.toLowerCase());
  const segCol = find(SEG_COLUMNS);
  const issues: ManifestIssue[] = [];
  const cols = header.map((h) => JSON.stringify(h)).join(', ');
  if (idCol < 0)
    issues.push({
      field: 'id',
      message: `no ID column (one of ${ID_COLUMNS.join(', ')}); the header has ${cols}${delimiter === ',' && header.length === 1 ? '; is the file delimited by something else? pass the delimiter' : ''}`,
    });
  if (labelCol < 0) issues.push({ field: labelName, message: `no label column ${JSON.stringify(labelName)}; the header has ${cols}` });
  if (segCol < 0)
    issues.push({ field: 'segmentation', message: `no segmentation column (one of ${SEG_COLUMNS.join(', ')}); the header has ${cols}` });
  if (issues.length > 0) throw new ManifestError(source, issues);
  const data = rows.slice(1);
  const tagged = header.map((h, c) => (/^image:/i.test(h) ? c : -1)).filter((c) => c >= 0);
  const imageCols =
    tagged.length > 0
      ? tagged
      : header
          .map((_, c) => c)
          .filter(
            (c) =>
              c !== idCol &&
              c !== labelCol &&
              c !== segCol &&
              data.some((r) => (r[c] ?? '').trim() !== '') &&
              data.every((r) => (r[c] ?? '').trim() === '' || NIFTI.test(r[c].trim())),
          );
  const name = (c: number) => header[c].replace(/^image:/i, '').trim();
  const modalities = imageCols.map(name);
  const raw: RawRow[] = data.map((r) => ({
    id: r[idCol] ?? '',
    value: r[labelCol] ?? '',
    images: Object.fromEntries(imageCols.map((c) => [name(c), (r[c] ?? '').trim()])),
    segmentation: (r[segCol] ?? '').trim(),
  }));
  return buildManifest(source, raw, modalities, { ...options, endpoint: { ...options.endpoint, column: header[labelCol] } });
}

/**
 * Parses a JSON manifest: `{ "endpoint"?: {name, column, positive, negative}, "modalities"?: [...],
 * "modalityGroups"?: {...}, "regions"?: {...}, "patients": [{ "id", "label", "images": {modality:
 * path}, "segmentation" }] }`. `modalities` defaults to every image key, in first-seen order.
 * @throws {ManifestError}
 */
export function parseManifestJson(text: string, source: string, defaults: ManifestDefaults = {}): CohortManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ManifestError(source, [{ message: `not valid JSON: ${(err as Error).message}` }]);
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as { patients?: unknown }).patients)) {
    throw new ManifestError(source, [{ field: 'patients', message: 'expected an object with a "patients" array' }]);
  }
  const d = doc as {
    patients: unknown[];
    modalities?: string[];
    modalityGroups?: Record<string, string[]>;
    regions?: Record<string, number[]>;
    endpoint?: Partial<Endpoint>;
  };
  const issues: ManifestIssue[] = [];
  const raw: RawRow[] = d.patients.map((p, k) => {
    if (!p || typeof p !== 'object') {
      issues.push({ row: k + 1, message: `expected a patient object but received ${describeValue(p)}` });
      return { id: '', value: '', images: {}, segmentation: '' };
    }
    const o = p as Record<string, unknown>;
    const images = o.images && typeof o.images === 'object' ? (o.images as Record<string, unknown>) : {};
    if (!o.images || typeof o.images !== 'object')
      issues.push({
        row: k + 1,
        field: 'images',
        message: `expected an object of modality -> path but received ${describeValue(o.images)}`,
      });
    return { id: o.id, value: o.label, images, segmentation: o.segmentation };
  });
  if (issues.length > 0) throw new ManifestError(source, issues);
  const modalities = d.modalities ?? [...new Set(raw.flatMap((r) => Object.keys(r.images)))];
  return buildManifest(source, raw, modalities, {
    ...defaults,
    endpoint: { column: 'label', ...defaults.endpoint, ...d.endpoint },
    ...(d.modalityGroups ? { modalityGroups: d.modalityGroups } : {}),
    ...(d.regions ? { regions: d.regions } : {}),
  });
}

/**
 * Reads a manifest file: `.json` as JSON, anything else as CSV. Relative paths resolve against
 * `defaults.root`, else the file's folder.
 * @throws {ManifestError}; the fs error when the file cannot be read
 */
export async function readManifest(path: string, options: ManifestCsvOptions = {}): Promise<CohortManifest> {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`Expected a manifest file path for path but received ${describeValue(path)}`);
  const file = resolve(path);
  const text = await readFile(file, 'utf8');
  const defaults = { root: resolve(file, '..'), ...options };
  return extname(file).toLowerCase() === '.json' ? parseManifestJson(text, file, defaults) : parseManifestCsv(text, file, defaults);
}
