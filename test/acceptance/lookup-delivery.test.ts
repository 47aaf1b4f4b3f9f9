/**
 * Acceptance, contract "Delivery promise" (LookupEvents source), black box: the handler at
 * functions/forwarder/handler.ts, an EventBridge scheduled event, the stand-ins reached through
 * AWS_ENDPOINT_URL_* and the DNIF URL, and new records (not the fixtures).
 */
import { lambdaContext, scheduledEvent, type CloudTrailRecord, type StandIns } from '../../standins';
import { useStandIns } from '../helpers/standins';
import { coldHandler, newRecords, uniqueName } from './support';

jest.setTimeout(60_000);

const PRIMARY = 'us-east-1';
const SECOND = 'eu-west-1';
const env = useStandIns({ region: PRIMARY, putDefaultSecret: false });
let s: StandIns;
beforeAll(() => (s = env()));

const MIN = 60_000;

async function freshConnector(overrides: Record<string, unknown> = {}): Promise<string> {
  await s.dnif.up();
  s.reset();
  const name = uniqueName('lookup');
  s.putConnectorSecret(s.connector({ connectorName: name, ...overrides }));
  return name;
}

const run = (h: ReturnType<typeof coldHandler>, timeoutMs = 60_000) => h(scheduledEvent(), lambdaContext(timeoutMs));

function expectExactlyOnce(expected: CloudTrailRecord[]): void {
  const ids = [...s.dnif.eventsById().keys()].sort();
  expect(ids).toEqual(expected.map((r) => r.eventID).sort());
  expect(s.dnif.duplicates).toBe(0);
}

function expectOldestFirstPerRegion(): void {
  const byRegion = new Map<string, number[]>();
  for (const e of s.dnif.events()) {
    const region = String((e.dnifForwarder as { region: string }).region);
    byRegion.set(region, [...(byRegion.get(region) ?? []), Date.parse(String(e.eventTime))]);
  }
  for (const times of byRegion.values()) expect(times).toEqual([...times].sort((a, b) => a - b));
}

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

  it('a DNIF outage (5xx for the whole run) loses nothing: the checkpoint stays, the next run delivers all once', async () => {
    await freshConnector();
    const now = Date.now();
    const records = newRecords(60, now - 30 * MIN, now - 6 * MIN, PRIMARY, s.accountId);
    s.cloudtrail.addEvents(PRIMARY, records, { accountId: s.accountId });
    s.dnif.reject(502);
    const started = Date.now();
    await run(coldHandler('forwarder'), 18_000).catch(() => undefined);
    expect(Date.now() - started).toBeLessThan(18_000);
    expect(s.dnif.eventsById().size).toBe(0);

    s.dnif.normal();
    await run(coldHandler('forwarder'));
    expectExactlyOnce(records);
    expectOldestFirstPerRegion();
  });

  it('a DNIF connection refused loses nothing, and DNIF hanging (timeouts) ends the run before the deadline; the next run delivers all once', async () => {
    await freshConnector();
    const now = Date.now();
    const records = newRecords(40, now - 30 * MIN, now - 6 * MIN, PRIMARY, s.accountId);
    s.cloudtrail.addEvents(PRIMARY, records, { accountId: s.accountId });

    await s.dnif.down('refuse');
    await run(coldHandler('forwarder'), 17_000).catch(() => undefined);
    await s.dnif.up();

    s.dnif.hang();
    const started = Date.now();
    await run(coldHandler('forwarder'), 16_500).catch(() => undefined);
    const took = Date.now() - started;
    expect(took).toBeLessThan(16_500);
    expect(s.dnif.attempts.some((a) => a.status === 'hung')).toBe(true); // it did send, and DNIF never answered
    s.dnif.normal();
    // A hung request may have been accepted by nobody; nothing was counted as delivered.
    expect(s.dnif.eventsById().size).toBe(0);

    await run(coldHandler('forwarder'));
    expectExactlyOnce(records);
  });

  it('lease: a second invocation running at the same time does nothing; together they deliver each event once', async () => {
    await freshConnector();
    const now = Date.now();
    const records = newRecords(240, now - 55 * MIN, now - 6 * MIN, PRIMARY, s.accountId);
    s.cloudtrail.addEvents(PRIMARY, records, { accountId: s.accountId });
    const [a, b] = await Promise.all([run(coldHandler('forwarder')), run(coldHandler('forwarder'))]);
    expect([a.forwarded, b.forwarded].sort((x: number, y: number) => x - y)).toEqual([0, 240]);
    expectExactlyOnce(records);
    for (const w of Object.values(s.cloudtrail.stats().accountRegions)) expect(w.maxInAnyWindow).toBeLessThanOrEqual(2);
  });

  it('stops cleanly before the deadline and the next run resumes where it stopped', async () => {
    await freshConnector();
    const now = Date.now();
    const records = newRecords(400, now - 55 * MIN, now - 6 * MIN, PRIMARY, s.accountId);
    s.cloudtrail.addEvents(PRIMARY, records, { accountId: s.accountId });
    s.cloudtrail.injectFault({ kind: 'delay', ms: 400, times: 20 });
    const timeoutMs = 16_500;
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
    process.env.LATENESS_SECONDS = '5';
    try {
      const now = Date.now();
      const early = newRecords(20, now - 30 * MIN, now - 2 * MIN, PRIMARY, s.accountId);
      s.cloudtrail.addEvents(PRIMARY, early, { accountId: s.accountId });
      const h = coldHandler('forwarder');
      await run(h);
      // Appears after the run, ~3 s after its eventTime (< 5 s).
      const late = newRecords(3, Date.now() - 3000, Date.now() - 2500, PRIMARY, s.accountId);
      s.cloudtrail.addEvents(PRIMARY, late, { accountId: s.accountId });
      await new Promise((r) => setTimeout(r, 5500));
      await run(h);
      await run(h);
      expectExactlyOnce([...early, ...late]);
    } finally {
      delete process.env.LATENESS_SECONDS;
    }
  });

  it('a DNIF 4xx (not 429) stops the run with an error and does not advance the checkpoint', async () => {
    await freshConnector();
    const now = Date.now();
    const records = newRecords(30, now - 30 * MIN, now - 6 * MIN, PRIMARY, s.accountId);
    s.cloudtrail.addEvents(PRIMARY, records, { accountId: s.accountId });
    s.dnif.reject(400);
    await expect(run(coldHandler('forwarder'))).rejects.toThrow();
    s.dnif.normal();
    await run(coldHandler('forwarder'));
    expectExactlyOnce(records);
  });

  it('a 3xx from DNIF is a failed delivery, never followed, and the checkpoint does not move past it', async () => {
    await freshConnector();
    const now = Date.now();
    const records = newRecords(30, now - 30 * MIN, now - 6 * MIN, PRIMARY, s.accountId);
    s.cloudtrail.addEvents(PRIMARY, records, { accountId: s.accountId });
    s.dnif.reject(307, { location: s.dnif.landingUrl });
    const out = await run(coldHandler('forwarder'), 18_000).then(
      (r) => ({ ok: true, r }),
      (e: unknown) => ({ ok: false, e }),
    );
    if (out.ok) expect((out as { r: { forwarded: number } }).r.forwarded).toBe(0);
    expect(s.dnif.landings).toBe(0);
    s.dnif.normal();
    await run(coldHandler('forwarder'));
    expectExactlyOnce(records);
  });
});
