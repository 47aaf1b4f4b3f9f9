/**
 * Bundles each Lambda handler into dist/lambda/<name>/index.js with the esbuild options the
 * construct uses (infra/lambda-code.ts), so the npm package ships ready-to-deploy code and a
 * consumer needs neither esbuild nor this repository's sources. Run by `npm run build:lib`.
 */
import * as path from 'path';
import { build } from 'esbuild';
import { ESBUILD_OPTIONS, LAMBDA_ENTRIES } from '../infra/lambda-code';

const ROOT = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  for (const [name, entry] of Object.entries(LAMBDA_ENTRIES)) {
    await build({
      ...ESBUILD_OPTIONS,
      external: [...ESBUILD_OPTIONS.external],
      entryPoints: [path.join(ROOT, entry)],
      outfile: path.join(ROOT, 'dist', 'lambda', name, 'index.js'),
      absWorkingDir: ROOT,
    });
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
