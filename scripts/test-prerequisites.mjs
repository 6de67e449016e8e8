#!/usr/bin/env node
// `npm test` runs this first (the "pretest" script). It checks every test-time requirement that
// test/requirements.json lists: the Python reference packages the parity tests run under
// /usr/bin/python3, and the commands the tests start (redis-server). When all are present it is a
// quick check and says nothing. When some are missing it installs them with apt-get on Debian as
// root, the way scripts/libtorch.mjs installs libtorch-dev during `npm ci`; anywhere else it stops
// at once with one message that names what is missing and the command that installs it, so that no
// test fails halfway with a ModuleNotFoundError.
//
//   node scripts/test-prerequisites.mjs            check, and install on Debian as root
//   node scripts/test-prerequisites.mjs --check    check only (exit 1 when something is missing)
//   node scripts/test-prerequisites.mjs --list     print the Debian package names, one a line
//   SPOTTUNE_NO_INSTALL=1                          same as --check
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {{ module: string, debian: string, pip: string, usedBy: string }} PythonModule */
/** @typedef {{ command: string, debian: string, usedBy: string }} Command */
/** @typedef {{ python: string, pythonModules: PythonModule[], commands: Command[] }} Requirements */

/** @type {Requirements} */
export const requirements = JSON.parse(readFileSync(new URL('../test/requirements.json', import.meta.url), 'utf8'));

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      /* not in this directory */
    }
  }
  return false;
}

// find_spec locates a module without importing it: torch alone takes seconds to import, and the
// check must cost nothing when everything is there.
function missingModules(python, modules) {
  if (!existsSync(python)) return modules;
  const code = 'import importlib.util, sys\nprint(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))';
  const run = spawnSync(python, ['-c', code, ...modules.map((m) => m.module)], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) return modules;
  const missing = new Set(run.stdout.trim().split(/\s+/).filter(Boolean));
  return modules.filter((m) => missing.has(m.module));
}

/** What is missing now: Python modules (and the interpreter itself) and commands. */
export function missingRequirements(req = requirements) {
  const modules = missingModules(req.python, req.pythonModules);
  const commands = req.commands.filter((c) => !onPath(c.command));
  const debian = [
    ...new Set([...(existsSync(req.python) ? [] : ['python3']), ...modules.map((m) => m.debian), ...commands.map((c) => c.debian)]),
  ];
  return { modules, commands, debian };
}

function isDebianRoot() {
  return existsSync('/etc/debian_version') && typeof process.getuid === 'function' && process.getuid() === 0;
}

// apt-get's and dpkg's own output (hundreds of lines for torch and its dependencies) is kept back
// and shown only when the install fails.
function aptInstall(packages) {
  /** @type {import('node:child_process').SpawnSyncOptions} */
  const opts = {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  };
  console.error(`[spottune3d] installing the test prerequisites with apt-get (a few minutes): ${packages.join(' ')}`);
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...packages],
  ]) {
    const run = spawnSync('apt-get', args, opts);
    if (run.status !== 0) {
      const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
      console.error(`[spottune3d] apt-get ${args[0]} failed (${run.error?.message ?? `exit ${run.status}`}):\n${output}`);
      return false;
    }
  }
  return true;
}

function helpMessage({ modules, commands, debian }, python, attempted) {
  const lines = ['`npm test` needs these test-time requirements (listed in test/requirements.json), which are missing:'];
  for (const m of modules)
    lines.push(`  - Python module ${m.module} under ${python} (Debian: ${m.debian}; pip: ${m.pip}), for ${m.usedBy}`);
  if (!existsSync(python)) lines.push(`  - ${python} itself (Debian: python3)`);
  for (const c of commands) lines.push(`  - ${c.command} on PATH (Debian: ${c.debian}), for ${c.usedBy}`);
  lines.push('Install them with:', `  sudo apt-get install --no-install-recommends ${debian.join(' ')}`);
  lines.push(
    attempted
      ? 'apt-get could not install them (its output is above); fix that, then run `npm test` again.'
      : '(as root on Debian, `npm test` runs that itself), then run `npm test` again.',
  );
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = new Set(process.argv.slice(2));
  if (args.has('--list')) {
    const all = [...requirements.pythonModules, ...requirements.commands].map((r) => r.debian);
    process.stdout.write(`${[...new Set(all)].join('\n')}\n`);
    process.exit(0);
  }
  let missing = missingRequirements();
  if (missing.debian.length === 0) process.exit(0);
  const mayInstall = !args.has('--check') && process.env.SPOTTUNE_NO_INSTALL !== '1' && isDebianRoot();
  if (mayInstall && aptInstall(missing.debian)) missing = missingRequirements();
  if (missing.debian.length > 0) {
    console.error(helpMessage(missing, requirements.python, mayInstall));
    process.exit(1);
  }
  console.error('[spottune3d] test prerequisites installed');
}
