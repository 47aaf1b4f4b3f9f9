/**
 * One seeded fault schedule, driving `forward()` run after run (invoke-forward.ts) with faults
 * injected into CloudTrail (faults/cloudtrail.ts), DNIF (faults/dnif.ts) and DynamoDB
 * (faults/dynamodb.ts): kills right after an acknowledgement, leases held, stolen or raced for,
 * cursors written ahead, short Lambda timeouts. The cursor oracle checks every stored cursor,
 * the delivery ledger explains every duplicate; the driver (driver.ts) runs the ticks.
 * The handler-driven schedule (handler-schedule.ts) is the other invoke strategy.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadForwarderConfig, type ForwarderConfig } from '../../../../functions/core/config';
import { parseConnector, type Connector } from '../../../../functions/core/connector';
import { startSyslogReceiver, type SyslogReceiver } from '../../../../standins/syslog-receiver';
import type { ConnectorDocument, StandIns } from '../../../../standins';
import { CursorOracle } from './cursor-oracle';
import { DeliveryLedger } from './delivery-ledger';
import { scheduleFigures } from './figures';
import { authFor } from './receiver-auth';
import { driveUntilFinished } from './driver';
import { checkDelivery, SourceTruth, syslogBatches, type ReceivedBatches } from './events';
import { planFromStoredCursor } from './plan';
import { SliceFaults } from './faults/cloudtrail';
import { BatchFaults } from './faults/dnif';
import { DynamoFaults } from './faults/dynamodb';
import { ForwardInvoker, type RunOutcome } from './invoke-forward';
import { LeaseTable } from './lease-table';
import type { SourceObserver } from '../../../helpers/observe-source';
import { registerConnectorSecrets } from './log-scan';
import { leaseOverlaps, type RunState } from './run-state';
import { BACKFILL_SECONDS, emptyTally, LATENESS_SECONDS, NO_FAULTS, SETTLE_SECONDS, type FaultRates, type Figures, type RunTally, type ScheduleSpec } from './schedule-spec';
import { rng, seedFor, type Rng } from './suite';

export * from './schedule-spec';
export { hangOneDnifRequest } from './faults/dnif';
export { KillError } from './run-state';

export class FaultSchedule {
  readonly seed: number;
  readonly name: string;
  private readonly rnd: Rng;
  private rates: FaultRates;
  private readonly truth = new SourceTruth();
  private readonly connectorName: string;
  private connector: Connector;
  private syslogRx?: SyslogReceiver;
  private readonly config: ForwarderConfig;
  private readonly admin: DynamoDBDocumentClient;
  private readonly leases: LeaseTable;
  private readonly tally: RunTally = emptyTally();
  private readonly counts = this.tally.counts;
  private readonly violations: string[] = [];
  private readonly ledger = new DeliveryLedger();
  private readonly oracle: CursorOracle;
  private readonly runs: RunState[] = [];
  private kills = 0;
  private batchFaults!: BatchFaults;
  private invoker!: ForwardInvoker;

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
    this.rates = spec.rates;
    this.connectorName = `rel-${spec.name}-${this.seed.toString(36)}`;
    this.oracle = new CursorOracle(this.truth, spec.regions, this.violations);

    const auth = authFor(spec.auth, this.rnd);
    s.dnif.setAuth(auth);
    const doc: ConnectorDocument = s.connector({
      connectorName: this.connectorName,
      ...this.regionFields(),
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
    this.leases = new LeaseTable(this.admin, s.dynamodb.tableName, this.connectorName);
  }

  /** The injectors and the invoke strategy, once the receiver (HTTP or syslog) is known. */
  private wire(): void {
    const rates = () => this.rates;
    this.batchFaults = new BatchFaults(this.s, rng(this.seed ^ 0x2d2d), () => this.rates.dnif, this.counts, this.violations, this.spec.batchMaxEvents, this.syslogRx);
    const dynamo = new DynamoFaults({
      admin: this.admin,
      table: this.s.dynamodb.tableName,
      connectorName: this.connectorName,
      rnd: rng(this.seed ^ 0x3e3e),
      rates,
      maxSeenWriteFails: this.spec.maxSeenWriteFails ?? 0,
      counts: this.counts,
      ledger: this.ledger,
      oracle: this.oracle,
      leases: this.leases,
      received: () => this.receivedIds(),
    });
    this.invoker = new ForwardInvoker({
      name: this.name,
      seed: this.seed,
      config: this.config,
      connector: () => this.connector,
      rates,
      slices: new SliceFaults(this.s, this.name),
      batches: this.batchFaults,
      dynamo,
      ledger: this.ledger,
      tally: this.tally,
      violations: this.violations,
      onKill: (batchId) => {
        this.kills += 1;
        this.counts.kills += 1;
        this.ledger.allow(batchId);
      },
    });
  }

  /** Runs the schedule to the end and returns its figures (assertions are the caller's). */
  async execute(): Promise<Figures> {
    if (this.spec.transport !== 'syslog') {
      this.wire();
      return this.executeNow();
    }
    const rx = await startSyslogReceiver({ tls: 'trusted', requireClientCert: true });
    this.syslogRx = rx;
    const { dnif: _http, ...doc } = this.s.connector({ connectorName: this.connectorName, ...this.regionFields() });
    const syslogDoc = { ...doc, dnif: { syslog: rx.target() } };
    registerConnectorSecrets(syslogDoc, `${this.spec.name} connector`);
    this.connector = parseConnector(JSON.stringify(syslogDoc));
    this.wire();
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
    await planFromStoredCursor({ s, admin: this.admin, spec: this.spec, seed: this.seed, rnd: this.rnd, truth: this.truth, oracle: this.oracle, connectorName: this.connectorName, startSec, nowSec });
    this.ledger.learn(this.truth);
    const faultsBefore = s.cloudtrail.stats().faultsApplied;

    // Run, tick after tick, until every event is delivered and swept.
    await driveUntilFinished({
      rnd: this.rnd,
      started,
      maxRuns: this.spec.maxRuns,
      budgetMs: this.spec.budgetMs,
      runs: () => this.runs.length,
      finished: () => this.oracle.finished(this.receivedIds()),
      tick: () => this.tick(),
      violations: this.violations,
    });

    // A last run without faults must find nothing left to send.
    this.rates = NO_FAULTS;
    await this.batchFaults.settle();
    s.cloudtrail.clearFaults();
    s.dnif.normal();
    await this.leases.waitForExpiry();
    const final = await this.invoker.invoke(this.newRun(30_000));
    if (final.error || final.summary?.skipped || (final.summary?.forwarded ?? 0) !== 0) {
      this.violations.push(`final clean run: ${final.error ? String(final.error) : `forwarded ${final.summary?.forwarded}, skipped ${final.summary?.skipped}`}`);
    }

    const figures = this.figures(started, faultsBefore);
    this.admin.destroy();
    return figures;
  }

  private newRun(timeoutMs: number): RunState {
    const startedAt = Date.now();
    const run: RunState = { id: this.runs.length + 1, owner: randomUUID(), startedAt, timeoutMs, endsAt: startedAt + timeoutMs, alive: true, acked: 0, stealLease: false };
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
      await this.leases.put(`other-${randomUUID()}`, leaseUntil);
    }

    if (!foreignLease && this.rnd.chance(r.concurrent)) {
      const [a, b] = [this.newRun(timeout()), this.newRun(timeout())];
      const out: RunOutcome[] = await Promise.all([this.invoker.invoke(a), this.invoker.invoke(b)]);
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
    const out = await this.invoker.invoke(run);
    if (foreignLease === 'live') {
      if (!out.summary?.skipped) this.violations.push(`run ${run.id} ran although another owner held a live lease`);
      else this.counts.conflicts += 1;
    } else if (foreignLease === 'stale') {
      if (out.summary?.skipped) this.violations.push(`run ${run.id} was kept out by a stale lease`);
      else this.counts.conflicts += 1;
    }
    await this.afterRuns([run]);
  }

  private async afterRuns(runs: RunState[]): Promise<void> {
    await this.batchFaults.settle();
    // A killed run or a foreign lease keeps the next run out until it expires.
    await this.leases.waitForExpiry();
    for (const run of runs) {
      if (run.stealLease && run.alive) {
        const lease = await this.leases.get();
        // Our release must not have deleted the new owner's lease.
        if (lease && lease.owner === run.owner) this.violations.push(`run ${run.id} still holds a lease that was taken from it`);
      }
    }
  }

  private figures(started: number, faultsBefore: number): Figures {
    const received = this.received();
    const report = checkDelivery(received, this.truth, this.connectorName);
    if (this.s.dnif.landings > 0) this.violations.push(`${this.s.dnif.landings} requests followed a redirect to the landing page`);
    const explained = this.ledger.explain(received, report);
    this.violations.push(...explained.violations, ...leaseOverlaps(this.runs));
    return scheduleFigures({
      s: this.s,
      spec: this.spec,
      seed: this.seed,
      truth: this.truth,
      observer: this.observer,
      started,
      faultsBefore,
      runs: this.runs.length,
      tally: this.tally,
      report,
      allowedBatches: this.ledger.allowedBatches,
      lostAcks: explained.lostAcks,
      unexplained: explained.unexplained,
      violations: this.violations,
    });
  }
}
