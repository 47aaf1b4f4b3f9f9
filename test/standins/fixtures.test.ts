import path from 'node:path';
import { FIXTURES_PATH, generateEvents, loadRecords } from '../../standins/fixtures';

describe('fixtures', () => {
  it('loads the 48 CloudTrail records the repository carries', () => {
    // Inside the repository: a clone without ../shared must still find them.
    expect(path.relative(path.resolve(__dirname, '..', '..'), FIXTURES_PATH)).toBe(path.join('fixtures', 'cloudtrail', 'records.ndjson'));
    const records = loadRecords();
    expect(records).toHaveLength(48);
    expect(records.every((r) => r.eventID && r.eventTime && r.eventName && r.eventSource)).toBe(true);
    records[0].eventName = 'changed';
    expect(loadRecords()[0].eventName).not.toBe('changed');
  });

  const from = Date.parse('2026-03-01T00:00:00Z');

  it('makes N distinct events over a time range, deterministic per seed', () => {
    const a = generateEvents({ count: 500, region: 'eu-west-1', accountId: '111122223333', from, to: from + 3_600_000, seed: 42 });
    expect(a).toHaveLength(500);
    expect(new Set(a.map((e) => e.eventID)).size).toBe(500);
    expect(a.every((e) => e.awsRegion === 'eu-west-1' && e.recipientAccountId === '111122223333')).toBe(true);
    const times = a.map((e) => Date.parse(e.eventTime));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(from);
    expect(Math.max(...times)).toBeLessThanOrEqual(from + 3_600_000);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(a[0].eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(new Set(a.map((e) => e.eventName)).size).toBeGreaterThan(20);

    const again = generateEvents({ count: 500, region: 'eu-west-1', accountId: '111122223333', from, to: from + 3_600_000, seed: 42 });
    expect(again).toEqual(a);
    const other = generateEvents({ count: 500, region: 'eu-west-1', accountId: '111122223333', from, to: from + 3_600_000, seed: 43 });
    expect(other.map((e) => e.eventID)).not.toEqual(a.map((e) => e.eventID));
  });

  it('makes events at a steady rate', () => {
    const e = generateEvents({ count: 10, region: 'us-east-1', accountId: '111122223333', from, perSecond: 2 });
    expect(e.map((x) => (Date.parse(x.eventTime) - from) / 1000)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(() => generateEvents({ count: 1, region: 'us-east-1', accountId: '1', from })).toThrow('exactly one');
  });
});
