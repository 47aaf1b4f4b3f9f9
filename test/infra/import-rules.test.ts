/**
 * The rooms import downward only (issue 12, "Done when"): sink and source never import each
 * other, the core never imports a handler's room, and infra/ takes from functions/ only the
 * side-effect-free contract module (so a synth loads no Lambda code and no SDK). The imports
 * are read from the source text of every .ts file under functions/ and infra/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '../..');

interface Import {
  /** Repository-relative path of the importing file, with forward slashes. */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** Repository-relative path of the file it resolves to. */
  target: string;
}

const posix = (p: string) => p.split(sep).join('/');

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return tsFilesUnder(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** `from '…'` (import and export), bare `import '…'`, `import('…')` and `require('…')`. */
const SPECIFIER = /\bfrom\s+['"]([^'"]+)['"]|\bimport\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The file a relative specifier names (module resolution of TypeScript: `x.ts`, `x/index.ts`). */
function resolveRelative(fromFile: string, specifier: string): string {
  const base = resolve(dirname(fromFile), specifier);
  const found = [base, `${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(p) && statSync(p).isFile());
  if (!found) throw new Error(`${posix(relative(ROOT, fromFile))}: cannot resolve import '${specifier}'`);
  return posix(relative(ROOT, found));
}

/** Every relative import of a file (packages such as 'aws-cdk-lib' are outside the rules). */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): Import[] {
  const from = posix(relative(ROOT, file));
  const out: Import[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const specifier = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (!specifier.startsWith('.')) continue;
    out.push({ from, specifier, target: resolveRelative(file, specifier) });
  }
  return out;
}

const ALL = [...tsFilesUnder(join(ROOT, 'functions')), ...tsFilesUnder(join(ROOT, 'infra'))].flatMap((f) => importsOf(f));

const under = (path: string, folder: string) => path.startsWith(`${folder}/`);
const HANDLER_ROOMS = ['functions/forwarder', 'functions/s3-forwarder', 'functions/trail-audit', 'functions/test-connection'];

/** The imports that break a rule, as `file imports 'specifier' (target)` lines. */
function offending(rule: (i: Import) => boolean): string[] {
  return ALL.filter(rule).map((i) => `${i.from} imports '${i.specifier}' (${i.target})`);
}

describe('import rules', () => {
  it('reads the imports of every file under functions/ and infra/', () => {
    // A guard against a regex that matches nothing: the rules below would then pass vacuously.
    expect(ALL.length).toBeGreaterThan(200);
    expect(ALL).toContainEqual({ from: 'infra/settings.ts', specifier: '../functions/core/contract', target: 'functions/core/contract.ts' });
    expect(ALL).toContainEqual({ from: 'functions/core/sink/create-sink.ts', specifier: './http-sink', target: 'functions/core/sink/http-sink.ts' });
  });

  it('finds static, dynamic, re-export and side-effect imports', () => {
    const file = join(ROOT, 'functions/core/sink/sink.ts');
    const text = [
      "import type { A } from '../event';",
      "export { B } from './records';",
      "import './batcher';",
      "const c = await import('../deadline');",
      "import {\n  D,\n} from '../contract';",
      "import { S3Client } from '@aws-sdk/client-s3';",
    ].join('\n');
    expect(importsOf(file, text).map((i) => i.target)).toEqual([
      'functions/core/event.ts',
      'functions/core/sink/records.ts',
      'functions/core/sink/batcher.ts',
      'functions/core/deadline.ts',
      'functions/core/contract.ts',
    ]);
  });

  it('sink never imports source, and source never imports sink', () => {
    expect(
      offending(
        (i) =>
          (under(i.from, 'functions/core/sink') && under(i.target, 'functions/core/source')) ||
          (under(i.from, 'functions/core/source') && under(i.target, 'functions/core/sink')),
      ),
    ).toEqual([]);
  });

  it('sink and source never import the delivery core that joins them', () => {
    expect(
      offending((i) => (under(i.from, 'functions/core/sink') || under(i.from, 'functions/core/source')) && under(i.target, 'functions/core/delivery')),
    ).toEqual([]);
  });

  it('infra imports nothing from functions/ but the contract module', () => {
    expect(offending((i) => under(i.from, 'infra') && under(i.target, 'functions') && i.target !== 'functions/core/contract.ts')).toEqual([]);
  });

  it('the contract module imports nothing of the code (infra loads it at synth)', () => {
    expect(offending((i) => i.from === 'functions/core/contract.ts')).toEqual([]);
  });

  it('a handler room never imports another (what two share lives in the core)', () => {
    expect(offending((i) => HANDLER_ROOMS.some((room) => under(i.from, room) && !under(i.target, room) && HANDLER_ROOMS.some((other) => under(i.target, other))))).toEqual([]);
  });

  it('the core never imports a handler room', () => {
    expect(offending((i) => under(i.from, 'functions/core') && HANDLER_ROOMS.some((room) => under(i.target, room)))).toEqual([]);
  });
});
