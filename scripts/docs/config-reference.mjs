#!/usr/bin/env node
// Writes docs/configuration.md: every key of every configuration schema, with its type, its default
// and where the default comes from. `npm run docs:config` builds dist/ first and runs this.
//
// The schemas themselves come from dist/lib/config (the zod objects the library validates with), so
// types and defaults are what the code does. The "source" column is the TSDoc comment of the
// upper-case constant a default is read from (lib/config/*.ts: `.default(PAPER_MODEL.learningRate)`),
// found with the TypeScript parser; a default written as a literal is a "library default".
//   node scripts/docs/config-reference.mjs [--check]   --check: exit 1 when the file is out of date
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { z } from 'zod';

const root = fileURLToPath(new URL('../..', import.meta.url));
const configDir = join(root, 'lib', 'config');
const outFile = join(root, 'docs', 'configuration.md');

const config = await import(join(root, 'dist', 'lib', 'config', 'index.js'));

// ---- sources: PAPER_* comments, and which schema each schema property's default reads ----
/** "PAPER_MODEL.scheduler.factor" -> comment text (nearest commented ancestor counts). */
const paperComments = new Map();
/** "NetworkSchema" -> { file, props: Map<propName, { paper: string[], nested: string | null }> } */
const schemaProps = new Map();

function jsDocText(node, sf) {
  const ranges = ts.getLeadingCommentRanges(sf.text, node.getFullStart()) ?? [];
  const last = ranges.at(-1);
  if (!last) return null;
  const raw = sf.text.slice(last.pos, last.end);
  if (!raw.startsWith('/**')) return null;
  return raw
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, '').trim())
    .filter((l) => l && !l.startsWith('@'))
    .join(' ')
    .trim();
}

function collectPaper(obj, prefix, sf, inherited) {
  for (const prop of obj.properties) {
    if (!ts.isPropertyAssignment(prop)) continue;
    const name = prop.name.getText(sf).replace(/^['"]|['"]$/g, '');
    const key = `${prefix}.${name}`;
    const text = jsDocText(prop, sf) ?? inherited;
    if (text) paperComments.set(key, text);
    let init = prop.initializer;
    while (ts.isAsExpression(init) || ts.isParenthesizedExpression(init)) init = init.expression;
    if (ts.isObjectLiteralExpression(init)) collectPaper(init, key, sf, text);
  }
}

function collectSchemaProps(node, sf, file, schemaName) {
  const callee = ts.isCallExpression(node) ? node.expression : null;
  const isObject =
    callee && ts.isPropertyAccessExpression(callee) && callee.name.text === 'object' && callee.expression.getText(sf) === 'z';
  if (isObject && node.arguments[0]) {
    const arg = node.arguments[0];
    if (ts.isObjectLiteralExpression(arg)) {
      const entry = schemaProps.get(schemaName);
      for (const prop of arg.properties) {
        if (!ts.isPropertyAssignment(prop) && !ts.isShorthandPropertyAssignment(prop)) continue;
        const name = prop.name.getText(sf).replace(/^['"]|['"]$/g, '');
        const text = prop.getText(sf);
        const paper = [...text.matchAll(/\b[A-Z][A-Z0-9_]+(?:\.[A-Za-z0-9_$]+)+/g)].map((m) => m[0]);
        const nested = /^(?:[A-Za-z$]+:\s*)?([A-Z][A-Za-z]*Schema)\b/.exec(text.replace(/^\S+:\s*/, ''))?.[1] ?? null;
        const dflt = /\.(?:default|prefault)\(([^()]*(?:\([^()]*\)[^()]*)*)\)/.exec(text)?.[1]?.trim() ?? null;
        if (!entry.props.has(name)) entry.props.set(name, { paper, nested, dflt });
      }
    }
  }
  ts.forEachChild(node, (child) => collectSchemaProps(child, sf, file, schemaName));
}

for (const name of readdirSync(configDir).filter((f) => f.endsWith('.ts'))) {
  const file = join(configDir, name);
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  for (const stmt of sf.statements) {
    if (!ts.isVariableStatement(stmt)) continue;
    for (const decl of stmt.declarationList.declarations) {
      const varName = decl.name.getText(sf);
      let init = decl.initializer;
      if (!init) continue;
      if (/^[A-Z][A-Z0-9_]+$/.test(varName)) {
        while (ts.isAsExpression(init) || ts.isParenthesizedExpression(init) || ts.isCallExpression(init)) {
          init = ts.isCallExpression(init) ? init.arguments[0] : init.expression; // Object.freeze({...})
          if (!init) break;
        }
        if (init && ts.isObjectLiteralExpression(init)) collectPaper(init, varName, sf, null);
      } else if (/Schema$/.test(varName)) {
        schemaProps.set(varName, { file: relative(root, file), doc: jsDocText(stmt, sf), props: new Map() });
        collectSchemaProps(init, sf, file, varName);
      }
    }
  }
}

function sourceOf(schemaName, path) {
  let current = schemaName;
  for (let i = 0; i < path.length; i++) {
    const entry = schemaProps.get(current);
    const prop = entry?.props.get(path[i]);
    if (!prop) return null;
    if (i < path.length - 1) {
      if (prop.nested) {
        current = prop.nested;
        continue;
      }
      // a nested z.object literal inside the same schema: its props were collected under the schema
      continue;
    }
    for (const ref of prop.paper) {
      for (let k = ref.split('.'); k.length > 1; k.pop()) {
        const text = paperComments.get(k.join('.'));
        if (text) return `${text} (\`${ref}\`)`;
      }
    }
    if (prop.paper.length) return `library: \`${prop.paper[0]}\``;
    if (prop.dflt && !/^(true|false|null|-?[\d.e_-]+|'[^']*'|"[^"]*")$/.test(prop.dflt)) return `library: \`${prop.dflt}\``;
    return null;
  }
  return null;
}

// ---- the schemas, walked as JSON Schema ----
const schemas = Object.entries(config)
  .filter(([name, value]) => /Schema$/.test(name) && value instanceof z.ZodType)
  .sort(([a], [b]) => (a === 'ExperimentSchema' ? -1 : b === 'ExperimentSchema' ? 1 : a.localeCompare(b)));

const fmt = (v) => (v === undefined ? '' : `\`${JSON.stringify(v)}\``.replace(/\|/g, '\\|'));
// Code comments cite the study notes as docs/study.md; from inside docs/ the link is study.md.
const cell = (s) =>
  String(s ?? '')
    .replace(/docs\/study\.md/g, 'study.md')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

function typeOf(s) {
  if (!s || typeof s !== 'object') return 'any';
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf || s.oneOf) return (s.anyOf ?? s.oneOf).map(typeOf).join(' | ');
  if (s.type === 'array') {
    if (s.prefixItems) return `[${s.prefixItems.map(typeOf).join(', ')}]`;
    const item = typeOf(s.items);
    return item.includes(' ') ? `(${item})[]` : `${item}[]`;
  }
  if (s.type === 'integer' || s.type === 'number') {
    const big = (v) => v === undefined || Math.abs(v) >= Number.MAX_SAFE_INTEGER;
    const lo = !big(s.minimum) ? `≥ ${s.minimum}` : !big(s.exclusiveMinimum) ? `> ${s.exclusiveMinimum}` : null;
    const hi = !big(s.maximum) ? `≤ ${s.maximum}` : !big(s.exclusiveMaximum) ? `< ${s.exclusiveMaximum}` : null;
    return [s.type, lo, hi].filter(Boolean).join(', ');
  }
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) {
    return `{ [key]: ${typeOf(s.additionalProperties)} }`;
  }
  if (Array.isArray(s.type)) return s.type.join(' | ');
  return s.type ?? 'any';
}

function rows(schemaName, s, path, out) {
  const props = s?.properties ?? {};
  for (const [key, child] of Object.entries(props)) {
    if (key === '$schema') continue;
    const p = [...path, key];
    const obj = child.type === 'object' && child.properties;
    out.push({
      key: p.join('.'),
      type: obj ? 'object' : typeOf(child),
      default: obj ? '' : fmt(child.default),
      description: child.description ?? '',
      source: obj ? '' : (child.source ?? sourceOf(schemaName, p) ?? (child.default !== undefined && !obj ? 'library default' : '')),
    });
    if (obj) rows(schemaName, child, p, out);
  }
}

const lines = [
  '# Configuration reference',
  '',
  '<!-- Generated by scripts/docs/config-reference.mjs from the schemas in lib/config (npm run docs:config). Do not edit by hand. -->',
  '',
  'Every configuration the library reads is one strict zod schema in `lib/config/`; they are the only',
  'place defaults live (C++ holds none). Unknown keys are errors at every level. The **source** column',
  "says where a default comes from: the paper (Schmitz, Guo, Wang 2024), the study's code (`REF`,",
  'see [study.md](study.md), whose section numbers the sources cite), MedicalNet, PyTorch or',
  "scikit-learn's own defaults, or a library choice. `configs/paper.json` writes every experiment value",
  'out and `configs/experiment.schema.json` is its JSON Schema, for editors.',
  '',
  ...schemas.map(([name]) => `- [${name}](#${name.toLowerCase()})`),
  '',
];
for (const [name, schema] of schemas) {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  const entry = schemaProps.get(name);
  lines.push(`## ${name}`, '');
  if (entry) lines.push(`Defined in \`${entry.file}\`.${entry.doc ? ` ${cell(entry.doc)}` : ''}`, '');
  const out = [];
  rows(name, json, [], out);
  if (out.length === 0) {
    lines.push(`Type: ${typeOf(json)}.`, '');
    continue;
  }
  lines.push('| key | type | default | meaning | source |', '| --- | --- | --- | --- | --- |');
  for (const r of out) lines.push(`| \`${r.key}\` | ${cell(r.type)} | ${r.default} | ${cell(r.description)} | ${cell(r.source)} |`);
  lines.push('');
}
const text = `${lines.join('\n').trimEnd()}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(outFile, 'utf8');
  } catch {
    /* missing counts as out of date */
  }
  if (current !== text) {
    console.error('docs/configuration.md is out of date: run `npm run docs:config`');
    process.exit(1);
  }
} else {
  writeFileSync(outFile, text);
  console.log(`wrote ${relative(root, outFile)} (${schemas.length} schemas)`);
}
