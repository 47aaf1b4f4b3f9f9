/** The benchmark's "Lambda": a forked process running worker.ts, invoked like Lambda does. */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { buildLikeTheStack, WORK_DIR } from './bundle';
import { PROFILE } from './settings';
import type { InvokeRequest, InvokeResult } from './worker';

export const WORKER_FILE = path.join(WORK_DIR, 'worker', 'index.js');

export async function buildWorker(): Promise<void> {
  // Built as the stack builds the functions: the handler runs minified, as deployed.
  await buildLikeTheStack('scripts/bench/worker.ts', WORKER_FILE, { minify: !PROFILE });
}

export class Worker {
  private constructor(private readonly child: ChildProcess) {}

  /** A fresh process, i.e. a cold Lambda execution environment, with `env` as its environment. */
  static async start(name: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<Worker> {
    mkdirSync(path.join(WORK_DIR, 'logs'), { recursive: true });
    const log = createWriteStream(path.join(WORK_DIR, 'logs', `${name}.log`));
    const child = fork(WORKER_FILE, [], {
      env: { PATH: process.env.PATH ?? '', ...env },
      // Lambda runs these functions with NODE_OPTIONS=--enable-source-maps (infra/service-function.ts).
      execArgv: ['--enable-source-maps', ...nodeArgs, ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.join(WORK_DIR, 'profiles')}`, `--cpu-prof-name=${name}.cpuprofile`] : [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code} before it was ready; see .bench/logs/${name}.log`)));
    });
    return new Worker(child);
  }

  invoke(req: Omit<InvokeRequest, 'type'>): Promise<InvokeResult> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`worker exited with ${code} during an invocation`));
      this.child.once('exit', onExit);
      this.child.once('message', (msg: InvokeResult) => {
        this.child.off('exit', onExit);
        resolve(msg);
      });
      this.child.send({ type: 'invoke', ...req } satisfies InvokeRequest);
    });
  }

  /** Lets the worker exit by itself (so --cpu-prof can write its profile). */
  stop(): void {
    if (this.child.connected) this.child.disconnect();
  }
}
