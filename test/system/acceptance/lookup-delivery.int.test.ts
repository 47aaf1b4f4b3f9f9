/**
 * Acceptance, contract "Delivery promise" (LookupEvents source), black box: the handler at
 * functions/forwarder/handler.ts, an EventBridge scheduled event, the stand-ins reached through
 * AWS_ENDPOINT_URL_* and the DNIF URL, and new records (not the fixtures).
 */
import { type StandIns } from '../../../standins';
import { useStandIns } from '../../helpers/standins';
import { lookupChecks, MIN } from './lookup-support';
import { coldHandler, newRecords } from './support';

jest.setTimeout(60_000);

const PRIMARY = 'us-east-1';
const SECOND = 'eu-west-1';
const env = useStandIns({ region: PRIMARY, putDefaultSecret: false });
let s: StandIns;
beforeAll(() => (s = env()));
const { freshConnector, run, expectExactlyOnce, expectOldestFirstPerRegion, seedHistory } = lookupChecks(env);

describe('acceptance: LookupEvents delivery promise', () => {
  it('delivers new, odd records exactly once, oldest first per region, as the record itself + dnifForwarder, across throttling and DNIF 5xx/429', async () => {
    const name = await freshConnector({ awsRegions: [PRIMARY, SECOND], awsRegion: undefined });
    const now = Date.now();
    const east = newRecords(130, now - 50 * MIN, now - 7 * MIN, PRIMARY, s.accountId);
    const west = newRecords(70, now - 45 * MIN, now - 8 * MIN, SECOND, s.accountId);
    // A very large record (~300 KB, near CloudTrail's own limit) and records lacking recipientAccountId.
    (east[10] as unknown as Record<string, unknown>).requestParameters = { document: '\u00e9\u{1F680}'.repeat(100_000) };
    delete (east[11] as { recipientAccountId?: string }).recipientAccountId;
    delete (west[5] as { recipientAccountId?: string }).recipientAccountId;
    s.cloudtrail.addEvents(PRIMARY, east, { accountId: s.accountId });
    s.cloudtrail.addEvents(SECOND, west, { accountId: s.accountId });
    s.cloudtrail.injectFault({ kind: 'throttle', code: 'ThrottlingException', times: 2, region: PRIMARY });
    s.cloudtrail.injectFault({ kind: 'throttle', code: 'Throttling', times: 2, region: SECOND });
    s.dnif.failNext(1, 503);
    s.dnif.failNext(1, 429, { retryAfter: 1 });

    const h = coldHandler('forwarder');
    const first = await run(h);
    expect(first).toEqual(expect.objectContaining({ forwarded: 200, duplicatesSkipped: expect.any(Number), pages: expect.any(Number), lagSeconds: expect.any(Number) }));
    expect(first).toHaveProperty('checkpoint');
    expect(first).toHaveProperty('regions');
    expectExactlyOnce([...east, ...west]);
    expectOldestFirstPerRegion();

    const byId = new Map([...east, ...west].map((r) => [r.eventID, r]));
    for (const e of s.dnif.events()) {
      const { dnifForwarder, ...record } = e;
      const original = byId.get(String(record.eventID));
      expect(record).toEqual(original);
      expect(dnifForwarder).toEqual(
        expect.objectContaining({
          connectorName: name,
          eventId: original?.eventID,
          region: original?.awsRegion,
          accountId: s.accountId,
          forwardedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
        }),
      );
      if ((dnifForwarder as { source?: unknown }).source !== undefined) expect((dnifForwarder as { source?: unknown }).source).toBe('lookup-events');
    }
    const stats = s.cloudtrail.stats();
    for (const w of Object.values(stats.accountRegions)) expect(w.maxInAnyWindow).toBeLessThanOrEqual(2);

    // A later run (warm) and a cold one send nothing again.
    expect((await run(h)).forwarded).toBe(0);
    expect((await run(coldHandler('forwarder'))).forwarded).toBe(0);
    expect(s.dnif.duplicates).toBe(0);
    const later = s.cloudtrail.stats();
    for (const w of Object.values(later.accountRegions)) expect(w.maxInAnyWindow).toBeLessThanOrEqual(2);
  });

  it('lease: a second invocation running at the same time does nothing; together they deliver each event once', async () => {
    await freshConnector();
    const records = seedHistory(240, 55, 6);
    const [a, b] = await Promise.all([run(coldHandler('forwarder')), run(coldHandler('forwarder'))]);
    expect([a.forwarded, b.forwarded].sort((x: number, y: number) => x - y)).toEqual([0, 240]);
    expectExactlyOnce(records);
    for (const w of Object.values(s.cloudtrail.stats().accountRegions)) expect(w.maxInAnyWindow).toBeLessThanOrEqual(2);
  });

  it('stops cleanly before the deadline and the next run resumes where it stopped', async () => {
    await freshConnector();
    const records = seedHistory(400, 55, 6);
    s.cloudtrail.injectFault({ kind: 'delay', ms: 400, times: 20 });
    const timeoutMs = 17_500;
    const started = Date.now();
    const first = await run(coldHandler('forwarder'), timeoutMs);
    expect(Date.now() - started).toBeLessThan(timeoutMs);
    expect(first.forwarded).toBeLessThan(400);
    s.cloudtrail.clearFaults();
    const second = await run(coldHandler('forwarder'));
    expect(first.forwarded + second.forwarded).toBe(400);
    expectExactlyOnce(records);
    expectOldestFirstPerRegion();
  });

  it('an event that appears late, within LATENESS_SECONDS of its eventTime, is still delivered, once', async () => {
    await freshConnector();
    process.env.LATENESS_SECONDS = '3';
    try {
      const now = Date.now();
      const early = newRecords(20, now - 30 * MIN, now - 2 * MIN, PRIMARY, s.accountId);
      s.cloudtrail.addEvents(PRIMARY, early, { accountId: s.accountId });
      const h = coldHandler('forwarder');
      await run(h);
      // Appears after the run, ~1.5 s after its eventTime (< 3 s).
      const late = newRecords(3, Date.now() - 1600, Date.now() - 1500, PRIMARY, s.accountId);
      s.cloudtrail.addEvents(PRIMARY, late, { accountId: s.accountId });
      await new Promise((r) => setTimeout(r, 3500));
      await run(h);
      await run(h);
      expectExactlyOnce([...early, ...late]);
    } finally {
      delete process.env.LATENESS_SECONDS;
    }
  });
});
