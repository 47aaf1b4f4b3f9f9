/**
 * What an SQS message body names (SPEC.md, "Second source"): the objects to forward, from any
 * of the notification shapes that reach the queue, plus this forwarder's own continuation
 * messages (work handed on before a deadline or during a DNIF outage, see docs/s3-source.md).
 */

export interface NotifiedObject {
  bucket: string;
  /** Decoded: the key as S3 stores it. */
  key: string;
  /** Without quotes, when the notification carries one. */
  etag?: string;
  size?: number;
}

/** Why work was handed on to a later message. */
export type ContinuationReason = 'deadline' | 'dnif-unavailable' | 'lease-held';

export interface Continuation {
  reason: ContinuationReason;
  /** When DNIF was first found unavailable for this work (ISO-8601), for the outage tolerance. */
  outageSince?: string;
  /** How many times this work has been handed on for the same reason in a row. */
  attempt: number;
}

export interface ParsedMessage {
  objects: NotifiedObject[];
  /** Events acknowledged and ignored: s3:TestEvent, events other than ObjectCreated:*. */
  ignored: string[];
  continuation?: Continuation;
}

/** The message body is none of the shapes this forwarder reads. */
export class NotificationError extends Error {
  constructor(problem: string) {
    super(`SQS message is not an S3, SNS, CloudTrail or EventBridge notification: ${problem}`);
    this.name = 'NotificationError';
  }
}

/** The key of this forwarder's own continuation messages. */
export const CONTINUATION_FIELD = 'dnifForwarderContinuation';

/** S3 sends keys form-encoded: `+` for a space, `%XX` for the rest. */
export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new NotificationError(`s3.object.key "${encoded.slice(0, 200)}" is not validly URL-encoded`);
  }
}

export function parseMessageBody(body: string): ParsedMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new NotificationError('the body is not JSON');
  }
  return parseValue(value, 0);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function parseValue(value: unknown, depth: number): ParsedMessage {
  if (!isObject(value)) throw new NotificationError('the body is not a JSON object');
  if (isObject(value[CONTINUATION_FIELD])) return parseContinuation(value[CONTINUATION_FIELD]);
  // SNS envelope (raw message delivery off): the notification is the Message string.
  if (value.Type === 'Notification' && typeof value.Message === 'string') {
    if (depth > 1) throw new NotificationError('SNS envelopes nested too deep');
    let inner: unknown;
    try {
      inner = JSON.parse(value.Message);
    } catch {
      throw new NotificationError('the SNS Message is not JSON');
    }
    return parseValue(inner, depth + 1);
  }
  if (value.Type === 'SubscriptionConfirmation' || value.Type === 'UnsubscribeConfirmation') {
    return { objects: [], ignored: [`SNS ${value.Type}`] };
  }
  if (value.Event === 's3:TestEvent') return { objects: [], ignored: ['s3:TestEvent'] };
  if (Array.isArray(value.Records)) return parseS3Event(value.Records);
  // CloudTrail's own SNS notification: keys as written, not encoded.
  if (typeof value.s3Bucket === 'string' && Array.isArray(value.s3ObjectKey)) {
    const bucket = value.s3Bucket;
    return {
      objects: value.s3ObjectKey.map((key, i) => {
        if (typeof key !== 'string' || key === '') throw new NotificationError(`s3ObjectKey[${i}] is not a key`);
        return { bucket, key };
      }),
      ignored: [],
    };
  }
  if (value.source === 'aws.s3' && typeof value['detail-type'] === 'string') return parseEventBridge(value);
  throw new NotificationError('no Records, s3ObjectKey or EventBridge detail');
}

function parseS3Event(records: unknown[]): ParsedMessage {
  const out: ParsedMessage = { objects: [], ignored: [] };
  records.forEach((r, i) => {
    if (!isObject(r)) throw new NotificationError(`Records[${i}] is not an object`);
    const name = str(r.eventName) ?? '';
    if (!name.startsWith('ObjectCreated:')) {
      out.ignored.push(name || `Records[${i}] without eventName`);
      return;
    }
    const s3 = isObject(r.s3) ? r.s3 : undefined;
    const bucket = isObject(s3?.bucket) ? str(s3.bucket.name) : undefined;
    const object = isObject(s3?.object) ? s3.object : undefined;
    const key = str(object?.key);
    if (!bucket) throw new NotificationError(`Records[${i}].s3.bucket.name is missing`);
    if (!key) throw new NotificationError(`Records[${i}].s3.object.key is missing`);
    out.objects.push({ bucket, key: decodeS3Key(key), etag: etagOf(object?.eTag), size: sizeOf(object?.size) });
  });
  return out;
}

function parseEventBridge(value: Json): ParsedMessage {
  const type = String(value['detail-type']);
  if (type !== 'Object Created') return { objects: [], ignored: [`EventBridge ${type}`] };
  const detail = isObject(value.detail) ? value.detail : undefined;
  const bucket = isObject(detail?.bucket) ? str(detail.bucket.name) : undefined;
  const object = isObject(detail?.object) ? detail.object : undefined;
  const key = str(object?.key);
  if (!bucket) throw new NotificationError('detail.bucket.name is missing');
  if (!key) throw new NotificationError('detail.object.key is missing');
  // EventBridge has been seen both plain and form-encoded. An encoded key never holds a space;
  // otherwise decoding is harmless for CloudTrail's keys, which hold no `+` or `%` of their own.
  return { objects: [{ bucket, key: key.includes(' ') ? key : decodeS3Key(key), etag: etagOf(object?.etag), size: sizeOf(object?.size) }], ignored: [] };
}

function parseContinuation(c: Json): ParsedMessage {
  const reason = str(c.reason) as ContinuationReason | undefined;
  if (reason !== 'deadline' && reason !== 'dnif-unavailable' && reason !== 'lease-held') throw new NotificationError(`${CONTINUATION_FIELD}.reason is not known`);
  if (!Array.isArray(c.objects)) throw new NotificationError(`${CONTINUATION_FIELD}.objects is not a list`);
  const objects = c.objects.map((o, i) => {
    if (!isObject(o) || !str(o.bucket) || !str(o.key)) throw new NotificationError(`${CONTINUATION_FIELD}.objects[${i}] needs bucket and key`);
    return { bucket: o.bucket as string, key: o.key as string, etag: etagOf(o.etag) };
  });
  const attempt = typeof c.attempt === 'number' && c.attempt >= 1 ? Math.floor(c.attempt) : 1;
  return { objects, ignored: [], continuation: { reason, outageSince: str(c.outageSince), attempt } };
}

/** The body of a continuation message naming `objects`. */
export function continuationBody(objects: NotifiedObject[], continuation: Continuation): string {
  return JSON.stringify({
    [CONTINUATION_FIELD]: {
      version: 1,
      reason: continuation.reason,
      attempt: continuation.attempt,
      outageSince: continuation.outageSince,
      objects: objects.map((o) => ({ bucket: o.bucket, key: o.key, etag: o.etag })),
    },
  });
}

const etagOf = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v.replace(/"/g, '') : undefined);
const sizeOf = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
