/**
 * CloudTrail LookupEvents over the real JSON 1.1 wire protocol, with AWS's semantics:
 * events per (account, region) with the region taken from the SigV4 scope, inclusive
 * StartTime/EndTime, newest first, MaxResults ≤ 50, an opaque NextToken bound to its
 * query, 2 requests per second per account and region, plus events that show up late
 * and injectable faults.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AwsError, HANDLED, createJsonService, type JsonCall } from './aws-json';
import { closeServer, listenLoopback, sleep } from './http';
import { TrailRegistry } from './cloudtrail-trails';
import { SlidingWindowLimiter, maxInAnyWindow } from './rate-window';
import type { CredentialRegistry } from './sigv4';

/** A CloudTrail record as written to a trail (and returned inside CloudTrailEvent). */
export interface CloudTrailRecord {
  eventID: string;
  eventTime: string;
  eventName: string;
  eventSource: string;
  awsRegion?: string;
  recipientAccountId?: string;
  readOnly?: boolean;
  userIdentity?: {
    type?: string;
    principalId?: string;
    accessKeyId?: string;
    userName?: string;
    [k: string]: unknown;
  };
  resources?: Array<{ ARN?: string; type?: string; accountId?: string }>;
  [k: string]: unknown;
}

/** One element of LookupEvents' `Events` on the wire. */
export interface WireEvent {
  EventId: string;
  EventName: string;
  ReadOnly?: string;
  AccessKeyId?: string;
  /** Epoch seconds. */
  EventTime: number;
  EventSource: string;
  Username?: string;
  Resources: Array<{ ResourceType?: string; ResourceName?: string }>;
  CloudTrailEvent: string;
}

export type CloudTrailFault =
  /** Answer with a throttling error (HTTP 400) without serving the page. */
  | { kind: 'throttle'; code?: 'ThrottlingException' | 'Throttling' }
  /** HTTP 500 InternalFailure or 503 ServiceUnavailable. */
  | { kind: 'internal'; status?: 500 | 503 }
  /** Send the headers and half the body, then destroy the socket. */
  | { kind: 'reset' }
  /** Serve only `size` events (default half of MaxResults) and a NextToken when more remain. */
  | { kind: 'short-page'; size?: number }
  /** Serve the page normally, `ms` later. */
  | { kind: 'delay'; ms: number };

export interface FaultTarget {
  /** How many matching requests get the fault (default 1). */
  times?: number;
  region?: string;
  accountId?: string;
}

export interface AddEventsOptions {
  /** Owner account; default each record's recipientAccountId. */
  accountId?: string;
  /** Epoch ms on the server clock before which the events are not visible ("released late"). */
  visibleAt?: number;
}

export interface WindowStats {
  /** Server-clock ms of every authenticated LookupEvents request (throttled ones included). */
  requestTimes: number[];
  /** Most requests seen in any half-open 1000 ms window. */
  maxInAnyWindow: number;
}

export interface CloudTrailStats {
  /** Every HTTP request received, whatever became of it. */
  requests: number;
  /** Authenticated, authorised LookupEvents requests. */
  lookups: number;
  /** Answered with a throttling error (rate limit or injected). */
  throttled: number;
  /** Injected faults applied. */
  faultsApplied: number;
  /** Keyed by region. */
  regions: Record<string, WindowStats>;
  /** Keyed by `<accountId>/<region>`: the unit AWS's rate limit applies to. */
  accountRegions: Record<string, WindowStats>;
}

export interface CloudTrailOptions {
  registry: CredentialRegistry;
  /** LookupEvents requests allowed per account and region in any 1000 ms window (AWS: 2). */
  ratePerSecond?: number;
  /** Server clock in epoch ms, for rate limiting and late release. Default Date.now. */
  now?: () => number;
  /** Regions answered; requests signed for others fail. Default any. */
  regions?: readonly string[];
}

export interface CloudTrailStandIn {
  url: string;
  /** Trails (DescribeTrails, GetTrailStatus) and regional digest signing keys (ListPublicKeys). */
  trails: TrailRegistry;
  /** Add records to (account, region); returns how many were added. Duplicate EventIds throw. */
  addEvents(region: string, records: readonly CloudTrailRecord[], opts?: AddEventsOptions): number;
  clearEvents(): void;
  injectFault(fault: CloudTrailFault & FaultTarget): void;
  pendingFaults(): number;
  clearFaults(): void;
  setRatePerSecond(n: number): void;
  stats(): CloudTrailStats;
  resetStats(): void;
  close(): Promise<void>;
}

const MAX_RESULTS = 50;
const LOOKUP_KEYS = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'];

interface StoredEvent {
  id: string;
  timeMs: number;
  visibleAt: number;
  record: CloudTrailRecord;
  /** Built on first use: serialising 10^5 records up front makes big adds slow. */
  wire?: WireEvent;
}

function wireOf(e: StoredEvent): WireEvent {
  return (e.wire ??= toWireEvent(e.record));
}

interface Query {
  accountId: string;
  region: string;
  startMs?: number;
  endMs?: number;
  attribute?: { key: string; value: string };
  category?: string;
}

/** Position after the last event served; `null` = from the newest. */
type Cursor = { t: number; id: string } | null;

/** Newest first; equal times by EventId descending, so the order is total and stable. */
function compareEvents(a: { timeMs: number; id: string }, b: { timeMs: number; id: string }): number {
  return b.timeMs - a.timeMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function usernameOf(r: CloudTrailRecord): string | undefined {
  const u = r.userIdentity;
  if (!u) return undefined;
  if (u.userName) return u.userName;
  if (u.principalId?.includes(':')) return u.principalId.slice(u.principalId.indexOf(':') + 1);
  return u.type === 'Root' ? 'root' : undefined;
}

export function toWireEvent(record: CloudTrailRecord): WireEvent {
  return {
    EventId: record.eventID,
    EventName: record.eventName,
    ReadOnly: record.readOnly === undefined ? undefined : String(record.readOnly),
    AccessKeyId: record.userIdentity?.accessKeyId,
    EventTime: Date.parse(record.eventTime) / 1000,
    EventSource: record.eventSource,
    Username: usernameOf(record),
    Resources: (record.resources ?? []).map((r) => ({ ResourceType: r.type, ResourceName: r.ARN })),
    CloudTrailEvent: JSON.stringify(record),
  };
}

function matchesAttribute(e: StoredEvent, attr: { key: string; value: string }): boolean {
  const r = e.record;
  const wire = wireOf(e);
  switch (attr.key) {
    case 'EventId':
      return r.eventID === attr.value;
    case 'EventName':
      return r.eventName === attr.value;
    case 'EventSource':
      return r.eventSource === attr.value;
    case 'ReadOnly':
      return wire.ReadOnly === attr.value;
    case 'Username':
      return wire.Username === attr.value;
    case 'AccessKeyId':
      return wire.AccessKeyId === attr.value;
    case 'ResourceType':
      return wire.Resources.some((x) => x.ResourceType === attr.value);
    case 'ResourceName':
      return wire.Resources.some((x) => x.ResourceName === attr.value);
    default:
      return false;
  }
}

function epochMs(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new AwsError('SerializationException', `${field} must be a timestamp in epoch seconds`);
  }
  return Math.round(value * 1000);
}

function parseQuery(input: Record<string, unknown>, accountId: string, region: string): Query {
  const startMs = epochMs(input.StartTime, 'StartTime');
  const endMs = epochMs(input.EndTime, 'EndTime');
  if (startMs !== undefined && endMs !== undefined && startMs > endMs) {
    throw new AwsError('InvalidTimeRangeException', 'Start time must not be after end time.');
  }
  let attribute: Query['attribute'];
  const attrs = input.LookupAttributes;
  if (attrs !== undefined) {
    if (!Array.isArray(attrs)) throw new AwsError('SerializationException', 'LookupAttributes must be a list');
    if (attrs.length > 1) throw new AwsError('InvalidLookupAttributesException', 'You can only specify one lookup attribute.');
    if (attrs.length === 1) {
      const a = attrs[0] as { AttributeKey?: unknown; AttributeValue?: unknown };
      if (typeof a.AttributeKey !== 'string' || !LOOKUP_KEYS.includes(a.AttributeKey)) {
        throw new AwsError('InvalidLookupAttributesException', `Invalid AttributeKey: ${String(a.AttributeKey)}`);
      }
      if (typeof a.AttributeValue !== 'string' || a.AttributeValue.length < 1 || a.AttributeValue.length > 2000) {
        throw new AwsError('InvalidLookupAttributesException', 'AttributeValue must be 1 to 2000 characters.');
      }
      attribute = { key: a.AttributeKey, value: a.AttributeValue };
    }
  }
  const category = input.EventCategory;
  if (category !== undefined && category !== 'insight') {
    throw new AwsError('InvalidEventCategoryException', `Invalid EventCategory: ${String(category)}`);
  }
  return { accountId, region, startMs, endMs, attribute, category };
}

function maxResultsOf(input: Record<string, unknown>): number {
  const m = input.MaxResults;
  if (m === undefined || m === null) return MAX_RESULTS;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > MAX_RESULTS) {
    throw new AwsError('InvalidMaxResultsException', 'MaxResults must be between 1 and 50.');
  }
  return m;
}

/** NextToken = payload.hmac, so tokens cannot be forged or moved to another query (MaxResults may change). */
class TokenCodec {
  private readonly key = randomBytes(32);

  encode(query: Query, cursor: Cursor): string {
    const payload = Buffer.from(JSON.stringify({ q: this.queryHash(query), c: cursor })).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  decode(token: unknown, query: Query): Cursor {
    const invalid = new AwsError('InvalidNextTokenException', 'Invalid NextToken.');
    if (typeof token !== 'string') throw invalid;
    const [payload, mac] = token.split('.');
    if (!payload || !mac) throw invalid;
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid;
    const { q, c } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { q: string; c: Cursor };
    if (q !== this.queryHash(query)) throw invalid;
    return c;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  private queryHash(q: Query): string {
    const canonical = [q.accountId, q.region, q.startMs ?? '', q.endMs ?? '', q.attribute?.key ?? '', q.attribute?.value ?? '', q.category ?? ''];
    return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 22);
  }
}

type QueuedFault = CloudTrailFault & { remaining: number; region?: string; accountId?: string };

export async function startCloudTrail(opts: CloudTrailOptions): Promise<CloudTrailStandIn> {
  const now = opts.now ?? Date.now;
  const limiter = new SlidingWindowLimiter(opts.ratePerSecond ?? 2, 1000);
  const tokens = new TokenCodec();
  // Per `<account>/<region>`: events sorted newest first, and their ids for the uniqueness check.
  const store = new Map<string, { events: StoredEvent[]; ids: Set<string> }>();
  const faults: QueuedFault[] = [];
  let counters = { requests: 0, lookups: 0, throttled: 0, faultsApplied: 0 };
  let log: Array<{ t: number; region: string; accountId: string }> = [];

  const storeKey = (accountId: string, region: string) => `${accountId}/${region}`;

  function takeFault(accountId: string, region: string): CloudTrailFault | undefined {
    const i = faults.findIndex((f) => (!f.region || f.region === region) && (!f.accountId || f.accountId === accountId));
    if (i < 0) return undefined;
    const f = faults[i];
    if (--f.remaining <= 0) faults.splice(i, 1);
    counters.faultsApplied++;
    return f;
  }

  function page(query: Query, cursor: Cursor, limit: number): { events: StoredEvent[]; more: boolean } {
    if (query.category === 'insight') return { events: [], more: false };
    const events: StoredEvent[] = [];
    const t = now();
    for (const e of store.get(storeKey(query.accountId, query.region))?.events ?? []) {
      if (query.startMs !== undefined && e.timeMs < query.startMs) break; // sorted newest first
      if (cursor && compareEvents(e, { timeMs: cursor.t, id: cursor.id }) <= 0) continue;
      if (e.visibleAt > t) continue;
      if (query.endMs !== undefined && e.timeMs > query.endMs) continue;
      if (query.attribute && !matchesAttribute(e, query.attribute)) continue;
      events.push(e);
      if (events.length > limit) return { events: events.slice(0, limit), more: true };
    }
    return { events, more: false };
  }

  async function lookupEvents(call: JsonCall): Promise<unknown> {
    const { principal, region, input, res } = call;
    const accountId = principal.accountId;
    counters.lookups++;
    const t = now();
    log.push({ t, region, accountId });
    if (!limiter.tryAcquire(storeKey(accountId, region), t)) {
      counters.throttled++;
      throw new AwsError('ThrottlingException', 'Rate exceeded');
    }

    const fault = takeFault(accountId, region);
    if (fault?.kind === 'throttle') {
      counters.throttled++;
      throw new AwsError(fault.code ?? 'ThrottlingException', 'Rate exceeded');
    }
    if (fault?.kind === 'internal') {
      throw fault.status === 503
        ? new AwsError('ServiceUnavailable', 'Service is unavailable', 503)
        : new AwsError('InternalFailure', 'An internal error occurred', 500);
    }
    if (fault?.kind === 'delay') await sleep(fault.ms);

    const query = parseQuery(input, accountId, region);
    const maxResults = maxResultsOf(input);
    const cursor = input.NextToken === undefined ? null : tokens.decode(input.NextToken, query);
    const limit = fault?.kind === 'short-page' ? Math.min(maxResults, fault.size ?? Math.max(1, Math.floor(maxResults / 2))) : maxResults;
    const { events, more } = page(query, cursor, limit);

    const last = events[events.length - 1];
    const next: Cursor = last ? { t: last.timeMs, id: last.id } : cursor;
    const output = { Events: events.map(wireOf), NextToken: more ? tokens.encode(query, next) : undefined };

    if (fault?.kind === 'reset') {
      const text = JSON.stringify(output);
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1', 'Content-Length': Buffer.byteLength(text) });
      res.write(text.slice(0, Math.floor(text.length / 2)), () => res.destroy());
      return HANDLED;
    }
    return output;
  }

  const trails = new TrailRegistry(now);
  const server = createJsonService({
    registry: opts.registry,
    signingName: 'cloudtrail',
    targetPrefix: 'CloudTrail_20131101',
    regions: opts.regions,
    onRequest: () => counters.requests++,
    operations: { LookupEvents: { action: 'cloudtrail:LookupEvents', handle: lookupEvents }, ...trails.operations() },
  });
  const port = await listenLoopback(server);

  function windowStats(keyOf: (e: { region: string; accountId: string }) => string): Record<string, WindowStats> {
    const grouped: Record<string, number[]> = {};
    for (const e of log) (grouped[keyOf(e)] ??= []).push(e.t);
    return Object.fromEntries(Object.entries(grouped).map(([k, times]) => [k, { requestTimes: times, maxInAnyWindow: maxInAnyWindow(times) }]));
  }

  return {
    url: `http://127.0.0.1:${port}`,
    trails,
    addEvents(region, records, addOpts = {}) {
      const touched = new Set<string>();
      for (const record of records) {
        const accountId = addOpts.accountId ?? record.recipientAccountId;
        if (!accountId) throw new Error(`event ${record.eventID}: no accountId given and no recipientAccountId`);
        const timeMs = Date.parse(record.eventTime);
        if (!record.eventID || Number.isNaN(timeMs)) throw new Error(`event ${record.eventID}: needs eventID and a valid eventTime`);
        const key = storeKey(accountId, region);
        let bucket = store.get(key);
        if (!bucket) store.set(key, (bucket = { events: [], ids: new Set() }));
        if (bucket.ids.has(record.eventID)) throw new Error(`event ${record.eventID} already exists in ${key}`);
        bucket.ids.add(record.eventID);
        bucket.events.push({ id: record.eventID, timeMs, visibleAt: addOpts.visibleAt ?? -Infinity, record });
        touched.add(key);
      }
      for (const key of touched) store.get(key)?.events.sort(compareEvents);
      return records.length;
    },
    clearEvents: () => store.clear(),
    injectFault({ times = 1, region, accountId, ...fault }) {
      if (times < 1) throw new Error('times must be at least 1');
      faults.push({ ...fault, remaining: times, region, accountId } as QueuedFault);
    },
    pendingFaults: () => faults.reduce((n, f) => n + f.remaining, 0),
    clearFaults: () => void faults.splice(0),
    setRatePerSecond(n) {
      limiter.limit = n;
    },
    stats: () => ({
      ...counters,
      regions: windowStats((e) => e.region),
      accountRegions: windowStats((e) => storeKey(e.accountId, e.region)),
    }),
    resetStats() {
      counters = { requests: 0, lookups: 0, throttled: 0, faultsApplied: 0 };
      log = [];
    },
    close: () => closeServer(server),
  };
}
