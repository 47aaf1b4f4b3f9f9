/**
 * The audit run's logic, and the test-connection probe, over an in-memory bucket (aws-sdk-client-mock in front of a Map) with a
 * fake ledger and repair; the same cases through the real SDK and the stand-ins are in
 * trail-audit.integration.test.ts.
 */
import { CloudTrailClient, ListPublicKeysCommand } from '@aws-sdk/client-cloudtrail';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { PublicKeyDirectory } from '../../functions/core/digest/public-keys';
import { Deadline } from '../../functions/core/time';
import { runAudit, type AuditDeps } from '../../functions/trail-audit/audit-run';
import type { ObjectRef, RepairOutcome } from '../../functions/trail-audit/log-file-check';
import { probeLogFileValidation } from '../../functions/trail-audit/validation-probe';
import { newSigningKey, TrailWriter, type StoredObject } from './trail-writer';

const BUCKET = 'trail-bucket';
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 11, 1, 12, 5, 0);
const key = newSigningKey();

const s3mock = mockClient(S3Client);
const ctmock = mockClient(CloudTrailClient);
let objects: Map<string, StoredObject>;
let delivered: Set<string>;
let repairs: ObjectRef[];
const refId = (r: ObjectRef) => `${r.bucket}/${r.key}#${r.etag}`;

function installFakes() {
  objects = new Map();
  delivered = new Set();
  repairs = [];
  s3mock.reset();
  ctmock.reset();
  s3mock.on(ListObjectsV2Command).callsFake((input: { Prefix?: string; Delimiter?: string }) => {
    const prefix = input.Prefix ?? '';
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    if (!input.Delimiter) return { Contents: keys.map((Key) => ({ Key })) };
    const folders = new Set(keys.map((k) => k.slice(prefix.length)).filter((r) => r.includes('/')).map((r) => prefix + r.slice(0, r.indexOf('/') + 1)));
    return { CommonPrefixes: [...folders].map((Prefix) => ({ Prefix })) };
  });
  s3mock.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const o = objects.get(input.Key);
    if (!o) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: Readable.from([o.body]), Metadata: o.metadata, ETag: `"${o.etag}"` };
  });
  ctmock.on(ListPublicKeysCommand).resolves({ PublicKeyList: [{ Fingerprint: key.fingerprint, Value: key.der }] });
}

function writer(opts: { prefix?: string; orgId?: string } = {}) {
  return new TrailWriter({
    bucket: BUCKET,
    ...opts,
    keyFor: () => key,
    put: (_b, k, o) => {
      objects.set(k, { body: o.body, metadata: o.metadata ?? {}, etag: createHash('md5').update(o.body).digest('hex') });
    },
  });
}

function deps(overrides: Partial<AuditDeps> = {}): AuditDeps {
  return {
    s3: new S3Client({ region: 'us-east-1' }),
    bucket: BUCKET,
    prefix: '',
    windowStartMs: NOW - 24 * HOUR,
    nowMs: NOW,
    keys: new PublicKeyDirectory(() => new CloudTrailClient({ region: 'us-east-1' }), { start: new Date(NOW - 25 * HOUR), end: new Date(NOW) }),
    concurrency: { accountRegions: 4, objects: 4 },
    deadline: new Deadline(Date.now() + 60_000, 0),
    logger: new Logger({ logLevel: 'SILENT' }),
    ledgerState: async (ref) => (delivered.has(refId(ref)) ? 'done' : 'not-delivered'),
    repair: async (ref): Promise<RepairOutcome> => {
      repairs.push(ref);
      delivered.add(refId(ref));
      return { status: 'delivered' };
    },
    ...overrides,
  };
}

/** Marks every log file currently in the bucket delivered, as the S3 source would have. */
function deliverAll() {
  for (const [k, o] of objects) if (k.includes('/CloudTrail/')) delivered.add(`${BUCKET}/${k}#${o.etag}`);
}

beforeEach(installFakes);
afterAll(() => {
  s3mock.restore();
  ctmock.restore();
});

describe('runAudit', () => {
  it('two accounts x two regions (organization trail, key prefix), an hour each, all delivered: nothing missing or invalid', async () => {
    const w = writer({ prefix: 'trails/org', orgId: 'o-abcdefghij' });
    for (const account of ['111111111111', '222222222222']) {
      for (const region of ['us-east-1', 'eu-west-1']) {
        await w.writeHour(account, region, NOW - 2 * HOUR, { files: 4 });
        await w.writeHour(account, region, NOW - HOUR, { files: 4 });
      }
    }
    deliverAll();
    const report = await runAudit(deps({ prefix: 'trails/org' }));
    expect(report.summary).toMatchObject({ digests: 8, logFiles: 32, delivered: 32, missing: 0, repaired: 0, invalid: 0, errors: 0 });
    expect(report.accountRegions.map((r) => `${r.account}/${r.region}`)).toEqual([
      '111111111111/eu-west-1', '111111111111/us-east-1', '222222222222/eu-west-1', '222222222222/us-east-1',
    ]);
    expect(report.accountRegions.every((r) => r.newestValidDigestMs === NOW - HOUR && !r.noRecentDigest)).toBe(true);
    expect(repairs).toHaveLength(0);
  });

  it('repairs a listed file the ledger does not know, once', async () => {
    const w = writer();
    const hour = await w.writeHour('111111111111', 'us-east-1', NOW - HOUR, { files: 3 });
    deliverAll();
    const lost = hour.logKeys[1]!;
    for (const id of [...delivered]) if (id.includes(lost)) delivered.delete(id);
    const first = await runAudit(deps());
    expect(first.summary).toMatchObject({ logFiles: 3, delivered: 2, repaired: 1, missing: 0, invalid: 0 });
    expect(repairs.map((r) => r.key)).toEqual([lost]);
    const second = await runAudit(deps());
    expect(second.summary).toMatchObject({ delivered: 3, repaired: 0 });
    expect(repairs).toHaveLength(1);
  });

  it('counts a file that cannot be forwarded, or no longer exists, as missing', async () => {
    const w = writer();
    const hour = await w.writeHour('111111111111', 'us-east-1', NOW - HOUR, { files: 3 });
    objects.delete(hour.logKeys[0]!);
    const report = await runAudit(deps({ repair: async () => ({ status: 'failed', code: 'DnifUnavailable' }) }));
    expect(report.summary).toMatchObject({ logFiles: 3, missing: 3, repaired: 0, invalid: 0 });
  });

  it('leaves a file the normal path holds right now alone', async () => {
    await writer().writeHour('111111111111', 'us-east-1', NOW - HOUR, { files: 2 });
    const report = await runAudit(deps({ ledgerState: async () => 'busy' }));
    expect(report.summary).toMatchObject({ inProgress: 2, repaired: 0, missing: 0 });
    expect(repairs).toHaveLength(0);
  });

  it('calls a log file altered after delivery invalid and does not forward it', async () => {
    const w = writer();
    const hour = await w.writeHour('111111111111', 'us-east-1', NOW - HOUR, { files: 2 });
    const altered = hour.logKeys[0]!;
    objects.set(altered, { body: gzipSync('{"Records":[]}'), metadata: {}, etag: 'changed' });
    deliverAll();
    delivered.delete(`${BUCKET}/${altered}#changed`);
    const report = await runAudit(deps());
    expect(report.summary).toMatchObject({ logFiles: 2, delivered: 1, invalid: 1, repaired: 0, missing: 0 });
    expect(repairs).toHaveLength(0);
  });

  it('notices a digest deleted from the middle of the chain', async () => {
    const w = writer();
    await w.writeHour('111111111111', 'us-east-1', NOW - 3 * HOUR, { files: 1 });
    const middle = await w.writeHour('111111111111', 'us-east-1', NOW - 2 * HOUR, { files: 1 });
    await w.writeHour('111111111111', 'us-east-1', NOW - HOUR, { files: 1 });
    deliverAll();
    expect((await runAudit(deps())).summary.invalid).toBe(0);
    objects.delete(middle.digestKey);
    const report = await runAudit(deps());
    expect(report.summary).toMatchObject({ digests: 2, invalid: 1 });
  });

  it('calls a digest signed with another key invalid, and one whose signature was replaced', async () => {
    const w = writer();
    const first = await w.writeHour('111111111111', 'us-east-1', NOW - 2 * HOUR, { files: 1 });
    const other = newSigningKey();
    await w.writeHour('111111111111', 'us-east-1', NOW - HOUR, { files: 1, signWith: other });
    deliverAll();
    const report = await runAudit(deps());
    // The second is signed with a key CloudTrail does not publish: invalid, its files unchecked.
    expect(report.summary).toMatchObject({ digests: 2, logFiles: 1, invalid: 1 });
    // A replaced signature on the first digest is caught too.
    objects.set(first.digestKey, { ...objects.get(first.digestKey)!, metadata: { signature: 'ab'.repeat(256) } });
    expect((await runAudit(deps())).summary.invalid).toBe(2);
  });

  it('does not trust a genuine digest copied to another key', async () => {
    const w = writer();
    const hour = await w.writeHour('111111111111', 'us-east-1', NOW - 2 * HOUR, { files: 1 });
    const copy = hour.digestKey.replace(/_(\d{8})T\d{6}Z/, '_$1T113000Z');
    objects.set(copy, objects.get(hour.digestKey)!);
    deliverAll();
    expect((await runAudit(deps())).summary).toMatchObject({ digests: 2, invalid: 1 });
  });

  it('accepts the first digest of a chain and backfill digests, and flags an account-region gone quiet', async () => {
    const w = writer();
    await w.writeHour('111111111111', 'us-east-1', NOW - 5 * HOUR, { files: 1, chainStart: true });
    await w.writeHour('111111111111', 'us-east-1', NOW - 4 * HOUR, { files: 1 });
    await w.writeHour('111111111111', 'us-east-1', NOW - 4 * HOUR + 60_000, { files: 1, backfill: true });
    deliverAll();
    const report = await runAudit(deps());
    expect(report.summary).toMatchObject({ digests: 3, logFiles: 3, delivered: 3, invalid: 0 });
    expect(report.accountRegions[0]?.noRecentDigest).toBe(true);
  });

  it('reads only digests whose end time lies in the lookback window', async () => {
    const w = writer();
    await w.writeHour('111111111111', 'us-east-1', NOW - 30 * HOUR, { files: 1 });
    await w.writeHour('111111111111', 'us-east-1', NOW - HOUR, { files: 1 });
    deliverAll();
    expect((await runAudit(deps())).summary).toMatchObject({ digests: 1, logFiles: 1, invalid: 0 });
  });

  it('stops checking log files at the deadline and says how many it left', async () => {
    await writer().writeHour('111111111111', 'us-east-1', NOW - HOUR, { files: 3 });
    const report = await runAudit(deps({ deadline: new Deadline(Date.now() - 1, 0) }));
    expect(report.summary).toMatchObject({ logFiles: 3, unchecked: 3, delivered: 0, missing: 0 });
  });
});

describe('probeLogFileValidation (test connection)', () => {
  const probe = () => probeLogFileValidation(new S3Client({ region: 'us-east-1' }), BUCKET, 'p', deps().keys, NOW);

  it('says validation is off when there are no digests', async () => {
    await writer({ prefix: 'p' }).writeLogFile('111111111111', 'us-east-1', NOW - HOUR, 1);
    expect(await probe()).toMatchObject({ validationOn: false, problem: expect.stringMatching(/log file validation is off/) });
  });

  it('finds the newest digest of an organization trail, and verifies it', async () => {
    const w = writer({ prefix: 'p', orgId: 'o-abcdefghij' });
    await w.writeHour('111111111111', 'eu-west-1', NOW - 2 * HOUR, { files: 1 });
    const newest = await w.writeHour('111111111111', 'eu-west-1', NOW - HOUR, { files: 1 });
    expect(await probe()).toEqual({ validationOn: true, digestKey: newest.digestKey, digestAgeMinutes: 60, verified: true });
  });

  it('says when the digest cannot be verified or read', async () => {
    await writer({ prefix: 'p' }).writeHour('111111111111', 'eu-west-1', NOW - HOUR, { files: 1, signWith: newSigningKey() });
    expect(await probe()).toMatchObject({ validationOn: true, verified: false, problem: expect.stringMatching(/no public key/) });
    s3mock.on(GetObjectCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    expect(await probe()).toMatchObject({ verified: false, code: 'AccessDenied' });
  });
});
