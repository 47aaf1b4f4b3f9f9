/**
 * Where the functions' code comes from. Inside this repository (the construct runs from its
 * TypeScript source) CDK bundles each handler with the local esbuild. Installed from the npm
 * package (compiled JavaScript) the construct uses the bundles `npm pack` built into
 * dist/lambda/<name>/index.js (scripts/bundle-lambdas.ts): the consumer needs no esbuild and
 * no repository paths.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Each function's handler file, relative to the repository root. */
export const LAMBDA_ENTRIES = {
  forwarder: 'functions/forwarder/handler.ts',
  'test-connection': 'functions/test-connection/handler.ts',
  's3-forwarder': 'functions/s3-forwarder/handler.ts',
  'trail-audit': 'functions/trail-audit/handler.ts',
} as const;

export type LambdaName = keyof typeof LAMBDA_ENTRIES;

/**
 * The esbuild options CDK's NodejsFunction uses in infra/service-function.ts, for building the
 * same bundles outside CDK (the package's prebuilt code, the benchmark).
 */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
  // Nothing is external: the AWS SDK clients are bundled too (see service-function.ts).
  external: [] as string[],
} as const;

/** The folder of the compiled package's bundles: dist/lambda, beside dist/infra. */
export const PREBUILT_DIR = path.join(__dirname, '..', 'lambda');

/** The prebuilt bundle's folder when running as compiled JavaScript; undefined from source. */
export function prebuiltCodeDir(name: LambdaName): string | undefined {
  if (path.extname(__filename) === '.ts') return undefined;
  const dir = path.join(PREBUILT_DIR, name);
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(`The pre-bundled ${name} code is missing (${dir}/index.js): the package was built without "npm run build:lib"`);
  }
  return dir;
}
