/** CPU and memory with the API wait removed: the pipeline's own cost, split into read / checkpoint / deliver. */
import type { ForwarderSummary } from '../../functions/forwarder/forward';
import { cpuMs, placeBacklog, putConnector, resetStandIns, round, say, summaryOf, workerEnv, writeWireEvents, type Context } from './context';
import { Worker } from './lambda-process';
import { CPU_AT_LIMIT, CPU_BACKFILL_MARGIN_SECONDS, CPU_EVENTS, CPU_REPEATS, LAMBDA_TIMEOUT_MS, PER_REGION, RSS_EVENTS, WARMUP_EVENTS } from './settings';
import type { InvokeMode, InvokeResult } from './worker';

export interface PipelineRun {
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

export function pipelineFigures(ctx: Context, label: string, mode: InvokeMode, gzip: boolean, events: number, r: InvokeResult, summary: ForwarderSummary): PipelineRun {
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
export async function cpuRuns(ctx: Context, gzip: boolean): Promise<PipelineRun[]> {
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
export const lambdaHeapFlags = (memoryMB: number): string[] => [
  `--max-semi-space-size=${Math.floor(memoryMB / 10 / 2)}`,
  `--max-old-space-size=${memoryMB - Math.floor(memoryMB / 10)}`,
];
export const HEAP_CAP_128MB = lambdaHeapFlags(128);

/** A cold process forwarding RSS_EVENTS without API waits: its peak RSS. */
export async function rssRun(ctx: Context, nodeArgs: string[] = []): Promise<PipelineRun> {
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
