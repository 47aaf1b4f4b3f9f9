/**
 * CloudTrail digest files as AWS documents them ("CloudTrail digest file structure",
 * "Validating CloudTrail log file integrity with custom implementations") and as the AWS CLI's
 * `validate-logs` checks them: hourly gzip JSON listing each log file's SHA-256 (of its
 * uncompressed content), chained to the previous digest, signed SHA256withRSA over
 *
 *   <digestEndTime>\n<digestS3Bucket>/<digestS3Object>\n<hex SHA-256 of the uncompressed digest>\n<previousDigestSignature or "null">
 *
 * with the signature (hex) in `x-amz-meta-signature` and `x-amz-meta-signature-algorithm`.
 * Key: `[<prefix>/]AWSLogs/[o-ID/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/
 *       <account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHmmssZ>.json.gz`
 */
import { createHash, sign } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { SigningKey, TrailRegistry } from './cloudtrail-trails';
import type { S3StandIn, StoredObject } from './s3';
import { accountRoot, type TrailFile } from './trail-files';

export const DIGEST_SIGNATURE_ALGORITHM = 'SHA256withRSA';

export interface DigestLogFile {
  s3Bucket: string;
  s3Object: string;
  hashValue: string;
  hashAlgorithm: 'SHA-256';
  newestEventTime: string;
  oldestEventTime: string;
}

export interface DigestContent {
  awsAccountId: string;
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: string;
  newestEventTime: string | null;
  oldestEventTime: string | null;
  previousDigestS3Bucket: string | null;
  previousDigestS3Object: string | null;
  previousDigestHashValue: string | null;
  previousDigestHashAlgorithm: string | null;
  previousDigestSignature: string | null;
  logFiles: DigestLogFile[];
}

export interface Digest {
  bucket: string;
  key: string;
  content: DigestContent;
  /** Uncompressed JSON, what the signature's hash covers. */
  json: Buffer;
  body: Buffer;
  /** Hex SHA-256 of `json`: the next digest's previousDigestHashValue. */
  sha256: string;
  /** Hex. */
  signature: string;
}

export interface DigestKeyParts {
  prefix?: string;
  orgId?: string;
  accountId: string;
  region: string;
  trailName: string;
  /** The trail's home region; default `region`. */
  homeRegion?: string;
  end: Date;
  backfill?: boolean;
}

const pad = (n: number) => String(n).padStart(2, '0');
/** `2015-08-17T15:01:31Z`: CloudTrail's whole-second UTC form. */
export const digestTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function trailDigestKey(p: DigestKeyParts): string {
  const e = p.end;
  const day = `${e.getUTCFullYear()}/${pad(e.getUTCMonth() + 1)}/${pad(e.getUTCDate())}`;
  const stamp = digestTime(e).replace(/[-:]/g, '');
  return `${accountRoot(p)}CloudTrail-Digest/${p.region}/${day}/${p.accountId}_CloudTrail-Digest_${p.region}_${p.trailName}_${p.homeRegion ?? p.region}_${stamp}${p.backfill ? '_backfill' : ''}.json.gz`;
}

/** The data signing string AWS documents (and the AWS CLI rebuilds). */
export function digestSigningString(c: Pick<DigestContent, 'digestEndTime' | 'digestS3Bucket' | 'digestS3Object' | 'previousDigestSignature'>, json: Buffer): string {
  const hash = createHash('sha256').update(json).digest('hex');
  return `${c.digestEndTime}\n${c.digestS3Bucket}/${c.digestS3Object}\n${hash}\n${c.previousDigestSignature ?? 'null'}`;
}

export interface BuildDigestOptions extends DigestKeyParts {
  bucket: string;
  start: Date;
  /** Log files the digest lists (their bucket defaults to `bucket`). */
  logFiles: ReadonlyArray<Pick<TrailFile, 'key' | 'sha256' | 'oldestEventTime' | 'newestEventTime'> & { bucket?: string }>;
  previous?: Digest | null;
  key: SigningKey;
  /** Change the content before it is signed (e.g. a wrong hashValue, for "invalid" tests). */
  mutate?: (content: DigestContent) => void;
}

export function buildDigest(o: BuildDigestOptions): Digest {
  const key = trailDigestKey(o);
  const times = o.logFiles.flatMap((f) => [f.oldestEventTime, f.newestEventTime]).filter(Boolean).sort();
  const content: DigestContent = {
    awsAccountId: o.accountId,
    digestStartTime: digestTime(o.start),
    digestEndTime: digestTime(o.end),
    digestS3Bucket: o.bucket,
    digestS3Object: key,
    digestPublicKeyFingerprint: o.key.fingerprint,
    digestSignatureAlgorithm: DIGEST_SIGNATURE_ALGORITHM,
    newestEventTime: times[times.length - 1] ?? null,
    oldestEventTime: times[0] ?? null,
    previousDigestS3Bucket: o.previous?.bucket ?? null,
    previousDigestS3Object: o.previous?.key ?? null,
    previousDigestHashValue: o.previous?.sha256 ?? null,
    previousDigestHashAlgorithm: o.previous ? 'SHA-256' : null,
    previousDigestSignature: o.previous?.signature ?? null,
    logFiles: o.logFiles.map((f) => ({
      s3Bucket: f.bucket ?? o.bucket,
      s3Object: f.key,
      hashValue: f.sha256,
      hashAlgorithm: 'SHA-256',
      newestEventTime: f.newestEventTime,
      oldestEventTime: f.oldestEventTime,
    })),
  };
  o.mutate?.(content);
  const json = Buffer.from(JSON.stringify(content), 'utf8');
  const signature = sign('sha256', Buffer.from(digestSigningString(content, json), 'utf8'), o.key.privateKey).toString('hex');
  return { bucket: o.bucket, key: content.digestS3Object, content, json, body: gzipSync(json), sha256: createHash('sha256').update(json).digest('hex'), signature };
}

/** Store as CloudTrail does: the signature in the object's metadata. */
export function putDigest(s3: S3StandIn, d: Digest, opts: { signature?: string } = {}): StoredObject {
  return s3.putObject(d.bucket, d.key, d.body, {
    contentType: 'application/json',
    contentEncoding: 'gzip',
    metadata: { signature: opts.signature ?? d.signature, 'signature-algorithm': DIGEST_SIGNATURE_ALGORITHM },
  });
}

export interface DigestChainOptions extends Omit<DigestKeyParts, 'end' | 'backfill'> {
  bucket: string;
  /** The log files (only this account-region's are used); each goes to the hour (start, end] its key's delivery stamp falls in. */
  files: readonly TrailFile[];
  /** First digest period starts here; one digest per hour for `hours` (a digest is written even for an empty hour). */
  from: Date;
  hours: number;
  /** Default: the region's published key at each digest's end time. */
  signWith?: (index: number) => SigningKey | undefined;
  mutate?: (content: DigestContent, index: number) => void;
  /** Continue an existing chain. */
  previous?: Digest;
}

/** `..._20260304T0510Z_xxxxxxxxxxxxxxxx.json.gz` → its delivery time. */
export function deliveryTimeOfLogKey(key: string): number {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[A-Za-z0-9]{16}\.json\.gz$/.exec(key);
  if (!m) throw new Error(`not a trail log file key: ${key}`);
  const [, y, mo, d, h, mi] = m.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi);
}

/**
 * Hourly chained digests for one account-region, stored in the stand-in; the trail's
 * LatestDigestDeliveryTime follows when the trail is registered.
 */
export function writeDigestChain(s3: S3StandIn, trails: TrailRegistry, o: DigestChainOptions): Digest[] {
  const out: Digest[] = [];
  let previous: Digest | null = o.previous ?? null;
  for (let i = 0; i < o.hours; i++) {
    const start = new Date(+o.from + i * 3_600_000);
    const end = new Date(+start + 3_600_000);
    // Delivered in (start, end]: a file stamped on the hour was written in the hour before.
    const logFiles = o.files.filter((f) => f.accountId === o.accountId && f.region === o.region && deliveryTimeOfLogKey(f.key) > +start && deliveryTimeOfLogKey(f.key) <= +end);
    const d = buildDigest({
      ...o,
      start,
      end,
      logFiles,
      previous,
      // CloudTrail signs with the key of the region the digest is for.
      key: o.signWith?.(i) ?? trails.signingKey(o.region, +end),
      mutate: o.mutate && ((c) => o.mutate?.(c, i)),
    });
    putDigest(s3, d);
    out.push(d);
    previous = d;
  }
  const trail = trails.trail(o.trailName);
  if (trail && out.length > 0) trails.setStatus(trail.arn, { latestDigestDeliveryTime: Date.parse(out[out.length - 1].content.digestEndTime) });
  return out;
}
