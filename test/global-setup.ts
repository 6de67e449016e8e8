// Native suites never skip: when the addon is missing the run fails here, loudly, before any test.
import { existsSync } from 'node:fs';

export default function setup(): void {
  if (!existsSync(new URL('../dist/lib/index.js', import.meta.url))) {
    throw new Error('dist/ is missing: `npm test` builds it (pretest); run `npm run build:ts`');
  }
}
