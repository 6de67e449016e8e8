// The queue executor's pieces that need no Redis: URLs, ids, runner modules, the CLI's refusals.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { redactUrl, redisOptions } from '../../../lib/experiment/queue/connection.js';
import { experimentKey, planJobId, queueJobId } from '../../../lib/experiment/queue/protocol.js';
import { loadJobRunner } from '../../../lib/experiment/queue/runner.js';
import { FIXTURE_RUNNER, removeTempDirs, requireDist, tempDir } from './helpers.js';

afterEach(removeTempDirs);
const bin = fileURLToPath(new URL('../../../bin/spottune.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('redisOptions', () => {
  test('host, port, credentials, database and TLS from the URL', () => {
    expect(redisOptions('redis://127.0.0.1:6390')).toMatchObject({ host: '127.0.0.1', port: 6390, maxRetriesPerRequest: null });
    expect(redisOptions('redis://queue.lab')).toMatchObject({ host: 'queue.lab', port: 6379 });
    const secure = redisOptions('rediss://spottune:p%40ss@queue.lab:6380/2');
    expect(secure).toMatchObject({
      host: 'queue.lab',
      port: 6380,
      username: 'spottune',
      password: 'p@ss',
      db: 2,
      tls: { servername: 'queue.lab' },
    });
    expect(redisOptions('redis://:secret@[::1]:7000')).toMatchObject({ host: '::1', port: 7000, password: 'secret' });
    expect(redisOptions('redis://h').tls).toBeUndefined();
  });

  test('BAD CALL: not a redis URL', () => {
    expect(() => redisOptions('http://queue.lab:6379')).toThrow(RangeError);
    expect(() => redisOptions('http://queue.lab:6379')).toThrow(/redis:\/\/ or rediss:\/\/ URL for queueUrl/);
    expect(() => redisOptions('queue.lab:6379')).toThrow(RangeError);
    expect(() => redisOptions('redis://h/db1')).toThrow(/database number/);
    expect(() => redisOptions(6379)).toThrow(TypeError);
  });

  test('redactUrl hides the password', () => {
    expect(redactUrl('redis://user:secret@h:1')).toBe('redis://user:***@h:1');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
  });
});

describe('job ids', () => {
  test('an experiment key per output directory, or the name given', () => {
    expect(experimentKey('/data/run1')).toBe(experimentKey('/data/run1/'));
    expect(experimentKey('/data/run1')).not.toBe(experimentKey('/data/run2'));
    expect(experimentKey('/data/run1')).toMatch(/^x[0-9a-f]{12}$/);
    expect(experimentKey('/data/run1', 'mgmt-2024')).toBe('mgmt-2024');
    expect(() => experimentKey('/x', 'a:b')).toThrow(RangeError);
  });

  test('queue ids are the plan ids under the experiment key, and back', () => {
    const id = queueJobId('x1', 'train.spottune.T1.fold0');
    expect(id).toBe('x1.train.spottune.T1.fold0');
    expect(planJobId('x1', id)).toBe('train.spottune.T1.fold0');
    expect(planJobId('x2', id)).toBeUndefined();
    expect(() => queueJobId('x1', 'train:a')).toThrow(/cannot contain ":"/);
  });
});

describe('loadJobRunner', () => {
  const job = { kind: 'train' as const, id: 'train.spottune.T1.fold0', network: 'spottune' as const, modality: 'T1', fold: 0, needs: [] };

  test('a module exporting runJob(job, context)', async () => {
    const run = await loadJobRunner(FIXTURE_RUNNER, { out: tempDir() });
    const result = (await run(job, new AbortController().signal)) as { score: number };
    expect(result.score).toBeGreaterThan(0);
    expect(await run(job, new AbortController().signal)).toEqual(result); // deterministic
  });

  test('a module exporting createJobRunner(context) gets the context', async () => {
    const dir = tempDir();
    const path = join(dir, 'factory.mjs');
    writeFileSync(
      path,
      'export function createJobRunner(ctx) { return async (job) => ({ id: job.id, device: ctx.device, out: ctx.out }); }\n',
    );
    const run = await loadJobRunner(path, { out: dir, device: 'cuda:1' });
    expect(await run(job, new AbortController().signal)).toEqual({ id: job.id, device: 'cuda:1', out: dir });
  });

  test('BAD CALL: a missing module, or one without a runner', async () => {
    const dir = tempDir();
    await expect(loadJobRunner(join(dir, 'missing.mjs'), { out: dir })).rejects.toMatchObject({
      code: 'ERR_JOB_RUNNER',
      message: expect.stringMatching(/missing\.mjs/),
    });
    const empty = join(dir, 'empty.mjs');
    writeFileSync(empty, 'export const x = 1;\n');
    await expect(loadJobRunner(empty, { out: dir })).rejects.toThrow(
      /exports neither createJobRunner\(context\) nor runJob\(job, context\)/,
    );
  });
});

describe('spottune worker', () => {
  test('BAD CALL: no queue, a URL that is not Redis, a zero concurrency', () => {
    requireDist();
    const none = cli('worker');
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/--queue/);
    const http = cli('worker', '--queue', 'http://127.0.0.1:6379');
    expect(http.status).toBe(1);
    expect(http.stderr).toMatch(/redis:\/\/ or rediss:\/\//);
    const zero = cli('worker', '--queue', 'redis://127.0.0.1:1', '--concurrency', '0');
    expect(zero.status).not.toBe(0);
    expect(zero.stderr).toMatch(/--concurrency must be an integer >= 1/);
  });

  test('the job process refuses to run outside a worker', () => {
    requireDist();
    const child = fileURLToPath(new URL('../../../dist/lib/experiment/queue/child.js', import.meta.url));
    const run = spawnSync(process.execPath, [child], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/child_process\.fork/);
  });
});
