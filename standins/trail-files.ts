/**
 * Real CloudTrail trail files from the shared fixture records: gzip `{"Records":[...]}` objects
 * under CloudTrail's own key layout, per account and region (recipientAccountId / awsRegion
 * set per file), CloudTrail-Insight files, and a streamed generator for very large files.
 *
 *   [<prefix>/]AWSLogs/[o-ID/]<account>/CloudTrail/<region>/YYYY/MM/DD/
 *     <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 random chars>.json.gz
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import type { CloudTrailRecord } from './cloudtrail';
import { cloudTrailTime, generateEvents, loadRecords, seededRandom } from './fixtures';
import type { PutOptions, S3StandIn, StoredObject } from './s3';

export type TrailFileKind = 'CloudTrail' | 'CloudTrail-Insight';

export interface TrailKeyParts {
  /** The trail's S3 key prefix, without a trailing slash; may contain spaces. */
  prefix?: string;
  /** Organization trails: `o-…`. */
  orgId?: string;
  accountId: string;
  region: string;
  /** Delivery time: the date folders and the `YYYYMMDDTHHmmZ` stamp. */
  time: Date;
  kind?: TrailFileKind;
  /** The 16-character unique part; random when absent. */
  unique?: string;
}

export interface TrailFile {
  key: string;
  accountId: string;
  region: string;
  kind: TrailFileKind;
  records: CloudTrailRecord[];
  /** The uncompressed `{"Records":[...]}` text. */
  json: Buffer;
  /** What is stored: gzip of `json`. */
  body: Buffer;
  /** Hex SHA-256 of `json`: what a digest file lists as hashValue. */
  sha256: string;
  oldestEventTime: string;
  newestEventTime: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `[<prefix>/]AWSLogs/[o-ID/]<account>/` */
export function accountRoot(p: { prefix?: string; orgId?: string; accountId: string }): string {
  return `${p.prefix ? `${p.prefix}/` : ''}AWSLogs/${p.orgId ? `${p.orgId}/` : ''}${p.accountId}/`;
}

export function trailLogKey(p: TrailKeyParts, rand: () => number = Math.random): string {
  const kind = p.kind ?? 'CloudTrail';
  const t = p.time;
  const day = `${t.getUTCFullYear()}/${pad(t.getUTCMonth() + 1)}/${pad(t.getUTCDate())}`;
  const stamp = `${t.getUTCFullYear()}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())}T${pad(t.getUTCHours())}${pad(t.getUTCMinutes())}Z`;
  const unique = p.unique ?? Array.from({ length: 16 }, () => ALNUM[Math.floor(rand() * ALNUM.length)]).join('');
  return `${accountRoot(p)}${kind}/${p.region}/${day}/${p.accountId}_${kind}_${p.region}_${stamp}_${unique}.json.gz`;
}

/** Pack records as CloudTrail writes a file: compact `{"Records":[...]}`, gzip. */
export function packTrailFile(key: string, accountId: string, region: string, records: CloudTrailRecord[], kind: TrailFileKind = 'CloudTrail'): TrailFile {
  const json = Buffer.from(JSON.stringify({ Records: records }), 'utf8');
  const times = records.map((r) => r.eventTime).sort();
  return {
    key,
    accountId,
    region,
    kind,
    records,
    json,
    body: gzipSync(json),
    sha256: createHash('sha256').update(json).digest('hex'),
    oldestEventTime: times[0] ?? '',
    newestEventTime: times[times.length - 1] ?? '',
  };
}

/** An Insight pair (Start and End) as CloudTrail writes them: no top-level eventName/eventSource. */
export function insightRecords(accountId: string, region: string, at: Date, rand: () => number = Math.random): CloudTrailRecord[] {
  const shared = uuid(rand);
  const base = {
    eventVersion: '1.08',
    awsRegion: region,
    eventType: 'AwsCloudTrailInsight',
    recipientAccountId: accountId,
    sharedEventID: shared,
    eventCategory: 'Insight',
  };
  const details = (state: string) => ({
    state,
    eventSource: 'ssm.amazonaws.com',
    eventName: 'UpdateInstanceAssociationStatus',
    insightType: 'ApiCallRateInsight',
    insightContext: {
      statistics: { baseline: { average: 85.42 }, insight: { average: 664 }, ...(state === 'End' ? { insightDuration: 5 } : {}) },
      attributions: [{ attribute: 'userIdentityArn', insight: [{ value: `arn:aws:iam::${accountId}:role/ssm`, average: 664 }], baseline: [] }],
    },
  });
  return [
    { ...base, eventID: uuid(rand), eventTime: cloudTrailTime(+at - 5 * 60_000), insightDetails: details('Start') },
    { ...base, eventID: uuid(rand), eventTime: cloudTrailTime(+at), insightDetails: details('End') },
  ] as unknown as CloudTrailRecord[];
}

function uuid(rand: () => number): string {
  const h = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

export interface TrailSetOptions {
  accountIds: readonly string[];
  regions: readonly string[];
  prefix?: string;
  orgId?: string;
  /** Start of the span; files every `intervalMinutes` (CloudTrail: ~5) over `hours`. Default 1 hour of 5-minute files. */
  from: Date;
  hours?: number;
  intervalMinutes?: number;
  /** Records per file (random fixture copies). Default: each of the 48 fixture records once per account-region. */
  recordsPerFile?: number;
  /** Also write one Insight file per account-region. */
  insights?: boolean;
  seed?: number;
}

/**
 * A set of trail files for several accounts and regions. Without `recordsPerFile`, each
 * account-region gets every one of the 48 real records once (fresh eventIDs, times within
 * their file's five minutes), spread round-robin over its files.
 */
export function buildTrailFiles(opts: TrailSetOptions): TrailFile[] {
  const rand = seededRandom(opts.seed ?? 1);
  const interval = (opts.intervalMinutes ?? 5) * 60_000;
  const slots = Math.max(1, Math.round(((opts.hours ?? 1) * 3_600_000) / interval));
  const templates = loadRecords();
  const files: TrailFile[] = [];
  let seed = (opts.seed ?? 1) * 1000;
  for (const accountId of opts.accountIds) {
    for (const region of opts.regions) {
      for (let i = 0; i < slots; i++) {
        const start = +opts.from + i * interval;
        const span = { region, accountId, from: start, to: start + interval - 1000 };
        const records = opts.recordsPerFile
          ? generateEvents({ ...span, count: opts.recordsPerFile, seed: ++seed })
          : templates
              .filter((_, j) => j % slots === i)
              .map((t) => generateEvents({ ...span, count: 1, templates: [t], seed: ++seed })[0])
              .sort((a, b) => a.eventTime.localeCompare(b.eventTime));
        if (records.length === 0) continue;
        const key = trailLogKey({ prefix: opts.prefix, orgId: opts.orgId, accountId, region, time: new Date(start + interval) }, rand);
        files.push(packTrailFile(key, accountId, region, records));
      }
      if (opts.insights) {
        const at = new Date(+opts.from + slots * interval);
        const key = trailLogKey({ prefix: opts.prefix, orgId: opts.orgId, accountId, region, time: at, kind: 'CloudTrail-Insight' }, rand);
        files.push(packTrailFile(key, accountId, region, insightRecords(accountId, region, at, rand), 'CloudTrail-Insight'));
      }
    }
  }
  return files;
}

/** How CloudTrail stores its files (SSE and metadata aside). */
export const TRAIL_FILE_PUT: PutOptions = { contentType: 'application/json', contentEncoding: 'gzip' };

/** Store files in the stand-in (each fires onObjectCreated, i.e. a notification). */
export function putTrailFiles(s3: S3StandIn, bucket: string, files: readonly TrailFile[], opts: PutOptions = {}): StoredObject[] {
  return files.map((f) => s3.putObject(bucket, f.key, f.body, { ...TRAIL_FILE_PUT, ...opts }));
}

export interface LargeTrailFileOptions {
  accountId: string;
  region: string;
  /** Uncompressed size to reach (the file ends with the record that crosses it), e.g. 200 MB. */
  uncompressedBytes: number;
  from: Date;
  seed?: number;
  /** gzip level (1 fastest … 9); default 6 as zlib. */
  level?: number;
  /** Keep every eventID (≈ 40 bytes each) to check delivery; default true. */
  keepEventIds?: boolean;
}

export interface LargeTrailFile {
  object: StoredObject;
  records: number;
  uncompressedBytes: number;
  /** Hex SHA-256 of the uncompressed content. */
  sha256: string;
  oldestEventTime: string;
  newestEventTime: string;
  eventIds?: string[];
}

/**
 * Stream a big trail file into the stand-in: records are generated a thousand at a time,
 * serialised, gzipped and stored, so only the compressed bytes are ever held whole.
 */
export async function putLargeTrailFile(s3: S3StandIn, bucket: string, key: string, opts: LargeTrailFileOptions): Promise<LargeTrailFile> {
  const hash = createHash('sha256');
  const eventIds: string[] | undefined = opts.keepEventIds === false ? undefined : [];
  let bytes = 0;
  let records = 0;
  let oldest = '';
  let newest = '';
  const seed = opts.seed ?? 7;
  function* text(): Generator<Buffer> {
    const emit = (s: string) => {
      const b = Buffer.from(s, 'utf8');
      hash.update(b);
      bytes += b.length;
      return b;
    };
    yield emit('{"Records":[');
    for (let batch = 0; bytes < opts.uncompressedBytes; batch++) {
      const from = +opts.from + batch * 60_000;
      const events = generateEvents({ count: 1000, region: opts.region, accountId: opts.accountId, from, to: from + 59_000, seed: seed * 1_000_003 + batch });
      const parts: string[] = [];
      let pending = 0;
      for (const e of events) {
        if (bytes + pending >= opts.uncompressedBytes) break;
        const part = `${records === 0 ? '' : ','}${JSON.stringify(e)}`;
        pending += Buffer.byteLength(part);
        parts.push(part);
        records++;
        eventIds?.push(e.eventID);
        if (!oldest || e.eventTime < oldest) oldest = e.eventTime;
        if (e.eventTime > newest) newest = e.eventTime;
      }
      yield emit(parts.join(''));
    }
    yield emit(']}');
  }
  const gz = Readable.from(text()).pipe(createGzip({ level: opts.level ?? 6 }));
  const object = await s3.putObjectStream(bucket, key, gz, TRAIL_FILE_PUT);
  return { object, records, uncompressedBytes: bytes, sha256: hash.digest('hex'), oldestEventTime: oldest, newestEventTime: newest, eventIds };
}
