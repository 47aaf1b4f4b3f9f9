/**
 * npm run bench:s3 [-- --quick]
 *
 * The trail-file source's figures (issue 13): events per CPU-second of the S3 forwarder from SQS
 * message to DNIF 2xx, on real trail files (gzip, and plain JSON), beside the floor measured in
 * the same run on the same files (gunzip + JSON.parse + JSON.stringify of every record, nothing
 * else); then 1, 2, 4 and 8 consumers on one queue at once (wall-clock events/s). The forwarder
 * runs in child processes (their CPU is measured), the stand-ins in this one. Figures, not tests.
 */
import './quiet-env';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { SQSEvent } from 'aws-lambda';
import { buildTrailFiles, s3EventMessage, startStandIns, type StandIns, type TrailFile } from '../standins';

const QUICK = process.argv.includes('--quick');
const FILES = QUICK ? 40 : 120;
const RECORDS_PER_FILE = 1000;
const CONSUMERS = [1, 2, 4, 8];
const WARM_FILES = 10;
const WORK = path.resolve(__dirname, '..', '.bench', 's3');
const say = (m: string) => void process.stdout.write(`${m}\n`);
const r0 = (n: number) => Math.round(n);

class Worker {
  private constructor(private readonly child: ChildProcess) {}
  static async start(env: Record<string, string>): Promise<Worker> {
    const child = fork(path.join(__dirname, 'bench', 's3-worker.ts'), [], { env: { ...process.env, ...env }, execArgv: ['--import', 'tsx', ...(process.env.BENCH_S3_NODE_ARGS ? process.env.BENCH_S3_NODE_ARGS.split(' ') : []), ...(process.env.BENCH_S3_PROF ? ['--cpu-prof', `--cpu-prof-dir=${WORK}/prof`] : [])], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise((resolve) => child.once('message', resolve));
    return new Worker(child);
  }
  run(req: unknown): Promise<{ cpuMs: number; systemMs?: number; wallMs: number; events: number; failures: number }> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (m: { error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m as never)));
      this.child.send(req as never);
    });
  }
  stop(): void {
    if (process.env.BENCH_S3_PROF) this.child.send({ type: 'exit' });
    else this.child.kill();
  }
}

function eventsFor(s: StandIns, bucket: string, files: TrailFile[], keyOf: (f: TrailFile) => string): SQSEvent[] {
  const bodies = files.map((f) => {
    const o = s.s3.getObject(bucket, keyOf(f));
    return s3EventMessage({ bucket: { name: bucket, region: s.region, accountId: s.accountId }, object: { key: keyOf(f), etag: o?.etag ?? '', sequencer: '00', size: o?.body.length } });
  });
  const out: SQSEvent[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    out.push({ Records: bodies.slice(i, i + 10).map((body, j) => ({ messageId: `m-${i + j}-${Math.random()}`, receiptHandle: 'r', body, attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:bench', awsRegion: 'us-east-1' })) } as unknown as SQSEvent);
  }
  return out;
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const s = await startStandIns({ region: 'us-east-1' });
  const bucket = 'bench-trail';
  s.s3.createBucket(bucket);
  const files = buildTrailFiles({ accountIds: ['111111111111'], regions: ['us-east-1'], from: new Date('2026-12-01T00:00:00Z'), hours: FILES / 12, recordsPerFile: RECORDS_PER_FILE, seed: 5 });
  const total = files.length * RECORDS_PER_FILE;
  // A warm execution environment, as most invocations of a busy queue find it: its first invocation
  // (credentials, the secret, the SDK's lazy modules) runs on these files and is not counted.
  const warmFiles = buildTrailFiles({ accountIds: ['222222222222'], regions: ['us-east-1'], from: new Date('2026-12-01T00:00:00Z'), hours: WARM_FILES / 12, recordsPerFile: RECORDS_PER_FILE, seed: 6 });
  const plainKey = (f: TrailFile) => f.key.replace('AWSLogs/', 'plain/AWSLogs/').replace(/\.json\.gz$/, '.json.gz');
  for (const f of warmFiles) {
    s.s3.putObject(bucket, f.key, f.body);
    s.s3.putObject(bucket, plainKey(f), f.json);
  }
  for (const f of files) {
    s.s3.putObject(bucket, f.key, f.body);
    s.s3.putObject(bucket, plainKey(f), f.json);
    writeFileSync(path.join(WORK, `${path.basename(f.key)}`), f.body);
    writeFileSync(path.join(WORK, `${path.basename(f.key)}.json`), f.json);
  }
  const env = { ...s.env, DNIF_ALLOW_LOOPBACK_PLAINTEXT: '1', POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' };
  say(`S3 source bench: ${files.length} trail files × ${RECORDS_PER_FILE} records (${total.toLocaleString('en-US')} events), ${os.cpus()[0]?.model} × ${os.cpus().length}, node ${process.version}`);
  say(`uncompressed ${(files.reduce((n, f) => n + f.json.length, 0) / 2 ** 20).toFixed(1)} MB, gzip ${(files.reduce((n, f) => n + f.body.length, 0) / 2 ** 20).toFixed(1)} MB`);
  const results: Record<string, unknown> = { files: files.length, recordsPerFile: RECORDS_PER_FILE, machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version } };
  try {
    for (const variant of ['gzip', 'json'] as const) {
      const keyOf = variant === 'gzip' ? (f: TrailFile) => f.key : plainKey;
      // The floor in a process of its own: its garbage (the whole files parsed) must not be
      // collected on the forwarder's time.
      const floorWorker = await Worker.start(env);
      const floor = await floorWorker.run({ type: 'floor', files: files.map((f) => path.join(WORK, `${path.basename(f.key)}${variant === 'json' ? '.json' : ''}`)) });
      floorWorker.stop();
      const worker = await Worker.start(env);
      const connectorName = `bench-${variant}-${Date.now()}`;
      s.putConnectorSecret(s.connector({ connectorName }));
      await worker.run({ type: 'handler', events: eventsFor(s, bucket, warmFiles, keyOf) });
      s.dnif.clear();
      const run = await worker.run({ type: 'handler', events: eventsFor(s, bucket, files, keyOf) });
      worker.stop();
      const delivered = s.dnif.eventsById().size;
      const perCore = (total / run.cpuMs) * 1000;
      const floorPerCore = (floor.events / floor.cpuMs) * 1000;
      const systemShare = (run.systemMs ?? 0) / run.cpuMs;
      results[variant] = { eventsPerCpuSecond: r0(perCore), floorEventsPerCpuSecond: r0(floorPerCore), ratioToFloor: Math.round((perCore / floorPerCore) * 100) / 100, microsecondsPerEvent: Math.round((run.cpuMs / total) * 10000) / 10, systemShare: Math.round(systemShare * 100) / 100, wallEventsPerSecond: r0((total / run.wallMs) * 1000), delivered, failures: run.failures };
      say(`${variant}: forwarder ${r0(perCore).toLocaleString('en-US')} events per CPU-second (${((run.cpuMs / total) * 1000).toFixed(1)} µs an event, ${Math.round(systemShare * 100)}% in the kernel; wall ${r0((total / run.wallMs) * 1000).toLocaleString('en-US')}/s), floor ${r0(floorPerCore).toLocaleString('en-US')}: ratio ${(perCore / floorPerCore).toFixed(2)}; delivered ${delivered}/${total}, failures ${run.failures}`);
    }
    const scale: { consumers: number; eventsPerSecond: number }[] = [];
    for (const n of CONSUMERS) {
      const workers = await Promise.all(Array.from({ length: n }, () => Worker.start(env)));
      s.putConnectorSecret(s.connector({ connectorName: `bench-scale-${n}-${Date.now()}` }));
      s.dnif.clear();
      const events = eventsFor(s, bucket, files, (f) => f.key);
      const start = Date.now();
      await Promise.all(workers.map((w, i) => w.run({ type: 'handler', events: events.filter((_, j) => j % n === i) })));
      const wall = Date.now() - start;
      workers.forEach((w) => w.stop());
      scale.push({ consumers: n, eventsPerSecond: r0((total / wall) * 1000) });
      say(`${n} consumer(s): ${r0((total / wall) * 1000).toLocaleString('en-US')} events/s wall (${s.dnif.eventsById().size} delivered)`);
    }
    results.scaleOut = scale;
    writeFileSync(path.join(WORK, 'results.json'), JSON.stringify(results, null, 2));
    say(`written to .bench/s3/results.json`);
  } finally {
    await s.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
