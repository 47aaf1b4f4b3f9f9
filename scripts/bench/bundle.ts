/**
 * Bundles code the way the CDK stack does (infra/service-function.ts → NodejsFunction →
 * `esbuild --bundle <entry> --target=node22 --platform=node --format=cjs --minify --sourcemap
 * --sources-content=false`, nothing external), and measures what a cold start pays for it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { ESBUILD_OPTIONS } from '../../infra/lambda-code';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const WORK_DIR = path.join(REPO_ROOT, '.bench'); // git-ignored

/** The options of infra/service-function.ts, as CDK passes them to esbuild (infra/lambda-code.ts). */
const STACK_OPTIONS = ESBUILD_OPTIONS;

/** The settings ESBUILD_OPTIONS copies, as they read in the stack; a mismatch means the copy went stale. */
const EXPECTED_IN_STACK = ['format: OutputFormat.CJS', "target: 'node22'", 'minify: true', 'sourceMap: true', 'sourcesContent: false', 'bundleAwsSDK: true', 'externalModules: []'];

export function stackOptionsDrift(): string[] {
  const text = readFileSync(path.join(REPO_ROOT, 'infra', 'service-function.ts'), 'utf8');
  return EXPECTED_IN_STACK.filter((s) => !text.includes(s));
}

export interface Bundle {
  name: string;
  entry: string;
  file: string;
  bytes: number;
  mapBytes: number;
  /** index.js + index.js.map deflated, as in the deployment zip (≈ zip size, without headers). */
  zippedBytes: number;
  /** Bytes in the minified output by package (node_modules) or by source folder, largest first. */
  contributors: Array<{ name: string; bytes: number }>;
}

/** `external`: leave these packages out (e.g. the AWS SDK, to see what the runtime's copy would save). */
export async function bundle(name: string, entry: string, external: string[] = []): Promise<Bundle> {
  const file = path.join(WORK_DIR, 'bundles', name, 'index.js');
  const result = await build({ ...STACK_OPTIONS, external, entryPoints: [path.join(REPO_ROOT, entry)], outfile: file, metafile: true, absWorkingDir: REPO_ROOT });
  const zippedBytes = deflateRawSync(readFileSync(file)).length + deflateRawSync(readFileSync(`${file}.map`)).length;
  return { name, entry, file, bytes: statSync(file).size, mapBytes: statSync(`${file}.map`).size, zippedBytes, contributors: contributors(result.metafile) };
}

/**
 * A bench worker, and the handler it imports, built with the stack's options so it runs as Lambda
 * runs it; `minify: false` keeps the names readable in a CPU profile.
 */
export async function buildLikeTheStack(entry: string, outfile: string, opts: { minify: boolean }): Promise<void> {
  await build({ ...STACK_OPTIONS, external: [...STACK_OPTIONS.external], minify: opts.minify, entryPoints: [path.join(REPO_ROOT, entry)], outfile, absWorkingDir: REPO_ROOT });
}

function contributors(meta: Metafile): Bundle['contributors'] {
  const out = Object.values(meta.outputs).find((o) => o.entryPoint);
  const by = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(out?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = pkg ? pkg[1] : input.split('/').slice(0, 2).join('/');
    by.set(key, (by.get(key) ?? 0) + bytesInOutput);
  }
  return [...by].map(([n, bytes]) => ({ name: n, bytes })).sort((a, b) => b.bytes - a.bytes);
}

export interface InitTiming {
  runs: number;
  /** Wall time of the require. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** CPU time (user + system, all threads) of the require: what a busy shared machine inflates least. */
  medianCpuMs: number;
}

export interface InitCase {
  file: string;
  /** Lambda sets NODE_OPTIONS=--enable-source-maps for these functions (infra/service-function.ts). */
  sourceMaps: boolean;
}

/**
 * Time to `require` each bundle in a fresh node process (module evaluation: read, parse, compile,
 * top-level code), `runs` times each. The cases take turns, so a busy moment on a shared machine
 * slows them all alike instead of one of them.
 */
export function initTimes(cases: InitCase[], runs: number): InitTiming[] {
  const times: number[][] = cases.map(() => []);
  const cpu: number[][] = cases.map(() => []);
  for (let i = 0; i < runs; i++) {
    cases.forEach(({ file, sourceMaps }, k) => {
      const code =
        `const c=process.cpuUsage(),t=process.hrtime.bigint();require(${JSON.stringify(file)});` +
        `const w=Number(process.hrtime.bigint()-t)/1e6,u=process.cpuUsage(c);process.stdout.write(w+' '+(u.user+u.system)/1e3)`;
      const out = spawnSync(process.execPath, [...(sourceMaps ? ['--enable-source-maps'] : []), '-e', code], {
        env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
        encoding: 'utf8',
      });
      if (out.status !== 0) throw new Error(`requiring ${file} failed: ${out.stderr}`);
      const [wall, cpuMs] = out.stdout.split(' ').map(Number);
      times[k].push(wall);
      cpu[k].push(cpuMs);
    });
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return times.map((t, k) => ({ runs, medianMs: median(t), minMs: Math.min(...t), maxMs: Math.max(...t), medianCpuMs: median(cpu[k]) }));
}
