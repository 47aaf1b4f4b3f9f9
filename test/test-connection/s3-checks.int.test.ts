/**
 * Test connection for the trail-file source (SOURCE=s3) against the stand-ins: bucket, newest
 * log file, KMS, queue, each failure with its stable code.
 */
import { handler } from '../../functions/test-connection/handler';
import { resetSecretCache } from '../../functions/core/secret';
import { resetS3Clients } from '../../functions/core/source/trail-files/s3-client';
import { buildTrailFiles, putTrailFiles, urlEvent } from '../../standins';
import { useStandIns } from '../helpers/standins';

const env = useStandIns();
const KEY_ARN = 'arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab';

async function test(vars: Record<string, string>) {
  const s = env();
  Object.assign(process.env, { SOURCE: 's3', TRAIL_QUEUE_URL: s.sqs.queue('tc-queue')?.url ?? '', ...vars });
  resetSecretCache();
  resetS3Clients();
  const res = await handler(urlEvent('GET'));
  return { status: res.statusCode, body: JSON.parse(res.body) as { status: string; checks: { name: string; ok: boolean; code: string; hint: string }[] } };
}

describe('test connection, source s3', () => {
  beforeAll(() => {
    const s = env();
    s.sqs.createQueue('tc-queue');
    s.s3.createBucket('tc-trail');
    putTrailFiles(s.s3, 'tc-trail', buildTrailFiles({ accountIds: ['111111111111'], regions: ['us-east-1'], prefix: 'org trail', orgId: 'o-abcdef1234', from: new Date('2026-11-30T00:00:00Z'), hours: 0.2 }));
    s.s3.createBucket('tc-kms');
    putTrailFiles(s.s3, 'tc-kms', buildTrailFiles({ accountIds: ['111111111111'], regions: ['us-east-1'], from: new Date('2026-11-30T00:00:00Z'), hours: 0.1 }), { kmsKeyArn: KEY_ARN });
  });
  afterAll(() => {
    for (const k of ['SOURCE', 'TRAIL_BUCKET', 'TRAIL_PREFIX', 'TRAIL_QUEUE_URL']) delete process.env[k];
  });

  it('passes with the bucket, the newest log file, the queue and DNIF checked (no LookupEvents)', async () => {
    const { status, body } = await test({ TRAIL_BUCKET: 'tc-trail', TRAIL_PREFIX: 'org trail' });
    expect(body.checks.map((c) => [c.name, c.code])).toEqual([
      ['secret', 'OK'], ['awsCredentials', 'OK'], ['trailBucket', 'OK'], ['trailFile', 'OK'], ['trailDigests', 'OK'], ['trailQueue', 'OK'], ['dnif', 'OK'],
    ]);
    expect(status).toBe(200);
  });

  it('names what is wrong: no trail files, no bucket, KMS denied, no queue', async () => {
    const code = (b: Awaited<ReturnType<typeof test>>['body'], name: string) => b.checks.find((c) => c.name === name)?.code;
    expect(code((await test({ TRAIL_BUCKET: 'tc-trail', TRAIL_PREFIX: 'wrong' })).body, 'trailBucket')).toBe('NoTrailFiles');
    expect(code((await test({ TRAIL_BUCKET: 'no-such-bucket-here', TRAIL_PREFIX: '' })).body, 'trailBucket')).toBe('NoSuchBucket');
    const s = env();
    s.registry.deny(s.connectorUser.accessKeyId, 'kms:Decrypt');
    const kms = await test({ TRAIL_BUCKET: 'tc-kms', TRAIL_PREFIX: '' });
    expect(code(kms.body, 'trailFile')).toBe('KmsAccessDenied');
    expect(kms.status).toBeGreaterThanOrEqual(400);
    const noQueue = await test({ TRAIL_BUCKET: 'tc-trail', TRAIL_PREFIX: 'org trail', TRAIL_QUEUE_URL: `${s.sqs.url}/111122223333/missing` });
    expect(code(noQueue.body, 'trailQueue')).toBe('QueueNotFound');
  });
});
