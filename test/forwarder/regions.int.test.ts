/**
 * awsRegions: one connector reads several regions in one invocation, in parallel, each with its
 * own checkpoint and its own 2 requests/s LookupEvents budget, so a busy region cannot starve
 * a quiet one, and a failing region does not hold the others back.
 */
import { ForwarderRunError } from '../../functions/forwarder/forward';
import { AWS_REGIONS, startStandIns, type StandIns } from '../../standins';
import { observeSource } from '../helpers/observe-source';
import { invokeForwarder, newConnector, recentEvents, sorted, storedCursor } from '../helpers/forwarder-helpers';

jest.setTimeout(120_000);

let s: StandIns;
let undoEnv: () => void;
beforeAll(async () => {
  // me-south-1 is an opt-in region this account has not enabled: AWS refuses requests signed for it.
  s = await startStandIns({ regions: AWS_REGIONS.filter((r) => r !== 'me-south-1') });
  undoEnv = s.applyEnv();
});
afterAll(async () => {
  undoEnv();
  await s.stop();
});

const sent = observeSource();

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;
const VOLUMES = { 'us-east-1': 1200, 'eu-west-1': 300, 'ap-southeast-2': 30 } as const;

describe('awsRegions', () => {
  it('delivers 3 regions of different volumes exactly once, reading them in parallel within 2 req/s each', async () => {
    const name = await newConnector(s, (n) => s.connector({ connectorName: n, awsRegion: undefined, awsRegions: [...REGIONS] }));
    const events = Object.fromEntries(REGIONS.map((r, i) => [r, recentEvents(VOLUMES[r], r, s.accountId, 100 + i)]));
    for (const r of REGIONS) s.cloudtrail.addEvents(r, events[r]);

    const started = Date.now();
    const summary = await invokeForwarder();
    const elapsed = Date.now() - started;

    // Exactly once, each event stamped with its own region.
    const all = REGIONS.flatMap((r) => events[r]);
    expect(summary.forwarded).toBe(all.length);
    expect(sorted(s.dnif.eventsById().keys())).toEqual(sorted(all.map((e) => e.eventID)));
    expect(s.dnif.duplicates).toBe(0);
    const regionOf = new Map(REGIONS.flatMap((r) => events[r].map((e) => [e.eventID, r] as const)));
    for (const [id, e] of s.dnif.eventsById()) expect(e.dnifForwarder?.region).toBe(regionOf.get(id));
    for (const r of REGIONS) {
      expect(summary.regions[r]).toMatchObject({ forwarded: VOLUMES[r], duplicatesSkipped: 0, stoppedEarly: false });
      expect(summary.regions[r].error).toBeUndefined();
      // Its own checkpoint.
      expect(await storedCursor(s, name, r)).toMatchObject({ head: expect.any(Number), sweep: expect.any(Number) });
    }

    // Its own limiter: never more than 2 LookupEvents sent in any second, per region (and account).
    expect(sent.maxPerSecond(REGIONS, started)).toBeLessThanOrEqual(2);
    // The stand-in shares this process's event loop, so its arrival times jitter by a few ms and
    // a request may land a little early and be throttled there: such throttles are counted and
    // retried (delivery above is exactly once), never more than the stand-in allows.
    const stats = s.cloudtrail.stats();
    expect(REGIONS.reduce((n, r) => n + summary.regions[r].throttles, 0)).toBe(stats.throttled);

    // In parallel: the regions' requests interleave in time...
    const span = (r: string) => {
      const t = stats.regions[r].requestTimes;
      return { first: Math.min(...t), last: Math.max(...t), count: t.length };
    };
    const [busy, medium, quiet] = REGIONS.map(span);
    for (const other of [medium, quiet]) {
      expect(other.first).toBeLessThan(busy.first + 1000); // all start together
      const inside = stats.regions[REGIONS[0]].requestTimes.filter((t) => t > other.first && t < other.last).length;
      expect(inside).toBeGreaterThan(0); // the busy region kept going while the other ran
    }
    // ...the busy region's volume does not delay the quiet one: it finishes in the first part of the run...
    expect(quiet.last - busy.first).toBeLessThan((busy.last - busy.first) / 2);
    // ...and the run takes about as long as its busiest region, not the sum of the three.
    const sequential = [busy, medium, quiet].reduce((n, x) => n + (x.count - 1) * 500, 0);
    expect(busy.count).toBeGreaterThan(2 * (medium.count + quiet.count) / 2);
    expect(elapsed).toBeLessThan(sequential);
    expect(elapsed).toBeLessThan((busy.count + 6) * 510 + 5_000);

    // A second run finds nothing new anywhere.
    const again = await invokeForwarder();
    expect(again.forwarded).toBe(0);
    expect(s.dnif.duplicates).toBe(0);
  });

  it('lets the other regions deliver and move their checkpoints when one region fails', async () => {
    const regions = ['us-east-1', 'me-south-1', 'eu-west-1'];
    const name = await newConnector(s, (n) => s.connector({ connectorName: n, awsRegion: undefined, awsRegions: regions }));
    for (const [i, r] of ['us-east-1', 'eu-west-1'].entries()) s.cloudtrail.addEvents(r, recentEvents(60, r, s.accountId, 200 + i));
    const secretReads = s.secrets.getSecretValueCalls;

    const err = (await invokeForwarder().catch((e: unknown) => e)) as ForwarderRunError;

    expect(err).toBeInstanceOf(ForwarderRunError);
    expect(err.message).toMatch(/^Forwarding failed in me-south-1 \(InvalidSignatureException: LookupEvents failed in me-south-1/);
    expect(err.summary.regions['us-east-1'].error).toBeUndefined();
    expect(err.summary.regions['eu-west-1'].error).toBeUndefined();
    // Its checkpoint stays where the first run anchored it: the backfill start, never moved.
    const failed = await storedCursor(s, name, 'me-south-1');
    expect(Number(failed?.head)).toBe(Number(failed?.sweep));
    expect(Number(failed?.head)).toBeLessThan(Date.now() / 1000 - 60);
    for (const r of ['us-east-1', 'eu-west-1']) expect(await storedCursor(s, name, r)).toMatchObject({ head: expect.any(Number) });
    // An auth-looking error: the handler read the secret again once and ran again (finding nothing new).
    expect(s.secrets.getSecretValueCalls - secretReads).toBe(2);
    expect(s.dnif.eventsById().size).toBe(120);
    expect(s.dnif.duplicates).toBe(0);
  });
});
