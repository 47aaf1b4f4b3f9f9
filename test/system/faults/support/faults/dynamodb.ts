/**
 * DynamoDB faults, as middleware on a run's own client: transient errors (SDK-retried), a seen#
 * (or deliveredThrough) write that fails after DNIF's 2xx, a cursor written ahead by someone
 * else, a lease stolen mid-run. After every stored cursor the cursor oracle checks the promise.
 * A killed run's every later call fails.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { seenKey } from '../../../../../functions/core/checkpoint/region-ledger';
import type { CursorOracle } from '../cursor-oracle';
import type { DeliveryLedger } from '../delivery-ledger';
import type { LeaseTable } from '../lease-table';
import { LATENESS_SECONDS, type FaultCounts, type FaultRates } from '../schedule-spec';
import type { Rng } from '../suite';
import { KillError, type RunState } from '../run-state';

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

export interface DynamoFaultDeps {
  admin: DynamoDBDocumentClient;
  table: string;
  connectorName: string;
  rnd: Rng;
  rates: () => FaultRates;
  maxSeenWriteFails: number;
  counts: FaultCounts;
  ledger: DeliveryLedger;
  oracle: CursorOracle;
  leases: LeaseTable;
  /** The events DNIF has, by eventId. */
  received: () => ReadonlyMap<string, unknown>;
}

export class DynamoFaults {
  private seenWriteFails = 0;
  /** Pending "someone else wrote the cursor" per region: counted when our write then loses. */
  private readonly aheadPending = new Set<string>();

  constructor(private readonly d: DynamoFaultDeps) {}

  instrument(doc: DynamoDBDocumentClient, run: RunState): void {
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (!run.alive) throw new KillError();
        const input = args.input as { Key?: { pk?: string }; Item?: Record<string, unknown>; ExpressionAttributeValues?: Record<string, unknown> };
        const pk = String(input.Key?.pk ?? input.Item?.pk ?? '');
        const command = context.commandName;
        const recordsBatch = command === 'UpdateItemCommand' ? batchRecordedBy(pk, input.ExpressionAttributeValues) : undefined;
        if (recordsBatch && this.seenWriteFails < this.d.maxSeenWriteFails && this.d.rnd.chance(this.d.rates().seenWriteFail)) {
          this.seenWriteFails += 1;
          this.d.counts.dynamo += 1;
          this.d.ledger.allowBatchRecordedBy(recordsBatch);
          throw new InjectedDynamoError();
        }
        if (command === 'PutItemCommand' && pk.startsWith('cursor#')) {
          const region = pk.split('#')[2];
          if (run.stealLease) {
            run.stealLease = false;
            await this.d.leases.put(`thief-${randomUUID()}`, Date.now() + this.d.rnd.int(200, 1000));
          }
          if (this.d.rnd.chance(this.d.rates().cursorAhead)) await this.writeAhead(region, input.Item as { head: number; sweep: number });
          try {
            const out = await next(args);
            this.d.oracle.check(region, { head: Number(input.Item?.head), sweep: Number(input.Item?.sweep) }, this.d.received(), `run ${run.id}`, run.startedAt);
            return out;
          } catch (err) {
            if (err instanceof ConditionalCheckFailedException && this.aheadPending.delete(region)) this.d.counts.conflicts += 1;
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
            if (err instanceof ConditionalCheckFailedException) this.d.counts.conflicts += 1;
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
        if (!ctx.reliabilityInjected && this.d.rnd.chance(this.d.rates().dynamoTransient)) {
          ctx.reliabilityInjected = true;
          this.d.counts.dynamo += 1;
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

  /** Another writer (a run that read that far) stored a cursor further on, never past an undelivered event. */
  private async writeAhead(region: string, ours: { head: number; sweep: number }): Promise<void> {
    const firstUndelivered = this.d.oracle.firstUndelivered(region, this.d.received());
    const nowSec = Math.floor(Date.now() / 1000);
    const current = this.d.oracle.storedOf(region);
    const head = Math.max(current.head, Math.min(firstUndelivered, nowSec));
    const sweep = Math.max(current.sweep, Math.min(firstUndelivered, nowSec - LATENESS_SECONDS, head));
    if (head <= ours.head && sweep <= ours.sweep) return; // ours would win anyway: no conflict to make
    if (head === current.head && sweep === current.sweep) return;
    try {
      await this.d.admin.send(
        // It moves the cursors and leaves the rest: a `deliveredThrough` marker stays true of a
        // cursor that never passes an undelivered event.
        new UpdateCommand({
          TableName: this.d.table,
          Key: { pk: `cursor#${this.d.connectorName}#${region}` },
          UpdateExpression: 'SET head = :head, sweep = :sweep, updatedAt = :now',
          ConditionExpression: 'attribute_not_exists(pk) OR (head <= :head AND sweep <= :sweep)',
          ExpressionAttributeValues: { ':head': head, ':sweep': sweep, ':now': new Date().toISOString() },
        }),
      );
      this.d.oracle.setStored(region, { head, sweep });
      this.aheadPending.add(region);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}
