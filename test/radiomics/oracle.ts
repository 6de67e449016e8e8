/**
 * The PyRadiomics oracle case brain1 (test/fixtures/radiomics/brain1, see its README.md):
 * the image and label as [D, H, W] arrays, and the published baseline values.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNifti } from '../../lib/io/nifti.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const oracleDir = path.resolve(repoRoot, 'test', 'fixtures', 'radiomics', 'brain1');

export interface Brain1 {
  image: { data: Float32Array; shape: [number, number, number]; spacing: [number, number, number] };
  label: { data: Float32Array; shape: [number, number, number] };
}

/** Reads the NIfTI pair with the library's reader: [k, j, i] = [D, H, W] arrays, i fastest. */
export async function loadBrain1(): Promise<Brain1> {
  const [image, label] = await Promise.all([
    readNifti(path.join(oracleDir, 'brain1_image.nii.gz')),
    readNifti(path.join(oracleDir, 'brain1_label.nii.gz')),
  ]);
  return { image, label };
}

/** SHA-1 of the voxels in PyRadiomics's diagnostics convention (image int16 LE, mask uint32 LE). */
export function voxelSha1(data: Float32Array, kind: 'int16' | 'uint32'): string {
  const typed = kind === 'int16' ? Int16Array.from(data) : Uint32Array.from(data);
  return createHash('sha1').update(new Uint8Array(typed.buffer)).digest('hex');
}

/** Minimal CSV parsing (quoted cells may hold commas). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line) continue;
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') (cell += '"'), i++;
        else if (ch === '"') quoted = false;
        else cell += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') cells.push(cell), (cell = '');
      else cell += ch;
    }
    cells.push(cell);
    rows.push(cells);
  }
  return rows;
}

/**
 * The published baseline: per configuration column (brain1, brain1_FBN, ...), per class, the
 * feature values, e.g. baseline().brain1.glcm.Contrast.
 */
export function baseline(): Record<string, Record<string, Record<string, number>>> {
  const [header, ...rows] = parseCsv(readFileSync(path.join(oracleDir, 'baseline_brain1.csv'), 'utf8'));
  const out: Record<string, Record<string, Record<string, number>>> = {};
  for (const row of rows) {
    const [cls, name] = row;
    if (!name.startsWith('original_')) continue;
    const feature = name.split('_').slice(2).join('_');
    for (let c = 2; c < header.length; c++) {
      if (row[c] === undefined || row[c] === '') continue;
      ((out[header[c]] ??= {})[cls] ??= {})[feature] = Number(row[c]);
    }
  }
  return out;
}

/** The published matrices (brain1_matrices.json): glcm [33, 33, 13], glszm [33, 25], ngtdm [33, 3]. */
export function publishedMatrices(): {
  glcm: { shape: number[]; data: number[][][] };
  glszm: { shape: number[]; data: number[][] };
  ngtdm: { shape: number[]; data: number[][] };
  grayLevels: number[];
} {
  return JSON.parse(readFileSync(path.join(oracleDir, 'matrices', 'brain1_matrices.json'), 'utf8'));
}

/** Settings of a baseline column, from its diagnostics_Configuration_Settings row. */
export function settingsOf(column: string): string {
  const [header, ...rows] = parseCsv(readFileSync(path.join(oracleDir, 'baseline_brain1.csv'), 'utf8'));
  const c = header.indexOf(column);
  return rows
    .filter((r) => r[1] === 'diagnostics_Configuration_Settings' && r[c])
    .map((r) => `${r[0]}: ${r[c]}`)
    .join('\n');
}

/** Reads a little-endian float64 .npy file (format 1.0/2.0): its shape and values in C order. */
export function readNpy(file: string): { shape: number[]; data: Float64Array } {
  const bytes = readFileSync(file);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file} is not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLength);
  if (!/'descr':\s*'<f8'/.test(header)) throw new Error(`${file}: expected <f8, got ${header}`);
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map(Number);
  const offset = start + headerLength;
  const raw = new Float64Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + bytes.length));
  if (!fortran || shape.length < 2) return { shape, data: raw };
  // Fortran order: the first index fastest. Reorder to C order (the last index fastest).
  const data = new Float64Array(raw.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < raw.length; c++) {
    let f = 0;
    for (let axis = shape.length - 1; axis >= 0; axis--) f = f * shape[axis] + index[axis];
    data[c] = raw[f];
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  return { shape, data };
}
