import type { Command } from 'commander';

interface TrainFlags {
  cache: string;
  modality: string;
  network: string;
  fold: string;
  weights?: string;
  out: string;
  resume?: boolean;
  splits?: string;
  depth?: string;
  device: string;
  epochs?: string;
  batchSize?: string;
  seed?: string;
  augment: boolean;
  progress: boolean;
}

const int = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new TypeError(`Expected an integer for --${name} but received ${JSON.stringify(value)}`);
  return n;
};

/** Registers `spottune train`: one fold of one modality, the paper's settings unless told. */
export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train one network on one cross-validation fold of one modality (the paper\'s settings unless told)')
    .requiredOption('--cache <dir>', 'prepared cohort (spottune data prepare --out DIR)')
    .requiredOption('--modality <name>', 'derivative to train on, e.g. DTI_FA, T2, DSC_ap-rCBV')
    .option('--network <kind>', 'spottune | random | transfer', 'spottune')
    .requiredOption('--fold <k>', 'cross-validation fold, 0-based')
    .option('--weights <file>', 'MedicalNet checkpoint (resnet_50.pth); required for spottune and transfer')
    .requiredOption('--out <dir>', 'run folder: checkpoints, metrics.jsonl/csv, model.pth, selection.json')
    .option('--resume', 'continue from <out>/checkpoint.pth when it exists')
    .option('--splits <file>', 'splits file to reuse or create (default <out>/splits.json)')
    .option('--depth <n>', 'ResNet depth (paper: 50)')
    .option('--device <device>', 'cpu, cuda or cuda:N', 'cpu')
    .option('--epochs <n>', 'epochs (paper: 90)')
    .option('--batch-size <n>', 'batch size (paper: 12)')
    .option('--seed <n>', 'seed of shuffling, augmentation and Gumbel noise (paper: 42)')
    .option('--no-augment', 'train on the base volumes only (no flip/rotate/noise/deform copies, no balancing)')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: TrainFlags) => {
      const [{ openCache }, { loadOrMakeStudySplits, readSplits }, { expandTrainingSet }, { modalityGroup, MODALITIES }, models, { Trainer }, { checkOneOf }, cliProgress] =
        await Promise.all([
          import('../../data/cache.js'),
          import('../../data/splits.js'),
          import('../../data/augment.js'),
          import('../../config/data.js'),
          import('../../models/index.js'),
          import('../../train/trainer.js'),
          import('../../util/validate.js'),
          import('cli-progress'),
        ]);
      const { join } = await import('node:path');
      const modality = checkOneOf(flags.modality, '--modality', MODALITIES);
      const kind = checkOneOf(flags.network, '--network', ['spottune', 'random', 'transfer'] as const);
      if (kind !== 'random' && !flags.weights) throw new TypeError(`--network ${kind} starts from MedicalNet weights: pass --weights resnet_${flags.depth ?? 50}.pth`);
      const fold = int(flags.fold, 'fold')!;

      const cache = await openCache(flags.cache);
      const patients = cache.patients.map((p) => ({ id: p.id, label: p.label, groups: [...new Set(p.modalities.map((m) => modalityGroup(m)))] }));
      const group = modalityGroup(modality);
      // the study anchors its splits on the DSC patients; a cache without DSC splits each group alone
      const { PAPER_EXPERIMENT } = await import('../../config/experiment.js');
      const anchored = patients.some((p) => p.groups.includes(PAPER_EXPERIMENT.anchor as never));
      if (!anchored && !flags.splits) process.stderr.write(`note: the cache has no ${PAPER_EXPERIMENT.anchor} patients; splitting ${group} alone (anchor null)\n`);
      // a given splits file is authoritative (the experiment writes one for all runs)
      const splits = flags.splits
        ? await readSplits(flags.splits)
        : (await loadOrMakeStudySplits(join(flags.out, 'splits.json'), patients, anchored ? {} : { anchor: null })).splits;
      for (const id of Object.keys(splits.labels)) {
        const p = cache.patients.find((q) => q.id === id);
        if (p && p.label !== splits.labels[id]) throw new RangeError(`Patient ${id} is labelled ${splits.labels[id]} in the splits but ${p.label} in the cache`);
      }
      const folds = splits.groups[group]?.folds;
      if (!folds) throw new RangeError(`The splits have no group ${group}`);
      if (fold < 0 || fold >= folds.length) throw new RangeError(`Expected --fold in [0, ${folds.length - 1}] but received ${fold}`);
      const has = new Set(cache.patients.filter((p) => p.modalities.includes(modality)).map((p) => p.id));
      const sample = (id: string) => ({ id, label: splits.labels[id], load: () => cache.load(id, modality) });
      const base = folds[fold].train.filter((id) => has.has(id)).map(sample);
      const validation = folds[fold].validation.filter((id) => has.has(id)).map(sample);
      const train = flags.augment ? expandTrainingSet(base, cache.shape, { device: flags.device }).samples : base;

      const network = await models.createNetwork({
        kind,
        device: flags.device,
        ...(flags.depth ? { depth: int(flags.depth, 'depth') as 50 } : {}),
      });
      try {
        if (flags.weights) await models.loadMedicalNet(network, flags.weights);
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once('SIGINT', stop);
        const trainer = new Trainer({
          network,
          train,
          validation,
          shape: cache.shape,
          outDir: flags.out,
          signal: controller.signal,
          config: {
            ...(flags.epochs ? { epochs: int(flags.epochs, 'epochs') } : {}),
            ...(flags.batchSize ? { batchSize: int(flags.batchSize, 'batch-size') } : {}),
            ...(flags.seed ? { seed: int(flags.seed, 'seed') } : {}),
          },
          meta: { cache: cache.dir, modality, network: kind, fold, weights: flags.weights ?? null, augment: flags.augment, networkConfig: network.config },
        });
        const epochs = trainer.config.epochs;
        const perEpoch = trainer.batchesPerEpoch;
        const bar = flags.progress
          ? new cliProgress.SingleBar(
              { format: `${kind} ${modality} fold ${fold} |{bar}| epoch {epoch}/${epochs} | loss {loss} | val M {m} | ETA {eta_formatted}`, stream: process.stderr, etaBuffer: 2 * perEpoch },
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
          process.stdout.write(
            `${result.selection === 'best' ? 'selected' : 'no epoch passed the SEN/SPE gates; kept the last'} epoch ${result.selectedEpoch}: ` +
              `val M ${v.m.toFixed(3)}, SEN ${v.sen.toFixed(3)}, SPE ${v.spe.toFixed(3)}, ACC ${v.acc.toFixed(3)}, AUC ${v.auc.toFixed(3)}\n` +
              `model ${result.modelPath}\n`,
          );
        } catch (err) {
          bar?.stop();
          if ((err as Error).name === 'AbortError') throw new Error(`stopped; the last checkpoint is in ${flags.out}: continue with --resume`);
          throw err;
        } finally {
          process.off('SIGINT', stop);
        }
      } finally {
        network.dispose();
      }
    });
}
