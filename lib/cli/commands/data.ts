import type { Command } from 'commander';
import { CohortSchema, GEOMETRY_PRESETS, PreprocessSchema, SynthSchema } from '../../config/data.js';
import { intFlag, numberFlag, schemaOption } from '../schema-option.js';

interface SummaryFlags {
  data: string;
  layout?: string;
  labels?: string;
  labelColumn?: string;
  positive?: string;
  negative?: string;
  delimiter?: string;
  skipUnusable?: boolean;
  mask: 'automated' | 'corrected';
  clinicalCsv?: string;
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
  signalModalities?: string;
  compression: number;
  progress: boolean;
}

interface PrepareFlags {
  data: string;
  out: string;
  mask: 'automated' | 'corrected';
  crop: string;
  cropMargin: number;
  scale: number;
  padTo?: string;
  modalities?: string;
  workers?: string;
  clinicalCsv?: string;
  progress: boolean;
}

/** `[0:140, 39:211, 44:208]` for a crop box. */
const boxText = (box: readonly (readonly number[])[]) => `[${box.map(([a, b]) => `${a}:${b}`).join(', ')}]`;

const list = (s?: string) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

/** Registers `spottune data summary | synth | prepare`. */
export function registerData(program: Command): void {
  const data = program.command('data').description('the UPENN-GBM cohort: summary, preprocessing cache, synthetic cohorts');

  data
    .command('summary')
    .description('count the patients of a cohort (UPENN-GBM, BraTS 2021 + RSNA-MICCAI labels, a folder per patient, or a manifest) per modality group and class')
    .requiredOption('--data <dir>', 'dataset folder, or a manifest file (.json or .csv)')
    .addOption(schemaOption('--layout <layout>', CohortSchema.shape.layout, { noDefault: true, note: ' (default: detected when unambiguous)' }))
    .option('--labels <file>', 'labels or clinical CSV (default: the one inside the dataset folder; one elsewhere is only used when named)')
    .option('--label-column <name>', "label column of a folders labels CSV or a CSV manifest (default 'label', else 'MGMT')")
    .option('--positive <values>', 'comma-separated label values of class 1 (default 1, methylated, true, yes, positive)')
    .option('--negative <values>', 'comma-separated label values of class 0 (default 0, unmethylated, false, no, negative)')
    .option('--delimiter <char>', "CSV delimiter: ',', ';' or 'tab' (default: detected)")
    .option('--skip-unusable', 'list the patients with missing or unreadable files and go on with the rest (default: an error)')
    .addOption(schemaOption('--mask <source>', PreprocessSchema.shape.mask))
    .option('--clinical-csv <file>', 'UPENN-GBM clinical CSV (same as --labels)')
    .option('--list', 'also list every excluded scan, unmatched and ignored file')
    .option('--json', 'print the whole cohort description as JSON')
    .action(async (flags: SummaryFlags) => {
      const [{ summarizeCohort }, { openDataset }] = await Promise.all([import('../../data/cohort.js'), import('../../data/cohort/layouts.js')]);
      const endpoint = {
        ...(flags.labelColumn ? { column: flags.labelColumn } : {}),
        ...(flags.positive ? { positive: list(flags.positive) } : {}),
        ...(flags.negative ? { negative: list(flags.negative) } : {}),
      };
      const labels = flags.labels ?? flags.clinicalCsv;
      const cohort = await openDataset(flags.data, {
        mask: flags.mask,
        ...(flags.layout ? { layout: flags.layout as never } : {}),
        ...(labels ? { labels } : {}),
        ...(Object.keys(endpoint).length ? { endpoint } : {}),
        ...(flags.delimiter ? { delimiter: flags.delimiter === 'tab' ? '\t' : flags.delimiter } : {}),
        ...(flags.skipUnusable ? { skipUnusable: true } : {}),
      });
      const s = summarizeCohort(cohort);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ summary: s, cohort }, null, 2)}\n`);
        return;
      }
      const pad = (v: string | number, n: number) => String(v).padStart(n);
      const groups = Object.keys(cohort.groups);
      const w = Math.max(8, ...groups.map((g) => g.length));
      const [pos, neg] = cohort.endpoint.name === 'MGMT' ? ['methylated', 'unmethylated'] : [`${cohort.endpoint.name}=1`, `${cohort.endpoint.name}=0`];
      const lines = [
        `cohort   ${cohort.root}`,
        `layout   ${cohort.layout}${cohort.detected ? ' (detected)' : ''}`,
        `labels   ${cohort.clinicalCsv ?? '(in the manifest)'}, column ${cohort.endpoint.column}: 1 = ${cohort.endpoint.positive.join('|')}, 0 = ${cohort.endpoint.negative.join('|')}`,
        ...(cohort.layout === 'upenn' ? [`mask     ${cohort.maskSource}${cohort.maskSource === 'corrected' ? ` (${cohort.patients.filter((p) => p.maskSource === 'corrected').length} corrected, the rest automated)` : ''}`] : []),
        '',
        `${'group'.padEnd(w)} patients  ${pad(pos, 10)}  ${pad(neg, 12)}  incomplete`,
        ...groups.map((g) => `${g.padEnd(w)} ${pad(s.groups[g].patients, 8)}  ${pad(s.groups[g].methylated, 10)}  ${pad(s.groups[g].unmethylated, 12)}  ${pad(s.groups[g].incomplete, 10)}`),
        `${'any'.padEnd(w)} ${pad(s.patients, 8)}  ${pad(s.methylated, 10)}  ${pad(s.unmethylated, 12)}`,
        '',
        `excluded ${cohort.excluded.length}${Object.keys(s.excluded).length ? ':' : ''}`,
        ...Object.entries(s.excluded).map(([reason, n]) => `  ${pad(n, 5)}  ${reason}`),
        `unmatched files ${s.unmatched}, ignored files ${s.ignored}`,
      ];
      if (flags.list) {
        lines.push('', ...cohort.excluded.map((e) => `excluded   ${e.id}: ${e.reason}`));
        lines.push(...cohort.unmatched.map((u) => `unmatched  ${u.path}: ${u.reason}`));
        lines.push(...cohort.ignored.map((u) => `ignored    ${u.path}: ${u.reason}`));
      } else if (s.unmatched > 0) {
        lines.push(...cohort.unmatched.slice(0, 10).map((u) => `  ${u.path}: ${u.reason}`));
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
    .addOption(schemaOption('--signal-modalities <list>', SynthSchema.shape.signalModalities, { note: ', comma-separated (default: all)' }))
    .addOption(schemaOption('--compression <level>', SynthSchema.shape.compressionLevel, { parse: intFlag }))
    .option('--no-progress', 'no progress bar')
    .action(async (flags: SynthFlags) => {
      const [{ synthCohort }, cliProgress] = await Promise.all([import('../../data/synth.js'), import('cli-progress')]);
      const bar = flags.progress ? new cliProgress.SingleBar({ format: 'synth |{bar}| {value}/{total} scans | {id} | ETA {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
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
            signalModalities: list(flags.signalModalities),
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
      process.stdout.write(`${result.scans.length} scans (${m} methylated, ${u} unmethylated, ${result.scans.length - m - u} excluded by design), ${result.files} files -> ${result.root} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    });

  data
    .command('prepare')
    .description('preprocess a UPENN-GBM cohort as the study did into a cache of float32 .npy volumes (reused and resumable)')
    .requiredOption('--data <dir>', 'UPENN-GBM NIfTI package root')
    .requiredOption('--out <dir>', 'cache directory (manifest.json + <ID>_<MODALITY>.npy)')
    .addOption(schemaOption('--mask <source>', PreprocessSchema.shape.mask))
    .addOption(
      schemaOption('--crop <box>', PreprocessSchema.shape.crop, {
        note: `: 'paper' (${boxText(GEOMETRY_PRESETS.paper.crop)}), 'small' (the synthetic small geometry), 'tumour' (the cohort's largest tumour extent) or z0:z1,y0:y1,x0:x1`,
      }),
    )
    .addOption(schemaOption('--crop-margin <n>', PreprocessSchema.shape.cropMargin, { parse: intFlag }))
    .addOption(schemaOption('--scale <x>', PreprocessSchema.shape.scale, { parse: numberFlag }))
    .addOption(
      schemaOption('--pad-to <shape>', PreprocessSchema.shape.padTo, {
        noDefault: true,
        note: `: D,H,W, or 'none' (default ${GEOMETRY_PRESETS.paper.padTo.join(',')}; ${GEOMETRY_PRESETS.small.padTo.join(',')} with --crop small)`,
      }),
    )
    .option('--modalities <list>', 'comma-separated modalities (default: all eleven)')
    .option('--workers <n>', 'worker threads (default: CPUs - 1; 0 = main thread)')
    .option('--clinical-csv <file>', 'clinical CSV (default: found beside the data)')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: PrepareFlags) => {
      const [{ openCohort }, { prepareCohort }, { GEOMETRY_PRESETS }, cliProgress] = await Promise.all([
        import('../../data/cohort.js'),
        import('../../data/cache.js'),
        import('../../config/data.js'),
        import('cli-progress'),
      ]);
      const crop = /^\d+:\d+,\d+:\d+,\d+:\d+$/.test(flags.crop) ? flags.crop.split(',').map((r) => r.split(':').map(Number)) : flags.crop;
      const padTo =
        flags.padTo === 'none' ? null : flags.padTo ? flags.padTo.split(',').map(Number) : flags.crop === 'small' ? [...GEOMETRY_PRESETS.small.padTo] : undefined;
      const cohort = await openCohort(flags.data, { mask: flags.mask, ...(flags.clinicalCsv ? { clinicalCsv: flags.clinicalCsv } : {}) });
      const controller = new AbortController();
      const onSigint = () => {
        process.stderr.write('\ninterrupted: finishing the volumes in progress; run the same command again to resume\n');
        controller.abort();
      };
      process.once('SIGINT', onSigint);
      const bar = flags.progress ? new cliProgress.SingleBar({ format: 'prepare |{bar}| {value}/{total} volumes | {id} {modality} | ETA {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
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
          modalities: list(flags.modalities) as never,
          ...(flags.workers !== undefined ? { workers: Number(flags.workers) } : {}),
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
      process.stdout.write(
        `${result.prepared} prepared, ${result.reused} reused, ${result.skipped} skipped; ${result.manifest.patients.length} patients, shape [${result.manifest.shape.join(', ')}] -> ${result.dir} (${seconds.toFixed(1)} s, ${result.decoded} NIfTI decoded)\n`,
      );
      for (const s of result.manifest.skipped.slice(0, 20)) process.stdout.write(`  skipped ${s.id} ${s.modality}: ${s.reason}\n`);
      if (result.interrupted) {
        process.stdout.write('interrupted: the cache is incomplete; run the same command again to resume\n');
        process.exitCode = 130;
      }
    });
}
