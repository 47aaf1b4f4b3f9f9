/**
 * Invoke strategy 1: `forward()` (functions/forwarder/forward.ts) composed as the handler
 * composes it (the real CloudTrailSource over the SDK to the stand-in, the process-wide
 * limiter, the real HttpSink or SyslogSink, the real RegionLedger on dynalite, a Deadline and
 * a lease per run), with three things wrapped to inject faults and watch: the source (a
 * CloudTrail fault before a slice), the sink (a DNIF fault before a batch; the ledger; a kill
 * right after a batch's acknowledgement) and the DynamoDB client (faults/dynamodb.ts).
 *
 * The sink's retry timings are scaled down (timeouts of ~1 s instead of 30 s) so that a thousand
 * faults fit in minutes. A killed run does nothing more: every later sink, source and DynamoDB
 * call of that run fails, and the lease stays until the run's Lambda deadline, as after a crash.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ForwarderConfig } from '../../../../functions/core/config';
import type { Connector } from '../../../../functions/core/connector';
import { Deadline } from '../../../../functions/core/deadline';
import { logger } from '../../../../functions/core/logger';
import { HttpSink } from '../../../../functions/core/sink/http-sink';
import type { OutgoingRecord } from '../../../../functions/core/sink/records';
import type { SendStats, Sink } from '../../../../functions/core/sink/sink';
import { SyslogSink } from '../../../../functions/core/sink/syslog-sink';
import { CloudTrailSource, createCloudTrailClient, type SliceResult } from '../../../../functions/core/source/cloudtrail-source';
import { limiterKeyOf, credentialsFor } from '../../../../functions/core/source/credentials';
import { limiterFor } from '../../../../functions/core/source/rate-limiter';
import { forward, ForwarderRunError, type ForwarderSummary } from '../../../../functions/forwarder/forward';
import type { DeliveryLedger } from './delivery-ledger';
import type { SliceFaults } from './faults/cloudtrail';
import type { BatchFaults } from './faults/dnif';
import type { DynamoFaults } from './faults/dynamodb';
import { KillError, type RunState } from './run-state';
import { tallyRun, type FaultRates, type RunTally } from './schedule-spec';
import { rng, seedFor } from './suite';

export interface RunOutcome {
  summary?: ForwarderSummary;
  error?: unknown;
}

export interface ForwardInvokerDeps {
  name: string;
  seed: number;
  config: ForwarderConfig;
  connector: () => Connector;
  rates: () => FaultRates;
  slices: SliceFaults;
  batches: BatchFaults;
  dynamo: DynamoFaults;
  ledger: DeliveryLedger;
  tally: RunTally;
  violations: string[];
  /** A kill happened right after the acknowledgement of this batch. */
  onKill: (batchId: number) => void;
}

export class ForwardInvoker {
  constructor(private readonly d: ForwardInvokerDeps) {}

  async invoke(run: RunState): Promise<RunOutcome> {
    const connector = this.d.connector();
    const config = this.d.config;
    const client = new DynamoDBClient({});
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.d.dynamo.instrument(doc, run);
    const timings = { baseDelayMs: 20, maxDelayMs: 400, random: rng(this.d.seed ^ run.id) };
    const sink = new FaultySink(
      connector.syslog
        ? new SyslogSink(connector.syslog, { hostname: connector.name, connectTimeoutMs: 900, writeTimeoutMs: 900, closeTimeoutMs: 900, ...timings })
        : new HttpSink(connector.http!, { requestTimeoutMs: 900, ...timings }),
      run,
      this.d,
    );
    let out: RunOutcome;
    try {
      const summary = await forward({
        config,
        connector,
        doc,
        sink,
        deadline: new Deadline(run.endsAt, config.deadlineReserveMs),
        leaseUntilMs: run.endsAt,
        owner: run.owner,
        logger,
        sourceFor: (region) =>
          new FaultySource(
            {
              region,
              client: createCloudTrailClient(region, credentialsFor(connector.aws, region)),
              limiter: limiterFor(limiterKeyOf(connector.aws), region, config.lookupRatePerSecond),
              random: rng(seedFor(`${this.d.name}/${region}/${run.id}`)),
            },
            run,
            this.d,
          ),
      });
      out = { summary };
    } catch (error) {
      out = { error, summary: error instanceof ForwarderRunError ? error.summary : undefined };
      if (!(error instanceof ForwarderRunError) && run.alive) this.d.violations.push(`run ${run.id} failed outside a region: ${String(error)}`);
    } finally {
      client.destroy();
    }
    const elapsed = Date.now() - run.startedAt;
    if (run.alive && elapsed > run.timeoutMs) this.d.violations.push(`run ${run.id} took ${elapsed} ms, past its ${run.timeoutMs} ms Lambda timeout`);
    tallyRun(this.d.tally, out.summary);
    return out;
  }
}

class FaultySource extends CloudTrailSource {
  constructor(
    options: ConstructorParameters<typeof CloudTrailSource>[0],
    private readonly run: RunState,
    private readonly d: ForwardInvokerDeps,
  ) {
    super(options);
  }

  override async fetchSlice(startSec: number, endSec: number, deadline: Deadline, maxEvents?: number): Promise<SliceResult> {
    if (!this.run.alive) throw new KillError();
    this.d.slices.beforeSlice(this.region, this.d.rates().cloudtrail);
    const result = await super.fetchSlice(startSec, endSec, deadline, maxEvents);
    if (!this.run.alive) throw new KillError();
    return result;
  }
}

class FaultySink implements Sink {
  constructor(
    private readonly real: Sink,
    private readonly run: RunState,
    private readonly d: ForwardInvokerDeps,
  ) {}

  async send(records: OutgoingRecord[], deadline: Deadline): Promise<SendStats> {
    if (!this.run.alive) throw new KillError();
    let stats: SendStats;
    try {
      stats = await this.d.batches.around(() => this.real.send(records, deadline));
    } catch (err) {
      this.d.ledger.sendFailed(records);
      throw err;
    }
    const batchId = this.d.ledger.accepted(records, this.run.id);
    this.run.acked += 1;
    if (this.run.alive && this.run.killAfterBatch !== undefined && this.run.acked >= this.run.killAfterBatch) {
      // DNIF has the batch; the process dies before anything is written down.
      this.run.alive = false;
      this.run.killedAt = Date.now();
      this.d.onKill(batchId);
      throw new KillError();
    }
    return stats;
  }
}
