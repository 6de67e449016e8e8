/**
 * `spottune worker`: runs experiment jobs from a BullMQ queue on this machine. Also the queue
 * options and the `--status` output that `spottune experiment` shares (see README, "Scaling out").
 * @module
 */
import { Command, InvalidArgumentError } from 'commander';
import { DeviceSchema } from '../../config/device.js';
import { WorkerSchema } from '../../config/queue.js';
import { schemaOption } from '../schema-option.js';
import { CliError } from '../errors.js';
import { probeQueue, QUEUE_STATUS_TIMEOUT_MS } from '../output.js';
import type { ExperimentPlan } from '../../experiment/plan.js';

/** A commander parser for an integer flag of at least `min`, failing as a usage error naming the flag. */
export function positiveInt(name: string, min = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}"`);
    return n;
  };
}

/**
 * Checks that `--runner` names a module that exists: a path (or file: URL) must be a file, a
 * package name must resolve. Done before connecting, so a typo fails at once, not per job.
 * @throws CliError `ERR_MODULE_NOT_FOUND` naming the module
 */
async function checkRunner(specifier: string): Promise<void> {
  const [{ runnerModuleUrl }, { existsSync, statSync }, { fileURLToPath }] = await Promise.all([
    import('../../experiment/queue/runner.js'),
    import('node:fs'),
    import('node:url'),
  ]);
  const url = runnerModuleUrl(specifier);
  if (url.startsWith('file:')) {
    const path = fileURLToPath(url);
    if (!existsSync(path)) throw new CliError('ERR_MODULE_NOT_FOUND', `--runner ${specifier}: no such file (${path})`);
    if (statSync(path).isDirectory())
      throw new CliError('ERR_MODULE_NOT_FOUND', `--runner ${specifier}: is a directory, expected a module file`);
    return;
  }
  if (/^(data|node):/.test(url)) return;
  try {
    import.meta.resolve(url);
  } catch {
    throw new CliError('ERR_MODULE_NOT_FOUND', `--runner ${specifier}: cannot find the module (neither a file nor an installed package)`);
  }
}

/** Options `spottune worker` takes. */
export interface WorkerCommandOptions {
  queue: string;
  device?: string;
  concurrency: number;
  runner?: string;
  queueName: string;
  lockDuration: number;
  stalledInterval: number;
  maxStalled: number;
}

/** Registers `spottune worker`. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run experiment jobs from a Redis queue on this machine, each in its own process (see README, "Scaling out")')
    .requiredOption('--queue <url>', 'Redis URL: redis://[[user]:password@]host[:port][/db], or rediss:// for TLS')
    .addOption(
      schemaOption('--device <device>', DeviceSchema, {
        noDefault: true,
        note: " (this worker's jobs, passed to each as SPOTTUNE_DEVICE; default: the experiment config's network.device)",
      }),
    )
    .addOption(
      schemaOption('--concurrency <k>', WorkerSchema.shape.concurrency, {
        parse: positiveInt('--concurrency'),
        note: ' (several trainings fit on one large GPU)',
      }),
    )
    .option(
      '--runner <module>',
      'job runner module exporting createJobRunner(context) or runJob(job, context) (default: the experiment runner)',
    )
    .addOption(schemaOption('--queue-name <name>', WorkerSchema.shape.queueName))
    .addOption(
      schemaOption('--lock-duration <ms>', WorkerSchema.shape.lockDurationMs, {
        parse: positiveInt('--lock-duration', 1000),
        note: '; a dead worker is detected after about this plus --stalled-interval',
      }),
    )
    .addOption(
      schemaOption('--stalled-interval <ms>', WorkerSchema.shape.stalledIntervalMs, { parse: positiveInt('--stalled-interval', 100) }),
    )
    .addOption(schemaOption('--max-stalled <n>', WorkerSchema.shape.maxStalledCount, { parse: positiveInt('--max-stalled', 0) }))
    .action(async (opts: WorkerCommandOptions) => {
      if (opts.runner !== undefined) await checkRunner(opts.runner);
      await probeQueue(opts.queue);
      const { startQueueWorker } = await import('../../experiment/queue/worker.js');
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      const worker = await startQueueWorker({
        queueUrl: opts.queue,
        device: opts.device,
        concurrency: opts.concurrency,
        runner: opts.runner,
        queueName: opts.queueName,
        lockDurationMs: opts.lockDuration,
        stalledIntervalMs: opts.stalledInterval,
        maxStalledCount: opts.maxStalled,
        log,
      });
      // First signal: take no more jobs and let the running ones finish. Second: kill them; the
      // queue gives them to another worker once their locks expire.
      await new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals++;
          if (signals === 1) {
            log(`${signal}: finishing ${worker.running()} running job(s); send it again to stop them now`);
            void worker.close().then(resolve, resolve);
          } else {
            log(`${signal}: stopping the running jobs`);
            void worker.close({ force: true }).then(resolve, resolve);
          }
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      log('worker stopped');
    });
}

/** Options of the queue that `spottune experiment` adds with {@link addQueueOptions}. */
export interface QueueCommandOptions {
  queue?: string;
  status?: boolean;
  experimentName?: string;
}

/**
 * Adds `--queue <url>`, `--status` and `--experiment-name <name>` to a command (used by
 * `spottune experiment`): with `--queue` the plan runs on the queue's workers, without it
 * in this process; `--status` prints the experiment's pending, active, done and failed jobs.
 */
export function addQueueOptions(command: Command): Command {
  return command
    .option('--queue <url>', 'run the grid on the workers of this Redis queue (redis://host:port) instead of in this process')
    .option('--status', 'with --queue: print the pending, active, done and failed jobs and exit (as JSON with --json)')
    .option('--experiment-name <name>', "with --queue: the experiment's name in the queue (default: a hash of the --out path)");
}

/**
 * Prints an experiment's queue status (the `spottune experiment --status --queue URL --out DIR`
 * output) and returns it.
 */
export async function printQueueStatus(options: {
  queue: string;
  out: string;
  experimentName?: string;
  plan?: ExperimentPlan;
  json?: boolean;
}) {
  const { formatQueueStatus, queueStatus } = await import('../../experiment/queue/coordinator.js');
  // a host that accepts the TCP connection but never answers as Redis would otherwise hold this forever
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CliError(
            'ERR_QUEUE_TIMEOUT',
            `--queue ${options.queue.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}: no status from the queue in ${QUEUE_STATUS_TIMEOUT_MS / 1000} s`,
          ),
        ),
      QUEUE_STATUS_TIMEOUT_MS,
    );
  });
  const status = await Promise.race([
    queueStatus({ queueUrl: options.queue, out: options.out, experiment: options.experimentName, plan: options.plan }),
    timeout,
  ]).finally(() => clearTimeout(timer));
  process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatQueueStatus(status)}\n`);
  return status;
}
