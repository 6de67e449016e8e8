/**
 * The PyRadiomics oracle case brain1 (../shared/oracles/pyradiomics/brain1, beside the clone):
 * the image and label as [D, H, W] arrays, and the published baseline values.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const oracleDir = path.resolve(repoRoot, '..', 'shared', 'oracles', 'pyradiomics', 'brain1');

export interface Brain1 {
  image: { data: Float64Array; shape: [number, number, number]; spacing: [number, number, number] };
  label: { data: Int32Array; shape: [number, number, number] };
}

/**
 * Reads the NIfTI pair with nibabel (Debian's /usr/bin/python3) into [k, j, i] = [D, H, W]
 * arrays, i fastest: the NIfTI voxel order, which is how the library's readers lay volumes out.
 */
export function loadBrain1(): Brain1 {
  const dir = mkdtempSync(path.join(tmpdir(), 'brain1-'));
  try {
    const script = `
import sys, json, nibabel as nib, numpy as np
src, out = sys.argv[1], sys.argv[2]
img = nib.load(src + '/brain1_image.nii.gz'); lab = nib.load(src + '/brain1_label.nii.gz')
a = np.asarray(img.dataobj).astype('<f8').transpose(2, 1, 0)
b = np.asarray(lab.dataobj).astype('<i4').transpose(2, 1, 0)
open(out + '/image.raw', 'wb').write(np.ascontiguousarray(a).tobytes())
open(out + '/label.raw', 'wb').write(np.ascontiguousarray(b).tobytes())
print(json.dumps({'shape': list(a.shape), 'spacing': [float(z) for z in img.header.get_zooms()[::-1]]}))
`;
    const meta = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, oracleDir, dir], { encoding: 'utf8' })) as {
      shape: [number, number, number];
      spacing: [number, number, number];
    };
    const imageBytes = readFileSync(path.join(dir, 'image.raw'));
    const labelBytes = readFileSync(path.join(dir, 'label.raw'));
    return {
      image: { data: new Float64Array(imageBytes.buffer.slice(imageBytes.byteOffset, imageBytes.byteOffset + imageBytes.byteLength)), shape: meta.shape, spacing: meta.spacing },
      label: { data: new Int32Array(labelBytes.buffer.slice(labelBytes.byteOffset, labelBytes.byteOffset + labelBytes.byteLength)), shape: meta.shape },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
  return rows.filter((r) => r[1] === 'diagnostics_Configuration_Settings' && r[c]).map((r) => `${r[0]}: ${r[c]}`).join('\n');
}
