import type { Command } from 'commander';
import { runtime } from '../../runtime.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the LibTorch runtime: version, CUDA, cuDNN, threads, build')
    .option('--json', 'print as JSON')
    .option('--config', 'also print LibTorch build configuration')
    .action((opts: { json?: boolean; config?: boolean }) => {
      const info = runtime();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const b = info.buildInfo;
      const lines = [
        `torch        ${info.torchVersion}`,
        `cuda         ${info.cudaAvailable ? `yes, ${info.cudaDevices} device(s)` : 'no'}`,
        `cudnn        ${info.cudnn ? 'yes' : 'no'}`,
        `threads      ${info.threads}`,
        `build        ${b.buildSystem}, N-API ${b.napiVersion}, cxx11 ABI ${b.cxx11Abi ? 'on' : 'off'}, CUDA ${b.compiledWithCuda ? 'compiled in' : 'not compiled in'}`,
      ];
      if (opts.config) lines.push('', b.config.trim());
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
