/**
 * A progress bar over an experiment's jobs (cli-progress), fed by the executors' events: jobs done
 * of the total, the running ones, failures, and the ETA.
 * @module
 */
import { EventEmitter } from 'node:events';
import cliProgress from 'cli-progress';
import type { ExecutorEvents } from '../experiment/executor.js';

/** Events to hand to runExperiment, and a function that stops the bar. */
export function experimentProgress(total: number, { enabled = true } = {}): { events: EventEmitter<ExecutorEvents>; stop: () => void } {
  const events = new EventEmitter<ExecutorEvents>();
  const running = new Set<string>();
  let failed = 0;
  const bar = enabled
    ? new cliProgress.SingleBar(
        {
          format: 'experiment |{bar}| {value}/{total} jobs | {failed} failed | ETA {eta_formatted} | {running}',
          stream: process.stderr,
          etaBuffer: 20,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { running: '', failed: 0 });
  const show = () => [...running].slice(0, 3).join(', ') + (running.size > 3 ? ` +${running.size - 3}` : '');
  events.on('jobStart', ({ job }) => {
    running.add(job.id);
    bar?.update({ running: show() });
  });
  events.on('jobDone', ({ job }) => {
    running.delete(job.id);
    bar?.increment({ running: show() });
  });
  events.on('jobFailed', ({ job, error }) => {
    running.delete(job.id);
    failed++;
    bar?.increment({ running: show(), failed });
    if (!bar) process.stderr.write(`job ${job.id} failed: ${error.message}\n`);
  });
  return { events, stop: () => bar?.stop() };
}

/** The end-of-run lines: where the report is, and what failed. */
export function experimentSummaryLines(run: {
  out: string;
  reportPath: string | null;
  summary: { done: string[]; skipped: string[]; failed: { id: string; message: string }[] };
}): string[] {
  const { done, skipped, failed } = run.summary;
  const lines = [
    `${done.length} jobs ran, ${skipped.length} reused from an earlier run, ${failed.length} failed (records in ${run.out}/jobs/failed)`,
  ];
  for (const f of failed.slice(0, 10)) lines.push(`  failed: ${f.id}: ${f.message}`);
  lines.push(run.reportPath ? `report: ${run.reportPath}` : 'no report: the analysis or report job did not finish');
  return lines;
}
