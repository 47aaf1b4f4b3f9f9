/**
 * The object ledger: how far delivery of each trail file got, in the checkpoint table
 * (SPEC.md, "Second source"). One item per object version:
 *
 *   object#<connector>#<bucket>#<key>#<etag>   { bucket, key, etag, status, delivered, records,
 *                                               owner, leaseUntil, updatedAt, expiresAt }
 *
 * `delivered` counts the file's leading records already handled (acknowledged by DNIF, or
 * dropped by a filter), in file order: a later reader skips that many and goes on. The lease
 * (`owner`, `leaseUntil`) lets one invocation at a time send an object; every progress write
 * is conditioned on still holding it, so a reader that lost its lease stops before sending more.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/** Longer than SQS keeps a message (14 days) and than the audit looks back. */
export const LEDGER_RETENTION_SECONDS = 31 * 86400;

export interface ObjectRef {
  bucket: string;
  key: string;
  /** Without quotes. */
  etag: string;
}

export type LedgerStatus = 'in-progress' | 'done' | 'failed';

export interface LedgerEntry extends ObjectRef {
  status: LedgerStatus;
  delivered: number;
  /** Records in the file, set when done. */
  records?: number;
  /** Records sent to DNIF (not counting filtered ones), set when done. */
  forwarded?: number;
  owner?: string;
  leaseUntil?: number;
  errorCode?: string;
  updatedAt?: string;
}

/** What acquiring an object's lease found. */
export type AcquireResult =
  | { state: 'acquired'; entry: LedgerEntry }
  | { state: 'done'; entry: LedgerEntry }
  | { state: 'held'; entry: LedgerEntry };

/** The lease was taken over by another reader (ours had expired): stop sending this object. */
export class LeaseLostError extends Error {
  constructor(ref: ObjectRef) {
    super(`Another reader took over s3://${ref.bucket}/${ref.key}; this one stops`);
    this.name = 'LeaseLostError';
  }
}

export const normaliseEtag = (etag: string): string => etag.replace(/^W\//, '').replace(/"/g, '');

export class ObjectLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly connectorName: string,
  ) {}

  pkOf(ref: ObjectRef): string {
    return `object#${this.connectorName}#${ref.bucket}#${ref.key}#${normaliseEtag(ref.etag)}`;
  }

  async get(ref: ObjectRef): Promise<LedgerEntry | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: this.pkOf(ref) }, ConsistentRead: true }));
    return out.Item ? toEntry(out.Item) : undefined;
  }

  /** Takes the object's lease until `untilMs` unless it is done or a live reader holds it. */
  async acquire(ref: ObjectRef, owner: string, untilMs: number, nowMs = Date.now()): Promise<AcquireResult> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: this.pkOf(ref) },
          ...named(
            'SET #bucket = :bucket, #key = :key, #etag = :etag, #status = :progress, #delivered = if_not_exists(#delivered, :zero), #owner = :owner, #leaseUntil = :until, #updatedAt = :now, #expiresAt = :exp',
            'attribute_not_exists(pk) OR (#status <> :done AND (#leaseUntil < :nowMs OR #owner = :owner))',
          ),
          ExpressionAttributeValues: {
            ':bucket': ref.bucket,
            ':key': ref.key,
            ':etag': normaliseEtag(ref.etag),
            ':progress': 'in-progress',
            ':zero': 0,
            ':owner': owner,
            ':until': untilMs,
            ':now': new Date(nowMs).toISOString(),
            ':exp': Math.floor(nowMs / 1000) + LEDGER_RETENTION_SECONDS,
            ':done': 'done',
            ':nowMs': nowMs,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { state: 'acquired', entry: toEntry(out.Attributes ?? {}) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const entry = await this.get(ref);
    if (!entry) return this.acquire(ref, owner, untilMs, nowMs); // deleted in between: try again
    return { state: entry.status === 'done' ? 'done' : 'held', entry };
  }

  /** Records that the file's first `delivered` records are handled. Throws LeaseLostError. */
  async progress(ref: ObjectRef, owner: string, delivered: number): Promise<void> {
    await this.guarded(ref, owner, 'SET #delivered = :d, #updatedAt = :now', { ':d': delivered });
  }

  /** The whole file is handled: later notifications for it are acknowledged at once. */
  async complete(ref: ObjectRef, owner: string, records: number, forwarded: number): Promise<void> {
    await this.guarded(ref, owner, 'SET #status = :done, #delivered = :d, #records = :d, #forwarded = :f, #leaseUntil = :zero, #updatedAt = :now REMOVE #errorCode', {
      ':done': 'done',
      ':d': records,
      ':f': forwarded,
      ':zero': 0,
    });
  }

  /** Gives the lease up so the next reader (a continuation, a redelivery) may start at once. */
  async release(ref: ObjectRef, owner: string, errorCode?: string): Promise<void> {
    const failed = errorCode !== undefined;
    try {
      await this.guarded(
        ref,
        owner,
        failed ? 'SET #leaseUntil = :zero, #updatedAt = :now, #status = :failed, #errorCode = :code' : 'SET #leaseUntil = :zero, #updatedAt = :now',
        failed ? { ':zero': 0, ':failed': 'failed', ':code': errorCode } : { ':zero': 0 },
      );
    } catch (err) {
      if (!(err instanceof LeaseLostError)) throw err; // someone else holds it: nothing to give up
    }
  }

  private async guarded(ref: ObjectRef, owner: string, update: string, values: Record<string, unknown>): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: this.pkOf(ref) },
          ...named(update, 'attribute_exists(pk) AND #owner = :owner'),
          ExpressionAttributeValues: { ...values, ':owner': owner, ':now': new Date().toISOString() },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new LeaseLostError(ref);
      throw err;
    }
  }
}

type Named = { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeNames: Record<string, string> };
/** The few expressions this module writes, each worked out once: the regex was 1.4 % of the CPU a small file costs (bench). */
const namedCache = new Map<string, Named>();

/** Every attribute goes by a `#name` placeholder: several (bucket, key, status, owner) are DynamoDB reserved words. */
function named(update: string, condition: string): Named {
  const cacheKey = `${update}\n${condition}`;
  let out = namedCache.get(cacheKey);
  if (out === undefined) {
    const names = Object.fromEntries([...`${update} ${condition}`.matchAll(/#(\w+)/g)].map((m) => [`#${m[1]}`, m[1]]));
    // Frozen: the same object goes into every command with this expression.
    out = Object.freeze({ UpdateExpression: update, ConditionExpression: condition, ExpressionAttributeNames: Object.freeze(names) });
    namedCache.set(cacheKey, out);
  }
  return out;
}

function toEntry(item: Record<string, unknown>): LedgerEntry {
  const num = (v: unknown) => (v === undefined ? undefined : Number(v));
  return {
    bucket: String(item.bucket),
    key: String(item.key),
    etag: String(item.etag),
    status: item.status as LedgerStatus,
    delivered: Number(item.delivered ?? 0),
    records: num(item.records),
    forwarded: num(item.forwarded),
    owner: item.owner === undefined ? undefined : String(item.owner),
    leaseUntil: num(item.leaseUntil),
    errorCode: item.errorCode === undefined ? undefined : String(item.errorCode),
    updatedAt: item.updatedAt === undefined ? undefined : String(item.updatedAt),
  };
}
