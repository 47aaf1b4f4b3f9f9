/**
 * npm run bench [-- --quick] [-- --only=cold,cpu,rss,throughput,audit] [-- --regions=1,2,4] [-- --audit-grid=100,4,24]
 *                [-- --per-region=N] [-- --events-per-hour=N] [-- --warm-throughput] [-- --cpu-at-limit] [-- --profile]
 *
 * How close the forwarder gets to the only real ceiling, LookupEvents' 2 requests/s per account
 * and region (50 events a page: 100 events/s), and what it costs on the way. The real handler
 * (bundled as the CDK stack bundles it, run in a child process invoked like Lambda) reads a
 * backlog made from the shared real CloudTrail records from the loopback stand-ins and posts it
 * to the DNIF receiver stand-in. Figures, not tests: nothing here passes or fails a build.
 *
 * Sections: calibration (what a bare loopback request costs here), cold start (bundle sizes,
 * module init), CPU (API wait removed, with and without gzip, split into read / checkpoint /
 * deliver), peak RSS over 90,000 events, throughput at the real limit with 1, 2 and 4 regions,
 * DynamoDB capacity per 1,000 events (checked against DynamoDB's pricing rules by
 * scripts/bench/ddb-meter).
 *
 * A full run takes about 14 minutes (three ~3.6-minute runs at the API limit) and writes
 * bench/results.json; --quick uses small backlogs (~2 minutes), and any option but the default
 * writes .bench/results-quick.json instead. BENCH_WORKER_NODE_ARGS adds node flags to the
 * workers (e.g. --trace-gc). docs/benchmark.md explains every figure.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { ForwarderSummary } from '../functions/forwarder/forward';
import { generateEvents, startStandIns, toWireEvent, type CloudTrailRecord, type StandIns } from '../standins';
import { auditBench, auditGridFrom, type AuditBenchResult } from './bench/audit';
import { bundle, initTimes, REPO_ROOT, stackOptionsDrift, WORK_DIR, type Bundle, type InitTiming } from './bench/bundle';
import { calibrate, type Calibration } from './bench/calibrate';
import { startDdbMeter, type DdbMeter, type MeterReport } from './bench/ddb-meter';
import type { InvokeMode, InvokeRequest, InvokeResult } from './bench/worker';

// ---------------------------------------------------------------------------------------------
// Settings

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ONLY = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const runs = (section: string): boolean => !ONLY || ONLY.includes(section);
/** --profile: workers unminified and under --cpu-prof (profiles in .bench/profiles), figures then skewed. */
const PROFILE = args.includes('--profile');
/** --warm-throughput: each run at the API limit is the process's second (after one as long in other regions). */
const WARM_THROUGHPUT = args.includes('--warm-throughput');
/** --cpu-at-limit: the CPU split (read / checkpoint / deliver) paced at the API limit instead of without waits. */
const CPU_AT_LIMIT = args.includes('--cpu-at-limit');

/** LookupEvents: 2 requests/s per account and region, at most 50 events a page. */
const API_EVENTS_PER_SECOND = 2 * 50;
/** Events per region for the runs at the API limit (≥ 20,000: ~200 s each). */
const PER_REGION = Number(flag('per-region') ?? (QUICK ? 2_000 : 20_000));
const REGION_COUNTS = (flag('regions') ?? '1,2,4').split(',').map(Number);
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'];
/** Events for the CPU runs (API wait removed), after a warm-up run of WARMUP_EVENTS. */
const CPU_EVENTS = QUICK ? 10_000 : 30_000;
const WARMUP_EVENTS = 10_000;
/** Each CPU figure is the fastest of this many runs: on a shared machine interference only adds time. */
const CPU_REPEATS = QUICK ? 1 : 5;
const RSS_EVENTS = QUICK ? 20_000 : 90_000;
/** Backlog density: 20,000 events an hour (~5.6/s), a busy account's management events. */
const EVENTS_PER_HOUR = Number(flag('events-per-hour') ?? 20_000);
/** The stack's defaults: LATENESS_SECONDS 900; a 5-minute schedule gives a 270 s timeout. */
const LATENESS_SECONDS = 900;
const LAMBDA_TIMEOUT_MS = 270_000;
/** Backlog ends this long before now − LATENESS, so it is all read in one pass. */
const BACKLOG_END_MARGIN_SECONDS = 60;
/** BACKFILL reaches this far before the backlog: covers the time from placing it to the run's start. */
const BACKFILL_MARGIN_SECONDS = 30;
/** The CPU section runs one worker (one BACKFILL) for minutes: its backlog must stay in reach. */
const CPU_BACKFILL_MARGIN_SECONDS = 1800;
const INIT_RUNS = 21;

const GOALS = {
  throughputRatio: 0.95,
  linearity: 0.95,
  cpuEventsPerSecond: 20_000,
  cpuShareAtLimit: 0.02,
  bundleKiB: 300,
  initMs: 150,
  rssMB: 128,
};

// ---------------------------------------------------------------------------------------------
// The worker ("the Lambda")

const WORKER_FILE = path.join(WORK_DIR, 'worker', 'index.js');

async function buildWorker(): Promise<void> {
  // Same options as the stack's bundles: the handler runs minified, as deployed.
  await build({
    entryPoints: [path.join(REPO_ROOT, 'scripts', 'bench', 'worker.ts')],
    outfile: WORKER_FILE,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: !PROFILE,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
    absWorkingDir: REPO_ROOT,
  });
}

class Worker {
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

// ---------------------------------------------------------------------------------------------
// Helpers

const t0 = Date.now();
const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
const say = (msg: string): void => void process.stdout.write(`[${elapsed()}] ${msg}\n`);
const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

interface Context {
  s: StandIns;
  meter: DdbMeter;
}

/** Clean stand-ins for the next scenario; `rate` is the CloudTrail limit per account and region. */
function resetStandIns(ctx: Context, rate: number): void {
  ctx.s.cloudtrail.clearEvents();
  ctx.s.cloudtrail.clearFaults();
  ctx.s.cloudtrail.resetStats();
  ctx.s.cloudtrail.setRatePerSecond(rate);
  ctx.s.dnif.clear();
  ctx.meter.reset();
}

/**
 * `count` events per region from the shared real records, ending BACKLOG_END_MARGIN before
 * now − LATENESS (final: read in one pass), at EVENTS_PER_HOUR. Returns the BACKFILL_SECONDS
 * that reaches them.
 */
function placeBacklog(
  ctx: Context,
  regions: string[],
  count: number,
  seed: number,
  marginSeconds = BACKFILL_MARGIN_SECONDS,
): { backfillSeconds: number; events: Record<string, CloudTrailRecord[]> } {
  const now = Date.now();
  const toMs = now - (LATENESS_SECONDS + BACKLOG_END_MARGIN_SECONDS) * 1000;
  const fromMs = toMs - (count / EVENTS_PER_HOUR) * 3600_000;
  const events: Record<string, CloudTrailRecord[]> = {};
  regions.forEach((region, i) => {
    events[region] = generateEvents({ count, region, accountId: ctx.s.accountId, from: fromMs, to: toMs, seed: seed + i });
    ctx.s.cloudtrail.addEvents(region, events[region], { accountId: ctx.s.accountId });
  });
  return { backfillSeconds: Math.ceil((now - fromMs) / 1000) + marginSeconds, events };
}

/** The events as LookupEvents returns them, one JSON per line, for the workers' in-memory reads. */
function writeWireEvents(region: string, records: CloudTrailRecord[]): string {
  const file = path.join(WORK_DIR, `events-${region}.ndjson`);
  writeFileSync(file, records.map((r) => JSON.stringify(toWireEvent(r))).join('\n'));
  return file;
}

function workerEnv(ctx: Context, backfillSeconds: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...ctx.s.env,
    // The meter proxies DynamoDB to dynalite and prices each call (scripts/bench/ddb-meter.ts).
    AWS_ENDPOINT_URL_DYNAMODB: ctx.meter.url,
    LATENESS_SECONDS: String(LATENESS_SECONDS),
    BACKFILL_SECONDS: String(backfillSeconds),
    ...extra,
  };
}

function putConnector(ctx: Context, name: string, regions: string[], dnif: Record<string, unknown> = {}): void {
  const where = regions.length === 1 ? { awsRegion: regions[0] } : { awsRegion: undefined, awsRegions: regions };
  ctx.s.putConnectorSecret(ctx.s.connector({ connectorName: name, ...where, dnif }));
}

function summaryOf(result: InvokeResult, what: string): ForwarderSummary {
  const summary = (result.summary ?? result.error?.summary) as ForwarderSummary | undefined;
  if (result.error) say(`  ! ${what}: the run failed: ${result.error.name}: ${result.error.message}`);
  if (!summary) throw new Error(`${what}: no summary (${result.error?.message ?? 'unknown'})`);
  return summary;
}

const cpuMs = (r: InvokeResult): number => r.cpuUserMs + r.cpuSystemMs;

// ---------------------------------------------------------------------------------------------
// Cold start

interface ColdStart {
  stackOptionsDrift: string[];
  bundles: Array<Omit<Bundle, 'file' | 'contributors'> & { topContributors: Bundle['contributors']; init: InitTiming; initWithoutSourceMaps: InitTiming }>;
  /** For comparison only: the same bundles with the AWS SDK left to the runtime (not what the stack does). */
  withoutSdk: Array<{ name: string; bytes: number; init: InitTiming }>;
}

async function coldStart(): Promise<ColdStart> {
  const drift = stackOptionsDrift();
  if (drift.length) say(`  ! infra/service-function.ts no longer reads ${drift.join(', ')}: the bundle options here may be stale`);
  const entries = [
    ['forwarder', 'functions/forwarder/handler.ts'],
    ['test-connection', 'functions/test-connection/handler.ts'],
  ];
  const full: Bundle[] = [];
  const lean: Bundle[] = [];
  for (const [name, entry] of entries) {
    full.push(await bundle(name, entry));
    // node resolves the left-out SDK from node_modules: unminified, as a runtime-provided SDK is.
    lean.push(await bundle(`${name}-sdk-external`, entry, ['@aws-sdk/*', '@smithy/*']));
  }
  const cases = [...full.flatMap((b) => [{ file: b.file, sourceMaps: true }, { file: b.file, sourceMaps: false }]), ...lean.map((b) => ({ file: b.file, sourceMaps: true }))];
  const timings = initTimes(cases, INIT_RUNS);
  const bundles: ColdStart['bundles'] = full.map((b, i) => {
    const { file: _file, contributors, ...rest } = b;
    const [init, initWithoutSourceMaps] = [timings[2 * i], timings[2 * i + 1]];
    say(`  ${b.name}: ${round(b.bytes / 1024)} KiB, init ${round(init.medianMs)} ms (median of ${INIT_RUNS}, --enable-source-maps)`);
    return { ...rest, topContributors: contributors.slice(0, 12), init, initWithoutSourceMaps };
  });
  const withoutSdk = lean.map((b, i) => ({ name: entries[i][0], bytes: b.bytes, init: timings[2 * full.length + i] }));
  return { stackOptionsDrift: drift, bundles, withoutSdk };
}

// ---------------------------------------------------------------------------------------------
// CPU and memory with the API wait removed

interface PipelineRun {
  label: string;
  /** handler: the real thing; memory-read: LookupEvents from memory; memory-read-ddb: DynamoDB too. */
  mode: InvokeMode;
  gzip: boolean;
  events: number;
  forwarded: number;
  pages: number;
  wallMs: number;
  cpuMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  cpuMsPer10kEvents: number;
  /** Events per second of the forwarder process's CPU time (user + system): "on one core". */
  eventsPerCpuSecond: number;
  /** Events per second of wall time on this machine, stand-ins sharing it. */
  eventsPerWallSecond: number;
  maxRssMB: number;
  /** CPU ms of every repeat; the figures above are from the fastest one. */
  repeatsCpuMs?: number[];
  sampledPeakMB: InvokeResult['sampledPeakMB'];
  lookupsPerSecond: number;
  /** DynamoDB calls of the measured run, by operation. */
  ddbCalls: Record<string, number>;
  dnifPosts: number;
}

function pipelineFigures(ctx: Context, label: string, mode: InvokeMode, gzip: boolean, events: number, r: InvokeResult, summary: ForwarderSummary): PipelineRun {
  const cpu = cpuMs(r);
  const lookups = ctx.s.cloudtrail.stats().lookups;
  return {
    label,
    mode,
    gzip,
    events,
    forwarded: summary.forwarded,
    pages: summary.pages,
    wallMs: round(r.wallMs),
    cpuMs: round(cpu),
    cpuUserMs: round(r.cpuUserMs),
    cpuSystemMs: round(r.cpuSystemMs),
    cpuMsPer10kEvents: round((cpu / summary.forwarded) * 10_000, 1),
    eventsPerCpuSecond: round(summary.forwarded / (cpu / 1000)),
    eventsPerWallSecond: round(summary.forwarded / (r.wallMs / 1000)),
    maxRssMB: round(r.maxRssMB, 1),
    sampledPeakMB: Object.fromEntries(Object.entries(r.sampledPeakMB).map(([k, v]) => [k, round(v, 1)])) as InvokeResult['sampledPeakMB'],
    lookupsPerSecond: round(lookups / (r.wallMs / 1000), 1),
    ddbCalls: Object.fromEntries(Object.entries(ctx.meter.report().byOperation).map(([op, c]) => [op, c.calls])),
    dnifPosts: Object.values(summary.regions).reduce((n, x) => n + x.batches, 0),
  };
}

/**
 * One warm process (a small run first), then CPU_EVENTS through the whole handler without API
 * waits, then the same events with the read from memory, then with DynamoDB stubbed as well:
 * the differences split the cost into reading, checkpointing and delivering.
 */
async function cpuRuns(ctx: Context, gzip: boolean): Promise<PipelineRun[]> {
  const label = gzip ? 'json+gzip' : 'json';
  // --cpu-at-limit: the same split, but paced at 2 LookupEvents/s (where the CPU share is taken).
  const paced = CPU_AT_LIMIT;
  const [events, warmEvents] = paced ? [PER_REGION, Math.min(WARMUP_EVENTS, PER_REGION)] : [CPU_EVENTS, WARMUP_EVENTS];
  resetStandIns(ctx, paced ? 2 : 1e9);
  const [warmRegion, region] = ['eu-west-1', 'us-east-1'];
  const warm = placeBacklog(ctx, [warmRegion], warmEvents, 101, CPU_BACKFILL_MARGIN_SECONDS);
  const measured = placeBacklog(ctx, [region], events, 202, CPU_BACKFILL_MARGIN_SECONDS);
  const eventFiles = { [region]: writeWireEvents(region, measured.events[region]) };
  // SECRET_MAX_AGE_SECONDS=0: each run below uses its own connector (own checkpoint).
  const worker = await Worker.start(`cpu-${label}`, workerEnv(ctx, Math.max(warm.backfillSeconds, measured.backfillSeconds), { SECRET_MAX_AGE_SECONDS: '0' }));
  const out: PipelineRun[] = [];
  try {
    putConnector(ctx, `bench-cpu-warm-${gzip}-${Date.now()}`, [warmRegion], { gzip });
    summaryOf(await worker.invoke({ timeoutMs: LAMBDA_TIMEOUT_MS, removeApiWait: !paced }), `cpu ${label} warm-up`);
    for (const mode of ['handler', 'memory-read', 'memory-read-ddb'] as const) {
      const repeats: PipelineRun[] = [];
      for (let i = 0; i < CPU_REPEATS; i++) {
        ctx.s.cloudtrail.resetStats();
        ctx.s.dnif.clear();
        ctx.meter.reset();
        putConnector(ctx, `bench-cpu-${mode}-${gzip}-${i}-${Date.now()}`, [region], { gzip });
        const r = await worker.invoke({ timeoutMs: LAMBDA_TIMEOUT_MS, removeApiWait: !paced, mode, eventFiles });
        const summary = summaryOf(r, `cpu ${label} ${mode}`);
        const run = pipelineFigures(ctx, paced ? `${label} at the limit` : label, mode, gzip, events, r, summary);
        if (run.forwarded !== events || ctx.s.dnif.eventsById().size !== events) say(`  ! ${mode}: forwarded ${run.forwarded}, DNIF has ${ctx.s.dnif.eventsById().size} of ${events}`);
        repeats.push(run);
      }
      const run = [...repeats].sort((a, b) => a.cpuMs - b.cpuMs)[0];
      run.repeatsCpuMs = repeats.map((x) => x.cpuMs);
      say(`  ${run.label}, ${mode}: ${run.cpuMsPer10kEvents} ms CPU per 10,000 events → ${run.eventsPerCpuSecond} events/s on one core (wall ${run.eventsPerWallSecond}/s)`);
      out.push(run);
    }
    return out;
  } finally {
    worker.stop();
  }
}

/**
 * The V8 heap limits Lambda's Node.js bootstrap passes for a function of `memoryMB`: new space a
 * tenth of memory (semi-space half of that), old space the rest. Node's own defaults size the heap
 * from this machine's 23 GB and let it grow lazily, so an uncapped peak says little about need.
 */
const lambdaHeapFlags = (memoryMB: number): string[] => [
  `--max-semi-space-size=${Math.floor(memoryMB / 10 / 2)}`,
  `--max-old-space-size=${memoryMB - Math.floor(memoryMB / 10)}`,
];
const HEAP_CAP_128MB = lambdaHeapFlags(128);

/** A cold process forwarding RSS_EVENTS without API waits: its peak RSS. */
async function rssRun(ctx: Context, nodeArgs: string[] = []): Promise<PipelineRun> {
  const label = nodeArgs.length ? `rss, ${nodeArgs.join(' ')}` : 'rss';
  resetStandIns(ctx, 1e9);
  const { backfillSeconds } = placeBacklog(ctx, ['us-east-1'], RSS_EVENTS, 303);
  const worker = await Worker.start(nodeArgs.length ? 'rss-capped' : 'rss', workerEnv(ctx, backfillSeconds), nodeArgs);
  try {
    putConnector(ctx, `bench-rss-${Date.now()}`, ['us-east-1']);
    const r = await worker.invoke({ timeoutMs: LAMBDA_TIMEOUT_MS, removeApiWait: true });
    const summary = summaryOf(r, label);
    const run = pipelineFigures(ctx, label, 'handler', false, RSS_EVENTS, r, summary);
    say(`  ${label}: ${run.forwarded} events, peak RSS ${run.maxRssMB} MB (cold process, ${run.cpuMsPer10kEvents} ms CPU per 10,000 events)`);
    return run;
  } finally {
    worker.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Throughput at the API limit

interface ThroughputRun {
  regions: string[];
  backlogEvents: number;
  forwarded: number;
  delivered: number;
  duplicates: number;
  stoppedEarly: boolean;
  wallMs: number;
  eventsPerSecond: number;
  /** eventsPerSecond / (100 × regions). */
  ratioToLimit: number;
  lookups: number;
  lookupsPerSecondPerRegion: number;
  throttles: number;
  /** Most LookupEvents requests the stand-in saw in any 1 s window, over the account-regions. */
  maxRequestsInAnySecond: number;
  /** Shortest time between a request and the one two after it, at the stand-in (AWS: ≥ 1000 ms). */
  minTwoApartMs: number;
  eventLoopDelayMs: InvokeResult['eventLoopDelayMs'];
  eventsPerPage: number;
  cpuMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** The forwarder's CPU time as a share of the run's wall time. */
  cpuShareOfWall: number;
  maxRssMB: number;
  checkpointUsage?: ForwarderSummary['checkpointUsage'];
  ddb: MeterReport;
  perRegion: Record<string, { forwarded: number; pages: number; throttles: number }>;
}

async function throughputRun(ctx: Context, regions: string[]): Promise<ThroughputRun> {
  resetStandIns(ctx, 2);
  // The stand-in's 1 s window still holds the previous scenario's last requests (same account and
  // region): let it empty, as the 5 minutes between scheduled runs do.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const { backfillSeconds } = placeBacklog(ctx, regions, PER_REGION, 1000 * regions.length);
  const worker = await Worker.start(`throughput-${regions.length}`, workerEnv(ctx, backfillSeconds, { SECRET_MAX_AGE_SECONDS: '0' }));
  try {
    if (WARM_THROUGHPUT) {
      // Experiment: a first run in other regions, so the measured one finds a warm process.
      const warmRegions = ['sa-east-1', 'ca-central-1', 'eu-north-1', 'ap-south-1'].slice(0, regions.length);
      placeBacklog(ctx, warmRegions, PER_REGION, 77);
      putConnector(ctx, `bench-warm-${regions.length}r-${Date.now()}`, warmRegions);
      summaryOf(await worker.invoke({ timeoutMs: LAMBDA_TIMEOUT_MS }), 'warm-up');
      ctx.s.cloudtrail.resetStats();
      ctx.s.dnif.clear();
      ctx.meter.reset();
    }
    putConnector(ctx, `bench-${regions.length}r-${Date.now()}`, regions);
    const r = await worker.invoke({ timeoutMs: LAMBDA_TIMEOUT_MS });
    const summary = summaryOf(r, `${regions.length} region(s)`);
    const stats = ctx.s.cloudtrail.stats();
    const windows = Object.values(stats.accountRegions).map((w) => w.maxInAnyWindow);
    const backlogEvents = PER_REGION * regions.length;
    const eventsPerSecond = summary.forwarded / (r.wallMs / 1000);
    const run: ThroughputRun = {
      regions,
      backlogEvents,
      forwarded: summary.forwarded,
      delivered: ctx.s.dnif.eventsById().size,
      duplicates: ctx.s.dnif.duplicates,
      stoppedEarly: Object.values(summary.regions).some((x) => x.stoppedEarly),
      wallMs: round(r.wallMs),
      eventsPerSecond: round(eventsPerSecond, 1),
      ratioToLimit: round(eventsPerSecond / (API_EVENTS_PER_SECOND * regions.length), 3),
      lookups: stats.lookups,
      lookupsPerSecondPerRegion: round(stats.lookups / regions.length / (r.wallMs / 1000), 3),
      throttles: stats.throttled,
      maxRequestsInAnySecond: Math.max(0, ...windows),
      minTwoApartMs: Math.min(
        ...Object.values(stats.accountRegions).map((w) => {
          const t = [...w.requestTimes].sort((a, b) => a - b);
          return Math.min(Infinity, ...t.slice(2).map((x, i) => x - t[i]));
        }),
      ),
      eventLoopDelayMs: Object.fromEntries(Object.entries(r.eventLoopDelayMs).map(([k, v]) => [k, round(v, 1)])) as InvokeResult['eventLoopDelayMs'],
      eventsPerPage: round(summary.forwarded / Math.max(1, summary.pages), 1),
      cpuMs: round(cpuMs(r)),
      cpuUserMs: round(r.cpuUserMs),
      cpuSystemMs: round(r.cpuSystemMs),
      cpuShareOfWall: round(cpuMs(r) / r.wallMs, 4),
      maxRssMB: round(r.maxRssMB, 1),
      checkpointUsage: summary.checkpointUsage,
      ddb: ctx.meter.report(),
      perRegion: Object.fromEntries(Object.entries(summary.regions).map(([k, v]) => [k, { forwarded: v.forwarded, pages: v.pages, throttles: v.throttles }])),
    };
    if (run.delivered !== backlogEvents || run.duplicates > 0) say(`  ! delivered ${run.delivered} of ${backlogEvents}, ${run.duplicates} duplicates`);
    say(
      `  ${regions.length} region(s): ${run.forwarded} events in ${round(r.wallMs / 1000, 1)} s = ${run.eventsPerSecond} events/s, ` +
        `${run.ratioToLimit} of the limit; ${run.throttles} throttles (closest 3 requests: ${run.minTwoApartMs} ms); ${run.eventsPerPage} events/page; ` +
        `CPU ${round(run.cpuShareOfWall * 100, 2)}% of wall; event loop delay max ${run.eventLoopDelayMs.max} ms`,
    );
    return run;
  } finally {
    worker.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

interface DynamoDbFigures {
  basis: string;
  events: number;
  reads: number;
  writes: number;
  readUnits: number;
  writeUnits: number;
  readUnitsPer1000Events: number;
  writeUnitsPer1000Events: number;
  /** The same, recomputed from the calls and item sizes by DynamoDB's rules (ddb-meter). */
  rules: { readUnits: number; writeUnits: number; largestItemBytes: number; largestItemKind: string; unmodelled: number };
  byOperation: MeterReport['byOperation'];
  consistent: boolean;
}

function dynamoDbFigures(run: ThroughputRun): DynamoDbFigures | undefined {
  const u = run.checkpointUsage;
  if (!u || run.forwarded === 0) return undefined;
  const per1000 = (n: number) => round((n / run.forwarded) * 1000, 2);
  const close = (a: number, b: number) => Math.abs(a - b) <= Math.max(0.5, 0.01 * b);
  return {
    basis: `the ${run.regions.length}-region run at the API limit`,
    events: run.forwarded,
    reads: u.reads,
    writes: u.writes,
    readUnits: u.readUnits,
    writeUnits: u.writeUnits,
    readUnitsPer1000Events: per1000(u.readUnits),
    writeUnitsPer1000Events: per1000(u.writeUnits),
    rules: {
      readUnits: run.ddb.readUnits.expected,
      writeUnits: run.ddb.writeUnits.expected,
      largestItemBytes: run.ddb.largestItem.bytes,
      largestItemKind: run.ddb.largestItem.kind,
      unmodelled: run.ddb.unmodelled,
    },
    byOperation: run.ddb.byOperation,
    consistent: close(u.readUnits, run.ddb.readUnits.expected) && close(u.writeUnits, run.ddb.writeUnits.expected) && run.ddb.unmodelled === 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Table

interface Row {
  figure: string;
  value: string;
  goal: string;
  met?: boolean;
}

function rows(results: Results): Row[] {
  const out: Row[] = [];
  const yes = (ok: boolean | undefined) => ok;
  const tp = results.throughput;
  const one = tp.find((t) => t.regions.length === 1);
  for (const t of tp) {
    const linear = one ? t.eventsPerSecond / (one.eventsPerSecond * t.regions.length) : undefined;
    out.push({
      figure: `Throughput, ${t.regions.length} region${t.regions.length > 1 ? 's' : ''} (${t.backlogEvents.toLocaleString('en-US')} events)`,
      value:
        `${t.eventsPerSecond} events/s = ${t.ratioToLimit} of ${API_EVENTS_PER_SECOND * t.regions.length}` +
        (t.regions.length > 1 && linear !== undefined ? `; ${round(linear, 3)} × linear` : '') +
        `; ${t.throttles} throttles, all retried; ${t.delivered === t.backlogEvents && t.duplicates === 0 && !t.stoppedEarly ? 'every event once' : 'NOT every event once'}`,
      // Issue 6: "with no run failing on throttling": a throttle the forwarder retries is allowed.
      goal: t.regions.length === 1 ? `≥ ${GOALS.throughputRatio}, no run failing on throttling` : `linear (≥ ${GOALS.linearity}), no run failing`,
      met: yes(
        t.delivered === t.backlogEvents &&
          t.duplicates === 0 &&
          !t.stoppedEarly &&
          (t.regions.length === 1 ? t.ratioToLimit >= GOALS.throughputRatio : (linear ?? 0) >= GOALS.linearity),
      ),
    });
  }
  for (const t of tp) {
    out.push({
      figure: `CPU share of wall at the API limit, ${t.regions.length} region${t.regions.length > 1 ? 's' : ''}`,
      value: `${round(t.cpuShareOfWall * 100, 2)}% (${round(t.cpuMs / 1000, 1)} s CPU, ${round(t.cpuSystemMs / 1000, 1)} s of it system, in ${round(t.wallMs / 1000, 1)} s)`,
      goal: `≤ ${GOALS.cpuShareAtLimit * 100}%`,
      met: t.cpuShareOfWall <= GOALS.cpuShareAtLimit,
    });
  }
  for (const label of ['json', 'json+gzip']) {
    const by = (mode: InvokeMode) => results.cpu.find((c) => c.label === label && c.mode === mode);
    const [full, noRead, deliverOnly] = [by('handler'), by('memory-read'), by('memory-read-ddb')];
    if (!full) continue;
    out.push({
      figure: `Pipeline CPU, ${label}, whole handler (API wait removed)`,
      value: `${full.cpuMsPer10kEvents} ms per 10,000 events = ${full.eventsPerCpuSecond.toLocaleString('en-US')} events/s on one core`,
      goal: `≥ ${GOALS.cpuEventsPerSecond.toLocaleString('en-US')} events/s`,
      met: full.eventsPerCpuSecond >= GOALS.cpuEventsPerSecond,
    });
    if (noRead && deliverOnly) {
      const read = full.cpuMsPer10kEvents - noRead.cpuMsPer10kEvents;
      const checkpoint = noRead.cpuMsPer10kEvents - deliverOnly.cpuMsPer10kEvents;
      out.push({
        figure: `… of which read / checkpoint / deliver, ${label}`,
        value:
          `${round(read)} / ${round(checkpoint)} / ${round(deliverOnly.cpuMsPer10kEvents)} ms per 10,000 ` +
          `(LookupEvents via SDK / DynamoDB via SDK / records, batches${full.gzip ? ', gzip' : ''}, POST): deliver alone ${deliverOnly.eventsPerCpuSecond.toLocaleString('en-US')} events/s`,
        goal: `deliver ≥ ${GOALS.cpuEventsPerSecond.toLocaleString('en-US')} events/s`,
        met: deliverOnly.eventsPerCpuSecond >= GOALS.cpuEventsPerSecond,
      });
    }
  }
  for (const r of [results.rss, results.rssCapped]) {
    if (!r) continue;
    const capped = r === results.rssCapped;
    out.push({
      figure: `Peak RSS, ${r.forwarded.toLocaleString('en-US')} events (API wait removed)${capped ? `, heap as Lambda sets it for a 128 MB function (${HEAP_CAP_128MB.join(' ')})` : ', node defaults'}`,
      value: `${r.maxRssMB} MB (heap ≤ ${r.sampledPeakMB.heapTotal} MB, buffers ≤ ${r.sampledPeakMB.external} MB; ${r.cpuMsPer10kEvents} ms CPU per 10,000 events)`,
      goal: `≤ ${GOALS.rssMB} MB`,
      met: r.maxRssMB <= GOALS.rssMB,
    });
  }
  for (const b of results.coldStart?.bundles ?? []) {
    const lean = results.coldStart?.withoutSdk.find((x) => x.name === b.name);
    out.push({
      figure: `Bundle, ${b.name} (minified, SDK bundled)`,
      value:
        `${round(b.bytes / 1024)} KiB (+ ${round(b.mapBytes / 1024)} KiB map; ~${round(b.zippedBytes / 1024)} KiB zipped)` +
        (lean ? `; ${round(lean.bytes / 1024)} KiB if the SDK were left to the runtime` : ''),
      goal: `≤ ${GOALS.bundleKiB} KiB`,
      met: b.bytes / 1024 <= GOALS.bundleKiB,
    });
    out.push({
      figure: `Module init, ${b.name}`,
      value:
        `${round(b.init.medianMs)} ms median (${round(b.init.minMs)}–${round(b.init.maxMs)}; CPU ${round(b.init.medianCpuMs)} ms); ${round(b.initWithoutSourceMaps.medianMs)} ms without source maps` +
        (lean ? `; ${round(lean.init.medianMs)} ms with the SDK from node_modules` : ''),
      goal: `≤ ${GOALS.initMs} ms`,
      met: b.init.medianMs <= GOALS.initMs,
    });
  }
  const d = results.dynamodb;
  if (d) {
    out.push({
      figure: 'DynamoDB read units per 1,000 events',
      value: `${d.readUnitsPer1000Events} RRU (${d.readUnits} over ${d.events.toLocaleString('en-US')} events; rules give ${d.rules.readUnits})`,
      goal: 'matches pricing rules',
      met: d.consistent,
    });
    out.push({
      figure: 'DynamoDB write units per 1,000 events',
      value: `${d.writeUnitsPer1000Events} WRU (${d.writeUnits}; rules give ${d.rules.writeUnits}; largest item ${d.rules.largestItemBytes} B)`,
      goal: 'matches pricing rules',
      met: d.consistent,
    });
  }
  return out;
}

function markdownTable(table: Row[]): string {
  const lines = ['| Figure | Value | Goal | Met |', '| --- | --- | --- | --- |'];
  for (const r of table) lines.push(`| ${r.figure} | ${r.value} | ${r.goal} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

interface Results {
  generatedAt: string;
  command: string;
  quick: boolean;
  durationSeconds: number;
  machine: Record<string, unknown>;
  calibration?: Calibration;
  /** The same, taken again at the end: a machine that changed speed during the run shows here. */
  calibrationAtEnd?: Calibration;
  code: ReturnType<typeof gitState>;
  settings: Record<string, unknown>;
  goals: typeof GOALS;
  coldStart?: ColdStart;
  cpu: PipelineRun[];
  rss?: PipelineRun;
  rssCapped?: PipelineRun;
  throughput: ThroughputRun[];
  dynamodb?: DynamoDbFigures;
  /** The trail audit's cost (scripts/bench/audit.ts). */
  audit?: AuditBenchResult;
  table: Row[];
}

/** Which code was measured: the commit, and any uncommitted change to the measured code. */
function gitState(): { commit: string; uncommitted: string[] } {
  const git = (...a: string[]) => execFileSync('git', a, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  try {
    return { commit: git('rev-parse', 'HEAD'), uncommitted: git('status', '--porcelain', '--', 'functions', 'infra', 'standins').split('\n').filter(Boolean) };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model,
    cores: cpus.length,
    memoryGB: round(os.totalmem() / 1024 ** 3, 1),
    loadAverageAtStart: os.loadavg().map((n) => round(n, 2)),
  };
}

async function main(): Promise<void> {
  const results: Results = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
    quick: QUICK,
    durationSeconds: 0,
    machine: machine(),
    code: gitState(),
    settings: {
      perRegionEvents: PER_REGION,
      regionCounts: REGION_COUNTS,
      cpuEvents: CPU_EVENTS,
      warmupEvents: WARMUP_EVENTS,
      rssEvents: RSS_EVENTS,
      eventsPerHour: EVENTS_PER_HOUR,
      latenessSeconds: LATENESS_SECONDS,
      lambdaTimeoutMs: LAMBDA_TIMEOUT_MS,
      initRuns: INIT_RUNS,
      batchMaxEvents: 500,
    },
    goals: GOALS,
    cpu: [],
    throughput: [],
    table: [],
  };
  say(`bench${QUICK ? ' --quick' : ''} on ${results.machine.cpuModel} × ${results.machine.cores}, node ${process.version}`);
  results.calibration = await calibrate();
  say(
    `calibration: a bare loopback HTTP request costs ${Object.entries(results.calibration.cpuMicrosPerRequestByPauseMs).map(([p, us]) => `${us} µs CPU after ${p} ms idle`).join(', ')}; ` +
      `JSON round trip of a real record ${results.calibration.jsonRoundTripMicros} µs`,
  );

  if (runs('cold')) {
    say('cold start: bundling as the stack does and timing module init');
    results.coldStart = await coldStart();
  }

  if (runs('audit')) results.audit = await auditBench(auditGridFrom(flag('audit-grid'), QUICK), say);

  if (!runs('cpu') && !runs('rss') && !runs('throughput')) return void (await finish(results));
  await buildWorker();
  const s = await startStandIns({ region: 'us-east-1' });
  const meter = await startDdbMeter(s.dynamodb.url);
  const ctx: Context = { s, meter };
  try {
    if (runs('cpu')) {
      say(`cpu: ${CPU_EVENTS.toLocaleString('en-US')} events through the pipeline, API wait removed, warm process`);
      for (const gzip of CPU_AT_LIMIT ? [false] : [false, true]) results.cpu.push(...(await cpuRuns(ctx, gzip)));
    }
    if (runs('rss')) {
      say(`rss: ${RSS_EVENTS.toLocaleString('en-US')} events in a cold process, API wait removed`);
      results.rss = await rssRun(ctx);
      results.rssCapped = await rssRun(ctx, HEAP_CAP_128MB);
    }
    if (runs('throughput')) {
      for (const n of REGION_COUNTS) {
        say(`throughput: ${n} region(s) × ${PER_REGION.toLocaleString('en-US')} events at 2 LookupEvents/s per region (≈ ${Math.round(PER_REGION / 99)} s)`);
        results.throughput.push(await throughputRun(ctx, REGIONS.slice(0, n)));
      }
      const one = results.throughput.find((t) => t.regions.length === 1);
      if (one) results.dynamodb = dynamoDbFigures(one);
    }
  } finally {
    await meter.close();
    await s.stop();
  }
  await finish(results);
}

async function finish(results: Results): Promise<void> {
  results.calibrationAtEnd = await calibrate();
  say(
    `calibration at the end: ${Object.entries(results.calibrationAtEnd.cpuMicrosPerRequestByPauseMs).map(([p, us]) => `${us} µs after ${p} ms idle`).join(', ')}; ` +
      `JSON round trip ${results.calibrationAtEnd.jsonRoundTripMicros} µs`,
  );
  results.durationSeconds = round((Date.now() - t0) / 1000);
  results.machine.loadAverageAtEnd = os.loadavg().map((n) => round(n, 2));
  results.table = rows(results);
  const file = QUICK || ONLY || PROFILE || WARM_THROUGHPUT || CPU_AT_LIMIT || flag('per-region') || flag('events-per-hour') || flag('regions') || flag('audit-grid') ? path.join(WORK_DIR, 'results-quick.json') : path.join(REPO_ROOT, 'bench', 'results.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${markdownTable(results.table)}\n\n`);
  say(`done in ${results.durationSeconds} s; results in ${path.relative(REPO_ROOT, file)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
