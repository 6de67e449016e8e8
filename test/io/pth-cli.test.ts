// `spottune weights inspect`, run in-process through the CLI's main().
import { describe, expect, test, vi } from 'vitest';
import { main } from '../../lib/cli/main.js';
import type { WeightsInspection } from '../../lib/cli/commands/weights.js';

const fixture = (name: string) => new URL(`../fixtures/pth/${name}`, import.meta.url).pathname;

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await main(['node', 'spottune', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('spottune weights inspect', () => {
  test('--json: format, keys, dtypes, shapes, counts', async () => {
    const { code, stdout } = await run('weights', 'inspect', fixture('dtypes_legacy_cuda.pth'), '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as WeightsInspection;
    expect(report).toMatchObject({ format: 'legacy', byteOrder: 'little', stateDictPath: 'state_dict', locations: ['cuda:0'] });
    expect(report.topLevelKeys).toEqual(['state_dict', 'epoch', 'name', 'items', 'big', 'neg', 'lr', '7']);
    expect(report.tensors[0]).toEqual({ key: 'state_dict.float32', dtype: 'float32', shape: [2, 3, 4] });
    expect(report.dtypes).toMatchObject({ float32: 10, int64: 3, bool: 1, bfloat16: 1 });
    const numel = report.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(report.elementCount).toBe(numel);
    expect(report.parameterCount).toBe(numel - 1); // num_batches_tracked is a buffer
    expect(report.architecture?.layout).toBe('unknown');
  });

  test('the table: format, counts, one line per tensor', async () => {
    const { code, stdout } = await run('weights', 'inspect', fixture('simple_zip.pth'));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^format\s+zip \(torch >= 1\.6\), archive simple_zip\/, version 3, little-endian$/m);
    expect(stdout).toMatch(/^a\s+float32\s+\[2, 3\]$/m);
    expect(stdout).toMatch(/^parameters\s+13 /m);
  });

  test('a malicious file fails with the refused global and exit code 1', async () => {
    const { code, stdout, stderr } = await run('weights', 'inspect', fixture('malicious_os_system.pth'));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/Refused global posix\.system.*ERR_CHECKPOINT_UNSAFE/);
  });
});
