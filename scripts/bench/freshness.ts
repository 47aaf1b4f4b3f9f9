/**
 * Freshness: how soon events reach DNIF once they show up in Event history, and what it costs.
 *
 * Events arrive at a steady rate (5, 20, 80 events/s) for several schedule intervals, each
 * released by the CloudTrail stand-in after a delay from the long tail of
 * standins/release-delay.ts (60% ≤ 2 min, 30% ≤ 5, 9% ≤ 10, 1% up to LATENESS). The real
 * handler runs on the schedule in a child process, as in the throughput scenario.
 *
 * Time is compressed by `--compress=K` (default 20), the way the tests compress it: LATENESS
 * (900 s), SETTLE (300 s), the schedule (5 min), the Lambda timeout (270 s), the deadline
 * reserve and every release delay are divided by K, while the event rates and LookupEvents' 2
 * requests/s stay real. The load against the API, and so the budget decisions, are those of
 * real time; every duration reported is multiplied back by K. What does not scale: fixed
 * per-run costs (tens of ms, × K when reported) and the 10 s `seen` buckets (a bucket holds K
 * times more history, so DynamoDB read units are understated; docs/benchmark.md gives them
 * for real time).
 *
 * The cut-short scenario is not compressed: a 3,000-event backlog older than LATENESS read by
 * runs with a 25 s Lambda timeout (10 s of work after the 15 s reserve).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ForwarderSummary } from '../../functions/forwarder/forward';
import { drawDelayMs, generateEvents, longTailBands, seededRandom } from '../../standins';
import { putConnector, resetStandIns, round, say, summaryOf, workerEnv, type Context } from './context';
import { Worker } from './lambda-process';
import { flag, LATENESS_SECONDS } from './settings';

export const COMPRESS = Number(flag('compress') ?? 20);
const RATES = (flag('fresh-rates') ?? '5,20,80').split(',').map(Number);
const INTERVALS = Number(flag('fresh-intervals') ?? 8);
const REAL = { intervalSeconds: 300, settleSeconds: 300, timeoutMs: 270_000, reserveMs: 15_000 };
const REGION = 'us-east-1';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface FreshnessRun {
  eventsPerSecond: number;
  compress: number;
  intervals: number;
  events: number;
  delivered: number;
  /** Not delivered when the scenario stopped (all of LATENESS and 10 intervals after the last event). */
  undelivered: number;
  duplicates: number;
  runs: number;
  /** Real seconds (measured × compress). */
  visibleToDnif: Percentiles;
  eventTimeToDnif: Percentiles;
  lookups: number;
  lookupsPerEvent: number;
  /** Runs cut short by their budget (a backlog): events forwarded per second of their wall time / 100. */
  throughputWhileBehind?: { runs: number; ratioToLimit: number; eventsPerCall: number };
  /** Re-read window the runs chose, real seconds: min / median / max. */
  rereadSeconds: { min: number; median: number; max: number };
  ddbReadUnitsPer1000Events: number;
  ddbWriteUnitsPer1000Events: number;
}

export interface CutShortRun {
  events: number;
  timeoutMs: number;
  runs: number;
  firstRunForwarded: number;
  lookups: number;
  pagesNeeded: number;
  callsPer1000Events: number;
  delivered: number;
  duplicates: number;
}

const percentile = (sorted: number[], q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);
function percentiles(values: number[], scale: number): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const r = (n: number) => round(n * scale, 1);
  return { p50: r(percentile(s, 0.5)), p95: r(percentile(s, 0.95)), p99: r(percentile(s, 0.99)), max: r(s[s.length - 1] ?? NaN) };
}

/** First DNIF acknowledgement (ms) of each event id. */
function firstArrivals(ctx: Context): Map<string, number> {
  const at = new Map<string, number>();
  for (const req of ctx.s.dnif.requests) {
    for (const e of req.events) {
      const id = e.dnifForwarder?.eventId;
      if (typeof id === 'string' && !at.has(id)) at.set(id, req.at);
    }
  }
  return at;
}

export async function freshnessRun(ctx: Context, eventsPerSecond: number): Promise<FreshnessRun> {
  const k = COMPRESS;
  const intervalMs = (REAL.intervalSeconds * 1000) / k;
  const latenessSeconds = Math.round(LATENESS_SECONDS / k);
  resetStandIns(ctx, 2);
  await sleep(1100);
  const start = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  const count = Math.round(eventsPerSecond * (INTERVALS * intervalMs) / 1000);
  const records = generateEvents({ count, region: REGION, accountId: ctx.s.accountId, from: start, perSecond: eventsPerSecond, seed: 900 + eventsPerSecond });
  const bands = longTailBands(LATENESS_SECONDS * 1000, 1 / k);
  const random = seededRandom(eventsPerSecond);
  const delay = new Map(records.map((r) => [r.eventID, drawDelayMs(bands, random)]));
  ctx.s.cloudtrail.addEvents(REGION, records, { accountId: ctx.s.accountId, releaseAfterMs: (r) => delay.get(r.eventID) as number });
  const truth = new Map(records.map((r) => [r.eventID, { t: Date.parse(r.eventTime), v: Date.parse(r.eventTime) + (delay.get(r.eventID) as number) }]));
  const lastEventMs = Math.max(...[...truth.values()].map((x) => x.t));

  const env = workerEnv(ctx, Math.ceil(intervalMs / 1000), {
    LATENESS_SECONDS: String(latenessSeconds),
    SETTLE_SECONDS: String(Math.round(REAL.settleSeconds / k)),
    DEADLINE_RESERVE_MS: String(Math.round(REAL.reserveMs / k)),
    SECRET_MAX_AGE_SECONDS: '3600',
  });
  const worker = await Worker.start(`freshness-${eventsPerSecond}`, env);
  const summaries: Array<{ summary: ForwarderSummary; wallMs: number; calls: number }> = [];
  try {
    putConnector(ctx, `bench-fresh-${eventsPerSecond}-${Date.now()}`, [REGION]);
    // Long enough for the settle pass of the last event and a backlog to drain.
    const endBy = lastEventMs + (latenessSeconds * 1000 + 10 * intervalMs);
    for (let tick = start; ; ) {
      if (tick > Date.now()) await sleep(tick - Date.now());
      const before = ctx.s.cloudtrail.stats().lookups;
      const r = await worker.invoke({ timeoutMs: Math.round(REAL.timeoutMs / k) });
      summaries.push({ summary: summaryOf(r, `freshness ${eventsPerSecond}/s`), wallMs: r.wallMs, calls: ctx.s.cloudtrail.stats().lookups - before });
      // The schedule fires every interval; a run still going when it fires is followed at once.
      tick = Math.max(tick + intervalMs, Date.now());
      if (ctx.s.dnif.eventsById().size >= count || Date.now() > endBy) break;
    }
  } finally {
    worker.stop();
  }

  const arrivals = firstArrivals(ctx);
  const visible: number[] = [];
  const fromTime: number[] = [];
  for (const [id, x] of truth) {
    const at = arrivals.get(id);
    if (at === undefined) continue;
    visible.push((at - x.v) / 1000);
    fromTime.push((at - x.t) / 1000);
  }
  const behind = summaries.filter((x) => x.summary.regions[REGION]?.stoppedEarly);
  const behindForwarded = behind.reduce((n, x) => n + x.summary.forwarded, 0);
  const behindCalls = behind.reduce((n, x) => n + x.calls, 0);
  const behindWall = behind.reduce((n, x) => n + x.wallMs, 0) / 1000;
  const widths = summaries.map((x) => (x.summary.regions[REGION]?.budget?.rereadSeconds ?? NaN) * k).filter(Number.isFinite).sort((a, b) => a - b);
  const meter = ctx.meter.report();
  const lookups = ctx.s.cloudtrail.stats().lookups;
  const run: FreshnessRun = {
    eventsPerSecond,
    compress: k,
    intervals: INTERVALS,
    events: count,
    delivered: arrivals.size,
    undelivered: count - [...truth.keys()].filter((id) => arrivals.has(id)).length,
    duplicates: ctx.s.dnif.duplicates,
    runs: summaries.length,
    visibleToDnif: percentiles(visible, k),
    eventTimeToDnif: percentiles(fromTime, k),
    lookups,
    lookupsPerEvent: round(lookups / count, 3),
    throughputWhileBehind: behind.length
      ? { runs: behind.length, ratioToLimit: round(behindForwarded / behindWall / 100, 3), eventsPerCall: round(behindForwarded / Math.max(1, behindCalls), 1) }
      : undefined,
    rereadSeconds: { min: widths[0] ?? NaN, median: widths[Math.floor(widths.length / 2)] ?? NaN, max: widths[widths.length - 1] ?? NaN },
    ddbReadUnitsPer1000Events: round((meter.readUnits.expected / count) * 1000, 2),
    ddbWriteUnitsPer1000Events: round((meter.writeUnits.expected / count) * 1000, 2),
  };
  say(
    `  ${eventsPerSecond}/s: visible→DNIF p50/p95/p99/max ${Object.values(run.visibleToDnif).join('/')} s, EventTime→DNIF ${Object.values(run.eventTimeToDnif).join('/')} s; ` +
      `${run.delivered}/${count} delivered, ${run.duplicates} duplicates, ${run.runs} runs, ${run.lookupsPerEvent} calls/event, re-read ${run.rereadSeconds.min}–${run.rereadSeconds.max} s` +
      (run.throughputWhileBehind ? `; while behind ${run.throughputWhileBehind.ratioToLimit} of the limit (${run.throughputWhileBehind.runs} runs)` : ''),
  );
  return run;
}

export async function cutShortRun(ctx: Context): Promise<CutShortRun> {
  const events = 3000;
  const timeoutMs = 25_000;
  resetStandIns(ctx, 2);
  await sleep(1100);
  const now = Date.now();
  const records = generateEvents({ count: events, region: REGION, accountId: ctx.s.accountId, from: now - 50 * 60_000, to: now - (LATENESS_SECONDS + 60) * 1000, seed: 3000 });
  ctx.s.cloudtrail.addEvents(REGION, records, { accountId: ctx.s.accountId });
  const worker = await Worker.start('cut-short', workerEnv(ctx, 51 * 60));
  const forwarded: number[] = [];
  try {
    putConnector(ctx, `bench-cut-${Date.now()}`, [REGION]);
    for (let i = 0; i < 30; i++) {
      const summary = summaryOf(await worker.invoke({ timeoutMs }), 'cut-short');
      forwarded.push(summary.forwarded);
      if (!summary.regions[REGION]?.stoppedEarly) break;
    }
  } finally {
    worker.stop();
  }
  const lookups = ctx.s.cloudtrail.stats().lookups;
  const run: CutShortRun = {
    events,
    timeoutMs,
    runs: forwarded.length,
    firstRunForwarded: forwarded[0] ?? 0,
    lookups,
    pagesNeeded: Math.ceil(events / 50),
    callsPer1000Events: round((lookups / events) * 1000, 1),
    delivered: ctx.s.dnif.eventsById().size,
    duplicates: ctx.s.dnif.duplicates,
  };
  say(`  cut short: ${run.lookups} LookupEvents calls for ${events} events (${run.pagesNeeded} pages needed) in ${run.runs} runs of ${timeoutMs / 1000} s; first run ${run.firstRunForwarded}; ${run.delivered} delivered, ${run.duplicates} duplicates`);
  return run;
}

export const FRESHNESS_RATES = RATES;
/** Real seconds, for the table. */
export const FRESHNESS_INTERVAL_SECONDS = REAL.intervalSeconds;
