import { createHash, createPublicKey, verify } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  CloudTrailClient,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  ListPublicKeysCommand,
  TrailNotFoundException,
  type PublicKey,
} from '@aws-sdk/client-cloudtrail';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startCloudTrail, type CloudTrailStandIn } from '../../standins/cloudtrail';
import { startS3, type S3StandIn } from '../../standins/s3';
import { CredentialRegistry } from '../../standins/sigv4';
import { digestSigningString, trailDigestKey, writeDigestChain, type DigestContent } from '../../standins/trail-digests';
import { buildTrailFiles, putTrailFiles } from '../../standins/trail-files';

const ACCOUNT = '111122223333';
const BUCKET = 'org-trail';
const FROM = new Date('2026-03-04T05:00:00Z');

describe('CloudTrail digest files and signing keys', () => {
  const registry = new CredentialRegistry();
  const auditor = registry.createUser(ACCOUNT, 'auditor');
  let ct: CloudTrailStandIn;
  let s3: S3StandIn;
  let s3c: S3Client;
  const cts: CloudTrailClient[] = [];
  const ctClient = (region = 'eu-west-1') => {
    const c = new CloudTrailClient({ region, endpoint: ct.url, credentials: auditor, maxAttempts: 1 });
    cts.push(c);
    return c;
  };

  /** What an auditor does, with the SDK only: fetch the digest, pick the key by fingerprint, verify. */
  async function verifyDigest(key: string, region: string): Promise<{ ok: boolean; content: DigestContent; reason?: string }> {
    const out = await s3c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const json = gunzipSync(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    const content = JSON.parse(json.toString('utf8')) as DigestContent;
    const { PublicKeyList = [] } = await ctClient(region).send(
      new ListPublicKeysCommand({ StartTime: new Date(content.digestStartTime), EndTime: new Date(content.digestEndTime) }),
    );
    const pk = PublicKeyList.find((k: PublicKey) => k.Fingerprint === content.digestPublicKeyFingerprint);
    if (!pk) return { ok: false, content, reason: 'fingerprint not published' };
    expect(out.Metadata?.['signature-algorithm']).toBe('SHA256withRSA');
    const publicKey = createPublicKey({ key: Buffer.from(pk.Value as Uint8Array), format: 'der', type: 'pkcs1' });
    const ok = verify('sha256', Buffer.from(digestSigningString(content, json)), publicKey, Buffer.from(out.Metadata?.signature as string, 'hex'));
    return { ok, content, reason: ok ? undefined : 'bad signature' };
  }

  beforeAll(async () => {
    ct = await startCloudTrail({ registry });
    s3 = await startS3({ registry, defaultRegion: 'eu-west-1' });
    s3.createBucket(BUCKET);
    s3c = new S3Client({ region: 'eu-west-1', endpoint: s3.url, credentials: auditor, maxAttempts: 1 });
    ct.trails.addTrail({ name: 'org-trail', accountId: ACCOUNT, homeRegion: 'eu-west-1', bucket: BUCKET, prefix: 'p', multiRegion: true, organization: true });
  });
  afterAll(async () => {
    [s3c, ...cts].forEach((c) => c.destroy());
    await Promise.all([ct.close(), s3.close()]);
  });
  beforeEach(() => s3.reset());

  it('names digests as CloudTrail does (the AWS CLI reads the end stamp from the last 24..8 characters)', () => {
    const key = trailDigestKey({ prefix: 'p', orgId: 'o-abc123def4', accountId: ACCOUNT, region: 'us-east-2', trailName: 'org-trail', homeRegion: 'eu-west-1', end: new Date('2015-08-17T15:01:31Z') });
    expect(key).toBe('p/AWSLogs/o-abc123def4/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_org-trail_eu-west-1_20150817T150131Z.json.gz');
    expect(key.slice(-24, -8)).toBe('20150817T150131Z');
  });

  it('writes hourly chained digests listing every log file with the SHA-256 of its content, verifiable with ListPublicKeys', async () => {
    const files = buildTrailFiles({ accountIds: [ACCOUNT], regions: ['eu-west-1', 'us-east-2'], prefix: 'p', orgId: 'o-abc123def4', from: FROM, hours: 2 });
    putTrailFiles(s3, BUCKET, files);
    const chains = ['eu-west-1', 'us-east-2'].map((region) =>
      writeDigestChain(s3, ct.trails, { bucket: BUCKET, prefix: 'p', orgId: 'o-abc123def4', accountId: ACCOUNT, region, trailName: 'org-trail', homeRegion: 'eu-west-1', files, from: FROM, hours: 2 }),
    );
    const listed = await s3c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'p/AWSLogs/o-abc123def4/111122223333/CloudTrail-Digest/' }));
    expect(listed.KeyCount).toBe(4);

    for (const [r, chain] of [['eu-west-1', chains[0]], ['us-east-2', chains[1]]] as const) {
      const [first, second] = await Promise.all(chain.map((d) => verifyDigest(d.key, r)));
      expect([first.ok, second.ok]).toEqual([true, true]);
      expect(first.content).toMatchObject({ previousDigestSignature: null, previousDigestS3Object: null, digestStartTime: '2026-03-04T05:00:00Z', digestEndTime: '2026-03-04T06:00:00Z' });
      expect(second.content).toMatchObject({
        previousDigestS3Bucket: BUCKET,
        previousDigestS3Object: chain[0].key,
        previousDigestSignature: chain[0].signature,
        previousDigestHashValue: createHash('sha256').update(chain[0].json).digest('hex'),
        previousDigestHashAlgorithm: 'SHA-256',
      });
      // Each hour lists the log files delivered in it; the hash is over the uncompressed content.
      const listedFiles = [...first.content.logFiles, ...second.content.logFiles];
      expect(listedFiles.map((f) => f.s3Object).sort()).toEqual(files.filter((f) => f.region === r).map((f) => f.key).sort());
      for (const lf of listedFiles) {
        const out = await s3c.send(new GetObjectCommand({ Bucket: lf.s3Bucket, Key: lf.s3Object }));
        const content = gunzipSync(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
        expect(createHash('sha256').update(content).digest('hex')).toBe(lf.hashValue);
      }
    }
    // Keys are regional: the other region's key does not verify this region's digest.
    expect((await verifyDigest(chains[1][0].key, 'eu-west-1')).reason).toBe('fingerprint not published');
  });

  it('can sign with a key CloudTrail never published, or after a key rotation', async () => {
    const files = buildTrailFiles({ accountIds: [ACCOUNT], regions: ['eu-west-1'], from: FROM, hours: 2 });
    putTrailFiles(s3, BUCKET, files);
    const base = { bucket: BUCKET, accountId: ACCOUNT, region: 'eu-west-1', trailName: 'org-trail', files, from: FROM, hours: 2 };
    const forged = writeDigestChain(s3, ct.trails, { ...base, signWith: (i) => (i === 1 ? ct.trails.unpublishedKey : undefined) });
    expect((await verifyDigest(forged[0].key, 'eu-west-1')).ok).toBe(true);
    expect((await verifyDigest(forged[1].key, 'eu-west-1')).reason).toBe('fingerprint not published');

    // Published fingerprint, wrong key: the signature check itself fails.
    const impostor = { ...ct.trails.unpublishedKey, fingerprint: ct.trails.signingKey('eu-west-1').fingerprint };
    const bad = writeDigestChain(s3, ct.trails, { ...base, hours: 1, signWith: () => impostor });
    expect((await verifyDigest(bad[0].key, 'eu-west-1')).reason).toBe('bad signature');

    const old = ct.trails.signingKey('eu-west-1');
    // Digests are signed when written, at their end time: the first (ends 06:00) with the old key.
    const next = ct.trails.rotateKey('eu-west-1', +FROM + 5_400_000);
    const rotated = writeDigestChain(s3, ct.trails, base);
    expect(rotated.map((d) => d.content.digestPublicKeyFingerprint)).toEqual([old.fingerprint, next.fingerprint]);
    expect((await Promise.all(rotated.map((d) => verifyDigest(d.key, 'eu-west-1')))).map((v) => v.ok)).toEqual([true, true]);
    const { PublicKeyList } = await ctClient().send(new ListPublicKeysCommand({ StartTime: FROM, EndTime: new Date(+FROM + 7_200_000) }));
    expect(PublicKeyList?.map((k) => k.Fingerprint)).toEqual([old.fingerprint, next.fingerprint]);
    expect(PublicKeyList?.[0].ValidityEndTime).toEqual(new Date(+FROM + 5_400_000));
  });

  it('reports trails and their status, settable per test', async () => {
    const c = ctClient('us-east-2');
    const { trailList } = await c.send(new DescribeTrailsCommand({}));
    expect(trailList).toEqual([
      expect.objectContaining({ Name: 'org-trail', S3BucketName: BUCKET, S3KeyPrefix: 'p', HomeRegion: 'eu-west-1', IsMultiRegionTrail: true, IsOrganizationTrail: true, LogFileValidationEnabled: true }),
    ]);
    expect((await c.send(new DescribeTrailsCommand({ includeShadowTrails: false }))).trailList).toEqual([]);

    const arn = `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/org-trail`;
    expect(await c.send(new GetTrailStatusCommand({ Name: arn }))).toMatchObject({ IsLogging: true });
    ct.trails.setStatus(arn, { isLogging: false, latestDeliveryError: 'AccessDenied', latestDigestDeliveryError: 'NoSuchBucket' });
    const status = await c.send(new GetTrailStatusCommand({ Name: arn }));
    expect(status).toMatchObject({ IsLogging: false, LatestDeliveryError: 'AccessDenied', LatestDigestDeliveryError: 'NoSuchBucket' });
    expect(status.StopLoggingTime).toBeInstanceOf(Date);
    ct.trails.setStatus(arn, { isLogging: true, latestDeliveryError: undefined, latestDigestDeliveryError: undefined });
    await expect(c.send(new GetTrailStatusCommand({ Name: 'nope' }))).rejects.toBeInstanceOf(TrailNotFoundException);

    registry.deny(auditor.accessKeyId, 'cloudtrail:ListPublicKeys');
    try {
      await expect(c.send(new ListPublicKeysCommand({}))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    } finally {
      registry.allow(auditor.accessKeyId, 'cloudtrail:ListPublicKeys');
    }
  });
});
