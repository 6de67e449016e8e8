import type { Command } from 'commander';
import { DeviceSchema } from '../../config/device.js';
import { PAPER_MODEL } from '../../config/model.js';
import { schemaOption } from '../schema-option.js';
import { checkInputPath, JSON_FLAG, prepareOutputDirectory, printResult, probeQueue } from '../output.js';
import { CliError } from '../errors.js';
import { addQueueOptions, positiveInt, printQueueStatus } from './worker.js';

interface ExperimentFlags {
  data?: string;
  config?: string;
  out: string;
  weights?: string;
  cache?: string;
  device?: string;
  concurrency: number;
  resume?: boolean;
  synthetic?: boolean;
  progress: boolean;
  queue?: string;
  status?: boolean;
  experimentName?: string;
  json?: boolean;
}

/** Registers `spottune experiment`: the study's whole protocol as one resumable command. */
export function registerExperiment(program: Command): void {
  const command = program
    .command('experiment')
    .description(
      "the study's protocol: splits, the networks x modalities x folds grid, Gumbel-averaged evaluation, ensembles, metrics, statistics, report",
    )
    .requiredOption('--out <dir>', 'experiment folder: experiment.json, splits.json, runs/, jobs/, report/')
    .option('--data <dir>', 'cohort in the UPENN-GBM layout (the TCIA NIfTI package folder)')
    .option(
      '--config <file>',
      "experiment configuration (JSON, see configs/paper.json and configs/experiment.schema.json); default: the paper's values",
    )
    .option('--weights <file>', `MedicalNet checkpoint for SpotTune and transfer (resnet_${PAPER_MODEL.depth}.pth for the study)`)
    .option('--cache <dir>', 'prepared-volume cache (default <out>/cache)')
    .addOption(
      schemaOption('--device <device>', DeviceSchema, {
        noDefault: true,
        note: " (this process's jobs; default: the config's network.device)",
      }),
    )
    .option('--concurrency <k>', 'jobs at once in this process', positiveInt('--concurrency'), 1)
    .option('--resume', 'continue the experiment in --out (its experiment.json names the data, weights and config)')
    .option('--synthetic', 'mark the cohort as synthetic in the report')
    .option('--no-progress', 'no progress bar')
    .option(...JSON_FLAG);
  addQueueOptions(command).action(async (flags: ExperimentFlags) => {
    const [{ loadExperimentConfig }, { runExperiment }, { readFile }, { existsSync }, { join }, progress] = await Promise.all([
      import('../../config/experiment.js'),
      import('../../experiment/run.js'),
      import('node:fs/promises'),
      import('node:fs'),
      import('node:path'),
      import('../experiment-progress.js'),
    ]);
    if (flags.status) {
      if (!flags.queue) throw new CliError('ERR_MISSING_OPTION', '--status needs --queue <url>');
      await probeQueue(flags.queue);
      await printQueueStatus({ queue: flags.queue, out: flags.out, experimentName: flags.experimentName, json: flags.json });
      return;
    }
    const concurrency = flags.concurrency;
    // --resume takes what the first run recorded; explicit flags still win.
    const recorded = join(flags.out, 'experiment.json');
    let previous: { data: string; weights: string | null; cache: string; config: unknown; synthetic: boolean; notes: string[] } | undefined;
    if (flags.resume && existsSync(recorded)) {
      try {
        previous = JSON.parse(await readFile(recorded, 'utf8'));
      } catch (err) {
        throw new CliError('ERR_INVALID_CONFIG', `--resume: ${recorded} is not the JSON an experiment writes (${(err as Error).message})`);
      }
    }
    const data = flags.data ?? previous?.data;
    if (!data) throw new CliError('ERR_MISSING_OPTION', 'Expected --data <dir> (the cohort), or --resume in an experiment folder');
    await checkInputPath(data, '--data', 'directory');
    if (flags.weights) await checkInputPath(flags.weights, '--weights', 'file');
    if (flags.cache && existsSync(flags.cache)) await checkInputPath(flags.cache, '--cache', 'directory');
    const config = flags.config ? await loadExperimentConfig(flags.config) : (previous?.config ?? {});
    const { planOf } = await import('../../experiment/setup.js');
    const { resolveExperimentConfig } = await import('../../config/experiment.js');
    const jobs = planOf(resolveExperimentConfig(config)).jobs.length;
    if (flags.queue) await probeQueue(flags.queue);
    await prepareOutputDirectory(flags.out, '--out');
    const bar = progress.experimentProgress(jobs, { enabled: flags.progress && !flags.json && process.stderr.isTTY === true });
    const controller = new AbortController();
    const stop = () => controller.abort(Object.assign(new Error('stopped; run again with --resume to continue'), { name: 'AbortError' }));
    process.once('SIGINT', stop);
    try {
      const run = await runExperiment({
        data,
        out: flags.out,
        config: config as never,
        weights: flags.weights ?? previous?.weights ?? undefined,
        cache: flags.cache ?? previous?.cache,
        synthetic: flags.synthetic ?? previous?.synthetic,
        notes: previous?.notes,
        device: flags.device,
        concurrency,
        queueUrl: flags.queue,
        events: bar.events,
        signal: controller.signal,
      });
      bar.stop();
      printResult(flags.json, { out: run.out, jobs: run.jobs, reportPath: run.reportPath, summary: run.summary }, () =>
        progress.experimentSummaryLines(run).join('\n'),
      );
    } finally {
      bar.stop();
      process.off('SIGINT', stop);
    }
  });
}
