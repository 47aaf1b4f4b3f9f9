/**
 * Test connection, source s3: the trailDigests check (log file validation on, digests readable and
 * verified) against the S3 and CloudTrail stand-ins, with the stand-ins' signed digests.
 */
import { resetSecretCache } from '../../functions/core/secret';
import { resetS3Clients } from '../../functions/core/source/trail-files/s3-client';
import { handler } from '../../functions/test-connection/handler';
import { buildTrailFiles, putTrailFiles, urlEvent, writeDigestChain } from '../../standins';
import { useStandIns } from '../helpers/standins';

const env = useStandIns();
const HOUR = 3_600_000;

interface Check { name: string; ok: boolean; code: string; message: string; warnings?: string[] }

async function check(bucket: string): Promise<{ status: number; digests?: Check }> {
  Object.assign(process.env, { SOURCE: 's3', TRAIL_BUCKET: bucket, TRAIL_PREFIX: 'p' });
  resetSecretCache();
  resetS3Clients();
  const res = await handler(urlEvent('GET'));
  const body = JSON.parse(res.body) as { checks: Check[] };
  return { status: res.statusCode, digests: body.checks.find((c) => c.name === 'trailDigests') };
}

function trail(bucket: string, digests: 'valid' | 'foreign' | 'none') {
  const s = env();
  s.s3.createBucket(bucket);
  const from = new Date(Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR);
  const files = buildTrailFiles({ accountIds: ['111111111111'], regions: ['eu-west-1'], prefix: 'p', orgId: 'o-abcdef1234', from, hours: 2 });
  putTrailFiles(s.s3, bucket, files);
  if (digests === 'none') return;
  writeDigestChain(s.s3, s.cloudtrail.trails, {
    bucket, prefix: 'p', orgId: 'o-abcdef1234', accountId: '111111111111', region: 'eu-west-1', trailName: 't', files, from, hours: 2,
    signWith: () => (digests === 'foreign' ? s.cloudtrail.trails.unpublishedKey : undefined),
  });
}

afterAll(() => {
  for (const k of ['SOURCE', 'TRAIL_BUCKET', 'TRAIL_PREFIX']) delete process.env[k];
});

describe('test connection: trailDigests', () => {
  it('passes when the newest digest is read and verified', async () => {
    trail('td-valid', 'valid');
    const { status, digests } = await check('td-valid');
    expect(digests).toMatchObject({ ok: true, code: 'OK', message: expect.stringContaining('signature verified') });
    expect(status).toBe(200);
  });

  it('passes with a warning when log file validation is off', async () => {
    trail('td-none', 'none');
    const { status, digests } = await check('td-none');
    expect(digests).toMatchObject({ ok: true, message: expect.stringContaining('Log file validation looks off') });
    expect(digests?.warnings?.[0]).toContain('turn on log file validation');
    expect(status).toBe(200);
  });

  it('fails with DigestInvalid when the digest does not verify', async () => {
    trail('td-foreign', 'foreign');
    const { status, digests } = await check('td-foreign');
    expect(digests).toMatchObject({ ok: false, code: 'DigestInvalid' });
    expect(status).toBeGreaterThanOrEqual(400);
  });

  it('fails with AccessDenied when the reader may not call ListPublicKeys', async () => {
    trail('td-denied', 'valid');
    const s = env();
    s.registry.deny(s.connectorUser.accessKeyId, 'cloudtrail:ListPublicKeys');
    try {
      const { digests } = await check('td-denied');
      expect(digests).toMatchObject({ ok: false, code: 'AccessDenied' });
    } finally {
      s.registry.allow(s.connectorUser.accessKeyId, 'cloudtrail:ListPublicKeys');
    }
  });
});
