/**
 * A seeded fault schedule through the real Lambda handler (invoke-handler.ts) with production
 * settings but for the lateness window. Faults are armed before each invocation: CloudTrail
 * faults queued for a region, DNIF answering 5xx/429 with or without Retry-After, resetting
 * connections for a while, hanging, dribbling its answer; a stale lease of another owner; two
 * invocations at once; short Lambda timeouts.
 *
 * No process is killed here, so no event may arrive twice but for a lost 2xx at a run's deadline.
 * After each run the cursor oracle checks the stored cursors against what DNIF has.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { resetForwarderState } from '../../../../functions/forwarder/handler';
import { resetSecretCache } from '../../../../functions/core/secret';
import type { StandIns } from '../../../../standins';
import { CursorOracle } from './cursor-oracle';
import { explainByCutoffs } from './delivery-ledger';
import { driveUntilFinished } from './driver';
import { checkDelivery, SourceTruth } from './events';
import { queueRunFaults } from './faults/cloudtrail';
import { armRunFault } from './faults/dnif';
import { scheduleFigures } from './figures';
import { HandlerInvoker } from './invoke-handler';
import { LeaseTable } from './lease-table';
import type { SourceObserver } from '../../../helpers/observe-source';
import { planBackfill } from './plan';
import { BACKFILL_SECONDS, emptyTally, LATENESS_SECONDS, SETTLE_SECONDS, type Figures, type ScheduleBase } from './schedule-spec';
import { rng, seedFor } from './suite';

/** A run that is not cut off (`cutoffMs`) gets a 30 s Lambda timeout. */
export interface HandlerScheduleSpec extends ScheduleBase {
  rates: { cloudtrail: number; dnif: number; lease: number; concurrent: number; cutoff: number };
}

const ENV_KEYS = ['LATENESS_SECONDS', 'SETTLE_SECONDS', 'BACKFILL_SECONDS', 'BATCH_MAX_EVENTS', 'DEADLINE_RESERVE_MS'] as const;

export async function runHandlerSchedule(
  s: StandIns,
  spec: HandlerScheduleSpec,
  observer: SourceObserver,
  putSecret: (doc: Record<string, unknown>) => void,
): Promise<Figures> {
  const started = Date.now();
  const seed = seedFor(spec.name);
  const rnd = rng(seed);
  const truth = new SourceTruth();
  const tally = emptyTally();
  const counts = tally.counts;
  const violations: string[] = [];
  const admin = DynamoDBDocumentClient.from(s.dynamodb.client());
  const table = s.dynamodb.tableName;
  const connectorName = `relh-${spec.name}-${seed.toString(36)}`;
  const oracle = new CursorOracle(truth, spec.regions, violations);
  const leases = new LeaseTable(admin, table, connectorName);
  const invoker = new HandlerInvoker(spec.name, spec.reserveMs, tally, violations);

  const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  Object.assign(process.env, {
    LATENESS_SECONDS: String(LATENESS_SECONDS),
    SETTLE_SECONDS: String(SETTLE_SECONDS),
    BACKFILL_SECONDS: String(BACKFILL_SECONDS),
    BATCH_MAX_EVENTS: String(spec.batchMaxEvents),
    DEADLINE_RESERVE_MS: String(spec.reserveMs),
  });
  resetForwarderState();
  resetSecretCache();

  s.reset();
  s.dnif.setAuth({ type: 'bearer', token: `tok-h-${randomUUID()}` });
  putSecret(s.connector({ connectorName, ...(spec.regions.length === 1 ? { awsRegion: spec.regions[0] } : { awsRegion: undefined, awsRegions: spec.regions }) }));

  const nowSec = Math.floor(started / 1000);
  planBackfill({ s, spec, seed, rnd, truth, startSec: nowSec - BACKFILL_SECONDS, nowSec });
  const faultsBefore = s.cloudtrail.stats().faultsApplied;

  const checkCursors = async (runStartedAt: number) => {
    const received = s.dnif.eventsById();
    for (const region of spec.regions) {
      const out = await admin.send(new GetCommand({ TableName: table, Key: { pk: `cursor#${connectorName}#${region}` }, ConsistentRead: true }));
      if (!out.Item) continue;
      oracle.check(region, { head: Number(out.Item.head), sweep: Number(out.Item.sweep) }, received, `after run ${invoker.runs}, the forwarder`, runStartedAt);
    }
  };

  // The first run carries the whole backlog: a short Lambda timeout is sure to cut it off.
  const timeout = () => (invoker.runs === 0 || rnd.chance(spec.rates.cutoff) ? rnd.int(spec.cutoffMs[0], spec.cutoffMs[1]) : 30_000);

  const tick = async () => {
    queueRunFaults(s, rnd, spec.regions, spec.rates.cloudtrail);
    const timeouts = [timeout(), timeout()];
    const undo = await armRunFault(s.dnif, rnd, spec.rates.dnif, Math.max(...timeouts) < 30_000, counts);
    let stale = false;
    if (rnd.chance(spec.rates.lease)) {
      stale = true;
      await leases.put(`zombie-${randomUUID()}`, Date.now() - rnd.int(1, 60_000));
    }
    const pair = !stale && rnd.chance(spec.rates.concurrent);
    const results = pair ? await Promise.all([invoker.invoke(timeouts[0]), invoker.invoke(timeouts[1])]) : [await invoker.invoke(timeouts[0])];
    await undo();
    if (pair) {
      const ran = results.filter((r) => r.summary && !r.summary.skipped).length;
      if (ran !== 1) violations.push(`two invocations at once: ${ran} ran (expected exactly one)`);
      else counts.conflicts += 1;
    }
    if (stale) {
      if (results[0].summary?.skipped) violations.push(`run ${invoker.runs} was kept out by a stale lease`);
      else counts.conflicts += 1;
    }
    await checkCursors(Math.min(...results.map((r) => r.startedAt)));
    await leases.waitForExpiry((l) => l.owner.startsWith('zombie'));
  };

  try {
    await driveUntilFinished({
      rnd,
      started,
      maxRuns: spec.maxRuns,
      budgetMs: spec.budgetMs,
      runs: () => invoker.runs,
      finished: () => oracle.finished(s.dnif.eventsById()),
      tick,
      violations,
    });

    // A last clean run finds nothing to send.
    s.cloudtrail.clearFaults();
    s.dnif.normal();
    const final = await invoker.invoke(30_000);
    if (!final.summary || final.summary.skipped || final.summary.forwarded !== 0 || Object.values(final.summary.regions).some((r) => r.error)) {
      violations.push(`final clean run: forwarded ${final.summary?.forwarded}, skipped ${final.summary?.skipped}`);
    }
  } finally {
    for (const k of ENV_KEYS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
    resetForwarderState();
    admin.destroy();
  }

  const report = checkDelivery(s.dnif, truth, connectorName);
  const explained = explainByCutoffs(s.dnif, report, invoker.cuts);
  return scheduleFigures({
    s,
    spec,
    seed,
    truth,
    observer,
    started,
    faultsBefore,
    runs: invoker.runs,
    tally,
    report,
    allowedBatches: 0,
    lostAcks: explained.lostAcks,
    unexplained: explained.unexplained,
    violations,
  });
}
