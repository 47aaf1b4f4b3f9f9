/**
 * What a fault schedule is given (events, runs, budget, fault rates) and what it reports (its
 * figures), for both invoke strategies: forward() with injected faults (schedule.ts) and the
 * real Lambda handler (handler-schedule.ts).
 */
import type { ForwarderSummary } from '../../../../functions/forwarder/forward';

export const LATENESS_SECONDS = 6;
export const SETTLE_SECONDS = 2;
export const BACKFILL_SECONDS = 1200;

export type AuthMode = 'bearer' | 'basic' | 'header' | 'hmac';

export interface FaultRates {
  /** Per slice read: queue a CloudTrail fault (throttle burst, 5xx, reset, short page, delay) for its region. */
  cloudtrail: number;
  /** Per batch: arm a DNIF fault (5xx/429 ± Retry-After, hang, slow body, reset, refused, outage, 4xx). */
  dnif: number;
  /** Per DynamoDB request: a throttling error the SDK retries. */
  dynamoTransient: number;
  /** Per seen# write: fail it for good, after DNIF's 2xx (the batch goes out again next run). */
  seenWriteFail: number;
  /** Per run: kill the process right after the 2xx of its n-th batch (one-region schedules only). */
  kill: number;
  /** Per run: a lease held by another owner beforehand, stale or live. */
  lease: number;
  /** Per run: another owner takes the lease while the run is going. */
  leaseSteal: number;
  /** Per cursor write: someone else has just written the cursor further on. */
  cursorAhead: number;
  /** Per tick: two invocations at once. */
  concurrent: number;
  /** Per run: a short Lambda timeout, so the run is cut off. */
  cutoff: number;
}

export const NO_FAULTS: FaultRates = {
  cloudtrail: 0,
  dnif: 0,
  dynamoTransient: 0,
  seenWriteFail: 0,
  kill: 0,
  lease: 0,
  leaseSteal: 0,
  cursorAhead: 0,
  concurrent: 0,
  cutoff: 0,
};

/** What both schedules (this one and the handler-driven one) are given: the events, the runs and the budget. */
export interface ScheduleBase {
  name: string;
  regions: string[];
  backlogPerRegion: number;
  livePerRegion: number;
  clustersPerRegion: number;
  /** Live events happen over this many seconds from the start. */
  liveSpanSec: number;
  batchMaxEvents: number;
  /** Lambda timeout of a cut-off run, ms. */
  cutoffMs: readonly [number, number];
  reserveMs: number;
  maxRuns: number;
  budgetMs: number;
}

export interface ScheduleSpec extends ScheduleBase {
  auth: AuthMode;
  /** DNIF's HTTP Connector (default), or a DNIF Adapter over syslog with mutual TLS (the syslog receiver stand-in). */
  transport?: 'http' | 'syslog';
  format?: 'json' | 'ndjson';
  gzip?: boolean;
  batchMaxBytes?: number;
  rates: FaultRates;
  maxKills?: number;
  maxSeenWriteFails?: number;
}

export interface FaultCounts {
  cloudtrail: number;
  dnif: number;
  dynamo: number;
  kills: number;
  conflicts: number;
  cutoffs: number;
}

export interface Figures {
  name: string;
  seed: number;
  events: number;
  late: number;
  regions: number;
  runs: number;
  skipped: number;
  faults: FaultCounts;
  lost: number;
  duplicates: number;
  /** Batches allowed to arrive twice: one per injected kill or failed seen# write after a 2xx. */
  allowedBatches: number;
  /** Batches DNIF stored whose 2xx the forwarder never saw (a send aborted at the deadline): re-sent. */
  lostAcks: number;
  boundaryEvents: number;
  /** LookupEvents calls by the forwarder in any 1 s window, per region (the SPEC's rule). */
  maxRequestsPerSecond: number;
  /** The same, as the stand-in saw their arrival (jitters with the shared event loop). */
  standInMaxRequestsPerSecond: number;
  regionErrors: Record<string, number>;
  ms: number;
  violations: string[];
  problems: string[];
  lostIds: string[];
  unexplainedDuplicates: string[];
}

/** What both schedules (this one and the handler-driven one) keep of their finished runs. */
export interface RunTally {
  skipped: number;
  counts: FaultCounts;
  regionErrors: Record<string, number>;
}

/** Counts one finished run: skipped (another owner held the lease), and per region a cut-off (stopped early) or an error by code. */
export function tallyRun(tally: RunTally, summary: ForwarderSummary | undefined): void {
  if (summary?.skipped) tally.skipped += 1;
  for (const r of Object.values(summary?.regions ?? {})) {
    if (r.stoppedEarly) tally.counts.cutoffs += 1;
    if (r.error) tally.regionErrors[r.error.code] = (tally.regionErrors[r.error.code] ?? 0) + 1;
  }
}

export const emptyTally = (): RunTally => ({ skipped: 0, counts: { cloudtrail: 0, dnif: 0, dynamo: 0, kills: 0, conflicts: 0, cutoffs: 0 }, regionErrors: {} });

export const faultTotal = (f: FaultCounts): number => f.cloudtrail + f.dnif + f.dynamo + f.kills + f.conflicts + f.cutoffs;

export function figuresLine(f: Figures): string {
  const kinds = `ct ${f.faults.cloudtrail}, dnif ${f.faults.dnif}, ddb ${f.faults.dynamo}, kill ${f.faults.kills}, conflict ${f.faults.conflicts}, cutoff ${f.faults.cutoffs}`;
  const errors = Object.entries(f.regionErrors)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
  return (
    `[faults] ${f.name.padEnd(22)} seed=${f.seed} events=${f.events} (late ${f.late}, on slice boundaries ${f.boundaryEvents}) regions=${f.regions} ` +
    `runs=${f.runs} (skipped ${f.skipped}) faults=${faultTotal(f.faults)} [${kinds}] lost=${f.lost} duplicates=${f.duplicates} ` +
    `(allowed: ${f.allowedBatches} batch${f.allowedBatches === 1 ? '' : 'es'}${f.lostAcks ? `, ${f.lostAcks} lost 2xx` : ''}) LookupEvents/s max=${f.maxRequestsPerSecond} (stand-in saw ${f.standInMaxRequestsPerSecond}) ` +
    `${errors ? ` failed-region-runs: ${errors}` : ''} ${(f.ms / 1000).toFixed(1)}s`
  );
}

