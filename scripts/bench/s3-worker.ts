/**
 * A child process for the S3 benchmark (scripts/bench-s3.ts): "the Lambda". Its own CPU time is
 * what is measured, apart from the stand-ins in the parent.
 *   { type: 'handler', events }  the real S3 forwarder handler on SQS events (message → DNIF 2xx)
 *   { type: 'floor', files }     one pass of gunzip (if gzip) + JSON.parse + JSON.stringify of each
 *                                record, nothing else (the files read once, on the first pass)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { gunzipSync } from 'node:zlib';
import type { Context, SQSEvent } from 'aws-lambda';

/** profile: a file to write a CPU profile of just this run to (BENCH_S3_PROF): no start-up, no warm-up in it. */
type Request = { type: 'handler'; events: SQSEvent[]; profile?: string } | { type: 'floor'; files: string[] };

/**
 * CPU ticks (user + system, at Linux's 100 a second) by thread, from /proc, for BENCH_S3_THREADS:
 * which threads the CPU goes to. Node names them all "node": the key is name/tid ('main' for the
 * JS thread).
 */
function threadTimes(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      out.set(`${name}/${tid === String(process.pid) ? 'main' : tid}`, ticks);
    } catch {
      // the thread ended
    }
  }
  return out;
}

const threadCpu = (before: Map<string, number>): string =>
  [...threadTimes()]
    .map(([name, t]) => [name, (t - (before.get(name) ?? 0)) * 10] as const)
    .filter(([, ms]) => ms > 0)
    .map(([name, ms]) => `${name} ${ms} ms`)
    .join(', ');

let floorKey = '';
let floorBodies: Buffer[] = [];

const context = (): Context =>
  ({ awsRequestId: `bench-${Math.random()}`, functionName: 'bench', getRemainingTimeInMillis: ((end) => () => end - Date.now())(Date.now() + 900_000) }) as unknown as Context;

async function run(req: Request): Promise<{ cpuMs: number; systemMs?: number; wallMs: number; events: number; failures: number }> {
  if (req.type === 'floor') {
    // Read once and kept: a pass is the CPU of decoding them, nothing of the disk.
    const key = req.files.join('\n');
    if (floorKey !== key) [floorKey, floorBodies] = [key, req.files.map((f) => readFileSync(f))];
    const cpu = process.cpuUsage();
    const start = Date.now();
    let events = 0;
    for (const body of floorBodies) {
      const text = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body).toString('utf8') : body.toString('utf8');
      for (const record of (JSON.parse(text) as { Records: unknown[] }).Records) {
        if (JSON.stringify(record).length > 0) events += 1;
      }
    }
    const used = process.cpuUsage(cpu);
    return { cpuMs: (used.user + used.system) / 1000, wallMs: Date.now() - start, events, failures: 0 };
  }
  const { handler } = await import('../../functions/s3-forwarder/handler.js');
  const session = req.profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const threadsBefore = process.env.BENCH_S3_THREADS ? threadTimes() : new Map<string, number>();
  const cpu = process.cpuUsage();
  const start = Date.now();
  let failures = 0;
  for (const event of req.events) {
    const before = process.cpuUsage();
    failures += (await handler(event, context())).batchItemFailures.length;
    // BENCH_S3_PER_CALL: each invocation's CPU, to see a cold first call or a GC outlier.
    if (process.env.BENCH_S3_PER_CALL) {
      const u = process.cpuUsage(before);
      process.stderr.write(`call ${((u.user + u.system) / 1000).toFixed(0)} ms (user ${(u.user / 1000).toFixed(0)}, system ${(u.system / 1000).toFixed(0)})\n`);
    }
  }
  const used = process.cpuUsage(cpu);
  if (process.env.BENCH_S3_THREADS) process.stderr.write(`threads: ${threadCpu(threadsBefore)}\n`);
  if (session && req.profile) {
    writeFileSync(req.profile, JSON.stringify((await session.post('Profiler.stop')).profile));
    session.disconnect();
  }
  return { cpuMs: (used.user + used.system) / 1000, systemMs: used.system / 1000, wallMs: Date.now() - start, events: 0, failures };
}

process.on('message', (req: Request) => {
  run(req).then(
    (result) => process.send?.(result),
    (err: unknown) => process.send?.({ error: String((err as Error).stack ?? err) }),
  );
});
process.send?.({ ready: true });
