/**
 * Forwards one trail file through the delivery core: take the object's lease in the ledger, skip
 * the records an earlier reader already handled, stream the rest through filters, records and
 * batches to the sink, and record progress after every acknowledged batch. Used by the S3
 * forwarder, replay and the audit's repair alike.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { LeaseLostError, normaliseEtag, type ObjectLedger, type ObjectRef } from '../../checkpoint/object-ledger';
import { deliverBatches, type DeliveryTally } from '../../delivery/deliver-batches';
import type { SourceEvent } from '../../event';
import type { BatchLimits } from '../../sink/batcher';
import { SinkRejectedError, SinkUnavailableError } from '../../sink/errors';
import { buildRecord, type OutgoingRecord } from '../../sink/records';
import type { Sink } from '../../sink/sink';
import { DeadlineReachedError, type Deadline } from '../../deadline';
import { backoffDelayMs, retry } from '../../retry';
import { headEtag, ObjectReadError, openTrailObject, type ReadErrorCode } from '../../source/trail-files/object-reader';
import { topFieldsOf } from '../../source/trail-files/record-fields';
import type { ScannedRecord } from '../../source/trail-files/records-scanner';
import { parseTrailKey } from '../../source/trail-files/trail-keys';

export interface ForwardObjectDeps {
  s3: S3Client;
  ledger: ObjectLedger;
  sink: Sink;
  deadline: Deadline;
  limits: BatchLimits;
  /** true: deliver; false: drop by the connector's filters (counted, handled). */
  passesFilters: (event: SourceEvent) => boolean;
  connectorName: string;
  flatten: boolean;
  /** Who holds the object's lease (the invocation's request id) and until when (epoch ms). */
  owner: string;
  leaseUntilMs: number;
  logger: Logger;
  /** Reads of the object after an S3 failure part way, within this call (default 3). */
  readAttempts?: number;
}

export type FailureCode = ReadErrorCode | 'DnifUnavailable' | 'DnifRejected' | 'DnifAuthRejected' | 'LedgerUnavailable';

export interface ObjectCounts {
  records: number;
  forwarded: number;
  duplicatesSkipped: number;
  filtered: number;
  truncated: number;
  unparsed: number;
  batches: number;
  sinkErrors: number;
}

export interface ObjectOutcome extends ObjectCounts {
  status: 'delivered' | 'already-delivered' | 'continued' | 'failed';
  ref: ObjectRef;
  /** Set for 'continued': the deadline came, or another invocation holds the lease. */
  continuedBecause?: 'deadline' | 'lease-held';
  /** For 'lease-held': how long until the other reader's lease runs out. */
  retryAfterMs?: number;
  /** Set for 'failed'. */
  code?: FailureCode;
  message?: string;
}

/** DNIF could not take the records: hand the work back later, do not fail the object. */
export const isDeliveryFailure = (code?: FailureCode): boolean => code === 'DnifUnavailable' || code === 'DnifRejected' || code === 'DnifAuthRejected';

const DEADLINE_CHECK_EVERY = 1000;

export async function forwardObject(target: { bucket: string; key: string; etag?: string }, deps: ForwardObjectDeps): Promise<ObjectOutcome> {
  const counts: ObjectCounts = { records: 0, forwarded: 0, duplicatesSkipped: 0, filtered: 0, truncated: 0, unparsed: 0, batches: 0, sinkErrors: 0 };
  let ref: ObjectRef = { bucket: target.bucket, key: target.key, etag: normaliseEtag(target.etag ?? '') };
  const fail = (code: FailureCode, message: string): ObjectOutcome => {
    deps.logger.error('Trail file not forwarded', { bucket: ref.bucket, key: ref.key, code, error: message });
    return { status: 'failed', ref, code, message, ...counts };
  };
  try {
    if (!ref.etag) ref = { ...ref, etag: await headEtag(deps.s3, ref.bucket, ref.key) };
  } catch (err) {
    const e = err as ObjectReadError;
    return fail(e.code, e.message);
  }

  const lease = await deps.ledger.acquire(ref, deps.owner, deps.leaseUntilMs);
  if (lease.state === 'done') {
    counts.duplicatesSkipped = lease.entry.records ?? lease.entry.delivered;
    return { status: 'already-delivered', ref, ...counts };
  }
  if (lease.state === 'held') {
    return { status: 'continued', ref, continuedBecause: 'lease-held', retryAfterMs: Math.max(0, (lease.entry.leaseUntil ?? 0) - Date.now()), ...counts };
  }

  let handled = lease.entry.delivered;
  counts.duplicatesSkipped = handled;
  const attempts = deps.readAttempts ?? 3;
  let lastReadError: ObjectReadError | undefined;
  try {
    await retry(
      async (attempt) => {
        if (lastReadError) deps.logger.warn('Reading a trail file failed part way; reading it again', { bucket: ref.bucket, key: ref.key, error: lastReadError.message, attempt });
        await streamObject(ref, handled, deps, counts, (n) => (handled = n));
      },
      {
        maxAttempts: attempts,
        isRetryable: (err) => err instanceof ObjectReadError && err.transient,
        backoff: (attempt) => backoffDelayMs(attempt + 1, 200, 5000),
        onRetry: (err) => (lastReadError = err as ObjectReadError),
        deadline: deps.deadline,
      },
    );
    return { status: 'delivered', ref, ...counts };
  } catch (err) {
    if (err instanceof DeadlineReachedError) {
      await deps.ledger.release(ref, deps.owner).catch(() => undefined);
      deps.logger.info('Deadline near: trail file continues in a later invocation', { bucket: ref.bucket, key: ref.key, delivered: handled });
      return { status: 'continued', ref, continuedBecause: 'deadline', ...counts };
    }
    if (err instanceof LeaseLostError) return { status: 'continued', ref, continuedBecause: 'lease-held', retryAfterMs: 0, ...counts };
    const failure = describe(err);
    await deps.ledger.release(ref, deps.owner, isDeliveryFailure(failure.code) ? undefined : failure.code).catch(() => undefined);
    if (isDeliveryFailure(failure.code)) return { status: 'failed', ref, ...failure, ...counts };
    return fail(failure.code, failure.message);
  }
}

/** One read of the object from the start, skipping the first `handled` records. */
async function streamObject(ref: ObjectRef, startAt: number, deps: ForwardObjectDeps, counts: ObjectCounts, onHandled: (n: number) => void): Promise<void> {
  const opened = await openTrailObject(deps.s3, ref.bucket, ref.key);
  if (opened.etag && opened.etag !== ref.etag) {
    deps.logger.warn('The object changed since it was notified; forwarding what S3 serves now', { bucket: ref.bucket, key: ref.key, notified: ref.etag, served: opened.etag });
  }
  const keyInfo = parseTrailKey(ref.key);
  const maxRecordBytes = deps.limits.maxBytes - 2;
  const tally: DeliveryTally = { forwarded: 0, batches: 0, sinkErrors: 0 };
  let chunk: OutgoingRecord[] = [];
  let chunkBytes = 1;
  let forwardedAt = new Date().toISOString();
  let index = 0;
  let completed = false;
  /** `final`: the stream has ended, so the last batch's write marks the whole file done (one write, not two). */
  const flush = async (final = false) => {
    if (chunk.length === 0) return;
    const batch = chunk;
    const lastOfFile = batch[batch.length - 1];
    chunk = [];
    chunkBytes = 1;
    try {
      await deliverBatches(batch, { sink: deps.sink, limits: deps.limits, deadline: deps.deadline, what: `s3://${ref.bucket}/${ref.key}`, onDelivered: async (sent) => {
        if (final && sent[sent.length - 1] === lastOfFile) {
          await deps.ledger.complete(ref, deps.owner, index, counts.forwarded + tally.forwarded + sent.length);
          completed = true;
          onHandled(index);
        } else {
          const through = (sent[sent.length - 1].position ?? 0) + 1;
          await deps.ledger.progress(ref, deps.owner, through);
          onHandled(through);
        }
      } }, tally);
    } finally {
      counts.forwarded += tally.forwarded;
      counts.batches += tally.batches;
      counts.sinkErrors += tally.sinkErrors;
      tally.forwarded = tally.batches = tally.sinkErrors = 0;
    }
    forwardedAt = new Date().toISOString();
  };

  for await (const records of opened.records) {
    for (const scanned of records) {
      const position = index++;
      if (position % DEADLINE_CHECK_EVERY === 0 && deps.deadline.reached) throw new DeadlineReachedError(`reading s3://${ref.bucket}/${ref.key}`);
      if (position < startAt) continue;
      const event = toSourceEvent(scanned, ref, position);
      if (!deps.passesFilters(event)) {
        counts.filtered += 1;
        continue;
      }
      const out = buildRecord(event, {
        connectorName: deps.connectorName,
        region: event.awsRegion ?? keyInfo.region ?? '',
        forwardedAt,
        flatten: deps.flatten,
        maxRecordBytes,
        source: 's3',
        s3: { bucket: ref.bucket, key: ref.key },
        keyAccountId: keyInfo.account,
      });
      out.position = position;
      if (out.truncated) counts.truncated += 1;
      if (out.unparsed) counts.unparsed += 1;
      if (chunk.length > 0 && (chunk.length >= deps.limits.maxEvents || chunkBytes + out.bytes + 1 > deps.limits.maxBytes)) await flush();
      chunk.push(out);
      chunkBytes += out.bytes + 1;
    }
  }
  counts.records = index;
  await flush(true);
  if (!completed) await deps.ledger.complete(ref, deps.owner, index, counts.forwarded);
  onHandled(index);
}

/** A trail record as the delivery core takes it, with its region for `dnifForwarder.region`. */
type TrailEvent = SourceEvent & { awsRegion?: string };

/**
 * From the fields the reader took on its pass when the record is plain; otherwise from the
 * parsed record (which also settles whether it is JSON at all).
 */
function toSourceEvent(scanned: ScannedRecord, ref: ObjectRef, position: number): TrailEvent {
  let fields = scanned.fields;
  let record: Record<string, unknown> | undefined;
  if (!fields) {
    try {
      record = JSON.parse(scanned.text) as Record<string, unknown>;
    } catch (err) {
      throw new ObjectReadError('CorruptJson', `s3://${ref.bucket}/${ref.key}: record ${position} is not JSON (${(err as Error).message})`);
    }
    fields = topFieldsOf(record);
  }
  const time = Date.parse(fields.eventTime ?? '');
  return {
    // A record without an eventID (none are known) still gets a stable one, for DNIF's dedupe.
    eventId: fields.eventID ?? `${ref.etag}:${position}`,
    eventTime: Number.isFinite(time) ? Math.floor(time / 1000) : 0,
    eventName: fields.eventName,
    eventSource: fields.eventSource,
    readOnly: fields.readOnly,
    awsRegion: fields.awsRegion,
    ...(record ? { record, cloudTrailEvent: scanned.text } : { checked: { bytes: scanned.bytes, recipientAccountId: fields.recipientAccountId } }),
  };
}

function describe(err: unknown): { code: FailureCode; message: string } {
  if (err instanceof ObjectReadError) return { code: err.code, message: err.message };
  if (err instanceof SinkRejectedError) return { code: err.isAuthError ? 'DnifAuthRejected' : 'DnifRejected', message: err.message };
  if (err instanceof SinkUnavailableError) return { code: 'DnifUnavailable', message: err.message };
  const e = err as Error;
  return { code: 'LedgerUnavailable', message: `${e.name}: ${e.message}` };
}
