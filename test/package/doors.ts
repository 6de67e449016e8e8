// The package's doors as package.json "exports" declares them, for the tests in test/package/.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

interface Door {
  /** The specifier a user writes: `spottune3d`, `spottune3d/io`... */
  specifier: string;
  /** The compiled module behind it, absolute. */
  file: string;
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
};

/** Every door but ./package.json. */
export const DOORS: Door[] = Object.entries(pkg.exports)
  .filter(([key]) => key !== './package.json')
  .map(([key, target]) => ({
    specifier: key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`,
    file: fileURLToPath(new URL(typeof target === 'string' ? target : target.default, new URL('../../', import.meta.url))),
  }));

/** The doors allowed to bring in the job queue's or the plotting stack's packages when used. */
export const HEAVY_DOORS = new Set(['spottune3d/queue', 'spottune3d/report']);
