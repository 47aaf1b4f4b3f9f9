/**
 * Acceptance, contract "Delivery promise" and "What DNIF receives" (status codes) for the
 * LookupEvents source: DNIF 5xx for a whole run, connection refused, hanging, 4xx, 3xx.
 */
import { type StandIns } from '../../../standins';
import { useStandIns } from '../../helpers/standins';
import { lookupChecks } from './lookup-support';
import { coldHandler } from './support';

jest.setTimeout(60_000);

const PRIMARY = 'us-east-1';
const env = useStandIns({ region: PRIMARY, putDefaultSecret: false });
let s: StandIns;
beforeAll(() => (s = env()));
const { freshConnector, run, expectExactlyOnce, expectOldestFirstPerRegion, seedHistory } = lookupChecks(env);

describe('acceptance: LookupEvents delivery across DNIF faults', () => {
  it('a DNIF outage (5xx for the whole run) loses nothing: the checkpoint stays, the next run delivers all once', async () => {
    await freshConnector();
    const records = seedHistory(60, 30, 6);
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
    const records = seedHistory(40, 30, 6);

    await s.dnif.down('refuse');
    // Runs get 10 s beyond the 15 s deadline reserve: enough for the read plan to reach DNIF.
    await run(coldHandler('forwarder'), 25_000).catch(() => undefined);
    await s.dnif.up();

    s.dnif.hang();
    const started = Date.now();
    await run(coldHandler('forwarder'), 26_000).catch(() => undefined);
    const took = Date.now() - started;
    expect(took).toBeLessThan(26_000);
    expect(s.dnif.attempts.some((a) => a.status === 'hung')).toBe(true); // it did send, and DNIF never answered
    s.dnif.normal();
    // A hung request may have been accepted by nobody; nothing was counted as delivered.
    expect(s.dnif.eventsById().size).toBe(0);

    await run(coldHandler('forwarder'));
    expectExactlyOnce(records);
  });

  it('a DNIF 4xx (not 429) stops the run with an error and does not advance the checkpoint', async () => {
    await freshConnector();
    const records = seedHistory(30, 30, 6);
    s.dnif.reject(400);
    await expect(run(coldHandler('forwarder'))).rejects.toThrow();
    s.dnif.normal();
    await run(coldHandler('forwarder'));
    expectExactlyOnce(records);
  });

  it('a 3xx from DNIF is a failed delivery, never followed, and the checkpoint does not move past it', async () => {
    await freshConnector();
    const records = seedHistory(30, 30, 6);
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
