/**
 * A seeded fault schedule through the real Lambda handler with production settings but for the
 * lateness window: the secret from Secrets Manager, the handler's own DynamoDB client and sink
 * (30 s request timeout, 250 ms backoff), Lambda contexts whose time really runs out. Faults are
 * armed before each invocation: CloudTrail faults queued for a region, DNIF answering 5xx/429 with
 * or without Retry-After, resetting connections for a while, hanging, dribbling its answer; a
 * stale lease of another owner; two invocations at once; short Lambda timeouts.
 *
 * No process is killed here, so no event may arrive twice. After each run the stored cursors are
 * checked against what DNIF has: nothing undelivered before `sweep`, nothing visible at the start
 * of the run and undelivered in the span `head` moved over.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { handler, resetForwarderState } from '../../../functions/forwarder/handler';
import { ForwarderRunError, type ForwarderSummary } from '../../../functions/forwarder/forward';
import { resetSecretCache } from '../../../functions/core/secret';
import { lambdaContext, scheduledEvent, type StandIns } from '../../../standins';
import { addPlannedEvents, checkDelivery, SourceTruth } from './events';
import { emit } from './log-scan';
import type { SourceObserver } from './observe';
import { BACKFILL_SECONDS, hangOneDnifRequest, LATENESS_SECONDS, SETTLE_SECONDS, tallyRun, type Figures, type RunTally, type ScheduleBase } from './schedule';
import { rng, seedFor, untilTime, type Rng } from './suite';

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
  const tally: RunTally = { skipped: 0, counts: { cloudtrail: 0, dnif: 0, dynamo: 0, kills: 0, conflicts: 0, cutoffs: 0 }, regionErrors: {} };
  const { counts, regionErrors } = tally;
  const violations: string[] = [];
  const admin = DynamoDBDocumentClient.from(s.dynamodb.client());
  const table = s.dynamodb.tableName;
  const connectorName = `relh-${spec.name}-${seed.toString(36)}`;
  const stored = new Map<string, { head: number; sweep: number }>();
  let runs = 0;
  /** When each run's sink had to give up (its deadline less the reserve), and whether it was cut off. */
  const cuts: { at: number; cutOff: boolean }[] = [];

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
  const startSec = nowSec - BACKFILL_SECONDS;
  spec.regions.forEach((region, i) => {
    const clusters = Array.from({ length: spec.clustersPerRegion }, () => ({ sec: rnd.int(startSec + 60, nowSec - 30), size: rnd.int(51, 130) }));
    addPlannedEvents(
      s,
      truth,
      region,
      {
        backlog: { count: spec.backlogPerRegion, fromSec: startSec + 1, toSec: nowSec - 25 },
        clusters,
        live: { count: spec.livePerRegion, fromSec: nowSec + 1, toSec: nowSec + spec.liveSpanSec, latenessSeconds: LATENESS_SECONDS, settleSeconds: SETTLE_SECONDS },
      },
      rnd,
      (seed + i * 104_729) >>> 0,
    );
  });
  const faultsBefore = s.cloudtrail.stats().faultsApplied;

  const readCursor = async (region: string) => {
    const out = await admin.send(new GetCommand({ TableName: table, Key: { pk: `cursor#${connectorName}#${region}` }, ConsistentRead: true }));
    return out.Item ? { head: Number(out.Item.head), sweep: Number(out.Item.sweep) } : undefined;
  };
  const lease = async () => {
    const out = await admin.send(new GetCommand({ TableName: table, Key: { pk: `lease#${connectorName}` }, ConsistentRead: true }));
    return out.Item ? { owner: String(out.Item.owner), leaseUntil: Number(out.Item.leaseUntil) } : undefined;
  };

  const done = async () => {
    if (Date.now() < (truth.lastTime() + LATENESS_SECONDS + 1) * 1000) return false;
    for (const region of spec.regions) if ((stored.get(region)?.sweep ?? 0) <= truth.lastTime(region)) return false;
    const received = s.dnif.eventsById();
    return [...truth.byId.keys()].every((id) => received.has(id));
  };

  let quiet = false;
  const invoke = async (timeoutMs: number) => {
    runs += 1;
    const t0 = Date.now();
    const cut = { at: t0 + timeoutMs - spec.reserveMs, cutOff: false };
    cuts.push(cut);
    let summary: ForwarderSummary | undefined;
    try {
      summary = await handler(scheduledEvent(), lambdaContext(timeoutMs));
    } catch (err) {
      if (err instanceof ForwarderRunError) summary = err.summary;
      else violations.push(`run ${runs} failed outside a region: ${String(err)}`);
    }
    const elapsed = Date.now() - t0;
    if (process.env.FAULTS_DEBUG === '1') {
      const errs = Object.entries(summary?.regions ?? {}).map(([k, r]) => `${k}:${r.error?.code ?? (r.stoppedEarly ? 'cut' : 'ok')}`);
      emit(`[debug] ${spec.name} run ${runs} timeout=${timeoutMs} took=${elapsed} forwarded=${summary?.forwarded} skipped=${!!summary?.skipped} ${errs.join(' ')}`);
    }
    if (elapsed > timeoutMs) violations.push(`run ${runs} took ${elapsed} ms, past its ${timeoutMs} ms Lambda timeout`);
    tallyRun(tally, summary);
    cut.cutOff = Object.values(summary?.regions ?? {}).some((r) => r.stoppedEarly || r.error);
    for (const r of Object.values(summary?.regions ?? {})) counts.dnif += r.sinkErrors;
    return { summary, startedAt: t0 };
  };

  /** Arms the DNIF fault of this run; returns how to undo it after the run. */
  const armDnif = async (r: Rng, shortRun: boolean): Promise<() => Promise<void>> => {
    const dnif = s.dnif;
    if (quiet || !r.chance(spec.rates.dnif)) return async () => undefined;
    const kind = r.weighted<string>([
      [5, 'status'],
      [1, 'reset'],
      // A hung request waits for the sink's 30 s timeout or the deadline: only in short runs.
      [shortRun ? 1 : 0, 'hang'],
      [1, 'slow'],
    ]);
    if (kind === 'status') {
      const retryAfter = r.weighted<number | string | undefined>([
        [3, undefined],
        [3, 0],
        [1, 1],
      ]);
      dnif.failNext(r.int(1, 3), r.pick([500, 502, 503, 504, 429]), retryAfter === undefined ? {} : { retryAfter });
      return async () => dnif.normal();
    }
    if (kind === 'reset') {
      // Armed before the invocation, so no batch is in flight when connections drop.
      await dnif.down('reset');
      const back = new Promise<void>((res) => setTimeout(res, r.int(200, 900))).then(() => dnif.up());
      return () => back;
    }
    // The hung request runs into the deadline.
    if (kind === 'hang') return hangOneDnifRequest(dnif, 40_000);
    dnif.slowBody(r.int(200, 1500));
    counts.dnif += 1;
    return async () => dnif.normal();
  };

  const checkCursors = async (runStartedAt: number) => {
    const received = s.dnif.eventsById();
    for (const region of spec.regions) {
      const c = await readCursor(region);
      if (!c) continue;
      const prev = stored.get(region) ?? { head: 0, sweep: 0 };
      if (c.head < prev.head || c.sweep < prev.sweep) violations.push(`cursor of ${region} moved backwards`);
      for (const e of truth.inRegion(region)) {
        if (e.time >= Math.max(c.head, c.sweep)) break;
        if (received.has(e.id)) continue;
        if (e.time < c.sweep) violations.push(`sweep ${c.sweep} of ${region} is past undelivered ${e.id} (EventTime ${e.time})`);
        else if (e.time >= prev.head && e.time < c.head && e.visibleAt <= runStartedAt) violations.push(`head ${c.head} of ${region} is past visible undelivered ${e.id}`);
      }
      stored.set(region, c);
    }
  };

  // The first run carries the whole backlog: a short Lambda timeout is sure to cut it off.
  const timeout = () => (runs === 0 || rnd.chance(spec.rates.cutoff) ? rnd.int(spec.cutoffMs[0], spec.cutoffMs[1]) : 30_000);

  try {
    while (!(await done())) {
      if (runs >= spec.maxRuns || Date.now() - started > spec.budgetMs) {
        violations.push(`not finished after ${runs} runs and ${Date.now() - started} ms`);
        break;
      }
      for (let k = rnd.chance(spec.rates.cloudtrail) ? rnd.int(1, 3) : 0; k > 0; k--) {
        const region = rnd.pick(spec.regions);
        rnd.weighted<() => void>([
          [3, () => s.cloudtrail.injectFault({ kind: 'throttle', times: rnd.int(1, 3), region })],
          [3, () => s.cloudtrail.injectFault({ kind: 'internal', status: rnd.pick([500, 503] as const), times: rnd.int(1, 2), region })],
          [2, () => s.cloudtrail.injectFault({ kind: 'reset', region })],
          [2, () => s.cloudtrail.injectFault({ kind: 'short-page', size: rnd.int(1, 49), times: rnd.int(1, 3), region })],
          [1, () => s.cloudtrail.injectFault({ kind: 'delay', ms: rnd.int(100, 2500), region })],
        ])();
      }
      const timeouts = [timeout(), timeout()];
      const undo = await armDnif(rnd, Math.max(...timeouts) < 30_000);
      let stale = false;
      if (rnd.chance(spec.rates.lease)) {
        stale = true;
        await admin.send(new PutCommand({ TableName: table, Item: { pk: `lease#${connectorName}`, owner: `zombie-${randomUUID()}`, leaseUntil: Date.now() - rnd.int(1, 60_000) } }));
      }
      const pair = !stale && rnd.chance(spec.rates.concurrent);
      const results = pair ? await Promise.all([invoke(timeouts[0]), invoke(timeouts[1])]) : [await invoke(timeouts[0])];
      await undo();
      if (pair) {
        const ran = results.filter((r) => r.summary && !r.summary.skipped).length;
        if (ran !== 1) violations.push(`two invocations at once: ${ran} ran (expected exactly one)`);
        else counts.conflicts += 1;
      }
      if (stale) {
        if (results[0].summary?.skipped) violations.push(`run ${runs} was kept out by a stale lease`);
        else counts.conflicts += 1;
      }
      await checkCursors(Math.min(...results.map((r) => r.startedAt)));
      const l = await lease();
      if (l && l.leaseUntil >= Date.now() && !l.owner.startsWith('zombie')) await untilTime(l.leaseUntil + 5);
      await new Promise((r) => setTimeout(r, rnd.int(20, 250)));
    }

    // A last clean run finds nothing to send.
    quiet = true;
    s.cloudtrail.clearFaults();
    s.dnif.normal();
    const final = await invoke(30_000);
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

  const stats = s.cloudtrail.stats();
  counts.cloudtrail = stats.faultsApplied - faultsBefore;
  const report = checkDelivery(s.dnif, truth, connectorName);
  const ends = new Map(spec.regions.map((r) => [r, observer.sliceEnds(r, started)]));
  // Nothing is killed here, but a send aborted at a run's deadline after DNIF stored the batch
  // (a lost 2xx) is sent again. Such a copy was stored at the instant that run was cut off.
  const lostAckRequests = new Set<number>();
  const unexplained: string[] = [];
  for (const [id, n] of report.copies) {
    if (n < 2) continue;
    const holding = s.dnif.requests.map((req, i) => ({ req, i })).filter(({ req }) => req.events.some((e) => e.dnifForwarder?.eventId === id));
    for (const { req, i } of holding.slice(0, -1)) {
      if (cuts.some((c) => c.cutOff && req.at >= c.at - 150 && req.at <= c.at + 50)) lostAckRequests.add(i);
      else unexplained.push(`${id}: ${n} copies; an earlier one arrived at ${req.at}, not at a run's deadline`);
    }
  }
  return {
    name: spec.name,
    seed,
    events: truth.size,
    late: truth.lateCount(),
    regions: spec.regions.length,
    runs,
    skipped: tally.skipped,
    faults: counts,
    lost: report.lost.length,
    duplicates: report.duplicates,
    allowedBatches: 0,
    lostAcks: lostAckRequests.size,
    boundaryEvents: [...truth.byId.values()].filter((e) => ends.get(e.region)?.has(e.time)).length,
    maxRequestsPerSecond: observer.maxPerSecond(spec.regions, started),
    standInMaxRequestsPerSecond: Math.max(0, ...spec.regions.map((r) => stats.accountRegions[`${s.accountId}/${r}`]?.maxInAnyWindow ?? 0)),
    regionErrors,
    ms: Date.now() - started,
    violations,
    problems: report.problems,
    lostIds: report.lost.slice(0, 10),
    unexplainedDuplicates: unexplained.slice(0, 10),
  };
}
