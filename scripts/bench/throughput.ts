/** Throughput at the API limit: a backlog read at 2 LookupEvents/s per region, 1, 2 and 4 regions. */
import type { ForwarderSummary } from '../../functions/forwarder/forward';
import { cpuMs, placeBacklog, putConnector, resetStandIns, round, say, summaryOf, workerEnv, type Context } from './context';
import type { MeterReport } from './ddb-meter';
import { Worker } from './lambda-process';
import { API_EVENTS_PER_SECOND, LAMBDA_TIMEOUT_MS, PER_REGION, WARM_THROUGHPUT } from './settings';
import type { InvokeResult } from './worker';

export interface ThroughputRun {
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

export async function throughputRun(ctx: Context, regions: string[]): Promise<ThroughputRun> {
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
