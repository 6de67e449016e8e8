/**
 * The report: Markdown and one self-contained HTML page (inline CSS and SVG, no scripts, no
 * external resources) with the layout of the paper's Tables 1-4 and Figures 2-5, per-patient
 * policy heat maps, and the predictions per patient as CSV. Every file is written atomically.
 * @module
 */
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { describeValue } from '../util/validate.js';
import { networkLabel, renderFigures, type Figure } from './figures.js';
import type { Estimate, ExperimentResults, ReportMetrics } from './types.js';

/** A table independent of its output format. */
export interface ReportTable {
  caption: string;
  header: string[];
  rows: string[][];
  /** A line under the table. */
  note?: string;
}

/** What {@link writeReport} may write. */
export type ReportFormat = 'html' | 'md' | 'csv' | 'json';

/** Options of {@link writeReport}. */
export interface WriteReportOptions {
  /** Default all four. */
  formats?: readonly ReportFormat[];
}

const SYNTHETIC_BANNER =
  'Synthetic data. These results come from a generated cohort, not from patients: they show that the pipeline runs end to end and learns the signal planted in the synthetic images, and nothing about MGMT methylation.';

function checkResults(results: ExperimentResults): void {
  if (results == null || typeof results !== 'object')
    throw new TypeError(`Expected results to be an object but received ${describeValue(results)}`);
  for (const key of ['networks', 'groups', 'testPatients'] as const) {
    if (!Array.isArray(results[key]))
      throw new TypeError(`Expected results.${key} to be an array but received ${describeValue(results[key])}`);
  }
  const n = results.testPatients.length;
  for (const network of results.networks) {
    for (const [group, e] of Object.entries(results.ensembles?.[network] ?? {})) {
      if (e.probabilities && e.probabilities.length !== n) {
        throw new RangeError(
          `results.ensembles.${network}["${group}"].probabilities has ${e.probabilities.length} values for ${n} test patients`,
        );
      }
    }
  }
}

function number(v: number | undefined, digits = 4): string {
  return v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits);
}

function withCi(e: Estimate | undefined): string {
  if (!e) return 'n/a';
  return e.lower === undefined || e.upper === undefined
    ? number(e.value)
    : `${number(e.value)} [${number(e.lower, 3)}, ${number(e.upper, 3)}]`;
}

function metricCells(m: ReportMetrics | undefined): string[] {
  return m ? [withCi(m.auc), withCi(m.ap), number(m.sensitivity), number(m.specificity)] : ['n/a', 'n/a', 'n/a', 'n/a'];
}

function formatP(p: number): string {
  if (Number.isNaN(p)) return 'n/a';
  return p < 0.001 ? p.toExponential(2) : p.toFixed(4);
}

/** Tables 1-4: one metrics table per network (rows = input groups), then the p-values. */
export function reportTables(results: ExperimentResults): ReportTable[] {
  const positives = results.testPatients.filter((p) => p.label === 1).length;
  const negatives = results.testPatients.length - positives;
  const header = ['Input', 'AUC [95% CI]', 'AP [95% CI]', 'SEN', 'SPE'];
  const tables: ReportTable[] = results.networks.map((network, i) => {
    const rows = results.groups.map((group) => [group, ...metricCells(results.ensembles[network]?.[group]?.metrics)]);
    let note = `Scored on the ${results.testPatients.length} common test patients (${positives} methylated, ${negatives} unmethylated); SEN and SPE at probability > ${results.threshold}. Intervals: bootstrap percentile.`;
    if (i === 0 && results.baseline) {
      const b = results.baseline;
      rows.push([b.name, ...metricCells(b.metrics)]);
      if (b.patients !== undefined) note += ` ${b.name} scored on ${b.patients} patients.`;
    }
    return { caption: `Table ${i + 1}. ${networkLabel(results, network)}: AUC, AP, SEN and SPE per input group`, header, rows, note };
  });
  if (results.statistics && Object.keys(results.statistics).length) {
    const first = Object.values(results.statistics)[0];
    const pairs = first.nemenyi.map(({ a, b }) => [a, b] as const);
    const clamped = Object.values(results.statistics).some((s) => s.clamped);
    tables.push({
      caption: `Table ${results.networks.length + 1}. Friedman test across the networks and Nemenyi post-hoc p-values per input group`,
      header: [
        'Input',
        'Friedman χ²',
        'Friedman p',
        ...pairs.map(([a, b]) => `${networkLabel(results, a)} vs ${networkLabel(results, b)}`),
      ],
      rows: results.groups
        .filter((g) => results.statistics![g])
        .map((g) => {
          const s = results.statistics![g];
          return [
            g,
            number(s.friedman.statistic, 3),
            formatP(s.friedman.pValue),
            ...pairs.map(([a, b]) => {
              const pair = s.nemenyi.find((x) => (x.a === a && x.b === b) || (x.a === b && x.b === a));
              return pair ? formatP(pair.pValue) : 'n/a';
            }),
          ];
        }),
      note:
        "Blocks: the common test patients; groups: the networks' predicted probabilities. Nemenyi p-values from the studentized range distribution" +
        (clamped ? ", clamped to [0.001, 0.9] as the paper's lookup table." : " (exact; the paper's lookup clamped them to [0.001, 0.9])."),
    });
  }
  return tables;
}

function escapeMarkdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * The report as Markdown. Figures are linked as `figures/<name>.svg` (written by
 * {@link writeReport}).
 */
export function renderMarkdown(results: ExperimentResults, figures: readonly Pick<Figure, 'name' | 'caption'>[] = []): string {
  checkResults(results);
  const lines: string[] = [`# ${results.title}`, ''];
  if (results.synthetic) lines.push(`> **${SYNTHETIC_BANNER}**`, '');
  lines.push(...summaryLines(results).map((l) => `- ${l}`), '');
  for (const note of results.notes ?? []) lines.push(`> ${note}`, '');
  for (const table of reportTables(results)) {
    lines.push(`## ${table.caption}`, '');
    lines.push(`| ${table.header.map(escapeMarkdownCell).join(' | ')} |`);
    lines.push(`|${table.header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of table.rows) lines.push(`| ${row.map(escapeMarkdownCell).join(' | ')} |`);
    if (table.note) lines.push('', table.note);
    lines.push('');
  }
  if (figures.length) {
    lines.push('## Figures', '');
    for (const f of figures) lines.push(`![${f.caption}](figures/${f.name}.svg)`, '', `*${f.caption}*`, '');
  }
  lines.push('Predictions per test patient: `predictions.csv`.', '');
  return lines.join('\n');
}

function summaryLines(results: ExperimentResults): string[] {
  const positives = results.testPatients.filter((p) => p.label === 1).length;
  const lines = [
    `Common test set: ${results.testPatients.length} patients (${positives} methylated, ${results.testPatients.length - positives} unmethylated)`,
    `Networks: ${results.networks.map((n) => networkLabel(results, n)).join(', ')}`,
    `Input groups: ${results.groups.join(', ')}`,
  ];
  if (results.createdAt) lines.push(`Produced: ${results.createdAt}`);
  return lines;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Inline SVG needs no namespace declarations; dropping them keeps the page free of URLs. */
function inlineSvg(svg: string): string {
  return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '');
}

const CSS = `
body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.1em; margin-top: 2em; }
.banner { background: #fff3cd; border: 1px solid #e0b84c; padding: 0.8em 1em; border-radius: 4px; font-weight: bold; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.4em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #444; }
.note { font-size: 0.8em; color: #555; max-width: 900px; }
figure { display: inline-block; margin: 1em 1em 1em 0; vertical-align: top; }
figcaption { font-size: 0.85em; color: #333; max-width: 420px; }
`;

/** The report as one self-contained HTML page (figures rendered and inlined). */
export async function renderHtml(results: ExperimentResults, figures?: readonly Figure[]): Promise<string> {
  checkResults(results);
  const rendered = figures ?? (await renderFigures(results));
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(results.title)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>${escapeHtml(results.title)}</h1>`,
  ];
  if (results.synthetic) parts.push(`<p class="banner" role="alert">${escapeHtml(SYNTHETIC_BANNER)}</p>`);
  parts.push(
    `<ul>${summaryLines(results)
      .map((l) => `<li>${escapeHtml(l)}</li>`)
      .join('')}</ul>`,
  );
  for (const note of results.notes ?? []) parts.push(`<p class="note">${escapeHtml(note)}</p>`);
  for (const table of reportTables(results)) {
    parts.push('<table>', `<caption>${escapeHtml(table.caption)}</caption>`);
    parts.push(`<thead><tr>${table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>`);
    for (const row of table.rows) parts.push(`<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`);
    parts.push('</tbody></table>');
    if (table.note) parts.push(`<p class="note">${escapeHtml(table.note)}</p>`);
  }
  if (rendered.length) {
    parts.push('<h2>Figures</h2>');
    for (const f of rendered) {
      parts.push(`<figure id="${escapeHtml(f.name)}">${inlineSvg(f.svg)}<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`);
    }
  }
  parts.push('<p class="note">Predictions per test patient: predictions.csv.</p>', '</body></html>', '');
  return parts.join('\n');
}

function csvField(value: string | number): string {
  const text = typeof value === 'number' ? (Number.isNaN(value) ? '' : String(value)) : value;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Predictions per test patient as CSV: `patient,label`, then one column of mean probabilities per
 * network and input group (`<network>:<group>`).
 */
export function predictionsCsv(results: ExperimentResults): string {
  checkResults(results);
  const columns: { name: string; values: number[] }[] = [];
  for (const network of results.networks) {
    for (const group of results.groups) {
      const p = results.ensembles[network]?.[group]?.probabilities;
      if (p) columns.push({ name: `${network}:${group}`, values: p });
    }
  }
  const lines = [['patient', 'label', ...columns.map((c) => c.name)].map(csvField).join(',')];
  results.testPatients.forEach((patient, i) => {
    lines.push([patient.id, patient.label, ...columns.map((c) => c.values[i])].map(csvField).join(','));
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the report into `outDir`: report.html (self-contained), report.md with figures/*.svg,
 * predictions.csv and results.json. Every file is written atomically.
 * @returns the paths written
 */
export async function writeReport(
  results: ExperimentResults,
  outDir: string,
  { formats = ['html', 'md', 'csv', 'json'] }: WriteReportOptions = {},
): Promise<string[]> {
  checkResults(results);
  const written: string[] = [];
  const write = async (path: string, data: string) => {
    await writeFileAtomic(path, data);
    written.push(path);
  };
  const figures = formats.includes('html') || formats.includes('md') ? await renderFigures(results) : [];
  if (formats.includes('html')) await write(join(outDir, 'report.html'), await renderHtml(results, figures));
  if (formats.includes('md')) {
    for (const f of figures) await write(join(outDir, 'figures', `${f.name}.svg`), f.svg);
    await write(join(outDir, 'report.md'), renderMarkdown(results, figures));
  }
  if (formats.includes('csv')) await write(join(outDir, 'predictions.csv'), predictionsCsv(results));
  if (formats.includes('json')) {
    await writeJsonAtomic(join(outDir, 'results.json'), results);
    written.push(join(outDir, 'results.json'));
  }
  return written;
}
