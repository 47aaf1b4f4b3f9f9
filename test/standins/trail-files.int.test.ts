import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { loadRecords } from '../../standins/fixtures';
import { startS3, type S3StandIn } from '../../standins/s3';
import { CredentialRegistry } from '../../standins/sigv4';
import { buildTrailFiles, putLargeTrailFile, putTrailFiles, trailLogKey } from '../../standins/trail-files';

const KEY_PATTERN =
  /^(?:(.+)\/)?AWSLogs\/(?:(o-[a-z0-9]+)\/)?(\d{12})\/(CloudTrail|CloudTrail-Insight)\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\/\3_\4_\5_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$/;

describe('trail files', () => {
  const registry = new CredentialRegistry();
  const user = registry.createUser('111122223333', 'reader');
  let s3: S3StandIn;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startS3({ registry });
    s3.createBucket('org-trail');
    client = new S3Client({ region: 'us-east-1', endpoint: s3.url, credentials: user, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await s3.close();
  });
  beforeEach(() => s3.reset());

  it('names files as CloudTrail does, with optional prefix and organization id', () => {
    const time = new Date('2026-03-04T05:06:59Z');
    expect(trailLogKey({ accountId: '111122223333', region: 'eu-west-1', time, unique: 'AbCdEfGhIjKlMnOp' })).toBe(
      'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/04/111122223333_CloudTrail_eu-west-1_20260304T0506Z_AbCdEfGhIjKlMnOp.json.gz',
    );
    const org = trailLogKey({ prefix: 'my trail', orgId: 'o-abc123def4', accountId: '444455556666', region: 'us-east-2', time, kind: 'CloudTrail-Insight' });
    expect(org).toMatch(KEY_PATTERN);
    expect(KEY_PATTERN.exec(org)?.slice(1, 6)).toEqual(['my trail', 'o-abc123def4', '444455556666', 'CloudTrail-Insight', 'us-east-2']);
  });

  it('packs the real records into gzip {"Records":[...]} files per account and region, readable through the SDK', async () => {
    const files = buildTrailFiles({
      accountIds: ['111122223333', '444455556666'],
      regions: ['us-east-1', 'eu-west-1'],
      prefix: 'org trail',
      orgId: 'o-abc123def4',
      from: new Date('2026-03-04T05:00:00Z'),
      insights: true,
    });
    // 12 five-minute files plus one Insight file per account-region.
    expect(files).toHaveLength(4 * 13);
    const stored = putTrailFiles(s3, 'org-trail', files);
    expect(stored.every((o, i) => o.etag === `"${createHash('md5').update(files[i].body).digest('hex')}"`)).toBe(true);

    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'org-trail', Prefix: 'org trail/AWSLogs/o-abc123def4/444455556666/CloudTrail/eu-west-1/' }));
    expect(listed.KeyCount).toBe(12);

    const templates = loadRecords();
    const perAccountRegion = new Map<string, string[]>();
    for (const f of files) {
      expect(f.key).toMatch(KEY_PATTERN);
      const m = KEY_PATTERN.exec(f.key) as RegExpExecArray;
      expect([m[3], m[5]]).toEqual([f.accountId, f.region]);
      const out = await client.send(new GetObjectCommand({ Bucket: 'org-trail', Key: f.key }));
      expect(out.ContentEncoding).toBe('gzip');
      const json = gunzipSync(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      expect(createHash('sha256').update(json).digest('hex')).toBe(f.sha256);
      const { Records } = JSON.parse(json.toString('utf8')) as { Records: Array<Record<string, unknown>> };
      expect(Records).toEqual(f.records);
      for (const r of Records) expect(r).toMatchObject({ recipientAccountId: f.accountId, awsRegion: f.region });
      if (f.kind === 'CloudTrail') {
        const seen = perAccountRegion.get(`${f.accountId}/${f.region}`) ?? [];
        perAccountRegion.set(`${f.accountId}/${f.region}`, [...seen, ...Records.map((r) => String(r.eventName))]);
      } else {
        expect(Records.map((r) => [r.eventCategory, r.eventType, r.eventName])).toEqual([
          ['Insight', 'AwsCloudTrailInsight', undefined],
          ['Insight', 'AwsCloudTrailInsight', undefined],
        ]);
      }
    }
    // Every account-region holds each of the 48 real records once (fresh ids, same content otherwise).
    expect(perAccountRegion.size).toBe(4);
    for (const names of perAccountRegion.values()) expect(names.sort()).toEqual(templates.map((t) => t.eventName).sort());
    const sample = files[0].records[0];
    const { eventID, requestID, eventTime, awsRegion, recipientAccountId, ...rest } = sample;
    const template = templates.find((t) => t.eventName === sample.eventName && t.eventSource === sample.eventSource) as Record<string, unknown>;
    expect([eventID, requestID, eventTime, awsRegion, recipientAccountId].every((v) => typeof v === 'string')).toBe(true);
    const { eventID: _a, requestID: _b, eventTime: _c, awsRegion: _d, recipientAccountId: _e, ...templateRest } = template;
    expect(rest).toEqual(templateRest);
    const ids = files.flatMap((f) => f.records.map((r) => r.eventID));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('streams a large file into the stand-in, holding only the compressed bytes', async () => {
    const big = await putLargeTrailFile(s3, 'org-trail', 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04/big.json.gz', {
      accountId: '111122223333',
      region: 'us-east-1',
      uncompressedBytes: 8 * 1024 * 1024,
      from: new Date('2026-03-04T00:00:00Z'),
      level: 1,
    });
    expect(big.uncompressedBytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(big.uncompressedBytes).toBeLessThan(8 * 1024 * 1024 + 5000);
    const json = gunzipSync(big.object.body);
    expect(json.length).toBe(big.uncompressedBytes);
    expect(createHash('sha256').update(json).digest('hex')).toBe(big.sha256);
    const { Records } = JSON.parse(json.toString('utf8')) as { Records: Array<{ eventID: string; eventTime: string }> };
    expect(Records).toHaveLength(big.records);
    expect(Records.map((r) => r.eventID)).toEqual(big.eventIds);
    expect(new Set(big.eventIds).size).toBe(big.records);
    expect(big.object.body.length).toBeLessThan(big.uncompressedBytes / 3);
  });
});
