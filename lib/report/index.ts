// Public exports of lib/report. lib/index.ts re-exports everything here.
export * from './types.js';
export { summarizeEnsemble, summarizeGroupStatistics, type SummarizeOptions } from './summarize.js';
export { renderFigures, renderSvg, curveSpec, policySpec, bestGroup, type Figure } from './figures.js';
export { renderHtml, renderMarkdown, predictionsCsv, reportTables, writeReport, type ReportTable, type ReportFormat, type WriteReportOptions } from './render.js';
