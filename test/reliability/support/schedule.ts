/**
 * One seeded fault schedule, driving `forward()` (functions/forwarder/forward.ts) run after run,
 * composed as the handler composes it: the connector's regions, the real CloudTrailSource over
 * the AWS SDK (SigV4) to the CloudTrail stand-in, the process-wide LookupEvents limiter, the real
 * HttpSink to the DNIF receiver, the real CheckpointStore on dynalite, a Deadline and a lease
 * per run. Three things are wrapped, only to inject faults and to watch:
 *
 *   FaultySource  (extends CloudTrailSource)  queues a CloudTrail fault before a slice is read
 *   FaultySink    (wraps HttpSink or           arms a DNIF fault before a batch (HTTP: status,
 *                  SyslogSink)                 redirect, hang, ...; syslog: a confirmation
 *                                              withheld, a drop mid-batch, refusal); kills the
 *                                              "process" right after a batch's acknowledgement
 *   DynamoDB middleware                        transient errors (SDK-retried), a seen# write that
 *                                              fails after the 2xx, a cursor written ahead by
 *                                              someone else, a lease stolen mid-run; and, after
 *                                              every stored cursor, the check that it is not past
 *                                              an undelivered event
 *
 * The sink's retry timings are scaled down (timeouts of ~1 s instead of 30 s) so that a thousand
 * faults fit in minutes; the handler-driven schedule (handler-schedule.ts) keeps the production
 * ones. A killed run does nothing more: every later sink, source and DynamoDB call of that run
 * fails, the lease is not released and stays until the run's Lambda deadline, as after a real crash.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { forward, ForwarderRunError, type ForwarderSummary } from '../../../functions/forwarder/forward';
import { seenKey } from '../../../functions/core/checkpoint/checkpoint-store';
import { loadForwarderConfig, type ForwarderConfig } from '../../../functions/core/config';
import { parseConnector, type Connector } from '../../../functions/core/connector';
import { logger } from '../../../functions/core/logger';
import { HttpSink } from '../../../functions/core/sink/http-sink';
import { SyslogSink } from '../../../functions/core/sink/syslog-sink';
import { startSyslogReceiver, type SyslogReceiver } from '../../../standins/syslog-receiver';
import type { SendStats, Sink } from '../../../functions/core/sink/sink';
import type { OutgoingRecord } from '../../../functions/core/sink/records';
import { CloudTrailSource, createCloudTrailClient, type SliceResult } from '../../../functions/core/source/cloudtrail-source';
import { accountKeyOf, credentialsFor } from '../../../functions/core/source/credentials';
import { limiterFor } from '../../../functions/core/source/rate-limiter';
import { Deadline } from '../../../functions/core/time';
import type { ConnectorDocument, DnifReceiver, ReceiverAuth, StandIns } from '../../../standins';
import { addPlannedEvents, checkDelivery, SourceTruth, syslogBatches, type ReceivedBatches } from './events';
import type { SourceObserver } from './observe';
import { registerConnectorSecrets } from './log-scan';
import { rng, seedFor, until, untilTime, type Rng } from './suite';

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

/**
 * DNIF hangs the next request (waiting up to `waitMs` for one to arrive) and answers the ones
 * after it, so the hung one runs into the sink's timeout or the run's deadline. Returns the undo.
 */
export function hangOneDnifRequest(dnif: DnifReceiver, waitMs: number): () => Promise<void> {
  const hung = () => dnif.attempts.filter((a) => a.status === 'hung').length;
  const before = hung();
  let over = false;
  dnif.hang();
  const released = until(() => over || hung() > before, 'a hung DNIF request', waitMs).then(
    () => over || dnif.normal(),
    () => over || dnif.normal(),
  );
  return async () => {
    over = true;
    dnif.normal();
    await released;
  };
}

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

/** The process was killed (injected): nothing after this reaches the outside world. */
export class KillError extends Error {
  constructor() {
    super('process killed (injected fault)');
    this.name = 'KillError';
  }
}

/**
 * The hashes of the batch an `UpdateItem` records as delivered: its `seen#` hashes, or in a
 * settled slice the cursor's `deliveredThrough` (its last event). Either write may fail right
 * after DNIF's 2xx; undefined for any other update.
 */
function batchRecordedBy(pk: string, values: Record<string, unknown> | undefined): string[] | undefined {
  if (pk.startsWith('seen#')) return [...((values?.[':ids'] as Set<string> | undefined) ?? [])];
  if (pk.startsWith('cursor#') && values?.[':id'] !== undefined) return [seenKey(String(values[':id']))];
  return undefined;
}

class InjectedDynamoError extends Error {
  readonly $fault = 'server';
  readonly $metadata = { httpStatusCode: 500 };
  constructor() {
    super('injected: the seen# write after the 2xx failed');
    this.name = 'InternalServerError';
  }
}

interface Run {
  id: number;
  owner: string;
  startedAt: number;
  timeoutMs: number;
  endsAt: number;
  alive: boolean;
  /** Kill right after this many batches of this run were accepted. */
  killAfterBatch?: number;
  acked: number;
  stealLease: boolean;
  /** When this run held the connector's lease (from the acquire to the release, or its deadline). */
  leaseFrom?: number;
  leaseTo?: number;
  killedAt?: number;
}

interface Batch {
  id: number;
  run: number;
  ids: string[];
}

const secretOf = (rnd: Rng) => randomBytes(4).toString('hex') + Math.floor(rnd() * 2 ** 48).toString(36) + 'Zq9';

function authFor(mode: AuthMode, rnd: Rng): ReceiverAuth {
  switch (mode) {
    case 'bearer':
      return { type: 'bearer', token: `tok-${secretOf(rnd)}` };
    case 'basic':
      return { type: 'basic', username: 'dnif-forwarder', password: `pw-${secretOf(rnd)}` };
    case 'header':
      return { type: 'header', name: 'X-Api-Key', value: `key-${secretOf(rnd)}` };
    case 'hmac':
      return { type: 'hmac', header: 'X-Signature', secret: `hmac-${secretOf(rnd)}`, algorithm: rnd.pick(['sha256', 'sha512'] as const) };
  }
}

export class FaultSchedule {
  readonly seed: number;
  readonly name: string;
  private readonly rnd: Rng;
  private readonly dnifRnd: Rng;
  private readonly ddbRnd: Rng;
  private readonly ctRnd = new Map<string, Rng>();
  private rates: FaultRates;
  private readonly truth = new SourceTruth();
  private readonly connectorName: string;
  private connector: Connector;
  private syslogRx?: SyslogReceiver;
  private readonly config: ForwarderConfig;
  private readonly admin: DynamoDBDocumentClient;

  private readonly tally: RunTally = { skipped: 0, counts: { cloudtrail: 0, dnif: 0, dynamo: 0, kills: 0, conflicts: 0, cutoffs: 0 }, regionErrors: {} };
  private readonly counts = this.tally.counts;
  private readonly violations: string[] = [];
  private runs: Run[] = [];
  private batches: Batch[] = [];
  private readonly batchesOf = new Map<string, number[]>();
  private readonly allowed = new Set<number>();
  private readonly failedSends: string[] = [];
  private readonly hashToId = new Map<string, string>();
  /** Highest head/sweep stored so far, per region (ours or another writer's). */
  private readonly stored = new Map<string, { head: number; sweep: number }>();
  private dnifArmed = false;
  /** DNIF faults being undone (an outage that ends on a timer): settled between runs, never inside one. */
  private restoring: Promise<void>[] = [];
  private inFlight = 0;
  private seenWriteFails = 0;
  private kills = 0;
  /** Pending "someone else wrote the cursor" per region: counted when our write then loses. */
  private readonly aheadPending = new Set<string>();

  constructor(
    private readonly s: StandIns,
    private readonly spec: ScheduleSpec,
    private readonly observer: SourceObserver,
  ) {
    if (spec.rates.kill > 0 && spec.regions.length !== 1) {
      // A kill stops every region at once; in-flight batches of the others would be re-sent too.
      throw new Error(`${spec.name}: kills are injected in one-region schedules only (≤ 1 batch re-sent per kill)`);
    }
    this.name = spec.name;
    this.seed = seedFor(spec.name);
    this.rnd = rng(this.seed);
    this.dnifRnd = rng(this.seed ^ 0x2d2d);
    this.ddbRnd = rng(this.seed ^ 0x3e3e);
    this.rates = spec.rates;
    this.connectorName = `rel-${spec.name}-${this.seed.toString(36)}`;

    const auth = authFor(spec.auth, this.rnd);
    s.dnif.setAuth(auth);
    const doc: ConnectorDocument = s.connector({
      connectorName: this.connectorName,
      ...(spec.regions.length === 1 ? { awsRegion: spec.regions[0] } : { awsRegion: undefined, awsRegions: spec.regions }),
      dnif: { format: spec.format ?? 'json', gzip: spec.gzip ?? false },
    });
    registerConnectorSecrets(doc, `${spec.name} connector`);
    this.connector = parseConnector(JSON.stringify(doc));
    this.config = loadForwarderConfig({
      SECRET_ID: s.secretName,
      CHECKPOINT_TABLE: s.dynamodb.tableName,
      LATENESS_SECONDS: String(LATENESS_SECONDS),
      SETTLE_SECONDS: String(SETTLE_SECONDS),
      BACKFILL_SECONDS: String(BACKFILL_SECONDS),
      BATCH_MAX_EVENTS: String(spec.batchMaxEvents),
      BATCH_MAX_BYTES: spec.batchMaxBytes === undefined ? undefined : String(spec.batchMaxBytes),
      DEADLINE_RESERVE_MS: String(spec.reserveMs),
    });
    this.admin = DynamoDBDocumentClient.from(s.dynamodb.client());
  }

  private ctRng(region: string): Rng {
    let r = this.ctRnd.get(region);
    if (!r) this.ctRnd.set(region, (r = rng(seedFor(`${this.name}/${region}`))));
    return r;
  }

  /** Runs the schedule to the end and returns its figures (assertions are the caller's). */
  async execute(): Promise<Figures> {
    if (this.spec.transport !== 'syslog') return this.executeNow();
    const rx = await startSyslogReceiver({ tls: 'trusted', requireClientCert: true });
    this.syslogRx = rx;
    const { dnif: _http, ...doc } = this.s.connector({ connectorName: this.connectorName, ...this.regionFields() });
    const syslogDoc = { ...doc, dnif: { syslog: rx.target() } };
    registerConnectorSecrets(syslogDoc, `${this.spec.name} connector`);
    this.connector = parseConnector(JSON.stringify(syslogDoc));
    try {
      const figures = await this.executeNow();
      if (rx.problems.length > 0) figures.violations.push(`syslog receiver saw bad framing: ${rx.problems.join('; ')}`);
      if (rx.withheld === 0) figures.violations.push('no confirmation was withheld: the schedule did not meet its fault');
      return figures;
    } finally {
      await rx.close();
    }
  }

  private regionFields(): ConnectorDocument {
    return this.spec.regions.length === 1 ? { awsRegion: this.spec.regions[0] } : { awsRegion: undefined, awsRegions: this.spec.regions };
  }

  /** What DNIF took: the HTTP receiver's requests, or the syslog receiver's connections. */
  private received(): ReceivedBatches {
    return this.syslogRx ? syslogBatches(this.syslogRx) : this.s.dnif;
  }

  /** The events DNIF has, by eventId. */
  private receivedIds(): Map<string, unknown> {
    return (this.syslogRx ?? this.s.dnif).eventsById();
  }

  private async executeNow(): Promise<Figures> {
    const started = Date.now();
    const s = this.s;
    s.reset();

    // Events: a backlog, clusters with one EventTime, and live events shown up to LATENESS late.
    const nowSec = Math.floor(started / 1000);
    const startSec = nowSec - BACKFILL_SECONDS;
    for (const [i, region] of this.spec.regions.entries()) {
      // Start from a stored cursor with a known slice width, so the first slice ends on a cluster.
      const width = this.rnd.int(5, 40);
      await this.admin.send(
        new PutCommand({
          TableName: s.dynamodb.tableName,
          Item: { pk: `cursor#${this.connectorName}#${region}`, head: startSec, sweep: startSec, sliceSeconds: width },
        }),
      );
      this.stored.set(region, { head: startSec, sweep: startSec });
      const clusters = [
        { sec: startSec + width - 1, size: this.rnd.int(20, 60) },
        { sec: startSec + width, size: this.rnd.int(51, 130) },
      ];
      for (let c = 2; c < this.spec.clustersPerRegion; c++) clusters.push({ sec: this.rnd.int(startSec + width + 1, nowSec - 30), size: this.rnd.int(30, 130) });
      addPlannedEvents(
        s,
        this.truth,
        region,
        {
          backlog: { count: this.spec.backlogPerRegion, fromSec: startSec, toSec: nowSec - 25 },
          clusters: clusters.slice(0, Math.max(0, this.spec.clustersPerRegion)),
          live: { count: this.spec.livePerRegion, fromSec: nowSec + 1, toSec: nowSec + this.spec.liveSpanSec, latenessSeconds: LATENESS_SECONDS, settleSeconds: SETTLE_SECONDS },
        },
        this.rnd,
        (this.seed + i * 7919) >>> 0,
      );
    }
    for (const ev of this.truth.byId.values()) this.hashToId.set(seenKey(ev.id), ev.id);
    const faultsBefore = s.cloudtrail.stats().faultsApplied;

    // Run, tick after tick, until every event is delivered and swept.
    while (!this.done()) {
      if (this.runs.length >= this.spec.maxRuns || Date.now() - started > this.spec.budgetMs) {
        this.violations.push(`not finished after ${this.runs.length} runs and ${Date.now() - started} ms`);
        break;
      }
      await this.tick();
      await new Promise((r) => setTimeout(r, this.rnd.int(20, 250))); // the schedule's interval
    }

    // A last run without faults must find nothing left to send.
    this.rates = NO_FAULTS;
    await this.settleFaults();
    s.cloudtrail.clearFaults();
    s.dnif.normal();
    await this.waitForLease();
    const final = await this.runOnce(this.newRun(30_000));
    if (final.error || final.summary?.skipped || (final.summary?.forwarded ?? 0) !== 0) {
      this.violations.push(`final clean run: ${final.error ? String(final.error) : `forwarded ${final.summary?.forwarded}, skipped ${final.summary?.skipped}`}`);
    }

    const figures = this.figures(started, faultsBefore);
    this.admin.destroy();
    return figures;
  }

  private done(): boolean {
    if (Date.now() < (this.truth.lastTime() + LATENESS_SECONDS + 1) * 1000) return false;
    for (const region of this.spec.regions) {
      if ((this.stored.get(region)?.sweep ?? 0) <= this.truth.lastTime(region)) return false;
    }
    const received = this.receivedIds();
    return [...this.truth.byId.keys()].every((id) => received.has(id));
  }

  private newRun(timeoutMs: number): Run {
    const startedAt = Date.now();
    const run: Run = { id: this.runs.length + 1, owner: randomUUID(), startedAt, timeoutMs, endsAt: startedAt + timeoutMs, alive: true, acked: 0, stealLease: false };
    this.runs.push(run);
    return run;
  }

  private async tick(): Promise<void> {
    const r = this.rates;
    // The first run carries the whole backlog: a short Lambda timeout is sure to cut it off.
    const cutoff = this.runs.length === 0 || this.rnd.chance(r.cutoff);
    const timeout = () => (cutoff ? this.rnd.int(this.spec.cutoffMs[0], this.spec.cutoffMs[1]) : 30_000);

    // A lease someone else holds (or held) before the run starts.
    let foreignLease: 'stale' | 'live' | undefined;
    if (this.rnd.chance(r.lease)) {
      foreignLease = this.rnd.chance(0.5) ? 'stale' : 'live';
      const leaseUntil = foreignLease === 'stale' ? Date.now() - this.rnd.int(1, 10_000) : Date.now() + this.rnd.int(300, 1500);
      await this.putLease(`other-${randomUUID()}`, leaseUntil);
    }

    if (!foreignLease && this.rnd.chance(r.concurrent)) {
      const [a, b] = [this.newRun(timeout()), this.newRun(timeout())];
      const out = await Promise.all([this.runOnce(a), this.runOnce(b)]);
      if (out.some((o) => o.summary?.skipped)) this.counts.conflicts += 1;
      await this.afterRuns([a, b]);
      return;
    }

    const run = this.newRun(timeout());
    // Until the first kill has happened every run is armed with one, so each kill schedule has one.
    if (this.spec.regions.length === 1 && this.kills < (this.spec.maxKills ?? 0) && r.kill > 0 && (this.kills === 0 || this.rnd.chance(r.kill))) {
      run.killAfterBatch = this.kills === 0 ? 1 : this.rnd.int(1, 3);
      // A crash leaves the lease until the Lambda deadline: keep that short.
      run.timeoutMs = this.rnd.int(3000, 6000);
      run.endsAt = run.startedAt + run.timeoutMs;
    }
    run.stealLease = this.rnd.chance(r.leaseSteal);
    const out = await this.runOnce(run);
    if (foreignLease === 'live') {
      if (!out.summary?.skipped) this.violations.push(`run ${run.id} ran although another owner held a live lease`);
      else this.counts.conflicts += 1;
    } else if (foreignLease === 'stale') {
      if (out.summary?.skipped) this.violations.push(`run ${run.id} was kept out by a stale lease`);
      else this.counts.conflicts += 1;
    }
    await this.afterRuns([run]);
  }

  private async afterRuns(runs: Run[]): Promise<void> {
    await this.settleFaults();
    // A killed run or a foreign lease keeps the next run out until it expires.
    await this.waitForLease();
    for (const run of runs) {
      if (run.stealLease && run.alive) {
        const lease = await this.getLease();
        // Our release must not have deleted the new owner's lease.
        if (lease && lease.owner === run.owner) this.violations.push(`run ${run.id} still holds a lease that was taken from it`);
      }
    }
  }

  private async waitForLease(): Promise<void> {
    const lease = await this.getLease();
    if (lease && lease.leaseUntil >= Date.now()) await untilTime(lease.leaseUntil + 5);
  }

  private async getLease(): Promise<{ owner: string; leaseUntil: number } | undefined> {
    const out = await this.admin.send(new GetCommand({ TableName: this.s.dynamodb.tableName, Key: { pk: `lease#${this.connectorName}` }, ConsistentRead: true }));
    return out.Item ? { owner: String(out.Item.owner), leaseUntil: Number(out.Item.leaseUntil) } : undefined;
  }

  private async putLease(owner: string, leaseUntil: number): Promise<void> {
    await this.admin.send(new PutCommand({ TableName: this.s.dynamodb.tableName, Item: { pk: `lease#${this.connectorName}`, owner, leaseUntil } }));
  }

  private async runOnce(run: Run): Promise<{ summary?: ForwarderSummary; error?: unknown }> {
    const client = new DynamoDBClient({});
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.instrument(doc, run);
    const timings = { baseDelayMs: 20, maxDelayMs: 400, random: rng(this.seed ^ run.id) };
    const sink = new FaultySink(
      this.connector.syslog
        ? new SyslogSink(this.connector.syslog, { hostname: this.connector.name, connectTimeoutMs: 900, writeTimeoutMs: 900, closeTimeoutMs: 900, ...timings })
        : new HttpSink(this.connector.http!, { requestTimeoutMs: 900, ...timings }),
      run,
      this,
    );
    let out: { summary?: ForwarderSummary; error?: unknown };
    try {
      const summary = await forward({
        config: this.config,
        connector: this.connector,
        doc,
        sink,
        deadline: new Deadline(run.endsAt, this.config.deadlineReserveMs),
        leaseUntilMs: run.endsAt,
        owner: run.owner,
        logger,
        sourceFor: (region) =>
          new FaultySource(
            {
              region,
              client: createCloudTrailClient(region, credentialsFor(this.connector.aws, region)),
              limiter: limiterFor(accountKeyOf(this.connector.aws), region, this.config.lookupRatePerSecond),
              random: rng(seedFor(`${this.name}/${region}/${run.id}`)),
            },
            run,
            this,
          ),
      });
      out = { summary };
    } catch (error) {
      out = { error, summary: error instanceof ForwarderRunError ? error.summary : undefined };
      if (!(error instanceof ForwarderRunError) && run.alive) this.violations.push(`run ${run.id} failed outside a region: ${String(error)}`);
    } finally {
      client.destroy();
    }
    const elapsed = Date.now() - run.startedAt;
    if (run.alive && elapsed > run.timeoutMs) this.violations.push(`run ${run.id} took ${elapsed} ms, past its ${run.timeoutMs} ms Lambda timeout`);
    tallyRun(this.tally, out.summary);
    return out;
  }

  // ---- CloudTrail faults -------------------------------------------------------------------

  beforeSlice(region: string): void {
    const r = this.ctRng(region);
    if (!r.chance(this.rates.cloudtrail)) return;
    const ct = this.s.cloudtrail;
    r.weighted<() => void>([
      [3, () => ct.injectFault({ kind: 'throttle', code: r.pick(['ThrottlingException', 'Throttling'] as const), times: r.int(1, 3), region })],
      [3, () => ct.injectFault({ kind: 'internal', status: r.pick([500, 503] as const), times: r.chance(0.1) ? r.int(3, 10) : r.int(1, 2), region })],
      [2, () => ct.injectFault({ kind: 'reset', times: r.int(1, 2), region })],
      [2, () => ct.injectFault({ kind: 'short-page', size: r.int(1, 49), times: r.int(1, 3), region })],
      [1, () => ct.injectFault({ kind: 'delay', ms: r.chance(0.2) ? r.int(1500, 4000) : r.int(50, 1500), region })],
    ])();
  }

  // ---- DNIF faults -------------------------------------------------------------------------

  /** Arms at most one DNIF fault at a time; returns how to undo it once the batch is settled. */
  async armDnif(): Promise<() => Promise<void>> {
    const none = async () => undefined;
    if (this.dnifArmed || !this.dnifRnd.chance(this.rates.dnif)) return none;
    const r = this.dnifRnd;
    const dnif = this.s.dnif;
    this.dnifArmed = true;
    const done = async (undo: () => Promise<void> | void) => {
      await undo();
      this.dnifArmed = false;
    };
    if (this.syslogRx) return this.armSyslog(this.syslogRx, done);
    // Closing connections could cut a batch another region has in flight after DNIF stored it:
    // that is a lost 2xx, tested on its own, not here.
    const kind = r.weighted<string>([
      [6, 'status'],
      [1, 'hang'],
      [1, 'slow'],
      [this.inFlight === 0 ? 1 : 0, 'reset'],
      [this.inFlight === 0 ? 1 : 0, 'refuse'],
      [0.5, 'outage'],
      [0.3, 'reject4xx'],
      [0.6, 'redirect'],
    ]);
    switch (kind) {
      case 'status': {
        const retryAfter = r.weighted<number | string | undefined>([
          [4, undefined],
          [3, 0],
          [1, '0'],
          [0.5, 1],
          [0.5, new Date(Date.now() + 1000).toUTCString()],
        ]);
        dnif.failNext(r.chance(0.1) ? r.int(4, 8) : r.int(1, 3), r.pick([500, 502, 503, 504, 429]), retryAfter === undefined ? {} : { retryAfter });
        return () => done(() => dnif.normal());
      }
      case 'hang': {
        // The hung request runs into the sink's (scaled-down) timeout.
        const undo = hangOneDnifRequest(dnif, 5_000);
        return () => done(undo);
      }
      case 'slow': {
        dnif.slowBody(r.int(100, 1500));
        this.counts.dnif += 1;
        return () => done(() => dnif.normal());
      }
      case 'reset':
      case 'refuse': {
        await dnif.down(kind);
        const back = new Promise<void>((res) => setTimeout(res, r.int(30, 600))).then(() => dnif.up());
        return () => done(() => back);
      }
      case 'outage': {
        dnif.reject(r.pick([500, 503]), r.chance(0.5) ? { retryAfter: 0 } : {});
        const over = new Promise<void>((res) => setTimeout(res, r.int(500, 2500))).then(() => dnif.normal());
        return () => done(() => over);
      }
      case 'redirect': {
        // Followed, the POST would become a GET the landing page answers with 200: a batch lost.
        const location = r.chance(0.5) ? `${dnif.landingUrl}?from=redirect` : '/landing';
        dnif.failNext(r.int(1, 2), r.pick([301, 302, 303, 307, 308]), { location });
        return () => done(() => dnif.normal());
      }
      default: {
        dnif.failNext(1, r.pick([400, 413]));
        return () => done(() => dnif.normal());
      }
    }
  }

  /** Syslog faults: the Adapter takes a batch but does not confirm it, drops mid-batch, or refuses. */
  private async armSyslog(rx: SyslogReceiver, done: (undo: () => Promise<void> | void) => Promise<void>): Promise<() => Promise<void>> {
    const r = this.dnifRnd;
    // The first syslog fault of a schedule is always the one it is for.
    const kind = rx.withheld === 0 ? 'unconfirmed' : r.weighted<string>([
      [4, 'unconfirmed'],
      [2, 'drop'],
      [this.inFlight === 0 ? 1 : 0, 'refuse'],
    ]);
    switch (kind) {
      case 'unconfirmed': {
        // Every message is taken; the close that confirms them never comes (a reset instead).
        rx.withholdConfirmation(r.int(1, 2));
        return () => done(() => rx.normal());
      }
      case 'drop': {
        rx.dropAfter(r.int(1, this.spec.batchMaxEvents));
        return () => done(() => rx.normal());
      }
      default: {
        await rx.refuse();
        const back = new Promise<void>((res) => setTimeout(res, r.int(30, 600))).then(() => rx.accept());
        return () => done(() => back);
      }
    }
  }

  restore(undo: () => Promise<void>): void {
    this.restoring.push(undo().catch((err: unknown) => void this.violations.push(`could not undo a DNIF fault: ${String(err)}`)));
  }

  private async settleFaults(): Promise<void> {
    while (this.restoring.length > 0) await Promise.all(this.restoring.splice(0));
  }

  onSendSettled(errors: number): void {
    this.counts.dnif += errors;
  }

  set inFlightDelta(d: number) {
    this.inFlight += d;
  }

  /** A batch whose send failed (DNIF may still have stored it: a lost 2xx). */
  sendFailed(records: OutgoingRecord[]): void {
    this.failedSends.push(records.map((r) => r.eventId).join(','));
  }

  /** A batch DNIF accepted; returns its id. */
  acked(records: OutgoingRecord[], run: Run): number {
    const batch: Batch = { id: this.batches.length + 1, run: run.id, ids: records.map((r) => r.eventId) };
    this.batches.push(batch);
    for (const id of batch.ids) {
      const list = this.batchesOf.get(id) ?? [];
      list.push(batch.id);
      this.batchesOf.set(id, list);
    }
    return batch.id;
  }

  killed(batchId: number): void {
    this.kills += 1;
    this.counts.kills += 1;
    this.allowed.add(batchId);
  }

  // ---- DynamoDB faults and the checkpoint check ----------------------------------------------

  private instrument(doc: DynamoDBDocumentClient, run: Run): void {
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (!run.alive) throw new KillError();
        const input = args.input as { Key?: { pk?: string }; Item?: Record<string, unknown>; ExpressionAttributeValues?: Record<string, unknown> };
        const pk = String(input.Key?.pk ?? input.Item?.pk ?? '');
        const command = context.commandName;
        const recordsBatch = command === 'UpdateItemCommand' ? batchRecordedBy(pk, input.ExpressionAttributeValues) : undefined;
        if (recordsBatch && this.seenWriteFails < (this.spec.maxSeenWriteFails ?? 0) && this.ddbRnd.chance(this.rates.seenWriteFail)) {
          this.seenWriteFails += 1;
          this.counts.dynamo += 1;
          this.allowBatchOf(recordsBatch);
          throw new InjectedDynamoError();
        }
        if (command === 'PutItemCommand' && pk.startsWith('cursor#')) {
          const region = pk.split('#')[2];
          if (run.stealLease) {
            run.stealLease = false;
            await this.putLease(`thief-${randomUUID()}`, Date.now() + this.ddbRnd.int(200, 1000));
          }
          if (this.ddbRnd.chance(this.rates.cursorAhead)) await this.writeAhead(region, input.Item as { head: number; sweep: number });
          try {
            const out = await next(args);
            this.cursorStored(region, Number(input.Item?.head), Number(input.Item?.sweep), run);
            return out;
          } catch (err) {
            if (err instanceof ConditionalCheckFailedException && this.aheadPending.delete(region)) this.counts.conflicts += 1;
            throw err;
          }
        }
        if (command === 'PutItemCommand' && pk.startsWith('lease#')) {
          const out = await next(args);
          run.leaseFrom = Date.now();
          return out;
        }
        if (command === 'DeleteItemCommand' && pk.startsWith('lease#')) {
          run.leaseTo = Date.now();
          try {
            return await next(args);
          } catch (err) {
            if (err instanceof ConditionalCheckFailedException) this.counts.conflicts += 1;
            throw err;
          }
        }
        return next(args);
      },
      { step: 'initialize', priority: 'high', name: 'reliabilityFaults' },
    );
    // Inside the SDK's retry loop: a throttle the client retries on its own (once per request).
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        const ctx = context as { reliabilityInjected?: boolean };
        if (!ctx.reliabilityInjected && this.ddbRnd.chance(this.rates.dynamoTransient)) {
          ctx.reliabilityInjected = true;
          this.counts.dynamo += 1;
          throw Object.assign(new Error('injected: Throughput exceeds the current capacity of your table'), {
            name: 'ProvisionedThroughputExceededException',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: 'deserialize', name: 'reliabilityTransient' },
    );
  }

  /** A seen# write failed after DNIF's 2xx: the batch holding those events may arrive again. */
  private allowBatchOf(hashes: string[]): void {
    const id = hashes.map((h) => this.hashToId.get(h)).find((x): x is string => !!x);
    const batches = id ? this.batchesOf.get(id) : undefined;
    if (batches?.length) this.allowed.add(batches[batches.length - 1]);
  }

  /** Another writer (a run that read that far) stored a cursor further on, never past an undelivered event. */
  private async writeAhead(region: string, ours: { head: number; sweep: number }): Promise<void> {
    const received = this.receivedIds();
    const firstUndelivered = this.truth.inRegion(region).find((e) => !received.has(e.id))?.time ?? Number.POSITIVE_INFINITY;
    const nowSec = Math.floor(Date.now() / 1000);
    const current = this.stored.get(region) ?? { head: 0, sweep: 0 };
    const head = Math.max(current.head, Math.min(firstUndelivered, nowSec));
    const sweep = Math.max(current.sweep, Math.min(firstUndelivered, nowSec - LATENESS_SECONDS, head));
    if (head <= ours.head && sweep <= ours.sweep) return; // ours would win anyway: no conflict to make
    if (head === current.head && sweep === current.sweep) return;
    try {
      await this.admin.send(
        // It moves the cursors and leaves the rest: a `deliveredThrough` marker stays true of a
        // cursor that never passes an undelivered event.
        new UpdateCommand({
          TableName: this.s.dynamodb.tableName,
          Key: { pk: `cursor#${this.connectorName}#${region}` },
          UpdateExpression: 'SET head = :head, sweep = :sweep, updatedAt = :now',
          ConditionExpression: 'attribute_not_exists(pk) OR (head <= :head AND sweep <= :sweep)',
          ExpressionAttributeValues: { ':head': head, ':sweep': sweep, ':now': new Date().toISOString() },
        }),
      );
      this.stored.set(region, { head, sweep });
      this.aheadPending.add(region);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /** The promise, checked at every stored cursor: nothing undelivered before it. */
  private cursorStored(region: string, head: number, sweep: number, run: Run): void {
    const received = this.receivedIds();
    const prev = this.stored.get(region) ?? { head: 0, sweep: 0 };
    for (const e of this.truth.inRegion(region)) {
      if (e.time >= Math.max(head, sweep)) break;
      if (received.has(e.id)) continue;
      if (e.time < sweep) {
        this.violations.push(`run ${run.id} stored sweep ${sweep} in ${region} past undelivered ${e.id} (EventTime ${e.time})`);
      } else if (e.time >= prev.head && e.time < head && e.visibleAt <= run.startedAt) {
        this.violations.push(`run ${run.id} stored head ${head} in ${region} past ${e.id} (EventTime ${e.time}), visible and undelivered`);
      }
    }
    this.stored.set(region, { head: Math.max(prev.head, head), sweep: Math.max(prev.sweep, sweep) });
  }

  // ---- figures -------------------------------------------------------------------------------

  private figures(started: number, faultsBefore: number): Figures {
    const s = this.s;
    const stats = s.cloudtrail.stats();
    this.counts.cloudtrail = stats.faultsApplied - faultsBefore;
    const received = this.received();
    const report = checkDelivery(received, this.truth, this.connectorName);
    if (s.dnif.landings > 0) this.violations.push(`${s.dnif.landings} requests followed a redirect to the landing page`);

    // Which batches DNIF stored: those the sink saw accepted, and possibly some whose 2xx never
    // reached it (a send aborted at the deadline after DNIF had stored it: a lost 2xx).
    const accepted = new Map<string, number>();
    for (const b of this.batches) accepted.set(b.ids.join(','), (accepted.get(b.ids.join(',')) ?? 0) + 1);
    const failed = new Map<string, number>();
    for (const f of this.failedSends) failed.set(f, (failed.get(f) ?? 0) + 1);
    const sent = new Set([...accepted.keys(), ...failed.keys()]);
    const lostAckCopies = new Map<string, number>();
    let lostAcks = 0;
    for (const req of received.requests) {
      const key = req.events.map((e) => String(e.dnifForwarder?.eventId)).join(',');
      if (key === '') continue;
      if ((accepted.get(key) ?? 0) > 0) {
        accepted.set(key, (accepted.get(key) as number) - 1);
      } else if (sent.has(key) || [...sent].some((k) => k.startsWith(`${key},`))) {
        // (Syslog: a connection cut mid-batch holds the first part of a batch whose send failed.)
        // Stored, but the 2xx did not reach the sink (its send failed, or an attempt it retried).
        lostAcks += 1;
        for (const id of key.split(',')) lostAckCopies.set(id, (lostAckCopies.get(id) ?? 0) + 1);
      } else {
        this.violations.push(`DNIF stored a batch the forwarder never sent (${req.events.length} events)`);
      }
    }
    // An event may arrive more than once only if every copy but one came from a batch DNIF took
    // while the forwarder could not record it: killed or seen# write failed right after the 2xx
    // (allowed, ≤ 1 batch per injected fault), or the 2xx lost.
    const unexplained: string[] = [];
    for (const [id, copies] of report.copies) {
      const batches = this.batchesOf.get(id) ?? [];
      const lost = lostAckCopies.get(id) ?? 0;
      if (batches.length + lost !== copies) unexplained.push(`${id}: ${copies} copies at DNIF, ${batches.length} accepted batches, ${lost} lost 2xx`);
      else if (batches.filter((b) => !this.allowed.has(b)).length > 1) unexplained.push(`${id}: sent again after batches ${batches.join(',')}, not all allowed`);
    }
    // At most one run per connector at a time: the spans in which runs held the lease never overlap.
    const held = this.runs
      .filter((r) => r.leaseFrom !== undefined)
      .map((r) => ({ id: r.id, from: r.leaseFrom as number, to: r.leaseTo ?? r.killedAt ?? r.endsAt }))
      .sort((a, b) => a.from - b.from);
    for (let i = 1; i < held.length; i++) {
      if (held[i].from < held[i - 1].to) this.violations.push(`runs ${held[i - 1].id} and ${held[i].id} held the lease at the same time`);
    }
    const ends = new Map(this.spec.regions.map((r) => [r, this.observer.sliceEnds(r, started)]));
    const boundaryEvents = [...this.truth.byId.values()].filter((e) => ends.get(e.region)?.has(e.time)).length;
    const standInMaxRps = Math.max(0, ...this.spec.regions.map((r) => stats.accountRegions[`${s.accountId}/${r}`]?.maxInAnyWindow ?? 0));
    return {
      name: this.name,
      seed: this.seed,
      events: this.truth.size,
      late: this.truth.lateCount(),
      regions: this.spec.regions.length,
      runs: this.runs.length,
      skipped: this.tally.skipped,
      faults: { ...this.counts },
      lost: report.lost.length,
      duplicates: report.duplicates,
      allowedBatches: this.allowed.size,
      lostAcks,
      boundaryEvents,
      maxRequestsPerSecond: this.observer.maxPerSecond(this.spec.regions, started),
      standInMaxRequestsPerSecond: standInMaxRps,
      regionErrors: { ...this.tally.regionErrors },
      ms: Date.now() - started,
      violations: [...this.violations],
      problems: report.problems,
      lostIds: report.lost.slice(0, 10),
      unexplainedDuplicates: unexplained.slice(0, 10),
    };
  }

}

class FaultySource extends CloudTrailSource {
  constructor(
    options: ConstructorParameters<typeof CloudTrailSource>[0],
    private readonly run: Run,
    private readonly schedule: FaultSchedule,
  ) {
    super(options);
  }

  override async fetchSlice(startSec: number, endSec: number, deadline: Deadline, maxEvents?: number): Promise<SliceResult> {
    if (!this.run.alive) throw new KillError();
    this.schedule.beforeSlice(this.region);
    const result = await super.fetchSlice(startSec, endSec, deadline, maxEvents);
    if (!this.run.alive) throw new KillError();
    return result;
  }
}

class FaultySink implements Sink {
  constructor(
    private readonly real: Sink,
    private readonly run: Run,
    private readonly schedule: FaultSchedule,
  ) {}

  async send(records: OutgoingRecord[], deadline: Deadline): Promise<SendStats> {
    if (!this.run.alive) throw new KillError();
    const undo = await this.schedule.armDnif();
    this.schedule.inFlightDelta = 1;
    let stats: SendStats;
    try {
      stats = await this.real.send(records, deadline);
    } catch (err) {
      this.schedule.onSendSettled((err as { attempts?: number }).attempts ?? 0);
      this.schedule.sendFailed(records);
      throw err;
    } finally {
      this.schedule.inFlightDelta = -1;
      this.schedule.restore(undo);
    }
    this.schedule.onSendSettled(stats.errors);
    const batchId = this.schedule.acked(records, this.run);
    this.run.acked += 1;
    if (this.run.alive && this.run.killAfterBatch !== undefined && this.run.acked >= this.run.killAfterBatch) {
      // DNIF has the batch; the process dies before anything is written down.
      this.run.alive = false;
      this.run.killedAt = Date.now();
      this.schedule.killed(batchId);
      throw new KillError();
    }
    return stats;
  }
}
