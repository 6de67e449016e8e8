/**
 * The results object a report is rendered from. The experiment runner fills it; everything in it
 * is plain JSON (it is also written as results.json beside the report).
 * @module
 */

/** A metric with an optional confidence interval. */
export interface Estimate {
  value: number;
  lower?: number;
  upper?: number;
}

/** The four metrics of the paper's Tables 1-3, plus accuracy. */
export interface ReportMetrics {
  /** ROC AUC (with, beyond the paper, a bootstrap interval). */
  auc: Estimate;
  /** Average precision (with a bootstrap interval). */
  ap: Estimate;
  /** Sensitivity at the threshold (`> threshold`). */
  sensitivity: number;
  /** Specificity at the threshold. */
  specificity: number;
  accuracy?: number;
}

/** Points of the ROC and precision-recall curves (as lib/stats rocCurve / prCurve return). */
export interface ReportCurves {
  roc: { fpr: number[]; tpr: number[] };
  pr: { recall: number[]; precision: number[] };
}

/** One ensemble (network x input group) on the common test set. */
export interface ReportEnsemble {
  metrics: ReportMetrics;
  curves?: ReportCurves;
  /** Mean probability of methylation per test patient, in `ExperimentResults.testPatients` order. */
  probabilities?: number[];
}

/** Table 4 for one input group: Friedman across the networks, then Nemenyi per pair. */
export interface ReportGroupStatistics {
  friedman: { statistic: number; pValue: number };
  nemenyi: { a: string; b: string; pValue: number }[];
  /** Whether the Nemenyi p-values were clamped to [0.001, 0.9] (the paper's lookup). */
  clamped?: boolean;
}

/** Per-patient SpotTune policies of one model: which blocks each patient routed through fine-tuning. */
export interface ReportPolicy {
  /** What the map shows, e.g. `T1GD (mean of 5 folds)`. */
  title: string;
  patients: string[];
  /** Labels of the 16 blocks; default `layer1.0` ... `layer4.2`. */
  blocks?: string[];
  /** [patient][block]: the fraction of Gumbel samples routed to the fine-tuned block, in [0, 1]. */
  fractions: number[][];
}

/** A non-network comparison row, e.g. the paper's radiomics random forest. */
export interface ReportBaseline {
  /** Row label, e.g. `Radiomics RF`. */
  name: string;
  metrics: ReportMetrics;
  curves?: ReportCurves;
  /** Patients the baseline was scored on, when fewer than the test set (the paper: 54 of 57). */
  patients?: number;
}

/** Everything a report shows. */
export interface ExperimentResults {
  title: string;
  /** True when the cohort is synthetic: the report says so in a banner. */
  synthetic: boolean;
  /** ISO time the results were produced. */
  createdAt?: string;
  /** Probability threshold of SEN and SPE. */
  threshold: number;
  /** Network keys in table order, e.g. `['spottune', 'random', 'transfer']`. */
  networks: string[];
  /** Display names of the networks; defaults for the study's three. */
  networkLabels?: Record<string, string>;
  /** Input groups (ensembles) in table order, e.g. `['DSC', 'DTI', ..., 'DSC+DTI+Struct']`. */
  groups: string[];
  /** The common test set: every ensemble is scored on these patients. */
  testPatients: { id: string; label: 0 | 1 }[];
  /** [network][group]. A missing entry is shown as "n/a" (e.g. a failed training). */
  ensembles: Record<string, Record<string, ReportEnsemble>>;
  /** [group]: Table 4. */
  statistics?: Record<string, ReportGroupStatistics>;
  baseline?: ReportBaseline;
  policies?: ReportPolicy[];
  /** The ensemble whose curves Figures 2-3 show (the paper: DSC+DTI). */
  highlightGroup?: string;
  /** Free-text lines shown under the title (e.g. reduced demo settings). */
  notes?: string[];
}

/** The study's display names of its networks. */
export const NETWORK_LABELS: Readonly<Record<string, string>> = {
  spottune: 'SpotTune',
  random: 'Random init',
  transfer: 'MedicalNet transfer',
};

/** The 16 residual blocks of ResNet50 ([3, 4, 6, 3]) in the order the agent's policy lists them. */
export const RESNET50_BLOCKS: readonly string[] = [3, 4, 6, 3].flatMap((count, layer) =>
  Array.from({ length: count }, (_, b) => `layer${layer + 1}.${b}`),
);
