import { describe, expect, test } from 'vitest';
import { modalityGroup } from '../../lib/config/data.js';
import { ConfigError, expandEnsemble, resolveExperimentConfig } from '../../lib/config/experiment.js';
import { DEMO_CONFIG, DEMO_CONFIG_BRATS } from '../../lib/experiment/demo.js';
import { planOf } from '../../lib/experiment/setup.js';

const BRATS = { struct: ['t1', 't1ce', 't2', 'flair'] };

function issuesOf(options: unknown): string {
  try {
    resolveExperimentConfig(options);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
}

describe("an experiment over the user's modality groups", () => {
  test("the study's groups are the default: UPENN-GBM configurations resolve as before", () => {
    const config = resolveExperimentConfig({});
    expect(config.modalityGroups).toEqual({
      struct: ['T2', 'FLAIR', 'T1', 'T1GD'],
      DTI: ['DTI_AD', 'DTI_FA', 'DTI_RD', 'DTI_TR'],
      DSC: ['DSC_ap-rCBV', 'DSC_PH', 'DSC_PSR'],
    });
    expect(config.cohort).toEqual({ layout: null, labels: null, skipUnusable: false });
    expect(config.radiomicsModalities).toEqual({ T1: 'T1', T1GD: 'T1GD', T2: 'T2', FLAIR: 'FLAIR' });
    expect(expandEnsemble(['DSC', 'struct'])).toEqual(['T2', 'FLAIR', 'T1', 'T1GD', 'DSC_ap-rCBV', 'DSC_PH', 'DSC_PSR']);
  });

  test('BraTS 2021 names: grid, ensembles, anchor and groups of the cohort', () => {
    const config = resolveExperimentConfig(DEMO_CONFIG_BRATS);
    expect(config.cohort.layout).toBe('brats2021');
    expect(config.splits.anchor).toBe('struct');
    expect(expandEnsemble(['struct'], config.modalityGroups)).toEqual(['t1', 't1ce', 't2', 'flair']);
    expect(expandEnsemble(config.ensembles['flair+t1ce'], config.modalityGroups)).toEqual(['t1ce', 'flair']);
    expect(modalityGroup('t1ce', config.modalityGroups)).toBe('struct');
    expect(() => modalityGroup('dwi', config.modalityGroups)).toThrow(
      /Unknown modality "dwi"; the groups are struct \(t1, t1ce, t2, flair\)/,
    );
    expect(
      planOf(config)
        .jobs.filter((j) => j.kind === 'train')
        .map((j) => j.id)
        .sort(),
    ).toEqual(
      [
        'train.spottune.flair.fold0',
        'train.spottune.flair.fold1',
        'train.spottune.t1ce.fold0',
        'train.spottune.t1ce.fold1',
        'train.random.flair.fold0',
        'train.random.flair.fold1',
        'train.random.t1ce.fold0',
        'train.random.t1ce.fold1',
        'train.transfer.flair.fold0',
        'train.transfer.flair.fold1',
        'train.transfer.t1ce.fold0',
        'train.transfer.t1ce.fold1',
      ].sort(),
    );
    // the UPENN-GBM demo is untouched
    expect(resolveExperimentConfig(DEMO_CONFIG).modalityGroups.DSC).toEqual(['DSC_ap-rCBV', 'DSC_PH', 'DSC_PSR']);
  });

  test('errors name the key: a modality outside the groups, an unknown member or anchor, a modality in two groups', () => {
    expect(
      issuesOf({ modalityGroups: BRATS, modalities: ['flair', 'FLAIR'], ensembles: { a: ['flair'] }, splits: { anchor: 'struct' } }),
    ).toMatch(/modalities\.1: Unknown value "FLAIR".*did you mean "flair"\?/);
    expect(issuesOf({ modalityGroups: BRATS, modalities: ['flair'], ensembles: { a: ['flairr'] }, splits: { anchor: 'struct' } })).toMatch(
      /ensembles\.a\.0: Unknown ensemble member "flairr".*did you mean "flair"\?/,
    );
    expect(issuesOf({ modalityGroups: BRATS, modalities: ['flair'], ensembles: { a: ['flair'] } })).toMatch(
      /splits\.anchor: Unknown anchor group "DSC"; expected one of struct/,
    );
    expect(
      issuesOf({ modalityGroups: { a: ['x'], b: ['x'] }, modalities: ['x'], ensembles: { e: ['x'] }, splits: { anchor: 'a' } }),
    ).toMatch(/modalityGroups\.b: Modality x is in groups a and b/);
    expect(issuesOf({ cohort: { layout: 'bratz' } })).toMatch(
      /cohort\.layout: Unknown value "bratz"; expected one of upenn, brats2021, folders, manifest/,
    );
  });
});
