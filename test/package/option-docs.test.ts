// Every public option field, the zod-defined ones included, carries its TSDoc where users see it:
// in the published .d.ts, on hover. lib/config/options.ts is generated from the schemas'
// .describe() texts (scripts/option-docs.mjs); it must be current.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';
import * as data from '../../lib/config/data.js';
import * as experiment from '../../lib/config/experiment.js';
import * as model from '../../lib/config/model.js';
import * as queue from '../../lib/config/queue.js';
import * as radiomics from '../../lib/config/radiomics.js';
import * as train from '../../lib/config/train.js';
import { packageRoot } from './doors.js';

interface Generator {
  renderOptionDocs(modules: Record<string, unknown>): string;
  OPTION_TYPES: { name: string }[];
}
const generator = (await import(join(packageRoot, 'scripts/option-docs.mjs') as string)) as Generator;

test('lib/config/options.ts is what scripts/option-docs.mjs renders from the schemas', () => {
  const fresh = generator.renderOptionDocs({ data, experiment, model, queue, radiomics, train });
  const committed = readFileSync(join(packageRoot, 'lib/config/options.ts'), 'utf8');
  expect(committed === fresh, 'stale: run `npx tsc -p tsconfig.build.json && node scripts/option-docs.mjs`').toBe(true);
});

test('every field of every public option type shows documentation on hover (published types)', () => {
  const entry = join(packageRoot, 'dist/lib/index.d.ts');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const root = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const exports = new Map(checker.getExportsOfModule(root).map((s) => [s.name, s]));
  const undocumented: string[] = [];
  let fields = 0;
  const visit = (type: ts.Type, path: string, depth: number) => {
    for (const field of checker.getPropertiesOfType(type)) {
      fields++;
      const docs = ts.displayPartsToString(field.getDocumentationComment(checker)).trim();
      if (docs === '') undocumented.push(`${path}.${field.name}`);
      const fieldType = checker.getNonNullableType(checker.getTypeOfSymbol(field));
      const isObject =
        fieldType.flags & ts.TypeFlags.Object &&
        !checker.isArrayType(fieldType) &&
        !checker.isTupleType(fieldType) &&
        fieldType.getCallSignatures().length === 0;
      if (isObject && depth < 3 && checker.getIndexInfosOfType(fieldType).length === 0)
        visit(fieldType, `${path}.${field.name}`, depth + 1);
    }
  };
  for (const { name } of generator.OPTION_TYPES) {
    const symbol = exports.get(name);
    expect(symbol, `spottune3d exports ${name}`).toBeDefined();
    visit(checker.getDeclaredTypeOfSymbol(checker.getAliasedSymbol(symbol!)), name, 0);
  }
  expect(fields).toBeGreaterThan(100);
  expect(undocumented).toEqual([]);
});
