/**
 * npm run bench [-- --quick] [-- --only=cold,cpu,rss,throughput,freshness,cut-short,audit] [-- --regions=1,2,4] [-- --audit-grid=100,4,24]
 *                [-- --per-region=N] [-- --events-per-hour=N] [-- --warm-throughput] [-- --cpu-at-limit] [-- --profile]
 *                [-- --fresh-rates=5,20,80] [-- --fresh-intervals=8] [-- --compress=20]
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
 * scripts/bench/ddb-meter), freshness (late events at 5, 20 and 80 events/s, time compressed:
 * scripts/bench/freshness.ts) and a run cut short. Each section is a module in scripts/bench/.
 *
 * A full run takes about 25 minutes (three ~3.6-minute runs at the API limit, ~10 for freshness) (three ~3.6-minute runs at the API limit) and writes
 * bench/results.json; --quick uses small backlogs (~2 minutes), and any option but the default
 * writes .bench/results-quick.json instead. BENCH_WORKER_NODE_ARGS adds node flags to the
 * workers (e.g. --trace-gc). docs/benchmark.md explains every figure.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStandIns } from '../standins';
import { auditBench, auditGridFrom, type AuditBenchResult } from './bench/audit';
import { REPO_ROOT, WORK_DIR } from './bench/bundle';
import { calibrate, type Calibration } from './bench/calibrate';
import { coldStart, type ColdStart } from './bench/cold-start';
import { round, say, t0, type Context } from './bench/context';
import { startDdbMeter } from './bench/ddb-meter';
import { dynamoDbFigures, type DynamoDbFigures } from './bench/dynamodb';
import { COMPRESS, cutShortRun, FRESHNESS_RATES, freshnessRun, type CutShortRun, type FreshnessRun } from './bench/freshness';
import { buildWorker } from './bench/lambda-process';
import { cpuRuns, HEAP_CAP_128MB, rssRun, type PipelineRun } from './bench/pipeline';
import {
  args, CPU_AT_LIMIT, CPU_EVENTS, EVENTS_PER_HOUR, flag, GOALS, INIT_RUNS, LAMBDA_TIMEOUT_MS, LATENESS_SECONDS, ONLY, PER_REGION, PROFILE,
  QUICK, REGION_COUNTS, REGIONS, RSS_EVENTS, runs, WARM_THROUGHPUT, WARMUP_EVENTS,
} from './bench/settings';
import { markdownTable, rows, type Row } from './bench/table';
import { throughputRun, type ThroughputRun } from './bench/throughput';

export interface Results {
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
  freshness?: FreshnessRun[];
  cutShort?: CutShortRun;
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

  if (!['cpu', 'rss', 'throughput', 'freshness', 'cut-short'].some(runs)) return void (await finish(results));
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
    if (runs('freshness')) {
      results.freshness = [];
      for (const rate of FRESHNESS_RATES) {
        say(`freshness: ${rate} events/s with long-tail release delays, time compressed ${COMPRESS}×`);
        results.freshness.push(await freshnessRun(ctx, rate));
      }
    }
    if (runs('cut-short')) {
      say('cut short: a 3,000-event backlog read by runs with a 25 s timeout');
      results.cutShort = await cutShortRun(ctx);
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
  const file = QUICK || ONLY || PROFILE || WARM_THROUGHPUT || CPU_AT_LIMIT || flag('per-region') || flag('events-per-hour') || flag('regions') || flag('fresh-rates') || flag('compress') || flag('audit-grid') ? path.join(WORK_DIR, 'results-quick.json') : path.join(REPO_ROOT, 'bench', 'results.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${markdownTable(results.table)}\n\n`);
  say(`done in ${results.durationSeconds} s; results in ${path.relative(REPO_ROOT, file)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
