// The `spottune3d/report` door (package.json "exports"; not re-exported by the root): summaries,
// tables and figures. vega and vega-lite load on the first figure rendered (figures.ts).
export * from './types.js';
export { summarizeEnsemble, summarizeGroupStatistics, type SummarizeOptions } from './summarize.js';
export { renderFigures, renderSvg, curveSpec, policySpec, bestGroup, type Figure, type VegaLiteSpec } from './figures.js';
export {
  renderHtml,
  renderMarkdown,
  predictionsCsv,
  reportTables,
  writeReport,
  type ReportTable,
  type ReportFormat,
  type WriteReportOptions,
} from './render.js';
