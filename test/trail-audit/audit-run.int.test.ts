/**
 * The audit run's rules, and the test-connection probe, through the real SDK on the S3 and
 * CloudTrail stand-ins (trail files and the stand-ins' signed, chained digests), with the ledger
 * and the repair replaced by fakes so each rule can be driven on its own. The whole handler on
 * the real ledger and DNIF receiver is in handler.int.test.ts.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { PublicKeyDirectory } from '../../functions/core/digest/public-keys';
import { Deadline } from '../../functions/core/deadline';
import { runAudit, type AuditDeps } from '../../functions/trail-audit/audit-run';
import type { LedgerState, ObjectRef, RepairOutcome } from '../../functions/trail-audit/log-file-check';
import { probeLogFileValidation } from '../../functions/core/digest/validation-probe';
import { buildDigest, buildTrailFiles, putDigest, putTrailFiles, writeDigestChain, type Digest, type TrailFile } from '../../standins';
import { useStandIns } from '../helpers/standins';

const env = useStandIns();
const HOUR = 3_600_000;
const A1 = '111111111111';
const A2 = '222222222222';
let seq = 0;
let bucket = '';
let delivered: Set<string>;
let repairs: ObjectRef[];
const refId = (r: ObjectRef) => `${r.bucket}/${r.key}`;
const NOW = () => Date.now();
const hourStart = (hoursBack: number) => new Date(Math.floor(Date.now() / HOUR) * HOUR - hoursBack * HOUR);

beforeEach(() => {
  bucket = `audit-run-${++seq}`;
  env().s3.createBucket(bucket);
  delivered = new Set();
  repairs = [];
});

/** Trail files and their digest chain for one account-region: `hours` hours ending at the last full hour. */
function trail(accountId: string, region: string, hours: number, opts: { prefix?: string; orgId?: string; filesPerHour?: number; signWith?: (i: number) => boolean } = {}): { files: TrailFile[]; digests: Digest[] } {
  const s = env();
  const from = hourStart(hours);
  const files = buildTrailFiles({ accountIds: [accountId], regions: [region], from, hours, prefix: opts.prefix, orgId: opts.orgId, recordsPerFile: 1, intervalMinutes: 60 / (opts.filesPerHour ?? 4) });
  putTrailFiles(s.s3, bucket, files);
  const digests = writeDigestChain(s.s3, s.cloudtrail.trails, {
    bucket, prefix: opts.prefix, orgId: opts.orgId, accountId, region, trailName: 't', homeRegion: 'us-east-1', files, from, hours,
    signWith: (i) => (opts.signWith?.(i) ? s.cloudtrail.trails.unpublishedKey : undefined),
  });
  return { files, digests };
}

const deliverAll = (files: TrailFile[]) => files.forEach((f) => delivered.add(`${bucket}/${f.key}`));

function deps(overrides: Partial<AuditDeps> = {}): AuditDeps {
  const s = env();
  const credentials = { accessKeyId: s.connectorUser.accessKeyId, secretAccessKey: s.connectorUser.secretAccessKey };
  const now = NOW();
  return {
    s3: new S3Client({ region: 'us-east-1', credentials }),
    bucket,
    prefix: '',
    windowStartMs: now - 24 * HOUR,
    nowMs: now,
    keys: new PublicKeyDirectory((region) => new CloudTrailClient({ region, credentials }), { start: new Date(now - 26 * HOUR), end: new Date(now) }),
    concurrency: { accountRegions: 4, objects: 4 },
    deadline: new Deadline(Date.now() + 60_000, 0),
    logger: new Logger({ logLevel: 'SILENT' }),
    ledgerState: async (ref): Promise<LedgerState> => (delivered.has(refId(ref)) ? 'done' : 'not-delivered'),
    repair: async (ref): Promise<RepairOutcome> => {
      repairs.push(ref);
      delivered.add(refId(ref));
      return { status: 'delivered' };
    },
    ...overrides,
  };
}

describe('runAudit', () => {
  it('finds every account and region of an organization trail under a key prefix', async () => {
    const all = [A1, A2].flatMap((a) => ['us-east-1', 'eu-west-1'].map((r) => trail(a, r, 2, { prefix: 'trails/org', orgId: 'o-abcdefghij' })));
    deliverAll(all.flatMap((t) => t.files));
    const report = await runAudit(deps({ prefix: 'trails/org' }));
    expect(report.summary).toMatchObject({ digests: 8, logFiles: 32, delivered: 32, missing: 0, repaired: 0, invalid: 0, errors: 0 });
    expect(report.accountRegions.map((r) => `${r.account}/${r.region}`)).toEqual([`${A1}/eu-west-1`, `${A1}/us-east-1`, `${A2}/eu-west-1`, `${A2}/us-east-1`]);
    expect(report.accountRegions.every((r) => r.newestValidDigestMs === +hourStart(0) && !r.noRecentDigest)).toBe(true);
    expect(repairs).toHaveLength(0);
  });

  it('repairs a listed file the ledger does not know, once', async () => {
    const { files } = trail(A1, 'us-east-1', 1);
    deliverAll(files.filter((_, i) => i !== 1));
    expect((await runAudit(deps())).summary).toMatchObject({ logFiles: 4, delivered: 3, repaired: 1, missing: 0, invalid: 0 });
    expect(repairs.map((r) => r.key)).toEqual([files[1]!.key]);
    expect(repairs[0]!.etag).toMatch(/^[0-9a-f]{32}$/); // the ETag the ledger is keyed by, without quotes
    expect((await runAudit(deps())).summary).toMatchObject({ delivered: 4, repaired: 0 });
    expect(repairs).toHaveLength(1);
  });

  it('counts a file that cannot be forwarded, or no longer exists, as missing', async () => {
    const { files } = trail(A1, 'us-east-1', 1);
    env().s3.deleteObject(bucket, files[0]!.key);
    const report = await runAudit(deps({ repair: async () => ({ status: 'failed', code: 'DnifUnavailable' }) }));
    expect(report.summary).toMatchObject({ logFiles: 4, missing: 4, repaired: 0, invalid: 0 });
  });

  it('leaves a file the normal path holds right now alone', async () => {
    trail(A1, 'us-east-1', 1);
    const report = await runAudit(deps({ ledgerState: async () => 'busy' }));
    expect(report.summary).toMatchObject({ inProgress: 4, repaired: 0, missing: 0 });
    expect(repairs).toHaveLength(0);
  });

  it('calls a changed log file invalid and does not forward it', async () => {
    const { files } = trail(A1, 'us-east-1', 1);
    env().s3.tamperObject(bucket, files[0]!.key, (b) => Buffer.concat([b, Buffer.from('x')]));
    expect((await runAudit(deps())).summary).toMatchObject({ logFiles: 4, invalid: 1, repaired: 3, missing: 0 });
    expect(repairs.map((r) => r.key)).not.toContain(files[0]!.key);
  });

  it('notices a digest deleted from the middle of the chain, or replaced by a re-signed one', async () => {
    const { digests } = trail(A1, 'us-east-1', 3);
    expect((await runAudit(deps())).summary.invalid).toBe(0);
    env().s3.deleteObject(bucket, digests[1]!.key);
    expect((await runAudit(deps())).summary).toMatchObject({ digests: 2, invalid: 1 });
    // A digest put back with the right content but another signature breaks the next link.
    putDigest(env().s3, digests[1]!, { signature: 'ab'.repeat(256) });
    expect((await runAudit(deps())).summary).toMatchObject({ digests: 3, invalid: 2 });
  });

  it('calls a digest signed with a key CloudTrail does not publish invalid, and does not trust its list', async () => {
    trail(A1, 'us-east-1', 2, { signWith: (i) => i === 1 });
    expect((await runAudit(deps())).summary).toMatchObject({ digests: 2, logFiles: 4, invalid: 1 });
  });

  it('does not trust a genuine digest copied to another key', async () => {
    const { digests } = trail(A1, 'us-east-1', 2);
    const copy = digests[0]!.key.replace(/T(\d{4})00Z/, 'T$130Z');
    const original = env().s3.getObject(bucket, digests[0]!.key)!;
    env().s3.putObject(bucket, copy, original.body, { metadata: original.metadata });
    expect((await runAudit(deps())).summary).toMatchObject({ digests: 3, invalid: 1 });
  });

  it('accepts the first digest of a chain and a backfill digest, and flags an account-region gone quiet', async () => {
    const s = env();
    const { files, digests } = trail(A1, 'us-east-1', 2);
    // Nothing since: the newest digest is an hour and more old, then 3 h once the window moves on.
    const late = buildTrailFiles({ accountIds: [A1], regions: ['us-east-1'], from: hourStart(2), hours: 0.25, recordsPerFile: 1, seed: 7 });
    putTrailFiles(s.s3, bucket, late);
    const backfill = buildDigest({ bucket, accountId: A1, region: 'us-east-1', trailName: 't', homeRegion: 'us-east-1', start: hourStart(2), end: new Date(+hourStart(1) + 60_000), backfill: true, logFiles: late, previous: digests[0], key: s.cloudtrail.trails.signingKey('us-east-1') });
    putDigest(s.s3, backfill);
    deliverAll([...files, ...late]);
    const report = await runAudit(deps({ nowMs: +hourStart(0) + 2 * HOUR }));
    expect(report.summary).toMatchObject({ digests: 3, logFiles: 8 + late.length, delivered: 8 + late.length, invalid: 0 });
    expect(report.accountRegions[0]?.noRecentDigest).toBe(true);
    expect(digests[0]!.content.previousDigestS3Object).toBeNull();
  });

  it('reads only digests whose end time lies in the lookback window', async () => {
    trail(A1, 'us-east-1', 3);
    expect((await runAudit(deps({ windowStartMs: +hourStart(1) - 60_000 }))).summary).toMatchObject({ digests: 2, invalid: 0 });
  });

  it('stops checking log files at the deadline and says how many it left', async () => {
    trail(A1, 'us-east-1', 1);
    const report = await runAudit(deps({ deadline: new Deadline(Date.now() - 1, 0) }));
    expect(report.summary).toMatchObject({ logFiles: 4, unchecked: 4, delivered: 0, missing: 0 });
  });

  it('reports account-regions it cannot verify (ListPublicKeys denied) as errors, not as invalid', async () => {
    const s = env();
    trail(A1, 'us-east-1', 1);
    trail(A2, 'us-east-1', 1);
    s.registry.deny(s.connectorUser.accessKeyId, 'cloudtrail:ListPublicKeys');
    try {
      const report = await runAudit(deps());
      expect(report.summary).toMatchObject({ errors: 2, invalid: 0, delivered: 0 });
      expect(report.accountRegions[0]?.error?.code).toMatch(/AccessDenied/);
    } finally {
      s.registry.allow(s.connectorUser.accessKeyId, 'cloudtrail:ListPublicKeys');
    }
  });
});

describe('probeLogFileValidation (test connection)', () => {
  const probe = (prefix = 'p') => probeLogFileValidation(deps().s3, bucket, prefix, deps().keys);

  it('says validation is off when there are no digests', async () => {
    putTrailFiles(env().s3, bucket, buildTrailFiles({ accountIds: [A1], regions: ['us-east-1'], from: hourStart(1), prefix: 'p' }));
    expect(await probe()).toMatchObject({ validationOn: false, problem: expect.stringMatching(/log file validation is off/) });
  });

  it('finds the newest digest of an organization trail, and verifies it', async () => {
    const { digests } = trail(A1, 'eu-west-1', 2, { prefix: 'p', orgId: 'o-abcdefghij' });
    expect(await probe()).toMatchObject({ validationOn: true, digestKey: digests[1]!.key, verified: true });
  });

  it('says when the digest cannot be verified', async () => {
    trail(A1, 'eu-west-1', 1, { prefix: 'p', signWith: () => true });
    expect(await probe()).toMatchObject({ validationOn: true, verified: false, problem: expect.stringMatching(/no public key/) });
  });
});
