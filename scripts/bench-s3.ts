/**
 * npm run bench:s3 [-- --quick] [--only gzip|json|gzipLargeFiles|gzipSmallFiles|scaleOut]
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
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';

import type { SQSEvent } from 'aws-lambda';
import { buildTrailFiles, s3EventMessage, startStandIns, type StandIns, type TrailFile } from '../standins';
import { buildLikeTheStack } from './bench/bundle';

const QUICK = process.argv.includes('--quick');
// --only K: one variant (its results.json key), for a profile of just that. BENCH_S3_PROF=1: a CPU
// profile of each counted round, .bench/s3/prof/<key>-round-N.cpuprofile.
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const FILES = QUICK ? 40 : 120;
const RECORDS_PER_FILE = 1000;
const CONSUMERS = [1, 2, 4, 8];
const WARM_FILES = 10;
const ROUNDS = 5;
const BIG_RECORDS_PER_FILE = 10_000;
// A quiet account-region's files (most of an organization trail's): what a file costs, whatever its size.
const SMALL_RECORDS_PER_FILE = 10;
const SMALL_FILES = 240;
const WORK = path.resolve(__dirname, '..', '.bench', 's3');
const WORKER_FILE = path.join(WORK, 'worker', 'index.js');
const PROFILE = Boolean(process.env.BENCH_S3_PROF);
const say = (m: string) => void process.stdout.write(`${m}\n`);

const r0 = (n: number) => Math.round(n);

/**
 * The worker and the handler it imports bundled as the stack bundles them, run with
 * --enable-source-maps as the stack's NODE_OPTIONS has it: what Lambda runs. Under tsx each module
 * is CommonJS of its own, and every imported binding a getter call in the hot loops (a bundle
 * hoists them into one scope). Unminified for a profile.
 */
const buildWorker = () => buildLikeTheStack('scripts/bench/s3-worker.ts', WORKER_FILE, { minify: !PROFILE });

class Worker {
  private constructor(private readonly child: ChildProcess) {}
  static async start(env: Record<string, string>): Promise<Worker> {
    const child = fork(WORKER_FILE, [], { env: { ...process.env, ...env }, execArgv: ['--enable-source-maps', ...(process.env.BENCH_S3_NODE_ARGS ? process.env.BENCH_S3_NODE_ARGS.split(' ') : [])], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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
    this.child.kill();
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

interface Variant {
  name: string;
  /** Its key in results.json. */
  key: string;
  files: TrailFile[];
  keyOf: (f: TrailFile) => string;
  /** The same files on disk, for the floor. */
  paths: string[];
}

const plainKey = (f: TrailFile) => f.key.replace('AWSLogs/', 'plain/AWSLogs/');

/**
 * The forwarder's CPU on one variant's files, in a warm process, beside the floor in another. The
 * two take turns, a floor pass just before each forwarder round, and the ratio is the median of
 * the rounds' own ratios: this machine's speed drifts by up to 2× within minutes, and a floor taken
 * minutes apart from the forwarder made the ratio swing 0.34-0.56 on unchanged code.
 */
async function measure(s: StandIns, env: Record<string, string>, bucket: string, variant: Variant, warmFiles: TrailFile[]): Promise<Record<string, unknown>> {
  const total = variant.files.reduce((n, f) => n + f.records.length, 0);
  // The floor in a process of its own: its garbage (the whole files parsed) must not be
  // collected on the forwarder's time. Warmed (JIT, heap) before it counts, as the forwarder is.
  const floorWorker = await Worker.start(env);
  await floorWorker.run({ type: 'floor', files: variant.paths });
  const worker = await Worker.start(env);
  s.putConnectorSecret(s.connector({ connectorName: `bench-${variant.name.replace(/\W+/g, '-')}-${Date.now()}` }));
  await worker.run({ type: 'handler', events: eventsFor(s, bucket, warmFiles, variant.keyOf) });
  // Rounds on the same files under fresh keys (the ledger would skip them otherwise).
  const rounds: { cpuMs: number; systemMs: number; wallMs: number; failures: number; floorCpuMs: number; floorEvents: number }[] = [];
  let delivered = total;
  for (let round = 0; round < ROUNDS; round++) {
    const floor = await floorWorker.run({ type: 'floor', files: variant.paths });
    const roundKey = (f: TrailFile) => `round-${round}/${variant.keyOf(f)}`;
    for (const f of variant.files) s.s3.putObject(bucket, roundKey(f), s.s3.getObject(bucket, variant.keyOf(f))?.body ?? '');
    s.dnif.clear();
    const profile = PROFILE ? path.join(WORK, 'prof', `${variant.key}-round-${round}.cpuprofile`) : undefined;
    const run = await worker.run({ type: 'handler', events: eventsFor(s, bucket, variant.files, roundKey), profile });
    rounds.push({ cpuMs: run.cpuMs, systemMs: run.systemMs ?? 0, wallMs: run.wallMs, failures: run.failures, floorCpuMs: floor.cpuMs, floorEvents: floor.events });
    delivered = Math.min(delivered, s.dnif.eventsById().size);
    for (const f of variant.files) s.s3.deleteObject(bucket, roundKey(f));
  }
  worker.stop();
  floorWorker.stop();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const perCoreOf = rounds.map((r) => (total / r.cpuMs) * 1000);
  const floorOf = rounds.map((r) => (r.floorEvents / r.floorCpuMs) * 1000);
  const ratioOf = rounds.map((_, i) => perCoreOf[i] / floorOf[i]);
  const perCore = median(perCoreOf);
  const floorPerCore = median(floorOf);
  const ratio = median(ratioOf);
  const cpuMs = median(rounds.map((r) => r.cpuMs));
  const systemShare = median(rounds.map((r) => r.systemMs / r.cpuMs));
  const wallPerSecond = median(rounds.map((r) => (total / r.wallMs) * 1000));
  const failures = rounds.reduce((n, r) => n + r.failures, 0);
  const usPerEvent = (cpuMs / total) * 1000;
  const msPerFile = cpuMs / variant.files.length;
  const range = (xs: number[], digits = 0) => [Math.min(...xs), Math.max(...xs)].map((n) => Math.round(n * 10 ** digits) / 10 ** digits);
  const fmt = (n: number) => r0(n).toLocaleString('en-US');
  say(
    `${variant.name}: forwarder ${fmt(perCore)} events per CPU-second (median of ${ROUNDS} rounds, ${range(perCoreOf).map(fmt).join('-')}; ${usPerEvent.toFixed(1)} µs an event, ${msPerFile.toFixed(2)} ms a file, ${Math.round(systemShare * 100)}% in the kernel; wall ${fmt(wallPerSecond)}/s), floor ${fmt(floorPerCore)} (${range(floorOf).map(fmt).join('-')}): ratio ${ratio.toFixed(2)} (rounds ${range(ratioOf, 2).join('-')}); delivered ${delivered}/${total} (fewest of the rounds), failures ${failures}`,
  );
  return {
    files: variant.files.length,
    events: total,
    eventsPerCpuSecond: r0(perCore),
    eventsPerCpuSecondRange: range(perCoreOf),
    floorEventsPerCpuSecond: r0(floorPerCore),
    floorEventsPerCpuSecondRange: range(floorOf),
    ratioToFloor: Math.round(ratio * 100) / 100,
    ratioToFloorRange: range(ratioOf, 2),
    microsecondsPerEvent: Math.round(usPerEvent * 10) / 10,
    msPerFile: Math.round(msPerFile * 100) / 100,
    systemShare: Math.round(systemShare * 100) / 100,
    wallEventsPerSecond: r0(wallPerSecond),
    delivered,
    failures,
  };
}

async function main(): Promise<void> {
  mkdirSync(path.join(WORK, 'prof'), { recursive: true });
  await buildWorker();
  const s = await startStandIns({ region: 'us-east-1', dnif: { keepEvents: false } });
  const bucket = 'bench-trail';
  s.s3.createBucket(bucket);
  const from = new Date('2026-12-01T00:00:00Z');
  const files = buildTrailFiles({ accountIds: ['111111111111'], regions: ['us-east-1'], from, hours: FILES / 12, recordsPerFile: RECORDS_PER_FILE, seed: 5 });
  // A busy trail's files (data events, >100 events/s): the per-file calls weigh less.
  const bigFiles = buildTrailFiles({ accountIds: ['333333333333'], regions: ['us-east-1'], from, hours: FILES / 10 / 12, recordsPerFile: BIG_RECORDS_PER_FILE, seed: 7 });
  const smallFiles = buildTrailFiles({ accountIds: ['444444444444'], regions: ['us-east-1'], from, hours: SMALL_FILES / 12, recordsPerFile: SMALL_RECORDS_PER_FILE, seed: 8 });
  // A warm execution environment, as most invocations of a busy queue find it: its first invocation
  // (credentials, the secret, the SDK's lazy modules) runs on these files and is not counted.
  const warmFiles = buildTrailFiles({ accountIds: ['222222222222'], regions: ['us-east-1'], from, hours: WARM_FILES / 12, recordsPerFile: RECORDS_PER_FILE, seed: 6 });
  const onDisk = (f: TrailFile, json: boolean) => path.join(WORK, `${path.basename(f.key)}${json ? '.json' : ''}`);
  for (const f of [...warmFiles, ...files, ...bigFiles, ...smallFiles]) {
    s.s3.putObject(bucket, f.key, f.body);
    s.s3.putObject(bucket, plainKey(f), f.json);
    writeFileSync(onDisk(f, false), f.body);
    writeFileSync(onDisk(f, true), f.json);
  }
  const total = files.length * RECORDS_PER_FILE;
  const env = { ...s.env, DNIF_ALLOW_LOOPBACK_PLAINTEXT: '1', POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' };
  say(`S3 source bench: ${files.length} trail files × ${RECORDS_PER_FILE} records (${total.toLocaleString('en-US')} events), ${os.cpus()[0]?.model} × ${os.cpus().length}, node ${process.version}`);
  say(`uncompressed ${(files.reduce((n, f) => n + f.json.length, 0) / 2 ** 20).toFixed(1)} MB, gzip ${(files.reduce((n, f) => n + f.body.length, 0) / 2 ** 20).toFixed(1)} MB; batches of 500 events / 1 MB (the defaults)`);
  const results: Record<string, unknown> = { files: files.length, recordsPerFile: RECORDS_PER_FILE, machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version } };
  try {
    const variants: Variant[] = [
      { name: 'gzip', key: 'gzip', files, keyOf: (f) => f.key, paths: files.map((f) => onDisk(f, false)) },
      { name: 'json', key: 'json', files, keyOf: plainKey, paths: files.map((f) => onDisk(f, true)) },
      { name: `gzip, ${BIG_RECORDS_PER_FILE.toLocaleString('en-US')} records a file`, key: 'gzipLargeFiles', files: bigFiles, keyOf: (f) => f.key, paths: bigFiles.map((f) => onDisk(f, false)) },
      { name: `gzip, ${SMALL_RECORDS_PER_FILE} records a file`, key: 'gzipSmallFiles', files: smallFiles, keyOf: (f) => f.key, paths: smallFiles.map((f) => onDisk(f, false)) },
    ];
    for (const variant of variants) if (!ONLY || ONLY === variant.key) results[variant.key] = await measure(s, env, bucket, variant, warmFiles);
    const scale: { consumers: number; eventsPerSecond: number; coresBusy: number; standInsCoreShare: number; standInsStall: { p99Ms: number; maxMs: number } }[] = [];
    for (const n of ONLY && ONLY !== 'scaleOut' ? [] : CONSUMERS) {
      const workers = await Promise.all(Array.from({ length: n }, () => Worker.start(env)));
      s.putConnectorSecret(s.connector({ connectorName: `bench-scale-${n}-${Date.now()}` }));
      s.dnif.clear();
      const events = eventsFor(s, bucket, files, (f) => f.key);
      const start = Date.now();
      const standInsCpu = process.cpuUsage();
      const lag = monitorEventLoopDelay({ resolution: 5 });
      lag.enable();
      const runs = await Promise.all(workers.map((w, i) => w.run({ type: 'handler', events: events.filter((_, j) => j % n === i) })));
      const wall = Date.now() - start;
      const standIns = process.cpuUsage(standInsCpu);
      lag.disable();
      // A consumer waits on the stand-ins' one event loop: its stalls (GC of what the receiver keeps
      // for the delivery check, the parse of each 750 KB batch) hold every consumer up at once.
      const stall = { p99Ms: Math.round(lag.percentile(99) / 1e5) / 10, maxMs: Math.round(lag.max / 1e5) / 10 };
      workers.forEach((w) => w.stop());
      // Which saturates: the cores (all CPU of consumers and stand-ins ÷ wall × cores near 1), or
      // the receiver (the stand-ins' process, one thread, near one core's worth).
      const consumersMs = runs.reduce((t, r) => t + r.cpuMs, 0);
      const standInsMs = (standIns.user + standIns.system) / 1000;
      const busy = (consumersMs + standInsMs) / (wall * os.cpus().length);
      scale.push({ consumers: n, eventsPerSecond: r0((total / wall) * 1000), coresBusy: Math.round(busy * 100) / 100, standInsCoreShare: Math.round((standInsMs / wall) * 100) / 100, standInsStall: stall });
      say(
        `${n} consumer(s): ${r0((total / wall) * 1000).toLocaleString('en-US')} events/s wall (${s.dnif.eventsById().size} delivered); cores busy ${Math.round(busy * 100)}% (consumers ${r0(consumersMs)} ms CPU, stand-ins incl. the DNIF receiver ${r0(standInsMs)} ms = ${(standInsMs / wall).toFixed(2)} of a core, their event loop stalled p99 ${stall.p99Ms} ms, max ${stall.maxMs} ms)`,
      );
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
