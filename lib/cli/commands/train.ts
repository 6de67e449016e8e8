import type { Command } from 'commander';
import { DeviceSchema } from '../../config/device.js';
import { NetworkSchema, PAPER_MODEL } from '../../config/model.js';
import { TRAIN_NETWORKS, TrainSchema } from '../../config/train.js';
import { intFlag, schemaOption } from '../schema-option.js';
import { checkInputPath, JSON_FLAG, prepareOutputDirectory, printResult } from '../output.js';

interface TrainFlags {
  cache: string;
  modality: string;
  network: string;
  fold: number;
  weights?: string;
  out: string;
  resume?: boolean;
  splits?: string;
  depth: number;
  device: string;
  epochs: number;
  batchSize: number;
  seed: number;
  augment: boolean;
  progress: boolean;
  json?: boolean;
}

/** Registers `spottune train`: one fold of one modality, the paper's settings unless told. */
export function registerTrain(program: Command): void {
  program
    .command('train')
    .description("train one network on one cross-validation fold of one modality (the paper's settings unless told)")
    .requiredOption('--cache <dir>', 'prepared cohort (spottune data prepare --out DIR)')
    .requiredOption('--modality <name>', 'derivative to train on, e.g. DTI_FA, T2, DSC_ap-rCBV')
    .addOption(schemaOption('--network <kind>', NetworkSchema.shape.kind, { note: `: ${TRAIN_NETWORKS.join(' | ')}` }))
    .requiredOption('--fold <k>', 'cross-validation fold, 0-based', (v: string) => intFlag(v, '--fold'))
    .option('--weights <file>', `MedicalNet checkpoint (resnet_${PAPER_MODEL.depth}.pth for the study); required for spottune and transfer`)
    .requiredOption('--out <dir>', 'run folder: checkpoints, metrics.jsonl/csv, model.pth, selection.json')
    .option('--resume', 'continue from <out>/checkpoint.pth when it exists')
    .option('--splits <file>', 'splits file to reuse or create (default <out>/splits.json)')
    .addOption(schemaOption('--depth <n>', NetworkSchema.shape.depth, { parse: intFlag }))
    .addOption(schemaOption('--device <device>', DeviceSchema))
    .addOption(schemaOption('--epochs <n>', TrainSchema.shape.epochs, { parse: intFlag }))
    .addOption(schemaOption('--batch-size <n>', TrainSchema.shape.batchSize, { parse: intFlag }))
    .addOption(schemaOption('--seed <n>', TrainSchema.shape.seed, { parse: intFlag }))
    .option('--no-augment', 'train on the base volumes only (no flip/rotate/noise/deform copies, no balancing)')
    .option('--no-progress', 'no progress bar')
    .option(...JSON_FLAG)
    .action(async (flags: TrainFlags) => {
      const [
        { openCache },
        { loadOrMakeStudySplits, makeStudySplits, readSplits, writeSplits },
        { modalityGroup, MODALITIES },
        { prepareFoldTraining },
        { checkOneOf },
        cliProgress,
      ] = await Promise.all([
        import('../../data/cache.js'),
        import('../../data/splits.js'),
        import('../../config/data.js'),
        import('../../train/fold.js'),
        import('../../util/validate.js'),
        import('cli-progress'),
      ]);
      const { join } = await import('node:path');
      const { existsSync } = await import('node:fs');
      const modality = checkOneOf(flags.modality, '--modality', MODALITIES);
      const kind = checkOneOf(flags.network, '--network', TRAIN_NETWORKS);
      if (kind !== 'random' && !flags.weights)
        throw new TypeError(`--network ${kind} starts from MedicalNet weights: pass --weights resnet_${flags.depth}.pth`);
      const fold = flags.fold;
      await checkInputPath(flags.cache, '--cache', 'directory');
      if (flags.weights) await checkInputPath(flags.weights, '--weights', 'file');
      if (flags.splits) await checkInputPath(flags.splits, '--splits', 'file');

      const cache = await openCache(flags.cache);
      const patients = cache.patients.map((p) => ({
        id: p.id,
        label: p.label,
        groups: [...new Set(p.modalities.map((m) => modalityGroup(m)))],
      }));
      const group = modalityGroup(modality);
      // the study anchors its splits on the DSC patients; a cache without DSC splits each group alone
      const { PAPER_EXPERIMENT } = await import('../../config/experiment.js');
      const anchored = patients.some((p) => p.groups.includes(PAPER_EXPERIMENT.anchor as never));
      if (!anchored && !flags.splits)
        process.stderr.write(`note: the cache has no ${PAPER_EXPERIMENT.anchor} patients; splitting ${group} alone (anchor null)\n`);
      // a given splits file is authoritative (the experiment writes one for all runs); a new one is
      // made in memory and written only once --fold has been checked against it
      const splitsPath = join(flags.out, 'splits.json');
      const splitConfig = anchored ? {} : { anchor: null };
      const made = flags.splits || existsSync(splitsPath) ? undefined : makeStudySplits(patients, splitConfig);
      const splits = flags.splits
        ? await readSplits(flags.splits)
        : (made ?? (await loadOrMakeStudySplits(splitsPath, patients, splitConfig)).splits);
      for (const id of Object.keys(splits.labels)) {
        const p = cache.patients.find((q) => q.id === id);
        if (p && p.label !== splits.labels[id])
          throw new RangeError(`Patient ${id} is labelled ${splits.labels[id]} in the splits but ${p.label} in the cache`);
      }
      const folds = splits.groups[group]?.folds;
      if (!folds) throw new RangeError(`The splits have no group ${group}`);
      if (fold < 0 || fold >= folds.length) throw new RangeError(`Expected --fold in [0, ${folds.length - 1}] but received ${fold}`);
      await prepareOutputDirectory(flags.out, '--out');
      if (made) await writeSplits(splitsPath, made);

      const controller = new AbortController();
      const stop = () => controller.abort();
      await using run = await prepareFoldTraining({
        cache,
        splits,
        modality,
        fold,
        network: { kind, device: flags.device, depth: flags.depth as 50 },
        weights: flags.weights ?? null,
        augment: flags.augment ? { device: flags.device } : false,
        train: { epochs: flags.epochs, batchSize: flags.batchSize, seed: flags.seed },
        outDir: flags.out,
        signal: controller.signal,
        meta: (network) => ({
          cache: cache.dir,
          modality,
          network: kind,
          fold,
          weights: flags.weights ?? null,
          augment: flags.augment,
          networkConfig: network.config,
        }),
      });
      const { trainer } = run;
      process.once('SIGINT', stop);
      const epochs = trainer.config.epochs;
      const perEpoch = trainer.batchesPerEpoch;
      const bar =
        flags.progress && !flags.json
          ? new cliProgress.SingleBar(
              {
                format: `${kind} ${modality} fold ${fold} |{bar}| epoch {epoch}/${epochs} | loss {loss} | val M {m} | ETA {eta_formatted}`,
                stream: process.stderr,
                etaBuffer: 2 * perEpoch,
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let lastM = '-';
      trainer.on('epochStart', (e) => {
        if (bar && !bar.isActive) bar.start(epochs * perEpoch, e.epoch * perEpoch, { epoch: e.epoch + 1, loss: '-', m: lastM });
        bar?.update({ epoch: e.epoch + 1 });
      });
      trainer.on('step', (s) => bar?.increment({ loss: s.loss.toFixed(4) }));
      trainer.on('epochEnd', (r) => {
        lastM = Number.isFinite(r.validation.m) ? r.validation.m.toFixed(3) : '-';
        bar?.update({ m: lastM });
      });
      try {
        const result = await trainer.run({ resume: Boolean(flags.resume) });
        bar?.stop();
        const v = result.selected.validation;
        printResult(
          flags.json,
          {
            out: flags.out,
            modality,
            network: kind,
            fold,
            selection: result.selection,
            selectedEpoch: result.selectedEpoch,
            resumedFrom: result.resumedFrom,
            validation: v,
            modelPath: result.modelPath,
            epochs: result.history.length,
          },
          () =>
            `${result.selection === 'best' ? 'selected' : 'no epoch passed the SEN/SPE gates; kept the last'} epoch ${result.selectedEpoch}: ` +
            `val M ${v.m.toFixed(3)}, SEN ${v.sen.toFixed(3)}, SPE ${v.spe.toFixed(3)}, ACC ${v.acc.toFixed(3)}, AUC ${v.auc.toFixed(3)}\n` +
            `model ${result.modelPath}`,
        );
      } catch (err) {
        bar?.stop();
        if ((err as Error).name === 'AbortError')
          throw Object.assign(new Error(`stopped; the last checkpoint is in ${flags.out}: continue with --resume`), {
            code: 'ERR_STOPPED',
          });
        throw err;
      } finally {
        process.off('SIGINT', stop);
      }
    });
}
