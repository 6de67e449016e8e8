/**
 * The report's figures as vega-lite specifications, rendered to SVG on the server (vega's
 * headless view, no browser): the paper's Figures 2-5 (ROC and precision-recall curves of the
 * highlighted ensembles and of each network's best ensemble) and per-patient policy heat maps.
 * @module
 */
import type { TopLevelSpec } from 'vega-lite';
import { NETWORK_LABELS, RESNET50_BLOCKS, type ExperimentResults, type ReportCurves, type ReportPolicy } from './types.js';

/**
 * A vega-lite specification (https://vega.github.io/vega-lite/docs/spec.html) as plain JSON.
 * Declared here rather than as vega-lite's `TopLevelSpec` so that the published types do not
 * pull in vega's typings, which need the DOM library and fail a consumer compiling with
 * `skipLibCheck: false`. Cast it to vega-lite's type in code that has vega-lite installed.
 */
export interface VegaLiteSpec {
  /** The vega-lite JSON schema URL, when set. */
  $schema?: string;
  [key: string]: unknown;
}

/** One rendered figure. */
export interface Figure {
  /** File-name stem, e.g. `figure-2-roc-dsc-dti`. */
  name: string;
  /** Caption, e.g. `Figure 2. ROC curves of the DSC+DTI ensembles`. */
  caption: string;
  /** The vega-lite specification, for users who want to restyle it. */
  spec: VegaLiteSpec;
  /** Standalone SVG markup. */
  svg: string;
}

/** One curve of a figure. */
interface Series {
  name: string;
  curves: ReportCurves;
}

const FONT = 'Helvetica, Arial, sans-serif';

/**
 * Renders a vega-lite specification to an SVG string without a browser.
 * @param spec A vega-lite specification, e.g. a {@link Figure}'s `spec` after restyling.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  // vega and vega-lite (about 60 packages, and vega-canvas's top-level await, which would make
  // require() of the package fail) load on the first render, not when the report module loads.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A vega-lite line chart of ROC or precision-recall curves. */
export function curveSpec(title: string, kind: 'roc' | 'pr', series: readonly Series[]): VegaLiteSpec {
  const values = series.flatMap(({ name, curves }) =>
    kind === 'roc'
      ? curves.roc.fpr.map((x, i) => ({ series: name, x, y: curves.roc.tpr[i], order: i }))
      : curves.pr.recall.map((x, i) => ({ series: name, x, y: curves.pr.precision[i], order: i })),
  );
  const axis = (label: string) => ({ title: label, scale: { domain: [0, 1] }, type: 'quantitative' as const });
  const line = {
    data: { values },
    // ROC points are joined by segments; precision is constant between recall steps (as scikit-learn plots it)
    mark: { type: 'line' as const, interpolate: kind === 'roc' ? ('linear' as const) : ('step-after' as const), strokeWidth: 2 },
    encoding: {
      x: { field: 'x', ...axis(kind === 'roc' ? 'False positive rate (1 - specificity)' : 'Recall (sensitivity)') },
      y: { field: 'y', ...axis(kind === 'roc' ? 'True positive rate (sensitivity)' : 'Precision') },
      color: { field: 'series', type: 'nominal' as const, title: null, legend: { orient: 'bottom' as const, columns: 1, labelLimit: 400 } },
      order: { field: 'order', type: 'quantitative' as const },
    },
  };
  const chance = {
    data: {
      values: [
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ],
    },
    mark: { type: 'line' as const, strokeDash: [4, 4], color: '#999', strokeWidth: 1 },
    encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'y', type: 'quantitative' as const } },
  };
  return {
    title: { text: title, font: FONT },
    width: 320,
    height: 320,
    config: { font: FONT, background: 'white' },
    layer: kind === 'roc' ? [chance, line] : [line],
  } satisfies TopLevelSpec as VegaLiteSpec;
}

/** A vega-lite heat map of per-patient policies (patients x blocks, colour = fraction fine-tuned). */
export function policySpec(policy: ReportPolicy, labels?: ReadonlyMap<string, 0 | 1>): VegaLiteSpec {
  const blocks =
    policy.blocks ??
    (policy.fractions[0]?.length === RESNET50_BLOCKS.length
      ? [...RESNET50_BLOCKS]
      : (policy.fractions[0]?.map((_, b) => `block ${b + 1}`) ?? []));
  const rowName = (id: string) => (labels?.has(id) ? `${id} (${labels.get(id) ? 'M' : 'U'})` : id);
  const values = policy.fractions.flatMap((row, p) =>
    row.map((fraction, b) => ({ patient: rowName(policy.patients[p]), block: blocks[b], fraction })),
  );
  return {
    title: { text: policy.title, font: FONT },
    width: Math.max(200, blocks.length * 22),
    height: { step: policy.patients.length > 60 ? 6 : 12 },
    config: { font: FONT, background: 'white', axis: { labelFontSize: policy.patients.length > 60 ? 5 : 9 } },
    data: { values },
    mark: 'rect',
    encoding: {
      x: { field: 'block', type: 'ordinal', sort: blocks, title: 'Residual block (1 = fine-tuned branch)' },
      y: { field: 'patient', type: 'ordinal', sort: policy.patients.map(rowName), title: 'Test patient (M methylated, U unmethylated)' },
      color: { field: 'fraction', type: 'quantitative', scale: { domain: [0, 1], scheme: 'blues' }, title: 'Fine-tuned' },
      tooltip: [{ field: 'patient' }, { field: 'block' }, { field: 'fraction', format: '.2f' }],
    },
  } satisfies TopLevelSpec as VegaLiteSpec;
}

/** The display name of a network. */
export function networkLabel(results: ExperimentResults, network: string): string {
  return results.networkLabels?.[network] ?? NETWORK_LABELS[network] ?? network;
}

/** The group with the highest AUC for a network, if any ensemble of it has curves. */
export function bestGroup(results: ExperimentResults, network: string): string | undefined {
  let best: string | undefined;
  for (const group of results.groups) {
    const e = results.ensembles[network]?.[group];
    if (!e?.curves) continue;
    if (best === undefined || e.metrics.auc.value > results.ensembles[network][best].metrics.auc.value) best = group;
  }
  return best;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The highlighted group of Figures 2-3: `highlightGroup`, else DSC+DTI (the paper), else the first. */
export function highlightedGroup(results: ExperimentResults): string | undefined {
  if (results.highlightGroup) return results.highlightGroup;
  return results.groups.includes('DSC+DTI') ? 'DSC+DTI' : results.groups[0];
}

/** Builds and renders every figure of the report. */
export async function renderFigures(results: ExperimentResults): Promise<Figure[]> {
  const figures: Omit<Figure, 'svg'>[] = [];
  const fmt = (v: number) => v.toFixed(3);
  const highlight = highlightedGroup(results);
  if (highlight) {
    const series = results.networks.flatMap((n) => {
      const e = results.ensembles[n]?.[highlight];
      return e?.curves
        ? [{ name: `${networkLabel(results, n)} (AUC ${fmt(e.metrics.auc.value)}, AP ${fmt(e.metrics.ap.value)})`, curves: e.curves }]
        : [];
    });
    if (series.length) {
      figures.push({
        name: `figure-2-roc-${slug(highlight)}`,
        caption: `Figure 2. ROC curves of the ${highlight} ensembles`,
        spec: curveSpec(`ROC: ${highlight}`, 'roc', series),
      });
      figures.push({
        name: `figure-3-pr-${slug(highlight)}`,
        caption: `Figure 3. Precision-recall curves of the ${highlight} ensembles`,
        spec: curveSpec(`Precision-recall: ${highlight}`, 'pr', series),
      });
    }
  }
  const best = results.networks.flatMap((n) => {
    const group = bestGroup(results, n);
    if (!group) return [];
    const e = results.ensembles[n][group];
    return [
      { name: `${networkLabel(results, n)}: ${group} (AUC ${fmt(e.metrics.auc.value)}, AP ${fmt(e.metrics.ap.value)})`, curves: e.curves! },
    ];
  });
  if (results.baseline?.curves) {
    const b = results.baseline;
    best.push({ name: `${b.name} (AUC ${fmt(b.metrics.auc.value)}, AP ${fmt(b.metrics.ap.value)})`, curves: b.curves! });
  }
  if (best.length) {
    figures.push({
      name: 'figure-4-roc-best',
      caption: "Figure 4. ROC curves of each network's best ensemble",
      spec: curveSpec('ROC: best ensemble of each network', 'roc', best),
    });
    figures.push({
      name: 'figure-5-pr-best',
      caption: "Figure 5. Precision-recall curves of each network's best ensemble",
      spec: curveSpec('Precision-recall: best ensemble of each network', 'pr', best),
    });
  }
  const labels = new Map(results.testPatients.map((p) => [p.id, p.label]));
  (results.policies ?? []).forEach((policy, i) => {
    figures.push({
      name: `policy-${i + 1}-${slug(policy.title)}`,
      caption: `Policy ${i + 1}. ${policy.title}: share of Gumbel samples each test patient routed through the fine-tuned copy of each block`,
      spec: policySpec(policy, labels),
    });
  });
  const rendered: Figure[] = [];
  for (const figure of figures) rendered.push({ ...figure, svg: await renderSvg(figure.spec) });
  return rendered;
}
