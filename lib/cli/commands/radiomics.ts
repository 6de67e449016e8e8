import type { Command } from 'commander';
import { PreprocessSchema } from '../../config/data.js';
import { listFlag, schemaOption } from '../schema-option.js';
import { PYRADIOMICS_DEFAULTS } from '../../config/radiomics.js';
import { JSON_FLAG, prepareOutputFile, printResult } from '../output.js';
import { CliError } from '../errors.js';
import { addCohortOptions, type CohortFlags, openCohortOfFlags } from '../cohort-options.js';

interface ExtractFlags extends CohortFlags {
  out: string;
  study?: boolean;
  modalities?: string;
  regions?: string;
  binWidth: string;
  binCount?: string;
  voxelArrayShift: string;
  progress: boolean;
  json?: boolean;
}

/** Registers `spottune radiomics extract`. */
export function registerRadiomics(program: Command): void {
  const radiomics = program
    .command('radiomics')
    .description("PyRadiomics-equal features of the tumour regions, and the study's radiomics baseline");
  const extract = radiomics
    .command('extract')
    .description(
      'extract first-order, GLCM, GLSZM and NGTDM features of every tumour region and modality of a cohort (any layout of `spottune data`) into a CSV',
    )
    .requiredOption('--data <dir>', 'dataset folder or manifest file (as for `spottune data`)')
    .requiredOption('--out <file>', 'CSV to write: id, label, then <modality>_<region>_<class>_<feature> columns');
  addCohortOptions(extract)
    .option('--study', "only the study's six baseline features (a cohort with UPENN-GBM's T1, T1GD, T2 and FLAIR)")
    .option(
      '--modalities <list>',
      'comma-separated modalities of the cohort (default: all a patient has; the structural four with --study)',
    )
    .option('--regions <list>', 'comma-separated regions among necrotic, enhancing, core, oedema, whole (default: all)')
    .addOption(schemaOption('--mask <source>', PreprocessSchema.shape.mask))
    .option('--bin-width <n>', 'fixed bin width of the texture discretisation', String(PYRADIOMICS_DEFAULTS.binWidth))
    .option('--bin-count <n>', 'fixed number of bins instead of --bin-width (e.g. for DTI or DSC maps, whose values are far below 25)')
    .option(
      '--voxel-array-shift <n>',
      'added to intensities for Energy, TotalEnergy and RootMeanSquared',
      String(PYRADIOMICS_DEFAULTS.voxelArrayShift),
    )
    .option('--clinical-csv <file>', 'UPENN-GBM clinical CSV (same as --labels; default: found beside the data)')
    .option('--no-progress', 'no progress bar')
    .option(...JSON_FLAG)
    .action(async (flags: ExtractFlags) => {
      const [
        { extractCohortRadiomics, cohortFeaturesToCsv, TUMOUR_REGIONS },
        { writeFileAtomic, writeJsonAtomic },
        { checkOneOf, checkNumber, checkInteger },
        cliProgress,
      ] = await Promise.all([
        import('../../radiomics/index.js'),
        import('../../util/atomic.js'),
        import('../../util/validate.js'),
        import('cli-progress'),
      ]);
      const { MODALITY_GROUPS } = await import('../../config/data.js');
      const binWidth = checkNumber(Number(flags.binWidth), '--bin-width', { min: Number.MIN_VALUE });
      const voxelArrayShift = checkNumber(Number(flags.voxelArrayShift), '--voxel-array-shift');
      const binCount = flags.binCount === undefined ? undefined : checkInteger(Number(flags.binCount), '--bin-count', { min: 1 });
      const regionNames = Object.keys(TUMOUR_REGIONS) as Array<keyof typeof TUMOUR_REGIONS>;
      const regions = listFlag(flags.regions)?.map((r) => checkOneOf(r, '--regions entry', regionNames));
      const cohort = await openCohortOfFlags(flags);
      // each layout names its own modalities (UPENN-GBM: the study's eleven)
      const modalities = listFlag(flags.modalities)?.map((m) => checkOneOf(m, '--modalities entry', cohort.modalities));
      // the six baseline features are defined on the structural four under UPENN-GBM's names (docs/study.md section 9)
      const lacking = flags.study ? MODALITY_GROUPS.struct.filter((m) => !cohort.modalities.includes(m)) : [];
      if (lacking.length > 0) {
        throw new CliError(
          'ERR_MISSING_MODALITY',
          `--study needs the modalities ${MODALITY_GROUPS.struct.join(', ')}; the cohort (layout ${cohort.layout}) has ${cohort.modalities.join(', ')}`,
        );
      }
      // a modality no patient has would come out as columns that are empty in every row
      for (const m of modalities ?? []) {
        if (!cohort.patients.some((p) => p.images[m]))
          throw new CliError('ERR_MISSING_MODALITY', `--modalities ${m}: no patient of the cohort has a ${m} volume`);
      }
      await prepareOutputFile(flags.out, '--out');
      const bar =
        flags.progress && !flags.json
          ? new cliProgress.SingleBar(
              { format: 'radiomics |{bar}| {value}/{total} patients | {id} | ETA {eta_formatted}', stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      bar?.start(cohort.patients.length, 0, { id: '' });
      const started = Date.now();
      let features;
      try {
        features = await extractCohortRadiomics(cohort.patients, {
          study: flags.study,
          modalities,
          regions,
          radiomics: { binWidth, voxelArrayShift, ...(binCount === undefined ? {} : { binCount }) },
          onPatient: (done, _total, id) => bar?.update(done, { id }),
        });
      } finally {
        bar?.stop();
      }
      await writeFileAtomic(flags.out, cohortFeaturesToCsv(features));
      const exclusions = features.rows.flatMap((r) => r.excluded.map((e) => ({ id: r.id, ...e })));
      const exclusionsPath = flags.out.replace(/\.csv$/i, '') + '.exclusions.json';
      await writeJsonAtomic(exclusionsPath, { excludedPatients: cohort.excluded, missingFeatures: exclusions });
      const seconds = (Date.now() - started) / 1000;
      const incomplete = features.rows.filter((r) => r.excluded.length > 0).length;
      printResult(
        flags.json,
        {
          out: flags.out,
          exclusions: exclusionsPath,
          patients: features.rows.length,
          features: features.columns.length,
          incompletePatients: incomplete,
          missingFeatures: exclusions.length,
          seconds,
        },
        () =>
          `${features.rows.length} patients x ${features.columns.length} features -> ${flags.out} (${seconds.toFixed(1)} s, ${(seconds / Math.max(1, features.rows.length)).toFixed(2)} s/patient)\n` +
          `${incomplete} patient(s) with missing features (${exclusions.length} exclusion(s)) -> ${exclusionsPath}`,
      );
    });
}
