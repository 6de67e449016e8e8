#!/usr/bin/env node
// Timings of the experiment's pure-TypeScript pieces at the study's sizes (dist/ must be built:
// npm run build:ts): the study splits of a 262-patient UPENN-GBM-like cohort, the metrics and
// bootstrap intervals of the 21 ensembles (3 networks x 7 groups) on 57 test patients, Table 4's
// Friedman + Nemenyi tests, and the report (HTML + Markdown + CSV + figures).
//
//   node bench/experiment-stats.mjs
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeStudySplits, RandomState } from '../dist/lib/index.js';
// the report has its own door (spottune3d/report), apart from the package root: see lib/index.ts
import { summarizeEnsemble, summarizeGroupStatistics, writeReport } from '../dist/lib/report/index.js';

const rng = new RandomState(1);
function time(label, fn, reps = 1) {
  const start = process.hrtime.bigint();
  let out;
  for (let i = 0; i < reps; i++) out = fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / reps;
  console.log(`${label}: ${ms.toFixed(1)} ms`);
  return out;
}

const ids = Array.from({ length: 262 }, (_, i) => `UPENN-GBM-${String(i + 1).padStart(5, '0')}_11`);
/** @type {import('../dist/lib/index.js').SplitPatient[]} */
const patients = ids.map((id, i) => ({
  id,
  label: rng.randomSample() < 0.42 ? 1 : 0,
  groups: ['struct', ...(i < 187 || (i >= 189 && i < 220) ? ['DTI'] : []), ...(i < 189 ? ['DSC'] : [])],
}));
const splits = time('makeStudySplits (262 patients, 3 groups, 5 folds)', () => makeStudySplits(patients), 20);
const test = splits.commonTest.map((id) => ({ id, label: splits.labels[id] }));
const labels = test.map((p) => p.label);
const networks = ['spottune', 'random', 'transfer'];
const groups = ['DSC', 'DTI', 'Struct', 'DSC+DTI', 'DSC+Struct', 'DTI+Struct', 'DSC+DTI+Struct'];
const probs = Object.fromEntries(
  networks.map((n, k) => [
    n,
    Object.fromEntries(
      groups.map((g) => [g, labels.map((y) => Math.min(1, Math.max(0, 0.5 + 0.15 * k * (y - 0.5) + 0.4 * (rng.randomSample() - 0.5))))]),
    ),
  ]),
);
const ensembles = time(`summarizeEnsemble x21 (${test.length} patients, 2000 bootstrap resamples for AUC and AP)`, () =>
  Object.fromEntries(networks.map((n) => [n, Object.fromEntries(groups.map((g) => [g, summarizeEnsemble(labels, probs[n][g])]))])),
);
const statistics = time(
  'Friedman + Nemenyi x7 groups',
  () => Object.fromEntries(groups.map((g) => [g, summarizeGroupStatistics(Object.fromEntries(networks.map((n) => [n, probs[n][g]])))])),
  5,
);
const policies = ['T1GD', 'DSC_ap-rCBV'].map((m) => ({
  title: m,
  patients: test.map((p) => p.id),
  fractions: test.map(() => Array.from({ length: 16 }, () => rng.randomSample())),
}));
const results = { title: 'bench', synthetic: true, threshold: 0.5, networks, groups, testPatients: test, ensembles, statistics, policies };
const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
const start = process.hrtime.bigint();
await writeReport(results, dir);
console.log(`writeReport (6 figures, html+md+csv+json): ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(0)} ms`);
