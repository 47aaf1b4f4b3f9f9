import { parseTrailKey } from '../../../../functions/core/source/trail-files/trail-keys';

describe('parseTrailKey', () => {
  it('reads account, region and day of an account trail log file', () => {
    expect(parseTrailKey('AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/30/111122223333_CloudTrail_eu-west-1_20261130T0005Z_abc.json.gz')).toEqual({
      kind: 'log', prefix: '', orgId: undefined, account: '111122223333', region: 'eu-west-1', date: '2026-11-30',
    });
  });

  it('reads the organization id and a trail prefix with a space in it', () => {
    expect(parseTrailKey('org trails/AWSLogs/o-abcdef1234/444455556666/CloudTrail/us-east-1/2026/01/02/f.json.gz')).toMatchObject({
      kind: 'log', prefix: 'org trails', orgId: 'o-abcdef1234', account: '444455556666', region: 'us-east-1',
    });
  });

  it('tells Insight and digest files apart, and everything else is other', () => {
    expect(parseTrailKey('p/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/01/02/f.json.gz').kind).toBe('insight');
    expect(parseTrailKey('AWSLogs/o-abcdef1234/111122223333/CloudTrail-Digest/us-east-1/2026/01/02/f.json.gz').kind).toBe('digest');
    for (const key of [
      'AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/f.json',
      'AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/',
      'AWSLogs/111122223333/CloudTrail-Digest2/us-east-1/2026/01/02/f.json.gz',
      'AWSLogs/111122223333/Config/us-east-1/2026/01/02/f.json.gz',
      'AWSLogs/1111/CloudTrail/us-east-1/2026/01/02/f.json.gz',
      'AWSLogs/111122223333/elasticloadbalancing/us-east-1/2026/01/02/f.log.gz',
      'notes.txt',
    ]) expect(parseTrailKey(key).kind).toBe('other');
  });

  it('takes any .json.gz under a log kind folder, with region and day when the key has them', () => {
    expect(parseTrailKey('AWSLogs/o-abc/111122223333/CloudTrail/f.json.gz')).toEqual({ kind: 'log', prefix: '', orgId: 'o-abc', account: '111122223333', region: undefined, date: undefined });
    expect(parseTrailKey('AWSLogs/111122223333/CloudTrail/eu-central-2/x/f.json.gz')).toMatchObject({ kind: 'log', region: 'eu-central-2', date: undefined });
  });

  it('with a prefix, accepts only keys right under it', () => {
    const key = 'trails/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/f.json.gz';
    expect(parseTrailKey(key, 'trails').kind).toBe('log');
    expect(parseTrailKey(key, 'trails/').kind).toBe('log');
    expect(parseTrailKey(key, 'other').kind).toBe('other');
    expect(parseTrailKey(key, '').kind).toBe('other');
    expect(parseTrailKey('AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/f.json.gz', '').kind).toBe('log');
  });
});
