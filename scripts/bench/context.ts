/** What every scenario shares: the stand-ins and DynamoDB meter, backlogs, connectors, output. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ForwarderSummary } from '../../functions/forwarder/forward';
import { generateEvents, toWireEvent, type CloudTrailRecord, type StandIns } from '../../standins';
import { WORK_DIR } from './bundle';
import type { DdbMeter } from './ddb-meter';
import { BACKFILL_MARGIN_SECONDS, BACKLOG_END_MARGIN_SECONDS, EVENTS_PER_HOUR, LATENESS_SECONDS } from './settings';
import type { InvokeResult } from './worker';

export const t0 = Date.now();
export const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
export const say = (msg: string): void => void process.stdout.write(`[${elapsed()}] ${msg}\n`);
export const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

export interface Context {
  s: StandIns;
  meter: DdbMeter;
}

/** Clean stand-ins for the next scenario; `rate` is the CloudTrail limit per account and region. */
export function resetStandIns(ctx: Context, rate: number): void {
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
export function placeBacklog(
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
export function writeWireEvents(region: string, records: CloudTrailRecord[]): string {
  const file = path.join(WORK_DIR, `events-${region}.ndjson`);
  writeFileSync(file, records.map((r) => JSON.stringify(toWireEvent(r))).join('\n'));
  return file;
}

export function workerEnv(ctx: Context, backfillSeconds: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...ctx.s.env,
    // The meter proxies DynamoDB to dynalite and prices each call (scripts/bench/ddb-meter.ts).
    AWS_ENDPOINT_URL_DYNAMODB: ctx.meter.url,
    LATENESS_SECONDS: String(LATENESS_SECONDS),
    BACKFILL_SECONDS: String(backfillSeconds),
    ...extra,
  };
}

export function putConnector(ctx: Context, name: string, regions: string[], dnif: Record<string, unknown> = {}): void {
  const where = regions.length === 1 ? { awsRegion: regions[0] } : { awsRegion: undefined, awsRegions: regions };
  ctx.s.putConnectorSecret(ctx.s.connector({ connectorName: name, ...where, dnif }));
}

export function summaryOf(result: InvokeResult, what: string): ForwarderSummary {
  const summary = (result.summary ?? result.error?.summary) as ForwarderSummary | undefined;
  if (result.error) say(`  ! ${what}: the run failed: ${result.error.name}: ${result.error.message}`);
  if (!summary) throw new Error(`${what}: no summary (${result.error?.message ?? 'unknown'})`);
  return summary;
}

export const cpuMs = (r: InvokeResult): number => r.cpuUserMs + r.cpuSystemMs;
