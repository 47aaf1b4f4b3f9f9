/**
 * Test-side CloudTrail writer: log files and hourly digest files, chained and signed the way
 * CloudTrail signs them (SHA256withRSA over the data signing string), into any object store the
 * test provides (an in-memory map here; the S3 stand-in in integration tests).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { DigestFile } from '../../functions/core/digest/digest-file';
import { dataSigningString } from '../../functions/core/digest/signing-string';

export interface StoredObject {
  body: Buffer;
  metadata: Record<string, string>;
  etag: string;
}

export type PutObject = (bucket: string, key: string, object: { body: Buffer; metadata?: Record<string, string> }) => Promise<void> | void;

export interface SigningKey {
  privateKey: KeyObject;
  /** PKCS#1 DER, as ListPublicKeys returns it. */
  der: Buffer;
  fingerprint: string;
}

export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ format: 'der', type: 'pkcs1' });
  return { privateKey, der, fingerprint: createHash('md5').update(der).digest('hex') };
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '/');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface TrailWriterOptions {
  bucket: string;
  prefix?: string;
  orgId?: string;
  trailName?: string;
  homeRegion?: string;
  /** Signing key per region (the CloudTrail stand-in publishes the public halves). */
  keyFor: (region: string) => SigningKey;
  put: PutObject;
}

export interface WrittenHour {
  digestKey: string;
  logKeys: string[];
  records: number;
}

/** Writes trail files and digests for one account-region, remembering the chain between calls. */
export class TrailWriter {
  private readonly last = new Map<string, { key: string; signature: string; sha256: string }>();
  constructor(private readonly o: TrailWriterOptions) {}

  private base(account: string) {
    return `${this.o.prefix ? `${this.o.prefix}/` : ''}AWSLogs/${this.o.orgId ? `${this.o.orgId}/` : ''}${account}`;
  }

  /** One log file with `records` records, delivered at `atMs`; returns its key and uncompressed SHA-256. */
  async writeLogFile(account: string, region: string, atMs: number, records: number): Promise<{ key: string; sha256: string; body: Buffer }> {
    const Records = Array.from({ length: records }, (_, i) => ({
      eventVersion: '1.08',
      eventID: `${account}-${region}-${atMs}-${i}-${randomBytes(4).toString('hex')}`,
      eventTime: iso(atMs - 60_000),
      eventSource: 'ec2.amazonaws.com',
      eventName: 'DescribeInstances',
      awsRegion: region,
      recipientAccountId: account,
      readOnly: true,
    }));
    const json = JSON.stringify({ Records });
    const key = `${this.base(account)}/CloudTrail/${region}/${ymd(atMs)}/${account}_CloudTrail_${region}_${stamp(atMs)}_${randomBytes(8).toString('hex')}.json.gz`;
    const body = gzipSync(json);
    await this.o.put(this.o.bucket, key, { body });
    return { key, sha256: sha256(json), body };
  }

  /**
   * An hour of trail: `files` log files then the digest ending at `endMs` listing them (and
   * `extra` listed files written elsewhere), signed with `signWith` (default the region's key).
   */
  async writeHour(
    account: string,
    region: string,
    endMs: number,
    opts: { files?: number; records?: number; signWith?: SigningKey; backfill?: boolean; chainStart?: boolean } = {},
  ): Promise<WrittenHour> {
    const files = opts.files ?? 12;
    const logs = [];
    for (let i = 0; i < files; i++) logs.push(await this.writeLogFile(account, region, endMs - 3_600_000 + (i + 1) * (3_600_000 / (files + 1)), opts.records ?? 3));
    const trail = this.o.trailName ?? 'org-trail';
    const home = this.o.homeRegion ?? 'us-east-1';
    const digestKey = `${this.base(account)}/CloudTrail-Digest/${region}/${ymd(endMs)}/${account}_CloudTrail-Digest_${region}_${trail}_${home}_${stamp(endMs)}${opts.backfill ? '_backfill' : ''}.json.gz`;
    const chainKey = `${account}/${region}`;
    const prev = opts.chainStart ? undefined : this.last.get(chainKey);
    const key = opts.signWith ?? this.o.keyFor(region);
    const digest: DigestFile = {
      awsAccountId: account,
      digestStartTime: iso(endMs - 3_600_000),
      digestEndTime: iso(endMs),
      digestS3Bucket: this.o.bucket,
      digestS3Object: digestKey,
      digestPublicKeyFingerprint: key.fingerprint,
      digestSignatureAlgorithm: 'SHA256withRSA',
      newestEventTime: iso(endMs - 60_000),
      oldestEventTime: iso(endMs - 3_600_000),
      previousDigestS3Bucket: prev ? this.o.bucket : null,
      previousDigestS3Object: prev?.key ?? null,
      previousDigestHashValue: prev?.sha256 ?? null,
      previousDigestHashAlgorithm: prev ? 'SHA-256' : null,
      previousDigestSignature: prev?.signature ?? null,
      logFiles: logs.map((l) => ({
        s3Bucket: this.o.bucket,
        s3Object: l.key,
        hashValue: l.sha256,
        hashAlgorithm: 'SHA-256',
        newestEventTime: iso(endMs - 60_000),
        oldestEventTime: iso(endMs - 3_600_000),
      })),
    };
    const json = JSON.stringify(digest);
    const signature = sign('sha256', Buffer.from(dataSigningString(digest, sha256(json))), key.privateKey).toString('hex');
    await this.o.put(this.o.bucket, digestKey, { body: gzipSync(json), metadata: { signature, 'signature-algorithm': 'SHA256withRSA' } });
    if (!opts.backfill) this.last.set(chainKey, { key: digestKey, signature, sha256: sha256(json) });
    return { digestKey, logKeys: logs.map((l) => l.key), records: files * (opts.records ?? 3) };
  }
}
