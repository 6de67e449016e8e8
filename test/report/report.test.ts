// The report from a small hand-made results object: tables with the right values, a
// self-contained HTML page with inline SVG figures, Markdown, CSV, atomic files.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  predictionsCsv,
  renderFigures,
  renderHtml,
  renderMarkdown,
  reportTables,
  summarizeEnsemble,
  summarizeGroupStatistics,
  writeReport,
  type ExperimentResults,
  type Figure,
} from '../../lib/report/index.js';
import { RandomState } from '../../lib/util/random-state.js';

const labels: (0 | 1)[] = [1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0];
const patients = labels.map((label, i) => ({ id: `UPENN-GBM-${String(i + 1).padStart(5, '0')}_11`, label }));
const rng = new RandomState(3);
const noisy = (strength: number) =>
  labels.map((y) => Math.min(1, Math.max(0, 0.5 + strength * (y - 0.5) + 0.3 * (rng.randomSample() - 0.5))));
const networks = ['spottune', 'random', 'transfer'];
const groups = ['DSC', 'DSC+DTI'];
const probabilities: Record<string, Record<string, number[]>> = {};
for (const [n, strength] of [
  ['spottune', 0.6],
  ['random', 0.1],
  ['transfer', 0.3],
] as const) {
  probabilities[n] = { DSC: noisy(strength), 'DSC+DTI': noisy(strength) };
}

function makeResults(): ExperimentResults {
  const summary = { threshold: 0.5, bootstrapResamples: 200 };
  return {
    title: 'Test report <MGMT>',
    synthetic: true,
    threshold: 0.5,
    networks,
    groups,
    testPatients: patients,
    ensembles: Object.fromEntries(
      networks.map((n) => [n, Object.fromEntries(groups.map((g) => [g, summarizeEnsemble(labels, probabilities[n][g], summary)]))]),
    ),
    statistics: Object.fromEntries(
      groups.map((g) => [g, summarizeGroupStatistics(Object.fromEntries(networks.map((n) => [n, probabilities[n][g]])))]),
    ),
    baseline: {
      name: 'Radiomics RF',
      metrics: { auc: { value: 0.5764 }, ap: { value: 0.4886 }, sensitivity: 0.2174, specificity: 0.9355 },
      patients: 11,
    },
    policies: [
      {
        title: 'T1GD (mean of 5 folds)',
        patients: patients.map((p) => p.id),
        fractions: patients.map((_, p) => Array.from({ length: 16 }, (_, b) => ((p + b) % 5) / 4)),
      },
    ],
  };
}

describe('report', () => {
  let results: ExperimentResults;
  let figures: Figure[];
  let html: string;
  beforeAll(async () => {
    results = makeResults();
    figures = await renderFigures(results);
    html = await renderHtml(results, figures);
  });

  test("Tables 1-3 hold each network's metrics per group, Table 4 the p-values", () => {
    const tables = reportTables(results);
    expect(tables.map((t) => t.caption)).toEqual([
      'Table 1. SpotTune: AUC, AP, SEN and SPE per input group',
      'Table 2. Random init: AUC, AP, SEN and SPE per input group',
      'Table 3. MedicalNet transfer: AUC, AP, SEN and SPE per input group',
      'Table 4. Friedman test across the networks and Nemenyi post-hoc p-values per input group',
    ]);
    const e = results.ensembles.spottune['DSC+DTI'].metrics;
    expect(tables[0].rows[1]).toEqual([
      'DSC+DTI',
      `${e.auc.value.toFixed(4)} [${e.auc.lower!.toFixed(3)}, ${e.auc.upper!.toFixed(3)}]`,
      `${e.ap.value.toFixed(4)} [${e.ap.lower!.toFixed(3)}, ${e.ap.upper!.toFixed(3)}]`,
      e.sensitivity.toFixed(4),
      e.specificity.toFixed(4),
    ]);
    expect(tables[0].rows[2]).toEqual(['Radiomics RF', '0.5764', '0.4886', '0.2174', '0.9355']);
    expect(tables[1].rows.map((r) => r[0])).toEqual(['DSC', 'DSC+DTI']);
    expect(tables[3].header).toEqual([
      'Input',
      'Friedman χ²',
      'Friedman p',
      'SpotTune vs Random init',
      'SpotTune vs MedicalNet transfer',
      'Random init vs MedicalNet transfer',
    ]);
    expect(tables[3].rows[0][2]).toBe(
      results.statistics!.DSC.friedman.pValue < 0.001
        ? results.statistics!.DSC.friedman.pValue.toExponential(2)
        : results.statistics!.DSC.friedman.pValue.toFixed(4),
    );
  });

  test('the HTML page is self-contained: no scripts, no external URLs', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import/i);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  });

  test('the HTML page inlines Figures 2-5 and the policy heat map as SVG', () => {
    expect(figures.map((f) => f.name)).toEqual([
      'figure-2-roc-dsc-dti',
      'figure-3-pr-dsc-dti',
      'figure-4-roc-best',
      'figure-5-pr-best',
      'policy-1-t1gd-mean-of-5-folds',
    ]);
    expect(html.match(/<svg[\s>]/g)).toHaveLength(5);
    for (const f of figures) expect(html).toContain(`<figure id="${f.name}">`);
    // curve legends carry the ensemble AUC
    expect(html).toContain(`SpotTune (AUC ${results.ensembles.spottune['DSC+DTI'].metrics.auc.value.toFixed(3)}`);
    // the heat map has one rect per patient and block
    const policy = figures[4].svg;
    const cells = policy.slice(
      policy.indexOf('<g class="mark-rect role-mark'),
      policy.indexOf('</g>', policy.indexOf('<g class="mark-rect role-mark')),
    );
    expect(cells.match(/<path /g)).toHaveLength(patients.length * 16);
    expect(policy).toContain('layer4.2');
  });

  test('the HTML page shows the table values, the synthetic banner and escapes text', () => {
    expect(html).toContain('class="banner"');
    expect(html).toContain('Synthetic data.');
    expect(html).toContain('<td>Radiomics RF</td><td>0.5764</td>');
    expect(html).toContain(results.ensembles.random.DSC.metrics.auc.value.toFixed(4));
    expect(html).toContain('Test report &lt;MGMT&gt;');
    expect(html).not.toContain('<MGMT>');
  });

  test('without synthetic data there is no banner', async () => {
    const real = await renderHtml({ ...makeResults(), synthetic: false, policies: [] });
    expect(real).not.toContain('class="banner"');
    expect(renderMarkdown({ ...makeResults(), synthetic: false })).not.toContain('Synthetic data');
  });

  test('Markdown has the tables, the banner and the figure links', () => {
    const md = renderMarkdown(results, figures);
    expect(md).toContain('> **Synthetic data.');
    expect(md).toContain('## Table 4. Friedman test');
    expect(md).toContain('| Radiomics RF | 0.5764 | 0.4886 | 0.2174 | 0.9355 |');
    expect(md).toContain('![Figure 2. ROC curves of the DSC+DTI ensembles](figures/figure-2-roc-dsc-dti.svg)');
  });

  test('predictions.csv has one row per test patient and one column per ensemble', () => {
    const rows = predictionsCsv(results).trim().split('\n');
    expect(rows[0]).toBe('patient,label,spottune:DSC,spottune:DSC+DTI,random:DSC,random:DSC+DTI,transfer:DSC,transfer:DSC+DTI');
    expect(rows).toHaveLength(patients.length + 1);
    expect(rows[1].split(',').slice(0, 3)).toEqual([patients[0].id, '1', String(probabilities.spottune.DSC[0])]);
  });

  test('a missing ensemble shows as n/a', () => {
    const partial = makeResults();
    delete partial.ensembles.transfer.DSC;
    expect(reportTables(partial)[2].rows[0]).toEqual(['DSC', 'n/a', 'n/a', 'n/a', 'n/a']);
  });

  test('writeReport writes every file, and leaves no temporary files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-'));
    const written = await writeReport(results, dir);
    expect(written.map((p) => p.slice(dir.length + 1)).sort()).toEqual([
      'figures/figure-2-roc-dsc-dti.svg',
      'figures/figure-3-pr-dsc-dti.svg',
      'figures/figure-4-roc-best.svg',
      'figures/figure-5-pr-best.svg',
      'figures/policy-1-t1gd-mean-of-5-folds.svg',
      'predictions.csv',
      'report.html',
      'report.md',
      'results.json',
    ]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(results)));
  });

  test('BAD CALL: probabilities that do not match the test set', () => {
    const bad = makeResults();
    bad.ensembles.spottune.DSC.probabilities = [0.5];
    expect(() => predictionsCsv(bad)).toThrow(/spottune\["DSC"\]\.probabilities has 1 values for 12 test patients/);
  });
});
