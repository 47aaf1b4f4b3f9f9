/**
 * A child process for the S3 benchmark (scripts/bench-s3.ts): "the Lambda". Its own CPU time is
 * what is measured, apart from the stand-ins in the parent.
 *   { type: 'handler', events }  the real S3 forwarder handler on SQS events (message → DNIF 2xx)
 *   { type: 'floor', files }     gunzip (if gzip) + JSON.parse + JSON.stringify of each record, nothing else
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Context, SQSEvent } from 'aws-lambda';

type Request = { type: 'handler'; events: SQSEvent[] } | { type: 'floor'; files: string[] };

const context = (): Context =>
  ({ awsRequestId: `bench-${Math.random()}`, functionName: 'bench', getRemainingTimeInMillis: ((end) => () => end - Date.now())(Date.now() + 900_000) }) as unknown as Context;

async function run(req: Request): Promise<{ cpuMs: number; systemMs?: number; wallMs: number; events: number; failures: number }> {
  if (req.type === 'floor') {
    const bodies = req.files.map((f) => readFileSync(f));
    const pass = (): { cpuMs: number; wallMs: number; events: number } => {
      const cpu = process.cpuUsage();
      const start = Date.now();
      let events = 0;
      for (const body of bodies) {
        const text = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body).toString('utf8') : body.toString('utf8');
        for (const record of (JSON.parse(text) as { Records: unknown[] }).Records) {
          if (JSON.stringify(record).length > 0) events += 1;
        }
      }
      const used = process.cpuUsage(cpu);
      return { cpuMs: (used.user + used.system) / 1000, wallMs: Date.now() - start, events };
    };
    // Warm, as the forwarder is (its first invocation is not counted), then the median of three:
    // a single cold pass swung 60-107k events/s on json from run to run (heap growth, JIT).
    pass();
    const passes = [pass(), pass(), pass()].sort((a, b) => a.cpuMs - b.cpuMs);
    return { ...passes[1], failures: 0 };
  }
  const { handler } = await import('../../functions/s3-forwarder/handler.js');
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
  return { cpuMs: (used.user + used.system) / 1000, systemMs: used.system / 1000, wallMs: Date.now() - start, events: 0, failures };
}

process.on('message', (req: Request | { type: 'exit' }) => {
  // A normal exit, so that --cpu-prof writes its profile.
  if (req.type === 'exit') process.exit(0);
  run(req).then(
    (result) => process.send?.(result),
    (err: unknown) => process.send?.({ error: String((err as Error).stack ?? err) }),
  );
});
process.send?.({ ready: true });
