export interface LibTorch {
  source: string;
  prefix: string;
  cmakeDir: string;
  includeDirs: string[];
  libDir: string;
  libraries: string[];
  cxx11Abi: 0 | 1;
  cuda: boolean;
  version: string | null;
}
export function probeLibTorch(): { found: LibTorch | null; tried: string[] };
export function resolveLibTorch(options?: { install?: boolean; log?: (line: string) => void }): LibTorch;
export const INSTALL_HELP: string;
