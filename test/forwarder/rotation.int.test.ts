/**
 * Secret rotation in the middle of a run: DNIF's token, or the connector's AWS access key,
 * changes while the function still holds the old secret. The first rejection (401/403 from
 * DNIF, an auth error from AWS) makes the handler read the secret again, once, and the run
 * carries on from the checkpoint: nothing lost, nothing twice.
 */
import { ForwarderRunError } from '../../functions/forwarder/forward';
import type { StandIns } from '../../standins';
import { useStandIns } from '../helpers/standins';
import { invokeForwarder, newConnector, recentEvents, sorted } from '../helpers/forwarder-helpers';

jest.setTimeout(120_000);

const standIns = useStandIns({ putDefaultSecret: false });
let s: StandIns;
beforeAll(() => (s = standIns()));
afterEach(() => {
  delete process.env.BATCH_MAX_EVENTS;
  s.dnif.setAuth({ type: 'bearer', token: 'dnif-test-token' });
});

const REGIONS = ['us-east-1', 'eu-west-1'];

describe('secret rotation mid-run', () => {
  it('DNIF token rotated: the 401 makes the handler read the new token and finish without loss or duplicates', async () => {
    process.env.BATCH_MAX_EVENTS = '25';
    const name = await newConnector(s, (n) => s.connector({ connectorName: n, awsRegion: undefined, awsRegions: REGIONS }));
    const events = REGIONS.flatMap((r, i) => recentEvents(i === 0 ? 500 : 200, r, s.accountId, 1100 + i));
    for (const r of REGIONS) s.cloudtrail.addEvents(r, events.filter((e) => e.awsRegion === r));
    const reads = s.secrets.getSecretValueCalls;

    // Once 100 events are in, DNIF's token is rotated and the secret updated, as an operator would.
    const rotated = s.dnif.waitForEvents(100, 60_000).then(() => {
      s.dnif.setAuth({ type: 'bearer', token: 'dnif-token-rotated' });
      s.putConnectorSecret(s.connector({ connectorName: name, awsRegion: undefined, awsRegions: REGIONS, dnif: { token: 'dnif-token-rotated' } }));
    });
    const summary = await invokeForwarder();
    await rotated;

    const rejected = s.dnif.attempts.filter((a) => a.status === 401);
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    expect(rejected.length).toBeLessThanOrEqual(REGIONS.length); // one per region at most, then no more
    expect(s.secrets.getSecretValueCalls - reads).toBe(2);
    // The summary is the second pass's: it finished what the first left.
    expect(summary.forwarded).toBeGreaterThan(0);
    expect(summary.forwarded).toBeLessThan(events.length);
    expect(sorted(s.dnif.eventsById().keys())).toEqual(sorted(events.map((e) => e.eventID)));
    expect(s.dnif.duplicates).toBe(0);
    // Everything after the rotation carried the new token.
    const firstRejected = Math.min(...rejected.map((a) => a.at));
    for (const r of s.dnif.requests.filter((q) => q.at > firstRejected)) expect(r.headers.authorization).toBe('Bearer dnif-token-rotated');
  });

  it('AWS access key rotated: the old key is deleted mid-run, the handler reads the new one and finishes', async () => {
    const oldUser = s.registry.createUser(s.accountId, `reader-old-${Date.now()}`);
    const newUser = s.registry.createUser(s.accountId, `reader-new-${Date.now()}`);
    const doc = (n: string, user: typeof oldUser) =>
      s.connector({ connectorName: n, awsRegion: undefined, awsRegions: REGIONS, awsAccessKeyId: user.accessKeyId, awsSecretAccessKey: user.secretAccessKey });
    process.env.BATCH_MAX_EVENTS = '25';
    const name = await newConnector(s, (n) => doc(n, oldUser));
    const events = REGIONS.flatMap((r, i) => recentEvents(i === 0 ? 600 : 150, r, s.accountId, 1200 + i));
    for (const r of REGIONS) s.cloudtrail.addEvents(r, events.filter((e) => e.awsRegion === r));
    const reads = s.secrets.getSecretValueCalls;

    const rotated = s.dnif.waitForEvents(150, 60_000).then(() => {
      s.putConnectorSecret(doc(name, newUser));
      s.registry.remove(oldUser.accessKeyId);
    });
    const summary = await invokeForwarder();
    await rotated;

    expect(s.secrets.getSecretValueCalls - reads).toBe(2);
    // CloudTrail refused the deleted key at least once (UnrecognizedClientException) before the new one took over.
    const stats = s.cloudtrail.stats();
    expect(stats.requests).toBeGreaterThan(stats.lookups);
    expect(summary.forwarded).toBeLessThan(events.length);
    expect(sorted(s.dnif.eventsById().keys())).toEqual(sorted(events.map((e) => e.eventID)));
    expect(s.dnif.duplicates).toBe(0);
  });

  it('reads the secret again only once: a token that is still wrong fails the run with a clear error', async () => {
    await newConnector(s, (n) => s.connector({ connectorName: n, dnif: { token: 'wrong-token' } }));
    s.cloudtrail.addEvents('us-east-1', recentEvents(20, 'us-east-1', s.accountId, 1300));
    const reads = s.secrets.getSecretValueCalls;

    const err = (await invokeForwarder().catch((e: unknown) => e)) as ForwarderRunError;

    expect(err).toBeInstanceOf(ForwarderRunError);
    expect(err.message).toBe('Forwarding failed in us-east-1 (DnifAuthRejected: DNIF rejected the batch: HTTP 401 Unauthorized)');
    expect(s.secrets.getSecretValueCalls - reads).toBe(2);
    expect(s.dnif.attempts.filter((a) => a.status === 401)).toHaveLength(2);
    expect(err.message).not.toContain('wrong-token');
  });
});
