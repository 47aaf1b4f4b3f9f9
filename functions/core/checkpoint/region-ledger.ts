/**
 * The region ledger: what the Event history forwarder keeps in the checkpoint table (SPEC.md:
 * CHECKPOINT_TABLE, partition key `pk`, TTL `expiresAt`), beside the trail files' object-ledger.ts:
 *
 *   cursor#<connector>#<region>        { head, sweep }  epoch seconds, see forwarder/region-cursor.ts
 *                                      { deliveredThrough }  progress inside a settled slice
 *   seen#<connector>#<region>#<bucket> { ids }          hashes of EventIds already handled, by
 *                                                       10-second bucket of EventTime
 *   lease#<connector>                  { owner, leaseUntil }  one run per connector at a time
 *
 * `seen` items hold 8-byte hashes in a string set, ~12 bytes an event: at the API ceiling of
 * 100 events/s a bucket holds ≤1,000 of them, ≈12 KB, far below the 400 KB item limit.
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { cappedExponentialMs, retry } from '../retry';
import { BatchGetCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export const SEEN_BUCKET_SECONDS = 10;
/** LookupEvents reaches 90 days back: nothing older can be read again, so nothing older is kept. */
const RETENTION_SECONDS = 91 * 86400;

/** The `cursor#` item: where a region's reading stands (its owner is forwarder/region-cursor.ts). */
export interface StoredCursor {
  /** Everything before `head` has been read at least once. */
  head: number;
  /** Everything before `sweep` has been read after it could no longer change (EventTime + lateness). */
  sweep: number;
  /** Slice width (s) that suited the last run's event density; a hint, not a promise. */
  sliceSeconds?: number;
  /** Events per second of Event history the last run read: sizes the next run's re-read window. */
  eventsPerSecond?: number;
  /**
   * Progress inside a settled slice (one no later pass reads again): every event from `sweep`
   * up to this one, in (EventTime, EventId) order, is handled. One small write per batch
   * instead of `seen` entries that nothing but a retry of the same slice would ever consult.
   */
  deliveredThrough?: EventPosition;
}

/** An event's place in delivery order: EventTime, then EventId. */
export interface EventPosition {
  time: number;
  eventId: string;
}

/** True when `e` comes at or before `through` in delivery order. */
export function isAtOrBefore(e: { eventTime: number; eventId: string }, through: EventPosition): boolean {
  return e.eventTime < through.time || (e.eventTime === through.time && e.eventId <= through.eventId);
}

/** Hash of an EventId as stored in `seen` items: 8 bytes of SHA-256, base64url. */
export function seenKey(eventId: string): string {
  return createHash('sha256').update(eventId).digest().subarray(0, 8).toString('base64url');
}

export class LeaseHeldError extends Error {
  constructor(connector: string) {
    super(`Another run of connector ${connector} holds the lease; this run does nothing`);
    this.name = 'LeaseHeldError';
  }
}

/** The ledger's DynamoDB calls in this run: the summary's `checkpointUsage`. */
export interface LedgerUsage {
  reads: number;
  writes: number;
  /** Capacity units DynamoDB reported (ReturnConsumedCapacity TOTAL). */
  readUnits: number;
  writeUnits: number;
}

export class RegionLedger {
  readonly usage: LedgerUsage = { reads: 0, writes: 0, readUnits: 0, writeUnits: 0 };
  // Buckets already loaded in this run, so each is read at most once.
  private readonly seenCache = new Map<string, Set<string>>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly connector: string,
  ) {}

  private cursorPk(region: string): string {
    return `cursor#${this.connector}#${region}`;
  }

  private seenPk(region: string, bucket: number): string {
    return `seen#${this.connector}#${region}#${bucket}`;
  }

  private countWrite(consumed?: { CapacityUnits?: number }): void {
    this.usage.writes += 1;
    this.usage.writeUnits += consumed?.CapacityUnits ?? 0;
  }

  async getCursor(region: string): Promise<StoredCursor | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: this.cursorPk(region) }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    this.usage.reads += 1;
    this.usage.readUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    if (!out.Item) return undefined;
    return {
      head: Number(out.Item.head),
      sweep: Number(out.Item.sweep),
      sliceSeconds: out.Item.sliceSeconds === undefined ? undefined : Number(out.Item.sliceSeconds),
      eventsPerSecond: out.Item.eventsPerSecond === undefined ? undefined : Number(out.Item.eventsPerSecond),
      deliveredThrough:
        out.Item.deliveredThroughTime === undefined
          ? undefined
          : { time: Number(out.Item.deliveredThroughTime), eventId: String(out.Item.deliveredThroughEventId) },
    };
  }

  /** Never moves a cursor backwards, even if two writers raced past the lease. */
  async saveCursor(region: string, cursor: StoredCursor): Promise<void> {
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: this.cursorPk(region),
            head: cursor.head,
            sweep: cursor.sweep,
            sliceSeconds: cursor.sliceSeconds,
            eventsPerSecond: cursor.eventsPerSecond,
            deliveredThroughTime: cursor.deliveredThrough?.time,
            deliveredThroughEventId: cursor.deliveredThrough?.eventId,
            updatedAt: new Date().toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR (head <= :head AND sweep <= :sweep)',
          ExpressionAttributeValues: { ':head': cursor.head, ':sweep': cursor.sweep },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.countWrite(out.ConsumedCapacity);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      // Stored cursor is already further on: keep it.
    }
  }

  /**
   * Records how far delivery got inside a settled slice. It touches only the marker: a cursor
   * another writer moved on stays where it is (the marker stays true of it, as that writer never
   * passes an undelivered event), and a missing cursor item is created at `cursor`.
   */
  async saveDeliveredThrough(region: string, cursor: StoredCursor, through: EventPosition): Promise<void> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: this.cursorPk(region) },
        UpdateExpression:
          'SET head = if_not_exists(head, :head), sweep = if_not_exists(sweep, :sweep), deliveredThroughTime = :time, deliveredThroughEventId = :id, updatedAt = :now',
        ExpressionAttributeValues: { ':head': cursor.head, ':sweep': cursor.sweep, ':time': through.time, ':id': through.eventId, ':now': new Date().toISOString() },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.countWrite(out.ConsumedCapacity);
  }

  /** The hashes of handled EventIds with EventTime in [fromSec, toSec). */
  async loadSeen(region: string, fromSec: number, toSec: number): Promise<Set<string>> {
    const all = new Set<string>();
    const missing: number[] = [];
    for (let b = bucketOf(fromSec); b < toSec; b += SEEN_BUCKET_SECONDS) {
      const cached = this.seenCache.get(this.seenPk(region, b));
      if (cached) cached.forEach((id) => all.add(id));
      else missing.push(b);
    }
    for (let i = 0; i < missing.length; i += 100) {
      let keys: Record<string, unknown>[] = missing.slice(i, i + 100).map((b) => ({ pk: this.seenPk(region, b) }));
      for (const b of missing.slice(i, i + 100)) this.seenCache.set(this.seenPk(region, b), new Set());
      // BatchGet may return some keys unprocessed under load: ask again for those.
      await retry(
        async () => {
          const out = await this.doc.send(
            new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ProjectionExpression: 'pk, ids' } }, ReturnConsumedCapacity: 'TOTAL' }),
          );
          this.usage.reads += 1;
          this.usage.readUnits += (out.ConsumedCapacity ?? []).reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
          for (const item of out.Responses?.[this.table] ?? []) {
            const ids = item.ids instanceof Set ? (item.ids as Set<string>) : new Set<string>();
            this.seenCache.set(String(item.pk), new Set(ids));
            ids.forEach((id) => all.add(id));
          }
          keys = (out.UnprocessedKeys?.[this.table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
          if (keys.length > 0) throw UNPROCESSED;
        },
        // Errors of the call itself are the SDK's to retry; only a partial answer is ours.
        { isRetryable: (err) => err === UNPROCESSED, backoff: (attempt) => cappedExponentialMs(attempt, 50, 1000) },
      );
    }
    return all;
  }

  /** Records events as handled (delivered or filtered). ADD to a set is idempotent and needs no read. */
  async markSeen(region: string, events: { eventId: string; eventTime: number }[]): Promise<void> {
    const byBucket = new Map<number, string[]>();
    for (const e of events) {
      const b = bucketOf(e.eventTime);
      const list = byBucket.get(b) ?? [];
      list.push(seenKey(e.eventId));
      byBucket.set(b, list);
    }
    await Promise.all(
      [...byBucket].map(async ([bucket, ids]) => {
        const out = await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: this.seenPk(region, bucket) },
            UpdateExpression: 'ADD ids :ids SET expiresAt = :exp',
            ExpressionAttributeValues: { ':ids': new Set(ids), ':exp': bucket + SEEN_BUCKET_SECONDS + RETENTION_SECONDS },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        this.countWrite(out.ConsumedCapacity);
        const pk = this.seenPk(region, bucket);
        const cached = this.seenCache.get(pk) ?? new Set<string>();
        ids.forEach((id) => cached.add(id));
        this.seenCache.set(pk, cached);
      }),
    );
  }

  /** Takes the connector's lease until `untilMs`, or throws LeaseHeldError if a live run has it. */
  async acquireLease(owner: string, untilMs: number, nowMs = Date.now()): Promise<void> {
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `lease#${this.connector}`, owner, leaseUntil: untilMs, expiresAt: Math.ceil(untilMs / 1000) + 86400 },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': nowMs, ':owner': owner },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.countWrite(out.ConsumedCapacity);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new LeaseHeldError(this.connector);
      throw err;
    }
  }

  async releaseLease(owner: string): Promise<void> {
    try {
      const out = await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: `lease#${this.connector}` },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.countWrite(out.ConsumedCapacity);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}

/** Thrown inside loadSeen's retry when BatchGet left keys unprocessed. */
const UNPROCESSED = new Error('BatchGet left keys unprocessed');

export const bucketOf = (epochSeconds: number): number => Math.floor(epochSeconds / SEEN_BUCKET_SECONDS) * SEEN_BUCKET_SECONDS;
