/**
 * One SQS batch: forward every trail file each message names, and decide per message what SQS
 * should do with it (SPEC.md, "Second source", the promise):
 *
 *   all files delivered (or already)        acknowledged
 *   deadline near, or another invocation    the unfinished files go on in a continuation message,
 *   holds a file's lease                     then acknowledged (progress is in the ledger)
 *   DNIF unavailable                        continuation with a growing delay, until
 *                                            DNIF_OUTAGE_TOLERANCE_HOURS; after that, failed
 *   a file cannot be read, bad message      failed (batchItemFailures): retried, then the DLQ
 *
 * A message whose continuation could not be sent is failed too: SQS then keeps the original.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { ObjectCounts, ObjectOutcome } from '../core/delivery/trail-files/forward-object';
import { isDeliveryFailure } from '../core/delivery/trail-files/forward-object';
import {
  continuationBody,
  NotificationError,
  parseMessageBody,
  type Continuation,
  type ContinuationReason,
  type NotifiedObject,
  type ParsedMessage,
} from '../core/source/trail-files/notifications';
import { isForwardedKind, parseTrailKey } from '../core/source/trail-files/trail-keys';
import type { Deadline } from '../core/deadline';

export interface MessageRunDeps {
  forward: (object: NotifiedObject) => Promise<ObjectOutcome>;
  /** Sends a message to the queue named by `eventSourceARN`. */
  handOn: (eventSourceARN: string, body: string, delaySeconds: number) => Promise<void>;
  deadline: Deadline;
  outageToleranceMs: number;
  outageBackoffSeconds: number;
  logger: Logger;
  now?: () => number;
}

export interface S3RunSummary extends Omit<ObjectCounts, 'records'> {
  messages: number;
  objects: number;
  delivered: number;
  alreadyDelivered: number;
  continued: number;
  failed: number;
  skippedDigests: number;
  skippedOther: number;
  ignoredEvents: number;
  badMessages: number;
  handedOn: number;
  failedMessages: number;
  readErrors: Record<string, number>;
  /** Files handed back because DNIF did not take them, by code (DnifUnavailable, DnifAuthRejected, ...). */
  dnifErrors: Record<string, number>;
}

export const emptyS3Summary = (): S3RunSummary => ({
  messages: 0, objects: 0, delivered: 0, alreadyDelivered: 0, continued: 0, failed: 0, forwarded: 0, duplicatesSkipped: 0,
  filtered: 0, truncated: 0, unparsed: 0, batches: 0, sinkErrors: 0, skippedDigests: 0, skippedOther: 0, ignoredEvents: 0,
  badMessages: 0, handedOn: 0, failedMessages: 0, readErrors: {}, dnifErrors: {},
});

const MAX_DELAY_SECONDS = 900; // SQS's limit for DelaySeconds

interface HandOn {
  objects: NotifiedObject[];
  reason: ContinuationReason;
  delaySeconds: number;
}

export async function processMessages(records: SQSRecord[], deps: MessageRunDeps, summary = emptyS3Summary()): Promise<SQSBatchResponse> {
  const failures: { itemIdentifier: string }[] = [];
  const now = deps.now ?? Date.now;
  /** Set once the deadline is near or DNIF is down: later messages are handed on unopened. */
  let stop: 'deadline' | 'dnif-unavailable' | undefined;

  for (const message of records) {
    summary.messages += 1;
    let parsed: ParsedMessage;
    try {
      parsed = parseMessageBody(message.body);
    } catch (err) {
      if (!(err instanceof NotificationError)) throw err;
      summary.badMessages += 1;
      failures.push({ itemIdentifier: message.messageId });
      deps.logger.error('SQS message not understood; it goes to the dead-letter queue after its retries', { messageId: message.messageId, code: 'BadNotification', error: err.message });
      continue;
    }
    summary.ignoredEvents += parsed.ignored.length;
    const work = parsed.objects.filter((o) => {
      const kind = parseTrailKey(o.key).kind;
      if (kind === 'digest') summary.skippedDigests += 1;
      else if (!isForwardedKind(kind)) summary.skippedOther += 1;
      return isForwardedKind(kind);
    });

    if (!stop && deps.deadline.reached) stop = 'deadline';
    const handOns: HandOn[] = [];
    let failed = false;
    const later: NotifiedObject[] = [];
    const held: NotifiedObject[] = [];
    let heldDelay = 1;
    for (const object of work) {
      if (stop) {
        later.push(object);
        continue;
      }
      let outcome: ObjectOutcome;
      try {
        outcome = await deps.forward(object);
      } catch (err) {
        deps.logger.error('Forwarding a trail file failed', { bucket: object.bucket, key: object.key, code: (err as Error).name, error: (err as Error).message });
        failed = true;
        continue;
      }
      tally(summary, outcome);
      const known = { bucket: object.bucket, key: object.key, etag: outcome.ref.etag || object.etag };
      if (outcome.status === 'continued' && outcome.continuedBecause === 'lease-held') {
        held.push(known);
        heldDelay = Math.max(heldDelay, Math.ceil((outcome.retryAfterMs ?? 0) / 1000) + 1);
      } else if (outcome.status === 'continued' && !(outcome.forwarded === 0 && outcome.sinkErrors > 0)) {
        stop = 'deadline';
        later.push(known);
      } else if (outcome.status === 'continued' || (outcome.status === 'failed' && isDeliveryFailure(outcome.code))) {
        // DNIF did not take anything before the deadline (still retrying): an outage, not progress.
        outcome.code ??= 'DnifUnavailable';
        stop = 'dnif-unavailable';
        later.push(known);
        count(summary.dnifErrors, outcome.code);
      } else if (outcome.status === 'failed') {
        count(summary.readErrors, outcome.code);
        failed = true;
      }
    }
    if (failed) {
      failures.push({ itemIdentifier: message.messageId });
      continue;
    }
    if (held.length > 0) handOns.push({ objects: held, reason: 'lease-held', delaySeconds: Math.min(MAX_DELAY_SECONDS, heldDelay) });
    if (later.length > 0) handOns.push({ objects: later, reason: stop ?? 'deadline', delaySeconds: 0 });

    try {
      for (const h of handOns) {
        const continuation = nextContinuation(parsed.continuation, h.reason, now());
        if (h.reason === 'dnif-unavailable') {
          const since = Date.parse(continuation.outageSince ?? '');
          if (now() - since >= deps.outageToleranceMs) {
            deps.logger.error('DNIF has been unavailable longer than DNIF_OUTAGE_TOLERANCE_HOURS; the message is left to reach the dead-letter queue', { messageId: message.messageId, outageSince: continuation.outageSince });
            throw new Error('outage tolerance exceeded');
          }
          h.delaySeconds = Math.min(MAX_DELAY_SECONDS, deps.outageBackoffSeconds * 2 ** (continuation.attempt - 1));
        }
        await deps.handOn(message.eventSourceARN, continuationBody(h.objects, continuation), h.delaySeconds);
        summary.handedOn += 1;
      }
    } catch (err) {
      if ((err as Error).message !== 'outage tolerance exceeded') {
        deps.logger.error('Could not hand work on to the queue; SQS will deliver the message again', { messageId: message.messageId, code: (err as Error).name, error: (err as Error).message });
      }
      failures.push({ itemIdentifier: message.messageId });
    }
  }
  summary.failedMessages = failures.length;
  return { batchItemFailures: failures };
}

/** The continuation for work handed on for `reason`, carrying the outage's start forward. */
export function nextContinuation(previous: Continuation | undefined, reason: ContinuationReason, nowMs: number): Continuation {
  const same = previous?.reason === reason;
  const outageSince = reason === 'dnif-unavailable' ? (same && previous?.outageSince ? previous.outageSince : new Date(nowMs).toISOString()) : undefined;
  return { reason, attempt: same ? (previous?.attempt ?? 0) + 1 : 1, outageSince };
}

const count = (map: Record<string, number>, code = 'Unknown'): void => {
  map[code] = (map[code] ?? 0) + 1;
};

function tally(summary: S3RunSummary, o: ObjectOutcome): void {
  summary.objects += 1;
  if (o.status === 'delivered') summary.delivered += 1;
  else if (o.status === 'already-delivered') summary.alreadyDelivered += 1;
  else if (o.status === 'continued') summary.continued += 1;
  else summary.failed += 1;
  summary.forwarded += o.forwarded;
  summary.duplicatesSkipped += o.duplicatesSkipped;
  summary.filtered += o.filtered;
  summary.truncated += o.truncated;
  summary.unparsed += o.unparsed;
  summary.batches += o.batches;
  summary.sinkErrors += o.sinkErrors;
}
