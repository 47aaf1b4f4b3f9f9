/** Digest key names, and folder discovery when a store ignores the listing delimiter. */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { findDigestFolders, parseDigestKey, trailOfDigestKey } from '../../../functions/core/digest/digest-listing';

const KEY = 'p/AWSLogs/o-abcdefghij/111122223333/CloudTrail-Digest/eu-west-1/2026/12/01/111122223333_CloudTrail-Digest_eu-west-1_my_org.trail_us-east-1_20261201T230131Z.json.gz';

describe('digest key names', () => {
  it('give the end time, backfill, the trail (underscores and dots allowed) and its home region', () => {
    expect(parseDigestKey(KEY)).toEqual({ key: KEY, endMs: Date.UTC(2026, 11, 1, 23, 1, 31), backfill: false });
    expect(parseDigestKey(KEY.replace('.json.gz', '_backfill.json.gz'))?.backfill).toBe(true);
    expect(parseDigestKey('p/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/12/01/x.json.gz')).toBeUndefined();
    expect(trailOfDigestKey(KEY, '111122223333', 'eu-west-1')).toEqual({ name: 'my_org.trail', homeRegion: 'us-east-1' });
    expect(trailOfDigestKey(KEY, '999999999999', 'eu-west-1')).toBeUndefined();
  });
});

describe('findDigestFolders', () => {
  it('finds account-regions from the keys when the store returns no common prefixes', async () => {
    const s3 = mockClient(S3Client);
    const keys = [KEY, KEY.replace(/111122223333/g, '444455556666').replace(/eu-west-1/g, 'us-east-2'), 'p/AWSLogs/o-abcdefghij/111122223333/CloudTrail/eu-west-1/2026/12/01/f.json.gz'];
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({ Contents: keys.filter((k) => k.startsWith(input.Prefix)).map((Key) => ({ Key })) }));
    const folders = await findDigestFolders(new S3Client({ region: 'us-east-1' }), 'b', 'p');
    expect(folders.map((f) => `${f.orgId}/${f.account}/${f.region}`).sort()).toEqual(['o-abcdefghij/111122223333/eu-west-1', 'o-abcdefghij/444455556666/us-east-2']);
    s3.restore();
  });
});
