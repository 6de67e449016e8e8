import type { Command } from 'commander';
import { DEMO_DEFAULTS } from '../../config/demo.js';
import { JSON_FLAG, prepareOutputDirectory, printResult } from '../output.js';
import { positiveInt } from './worker.js';

interface DemoFlags {
  out: string;
  layout: string;
  patients: number;
  seed: number;
  concurrency: number;
  progress: boolean;
  json?: boolean;
}

/** Registers `spottune demo` (what `npm run demo` runs). */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description("the study's whole protocol on a synthetic cohort, reduced to run on a 2-core CPU in minutes; prints where the report is")
    .option('--out <dir>', 'output folder (re-running resumes)', DEMO_DEFAULTS.out)
    .option(
      '--layout <layout>',
      "synthetic cohort layout: 'upenn' (UPENN-GBM) or 'brats2021' (its BraTS 2021 twin with RSNA-style labels)",
      'upenn',
    )
    .option('--patients <n>', 'baseline patients of the synthetic cohort', positiveInt('--patients'), DEMO_DEFAULTS.patients)
    .option('--seed <n>', 'seed of the cohort, the splits and the trainings', positiveInt('--seed'), DEMO_DEFAULTS.seed)
    .option('--concurrency <k>', 'trainings at once', positiveInt('--concurrency'), DEMO_DEFAULTS.concurrency)
    .option('--no-progress', 'no progress bar')
    .option(...JSON_FLAG)
    .action(async (flags: DemoFlags) => {
      if (flags.layout !== 'upenn' && flags.layout !== 'brats2021')
        throw new RangeError(`Expected --layout to be upenn or brats2021 but received ${JSON.stringify(flags.layout)}`);
      const [{ runDemo, DEMO_CONFIG, DEMO_CONFIG_BRATS }, { planOf }, { resolveExperimentConfig }, progress] = await Promise.all([
        import('../../experiment/demo.js'),
        import('../../experiment/setup.js'),
        import('../../config/experiment.js'),
        import('../experiment-progress.js'),
      ]);
      await prepareOutputDirectory(flags.out, '--out');
      const started = performance.now();
      const log = (line: string) => process.stderr.write(`spottune demo: ${line}\n`);
      const layout = flags.layout;
      const bar = progress.experimentProgress(
        planOf(resolveExperimentConfig(layout === 'upenn' ? DEMO_CONFIG : DEMO_CONFIG_BRATS)).jobs.length,
        { enabled: flags.progress && !flags.json && process.stderr.isTTY === true },
      );
      try {
        const run = await runDemo({
          out: flags.out,
          layout,
          patients: flags.patients,
          seed: flags.seed,
          concurrency: flags.concurrency,
          events: bar.events,
          log,
        });
        bar.stop();
        const lines = progress.experimentSummaryLines(run);
        const { readJobResult } = await import('../../experiment/plan.js');
        const results = await readJobResult<{ ensembles: Record<string, Record<string, { metrics: { auc: { value: number } } }>> }>(
          run.out,
          'analysis',
        ).catch(() => undefined);
        let best: { name: string; auc: number } | undefined;
        if (results) {
          best = { name: '', auc: -1 };
          for (const [network, groups] of Object.entries(results.ensembles)) {
            for (const [group, e] of Object.entries(groups))
              if (e.metrics.auc.value > best.auc) best = { name: `${network} ${group}`, auc: e.metrics.auc.value };
          }
          lines.unshift(`best ensemble: ${best.name}, test AUC ${best.auc.toFixed(3)} (synthetic data)`);
        }
        const seconds = (performance.now() - started) / 1000;
        lines.push(`demo finished in ${seconds.toFixed(0)} s`);
        printResult(
          flags.json,
          { out: run.out, jobs: run.jobs, reportPath: run.reportPath, summary: run.summary, bestEnsemble: best ?? null, seconds },
          () => lines.join('\n'),
        );
      } finally {
        bar.stop();
      }
    });
}
