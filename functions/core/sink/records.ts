/**
 * Turns a LookupEvents event into what DNIF receives (SPEC.md, "What DNIF receives"): the
 * CloudTrail record itself plus a `dnifForwarder` object. Nothing is dropped: a record whose
 * CloudTrailEvent is not JSON, or one too large for a batch, still goes out, marked.
 */
import type { SourceEvent } from '../event';

export interface RecordContext {
  connectorName: string;
  region: string;
  forwardedAt: string;
  flatten: boolean;
  /** The largest serialised record a batch can carry. */
  maxRecordBytes: number;
  /** Trail files: `dnifForwarder.source`; absent for LookupEvents, whose records stay as they were. */
  source?: 'lookup-events' | 's3';
  /** Trail files: the object the record came from (`dnifForwarder.s3`, the decoded key). */
  s3?: { bucket: string; key: string };
  /** Trail files: the account in the object key, for a record without `recipientAccountId`. */
  keyAccountId?: string;
}

export interface OutgoingRecord {
  eventId: string;
  eventTime: number;
  /** The serialised JSON record. */
  readonly json: string;
  /**
   * Set when the record is kept as bytes (a plain trail record): `json` is these bytes (UTF-8, a
   * JSON object) but their closing brace, then `tail`; a sink that writes bytes copies them
   * instead of encoding `json`.
   */
  readonly objectBytes?: Buffer;
  readonly tail?: string;
  /** Trail files: the record's index in its file, so progress can be recorded after a batch. */
  position?: number;
  bytes: number;
  unparsed: boolean;
  truncated: boolean;
}

// Fields that make a record large; CloudTrail's own log files cap them the same way.
const BULKY_FIELDS = ['responseElements', 'requestParameters', 'additionalEventData', 'serviceEventDetails', 'resources'];
const IDENTITY_FIELDS = ['eventVersion', 'eventID', 'eventTime', 'eventName', 'eventSource', 'awsRegion', 'recipientAccountId', 'errorCode'];
const CORE_FIELDS = ['eventVersion', 'eventID', 'eventTime', 'eventName', 'eventSource', 'eventType', 'eventCategory', 'awsRegion', 'recipientAccountId', 'sourceIPAddress', 'userAgent', 'userIdentity', 'errorCode', 'errorMessage', 'readOnly', 'requestID'];

export function buildRecord(event: SourceEvent, ctx: RecordContext): OutgoingRecord {
  const fast = event.checked && !ctx.flatten ? appendToChecked(event, event.checked, ctx) : undefined;
  if (fast) return fast;
  const text = event.cloudTrailEvent ?? event.checked?.bytes.toString('utf8');
  let record: Record<string, unknown>;
  let unparsed = false;
  try {
    const parsed: unknown = event.record ?? JSON.parse(text ?? '');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    record = parsed as Record<string, unknown>;
  } catch {
    unparsed = true;
    record = {
      eventID: event.eventId,
      eventTime: new Date(event.eventTime * 1000).toISOString().replace('.000Z', 'Z'),
      eventName: event.eventName,
      eventSource: event.eventSource,
      readOnly: event.readOnly === undefined ? undefined : event.readOnly === 'true',
      username: event.username,
      resources: event.resources,
      rawCloudTrailEvent: text,
    };
  }
  const meta = metaOf(event, ctx, ctx.keyAccountId === undefined ? accountIdOf(record) : stringField(record.recipientAccountId) ?? ctx.keyAccountId);
  if (unparsed) meta.parseError = 'CloudTrailEvent is not a JSON object; fields taken from LookupEvents';

  let json = unparsed ? serialise(record, meta, ctx.flatten) : withMeta(text as string, record, meta, ctx.flatten);
  let bytes = Buffer.byteLength(json);
  let truncated = false;
  if (bytes > ctx.maxRecordBytes) {
    truncated = true;
    json = fitRecord(record, meta, ctx.maxRecordBytes, ctx.flatten);
    bytes = Buffer.byteLength(json);
  }
  return { eventId: event.eventId, eventTime: event.eventTime, json, bytes, unparsed, truncated };
}

/** `dnifForwarder`, in the same key order for every source. */
function metaOf(event: SourceEvent, ctx: RecordContext, accountId: string | undefined): Record<string, unknown> {
  const meta: Record<string, unknown> = { connectorName: ctx.connectorName, eventId: event.eventId, region: ctx.region, accountId, forwardedAt: ctx.forwardedAt };
  if (ctx.source !== undefined) meta.source = ctx.source;
  if (ctx.s3 !== undefined) meta.s3 = { bucket: ctx.s3.bucket, key: ctx.s3.key };
  return meta;
}

/**
 * A checked trail record (SourceEvent.checked) with `dnifForwarder` appended to its text, as
 * withMeta() does, without parsing it. Undefined when the account must come from userIdentity,
 * or the record is too large as it is: then it is parsed and cut down like any other.
 */
function appendToChecked(event: SourceEvent, checked: NonNullable<SourceEvent['checked']>, ctx: RecordContext): OutgoingRecord | undefined {
  const accountId = checked.recipientAccountId ?? ctx.keyAccountId;
  if (accountId === undefined) return undefined;
  // The record's bytes end with its closing brace (the reader stops there): the tail replaces it.
  const tail = `,"dnifForwarder":${metaJson(event.eventId, accountId, ctx)}}`;
  const bytes = checked.bytes.length - 1 + Buffer.byteLength(tail);
  if (bytes > ctx.maxRecordBytes) return undefined;
  return new AppendedRecord(event.eventId, event.eventTime, checked.bytes, tail, bytes);
}

/**
 * A plain trail record with `dnifForwarder` appended, kept as its bytes and the appended text:
 * decoding each record and encoding it again into the body was 1.5 µs an event of ~20 (bench).
 */
class AppendedRecord implements OutgoingRecord {
  position?: number;
  readonly unparsed = false;
  readonly truncated = false;
  constructor(
    readonly eventId: string,
    readonly eventTime: number,
    readonly objectBytes: Buffer,
    readonly tail: string,
    readonly bytes: number,
  ) {}

  get json(): string {
    return this.objectBytes.toString('utf8', 0, this.objectBytes.length - 1) + this.tail;
  }
}

/** The parts of `dnifForwarder` shared by every record of a batch, serialised once. */
let shared: { connectorName: string; forwardedAt: string; source?: string; bucket?: string; key?: string; name: string; at: string; tail: string } | undefined;

/** JSON.stringify(metaOf(...)), byte for byte, with the parts that repeat serialised once a batch. */
function metaJson(eventId: string, accountId: string, ctx: RecordContext): string {
  let s = shared;
  if (s === undefined || s.connectorName !== ctx.connectorName || s.forwardedAt !== ctx.forwardedAt || s.source !== ctx.source || s.bucket !== ctx.s3?.bucket || s.key !== ctx.s3?.key) {
    const tail = JSON.stringify({ source: ctx.source, s3: ctx.s3 && { bucket: ctx.s3.bucket, key: ctx.s3.key } }).slice(1, -1);
    s = shared = { connectorName: ctx.connectorName, forwardedAt: ctx.forwardedAt, source: ctx.source, bucket: ctx.s3?.bucket, key: ctx.s3?.key, name: JSON.stringify(ctx.connectorName), at: JSON.stringify(ctx.forwardedAt), tail: tail && `,${tail}` };
  }
  return `{"connectorName":${s.name},"eventId":${JSON.stringify(eventId)},"region":${JSON.stringify(ctx.region)},"accountId":${JSON.stringify(accountId)},"forwardedAt":${s.at}${s.tail}}`;
}

const stringField = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The record within `maxBytes`, as CloudTrail's own log files cap large records: the bulkiest
 * fields replaced by a note of their size, then core fields only, then the event's identity only.
 * `dnifForwarder.truncated` names what was removed.
 */
function fitRecord(record: Record<string, unknown>, meta: Record<string, unknown>, maxBytes: number, flatten: boolean): string {
  const fits = (text: string) => Buffer.byteLength(text) <= maxBytes;
  const dropped: string[] = [];
  const slim = { ...record };
  let json = '';
  for (const field of BULKY_FIELDS) {
    if (slim[field] === undefined) continue;
    const size = Buffer.byteLength(JSON.stringify(slim[field]));
    slim[field] = `[removed by forwarder: ${size} bytes]`;
    dropped.push(field);
    json = serialise(slim, { ...meta, truncated: dropped }, flatten);
    if (fits(json)) return json;
  }
  const pick = (fields: string[]) => Object.fromEntries(fields.filter((f) => record[f] !== undefined).map((f) => [f, record[f]]));
  json = serialise(pick(CORE_FIELDS), { ...meta, truncated: ['all but core fields'] }, flatten);
  if (fits(json)) return json;
  // A record whose core fields alone are too large (a vast userIdentity): its identity still goes.
  return serialise(pick(IDENTITY_FIELDS), { ...meta, truncated: ['all but identity fields'] }, flatten);
}

/**
 * A record already built (by any source) cut down to `maxBytes` the same way, for a sink whose
 * limit is below the one the record was built for. Undefined when it fits as it is.
 */
export function refitRecord(r: OutgoingRecord, maxBytes: number): OutgoingRecord | undefined {
  if (r.bytes <= maxBytes) return undefined;
  const { dnifForwarder, ...record } = JSON.parse(r.json) as Record<string, unknown>;
  const meta = (dnifForwarder ?? { eventId: r.eventId }) as Record<string, unknown>;
  const json = fitRecord(record, meta, maxBytes, false);
  // Not `...r`: a record kept as bytes (objectBytes, tail) would carry them over.
  return { eventId: r.eventId, eventTime: r.eventTime, position: r.position, json, bytes: Buffer.byteLength(json), unparsed: r.unparsed, truncated: true };
}

function accountIdOf(record: Record<string, unknown>): string | undefined {
  if (typeof record.recipientAccountId === 'string') return record.recipientAccountId;
  const identity = record.userIdentity as { accountId?: unknown } | undefined;
  return typeof identity?.accountId === 'string' ? identity.accountId : undefined;
}

/**
 * The record as CloudTrail wrote it with `dnifForwarder` appended: the same JSON as serialise()
 * (byte for byte for CloudTrail's compact JSON) without re-serialising the whole record, which
 * was half of this function's CPU (bench: 13.3 → 6.7 µs an event). Falls back to serialise()
 * for flattening, for text with line breaks (NDJSON needs one line) and for a record that has
 * no key or already has `dnifForwarder`.
 */
function withMeta(text: string, record: Record<string, unknown>, meta: Record<string, unknown>, flatten: boolean): string {
  const end = text.lastIndexOf('}');
  if (flatten || end < 0 || text.includes('\n') || text.includes('\r') || 'dnifForwarder' in record || !hasKeys(record)) return serialise(record, meta, flatten);
  return `${text.slice(0, end)},"dnifForwarder":${JSON.stringify(meta)}}`;
}

function hasKeys(record: Record<string, unknown>): boolean {
  for (const _key in record) return true;
  return false;
}

function serialise(record: Record<string, unknown>, meta: Record<string, unknown>, flatten: boolean): string {
  const full = { ...record, dnifForwarder: meta };
  return JSON.stringify(flatten ? flattenRecord(full) : full);
}

/** `{a:{b:1}}` → `{"a.b":1}`; arrays become JSON strings (for DNIF clients that refuse nesting). */
export function flattenRecord(value: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(v)) out[name] = JSON.stringify(v);
    else if (v !== null && typeof v === 'object') flattenRecord(v as Record<string, unknown>, name, out);
    else out[name] = v;
  }
  return out;
}
