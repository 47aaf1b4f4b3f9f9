/**
 * What the S3 stand-in keeps: buckets and objects in memory, with S3's semantics for
 * ETags (quoted MD5 of the bytes for a single-part upload), keys ordered by their UTF-8
 * bytes, and ListObjectsV2 paging (prefix, delimiter roll-up, start-after, continuation).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface StoredObject {
  key: string;
  body: Buffer;
  /** Quoted, as S3 sends it: `"<md5 hex>"`. */
  etag: string;
  lastModified: Date;
  contentType: string;
  contentEncoding?: string;
  /** User metadata, names lower-case without the `x-amz-meta-` prefix. */
  metadata: Record<string, string>;
  /** SSE-KMS: the key ARN the object is encrypted under (reading needs kms:Decrypt). */
  kmsKeyArn?: string;
  /** Flexible checksum sent with the upload (`crc32` → base64), returned on whole-object GETs. */
  checksum?: { algorithm: string; value: string };
  /** Monotonic per bucket, hex: S3 event notifications' `sequencer`. */
  sequencer: string;
}

export interface BucketInfo {
  name: string;
  region: string;
  /** Owner account (for ARNs and notifications). */
  accountId: string;
  /** Default encryption: every new object is SSE-KMS under this key. */
  kmsKeyArn?: string;
}

interface Bucket extends BucketInfo {
  objects: Map<string, StoredObject>;
  sequence: number;
  /** Keys in S3 order, rebuilt after a key is added or removed (lists of 10^5 keys stay fast). */
  sorted?: string[];
}

export interface PutOptions {
  metadata?: Record<string, string>;
  contentType?: string;
  contentEncoding?: string;
  kmsKeyArn?: string;
  lastModified?: Date;
  checksum?: { algorithm: string; value: string };
}

export interface ListQuery {
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  startAfter?: string;
  continuationToken?: string;
}

export interface ListPage {
  contents: StoredObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

export class InvalidContinuationToken extends Error {}

export const etagOf = (body: Uint8Array) => `"${createHash('md5').update(body).digest('hex')}"`;

/**
 * S3 orders keys by their UTF-8 bytes. JS compares UTF-16 code units, which agrees except where a
 * surrogate pair (beyond the BMP) meets a character from U+E000 up: only then compare bytes.
 */
function compareKeys(a: string, b: string): number {
  if (/[\ud800-\udfff\ue000-\uffff]/.test(a) && /[\ud800-\udfff\ue000-\uffff]/.test(b)) {
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first key in `sorted` that is greater than `after`. */
function firstAfter(sorted: readonly string[], after: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid], after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class S3Store {
  private readonly buckets = new Map<string, Bucket>();
  private readonly tokenKey = randomBytes(16);

  createBucket(info: BucketInfo): BucketInfo {
    if (this.buckets.has(info.name)) throw new Error(`bucket ${info.name} already exists`);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(info.name)) throw new Error(`invalid bucket name ${info.name}`);
    this.buckets.set(info.name, { ...info, objects: new Map(), sequence: 0 });
    return info;
  }

  bucket(name: string): BucketInfo | undefined {
    const b = this.buckets.get(name);
    return b && { name: b.name, region: b.region, accountId: b.accountId, kmsKeyArn: b.kmsKeyArn };
  }

  deleteBucket(name: string): void {
    this.buckets.delete(name);
  }

  clear(): void {
    for (const b of this.buckets.values()) {
      b.objects.clear();
      b.sorted = undefined;
    }
  }

  put(bucketName: string, key: string, body: Buffer, opts: PutOptions = {}): StoredObject {
    const b = this.require(bucketName);
    b.sequence++;
    const object: StoredObject = {
      key,
      body,
      etag: etagOf(body),
      lastModified: opts.lastModified ?? new Date(),
      contentType: opts.contentType ?? 'binary/octet-stream',
      contentEncoding: opts.contentEncoding,
      metadata: Object.fromEntries(Object.entries(opts.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      kmsKeyArn: opts.kmsKeyArn ?? b.kmsKeyArn,
      checksum: opts.checksum,
      sequencer: (0x1000000000 + b.sequence).toString(16).toUpperCase().padStart(18, '0'),
    };
    if (!b.objects.has(key)) b.sorted = undefined;
    b.objects.set(key, object);
    return object;
  }

  get(bucketName: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucketName)?.objects.get(key);
  }

  delete(bucketName: string, key: string): boolean {
    const b = this.require(bucketName);
    b.sorted = undefined;
    return b.objects.delete(key);
  }

  /**
   * Change stored bytes behind S3's back (bit rot, or an attacker with storage access):
   * ETag, metadata and checksum stay as they were unless `recomputeEtag`, so only a
   * content hash notices. A new PutObject is the honest overwrite.
   */
  tamper(bucketName: string, key: string, mutate: (body: Buffer) => Buffer, recomputeEtag = false): StoredObject {
    const o = this.get(bucketName, key);
    if (!o) throw new Error(`no object s3://${bucketName}/${key}`);
    o.body = mutate(Buffer.from(o.body));
    o.checksum = undefined;
    if (recomputeEtag) o.etag = etagOf(o.body);
    return o;
  }

  keys(bucketName: string, prefix = ''): string[] {
    return this.sortedKeys(this.require(bucketName)).filter((k) => k.startsWith(prefix));
  }

  list(bucketName: string, q: ListQuery): ListPage {
    const b = this.require(bucketName);
    if (q.maxKeys === 0) return { contents: [], commonPrefixes: [], isTruncated: false };
    let after = q.startAfter ?? '';
    let skipPrefix: string | undefined;
    if (q.continuationToken !== undefined) {
      const c = this.decodeToken(bucketName, q.continuationToken);
      after = compareKeys(c.after, after) > 0 ? c.after : after;
      if (c.prefix) skipPrefix = c.after;
    }
    const keys = this.sortedKeys(b);
    // Keys with the prefix form one run in sorted order: start at the later of prefix and cursor.
    const from = compareKeys(after, q.prefix) >= 0 ? firstAfter(keys, after) : firstAfter(keys, q.prefix) - (b.objects.has(q.prefix) ? 1 : 0);

    const contents: StoredObject[] = [];
    const commonPrefixes: string[] = [];
    let last: { after: string; prefix: boolean } | undefined;
    for (let i = from; i < keys.length; i++) {
      const k = keys[i];
      if (!k.startsWith(q.prefix)) break;
      if (skipPrefix && k.startsWith(skipPrefix)) continue;
      const o = b.objects.get(k) as StoredObject;
      let rolled: string | undefined;
      if (q.delimiter) {
        const at = o.key.indexOf(q.delimiter, q.prefix.length);
        if (at >= 0) rolled = o.key.slice(0, at + q.delimiter.length);
      }
      if (rolled !== undefined && rolled === commonPrefixes[commonPrefixes.length - 1]) continue;
      if (contents.length + commonPrefixes.length >= q.maxKeys) {
        return {
          contents,
          commonPrefixes,
          isTruncated: true,
          nextContinuationToken: last && this.encodeToken(bucketName, last),
        };
      }
      if (rolled !== undefined) {
        commonPrefixes.push(rolled);
        last = { after: rolled, prefix: true };
      } else {
        contents.push(o);
        last = { after: o.key, prefix: false };
      }
    }
    return { contents, commonPrefixes, isTruncated: false };
  }

  private sortedKeys(b: Bucket): string[] {
    return (b.sorted ??= [...b.objects.keys()].sort(compareKeys));
  }

  /** Opaque like S3's, bound to the bucket and tamper-evident. */
  private encodeToken(bucket: string, c: { after: string; prefix: boolean }): string {
    const payload = Buffer.from(JSON.stringify([bucket, c.after, c.prefix])).toString('base64');
    const mac = createHmac('sha256', this.tokenKey).update(payload).digest('base64').slice(0, 16);
    return `${payload}${mac}`;
  }

  private decodeToken(bucket: string, token: string): { after: string; prefix: boolean } {
    const payload = token.slice(0, -16);
    const mac = createHmac('sha256', this.tokenKey).update(payload).digest('base64').slice(0, 16);
    if (token.length <= 16 || token.slice(-16) !== mac) throw new InvalidContinuationToken();
    const [b, after, prefix] = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as [string, string, boolean];
    if (b !== bucket) throw new InvalidContinuationToken();
    return { after, prefix };
  }

  private require(name: string): Bucket {
    const b = this.buckets.get(name);
    if (!b) throw new Error(`no bucket ${name}`);
    return b;
  }
}
