import type { Command } from 'commander';
import { GEOMETRY_PRESETS, type Modality, PreprocessSchema, SynthSchema } from '../../config/data.js';
import { InvalidArgumentError } from 'commander';
import { addCohortOptions, type CohortFlags, openCohortOfFlags } from '../cohort-options.js';
import { intFlag, listFlag, numberFlag, schemaOption } from '../schema-option.js';
import { JSON_FLAG, prepareOutputDirectory, printResult } from '../output.js';

interface SummaryFlags extends CohortFlags {
  json?: boolean;
  list?: boolean;
}

interface SynthFlags {
  out: string;
  layout: string;
  patients: number;
  size: string;
  seed: number;
  signal: number;
  signalModalities?: string[];
  compression: number;
  progress: boolean;
  json?: boolean;
}

interface PrepareFlags extends CohortFlags {
  out: string;
  crop: string | number[][];
  cropMargin: number;
  scale: number;
  padTo?: number[] | null;
  modalities?: string;
  workers?: number;
  progress: boolean;
  json?: boolean;
}

/** `[0:140, 39:211, 44:208]` for a crop box. */
const boxText = (box: readonly (readonly number[])[]) => `[${box.map(([a, b]) => `${a}:${b}`).join(', ')}]`;

/** `--crop`: a preset name as given, or `z0:z1,y0:y1,x0:x1` as a box (the schema checks either). */
const cropFlag = (value: string, flag: string) => {
  if (/^\d+:\d+,\d+:\d+,\d+:\d+$/.test(value)) return value.split(',').map((r) => r.split(':').map(Number));
  if (/^[a-z]+$/.test(value) && !PreprocessSchema.shape.crop.safeParse(value).success) {
    throw new InvalidArgumentError(
      `Expected 'paper', 'small', 'tumour' or z0:z1,y0:y1,x0:x1 for ${flag} but received ${JSON.stringify(value)}`,
    );
  }
  return value;
};

/** `--pad-to`: `none`, or D,H,W as integers (the schema checks the count and the signs). */
const padToFlag = (value: string, flag: string) => {
  if (value === 'none') return null;
  const dims = value.split(',').map(Number);
  if (dims.length !== 3 || dims.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new InvalidArgumentError(`Expected three positive integers D,H,W or 'none' for ${flag} but received ${JSON.stringify(value)}`);
  }
  return dims;
};

/** `--workers`: 0 (the main thread) to 64. */
const workersFlag = (value: string, flag: string) => {
  const n = intFlag(value, flag);
  if (n < 0 || n > 64) throw new InvalidArgumentError(`Expected an integer in [0, 64] for ${flag} but received ${n}`);
  return n;
};

/** Registers `spottune data summary | synth | prepare`. */
export function registerData(program: Command): void {
  const data = program.command('data').description('a cohort in any layout: summary, preprocessing cache, synthetic cohorts');

  const summary = data
    .command('summary')
    .description(
      'count the patients of a cohort (UPENN-GBM, BraTS 2021 + RSNA-MICCAI labels, a folder per patient, or a manifest) per modality group and class',
    )
    .requiredOption('--data <dir>', 'dataset folder, or a manifest file (.json or .csv)');
  addCohortOptions(summary)
    .addOption(schemaOption('--mask <source>', PreprocessSchema.shape.mask))
    .option('--clinical-csv <file>', 'UPENN-GBM clinical CSV (same as --labels)')
    .option('--list', 'also list every excluded scan, unmatched and ignored file')
    .option('--json', 'print the whole cohort description as JSON')
    .action(async (flags: SummaryFlags) => {
      const [{ summarizeCohort }, cohort] = await Promise.all([import('../../data/cohort.js'), openCohortOfFlags(flags)]);
      const s = summarizeCohort(cohort);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ summary: s, cohort }, null, 2)}\n`);
        return;
      }
      const pad = (v: string | number, n: number) => String(v).padStart(n);
      const groups = Object.keys(cohort.groups);
      const w = Math.max(8, ...groups.map((g) => g.length));
      const [pos, neg] =
        cohort.endpoint.name === 'MGMT' ? ['methylated', 'unmethylated'] : [`${cohort.endpoint.name}=1`, `${cohort.endpoint.name}=0`];
      const lines = [
        `cohort   ${cohort.root}`,
        `layout   ${cohort.layout}${cohort.detected ? ' (detected)' : ''}`,
        `labels   ${cohort.clinicalCsv ?? '(in the manifest)'}, column ${cohort.endpoint.column}: 1 = ${cohort.endpoint.positive.join('|')}, 0 = ${cohort.endpoint.negative.join('|')}`,
        ...(cohort.layout === 'upenn'
          ? [
              `mask     ${cohort.maskSource}${cohort.maskSource === 'corrected' ? ` (${cohort.patients.filter((p) => p.maskSource === 'corrected').length} corrected, the rest automated)` : ''}`,
            ]
          : []),
        '',
        `${'group'.padEnd(w)} patients  ${pad(pos, 10)}  ${pad(neg, 12)}  incomplete`,
        ...groups.map(
          (g) =>
            `${g.padEnd(w)} ${pad(s.groups[g].patients, 8)}  ${pad(s.groups[g].methylated, 10)}  ${pad(s.groups[g].unmethylated, 12)}  ${pad(s.groups[g].incomplete, 10)}`,
        ),
        `${'any'.padEnd(w)} ${pad(s.patients, 8)}  ${pad(s.methylated, 10)}  ${pad(s.unmethylated, 12)}`,
        '',
        `excluded ${cohort.excluded.length}${Object.keys(s.excluded).length ? ':' : ''}`,
        ...Object.entries(s.excluded).map(([reason, n]) => `  ${pad(n, 5)}  ${reason}`),
        `unmatched files ${s.unmatched}, ignored files ${s.ignored}`,
      ];
      if (flags.list) {
        // loops, not spreads: a folder can hold more files than a call takes arguments
        lines.push('');
        for (const e of cohort.excluded) lines.push(`excluded   ${e.id}: ${e.reason}`);
        for (const u of cohort.unmatched) lines.push(`unmatched  ${u.path}: ${u.reason}`);
        for (const u of cohort.ignored) lines.push(`ignored    ${u.path}: ${u.reason}`);
      } else if (s.unmatched > 0) {
        for (const u of cohort.unmatched.slice(0, 10)) lines.push(`  ${u.path}: ${u.reason}`);
        if (s.unmatched > 10) lines.push(`  ... (--list shows all)`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  data
    .command('synth')
    .description('write a synthetic cohort laid out exactly like UPENN-GBM, with an MGMT-linked tumour signal')
    .requiredOption('--out <dir>', 'directory to write')
    .addOption(schemaOption('--layout <layout>', SynthSchema.shape.layout))
    .addOption(schemaOption('--patients <n>', SynthSchema.shape.patients, { parse: intFlag, note: ' (plus a few excluded extras)' }))
    .addOption(schemaOption('--size <size>', SynthSchema.shape.size))
    .addOption(schemaOption('--seed <n>', SynthSchema.shape.seed, { parse: intFlag }))
    .addOption(schemaOption('--signal <x>', SynthSchema.shape.signal, { parse: numberFlag }))
    .addOption(
      schemaOption('--signal-modalities <list>', SynthSchema.shape.signalModalities, {
        parse: (v) => listFlag(v) ?? [],
        note: ', comma-separated (default: all)',
      }),
    )
    .addOption(schemaOption('--compression <level>', SynthSchema.shape.compressionLevel, { parse: intFlag }))
    .option('--no-progress', 'no progress bar')
    .option(...JSON_FLAG)
    .action(async (flags: SynthFlags) => {
      const [{ synthCohort }, { MODALITIES }, { checkOneOf }, cliProgress] = await Promise.all([
        import('../../data/synth.js'),
        import('../../config/data.js'),
        import('../../util/validate.js'),
        import('cli-progress'),
      ]);
      for (const m of flags.signalModalities ?? []) checkOneOf(m, '--signal-modalities entry', MODALITIES);
      await prepareOutputDirectory(flags.out, '--out');
      const bar =
        flags.progress && !flags.json
          ? new cliProgress.SingleBar(
              { format: 'synth |{bar}| {value}/{total} scans | {id} | ETA {eta_formatted}', stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let started = false;
      const t0 = Date.now();
      let result;
      try {
        result = await synthCohort(
          {
            out: flags.out,
            layout: flags.layout as 'upenn' | 'brats2021',
            patients: flags.patients,
            size: flags.size as 'full' | 'small',
            seed: flags.seed,
            signal: flags.signal,
            signalModalities: flags.signalModalities,
            compressionLevel: flags.compression,
          },
          (p) => {
            if (!started) {
              bar?.start(p.total, 0, { id: '' });
              started = true;
            }
            bar?.update(p.done, { id: p.id });
          },
        );
      } finally {
        bar?.stop();
      }
      const m = result.scans.filter((s) => s.mgmt === 'Methylated' && !s.followUp).length;
      const u = result.scans.filter((s) => s.mgmt === 'Unmethylated' && !s.followUp).length;
      const seconds = (Date.now() - t0) / 1000;
      printResult(
        flags.json,
        {
          root: result.root,
          scans: result.scans.length,
          methylated: m,
          unmethylated: u,
          excludedByDesign: result.scans.length - m - u,
          files: result.files,
          seconds,
        },
        () =>
          `${result.scans.length} scans (${m} methylated, ${u} unmethylated, ${result.scans.length - m - u} excluded by design), ${result.files} files -> ${result.root} (${seconds.toFixed(1)} s)`,
      );
    });

  const prepare = data
    .command('prepare')
    .description(
      'preprocess a cohort (UPENN-GBM, BraTS 2021, a folder per patient, or a manifest) as the study did into a cache of float32 .npy volumes (reused and resumable)',
    )
    .requiredOption('--data <dir>', 'dataset folder (the UPENN-GBM NIfTI package root), or a manifest file (.json or .csv)')
    .requiredOption('--out <dir>', 'cache directory (manifest.json + <ID>_<MODALITY>.npy)');
  addCohortOptions(prepare)
    .addOption(schemaOption('--mask <source>', PreprocessSchema.shape.mask))
    .addOption(
      schemaOption('--crop <box>', PreprocessSchema.shape.crop, {
        parse: cropFlag,
        note: `: 'paper' (${boxText(GEOMETRY_PRESETS.paper.crop)}), 'small' (the synthetic small geometry), 'tumour' (the cohort's largest tumour extent) or z0:z1,y0:y1,x0:x1`,
      }),
    )
    .addOption(schemaOption('--crop-margin <n>', PreprocessSchema.shape.cropMargin, { parse: intFlag }))
    .addOption(schemaOption('--scale <x>', PreprocessSchema.shape.scale, { parse: numberFlag }))
    .addOption(
      schemaOption('--pad-to <shape>', PreprocessSchema.shape.padTo, {
        noDefault: true,
        parse: padToFlag,
        note: `: D,H,W, or 'none' (default ${GEOMETRY_PRESETS.paper.padTo.join(',')}; ${GEOMETRY_PRESETS.small.padTo.join(',')} with --crop small)`,
      }),
    )
    .option('--modalities <list>', "comma-separated modalities (default: all the cohort's; UPENN-GBM: all eleven)")
    .option('--workers <n>', 'worker threads (default: CPUs - 1; 0 = main thread)', (v: string) => workersFlag(v, '--workers'))
    .option('--clinical-csv <file>', 'UPENN-GBM clinical CSV (same as --labels; default: found beside the data)')
    .option('--no-progress', 'no progress bar')
    .option(...JSON_FLAG)
    .action(async (flags: PrepareFlags) => {
      const [{ prepareCohort }, { GEOMETRY_PRESETS }, { checkOneOf }, cliProgress] = await Promise.all([
        import('../../data/cache.js'),
        import('../../config/data.js'),
        import('../../util/validate.js'),
        import('cli-progress'),
      ]);
      const crop = flags.crop;
      const padTo = flags.padTo !== undefined ? flags.padTo : crop === 'small' ? [...GEOMETRY_PRESETS.small.padTo] : undefined;
      const requested = listFlag(flags.modalities);
      const cohort = await openCohortOfFlags(flags);
      // each layout names its own modalities (UPENN-GBM: the study's eleven); checked before anything is written
      const modalities = requested?.map((m) => checkOneOf(m, '--modalities entry', cohort.modalities as Modality[]));
      await prepareOutputDirectory(flags.out, '--out');
      const controller = new AbortController();
      const onSigint = () => {
        process.stderr.write('\ninterrupted: finishing the volumes in progress; run the same command again to resume\n');
        controller.abort();
      };
      process.once('SIGINT', onSigint);
      const bar =
        flags.progress && !flags.json
          ? new cliProgress.SingleBar(
              { format: 'prepare |{bar}| {value}/{total} volumes | {id} {modality} | ETA {eta_formatted}', stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let started = false;
      const t0 = Date.now();
      let result;
      try {
        result = await prepareCohort(cohort, {
          out: flags.out,
          preprocess: {
            crop: crop as never,
            cropMargin: flags.cropMargin,
            scale: flags.scale,
            ...(padTo !== undefined ? { padTo: padTo as [number, number, number] | null } : {}),
          },
          modalities,
          ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
          signal: controller.signal,
          onProgress: (e) => {
            if (!started) {
              bar?.start(e.total, 0, { id: '', modality: '' });
              started = true;
            }
            bar?.update(e.done, { id: e.id, modality: e.modality });
          },
        });
      } finally {
        bar?.stop();
        process.removeListener('SIGINT', onSigint);
      }
      const seconds = (Date.now() - t0) / 1000;
      const r = result;
      printResult(
        flags.json,
        {
          dir: r.dir,
          prepared: r.prepared,
          reused: r.reused,
          skipped: r.skipped,
          decoded: r.decoded,
          patients: r.manifest.patients.length,
          shape: r.manifest.shape,
          skippedVolumes: r.manifest.skipped,
          interrupted: r.interrupted,
          seconds,
        },
        () =>
          [
            `${r.prepared} prepared, ${r.reused} reused, ${r.skipped} skipped; ${r.manifest.patients.length} patients, shape [${r.manifest.shape.join(', ')}] -> ${r.dir} (${seconds.toFixed(1)} s, ${r.decoded} NIfTI decoded)`,
            ...r.manifest.skipped.slice(0, 20).map((s) => `  skipped ${s.id} ${s.modality}: ${s.reason}`),
            ...(r.interrupted ? ['interrupted: the cache is incomplete; run the same command again to resume'] : []),
          ].join('\n'),
      );
      if (r.interrupted) process.exitCode = 130;
    });
}
