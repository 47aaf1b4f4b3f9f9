import {
  CloudTrailClient,
  InvalidMaxResultsException,
  InvalidNextTokenException,
  InvalidTimeRangeException,
  LookupEventsCommand,
  ThrottlingException,
  type LookupEventsCommandInput,
  type Event,
} from '@aws-sdk/client-cloudtrail';
import { startCloudTrail, type CloudTrailStandIn } from '../../standins/cloudtrail';
import { cloudTrailTime, generateEvents, loadRecords } from '../../standins/fixtures';
import { CredentialRegistry, type Principal } from '../../standins/sigv4';

const ACCOUNT = '111122223333';
const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('CloudTrail stand-in', () => {
  let clock = T0;
  const registry = new CredentialRegistry();
  const user = registry.createUser(ACCOUNT, 'reader');
  let ct: CloudTrailStandIn;
  const clients: CloudTrailClient[] = [];

  function client(p: Pick<Principal, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'> = user, region = 'us-east-1', maxAttempts = 1) {
    const c = new CloudTrailClient({ region, endpoint: ct.url, credentials: p, maxAttempts });
    clients.push(c);
    return c;
  }
  const lookup = (input: LookupEventsCommandInput, c = client()) => c.send(new LookupEventsCommand(input));

  /** Every event of a query, page by page; also returns the page sizes. */
  async function all(input: LookupEventsCommandInput, c = client()) {
    const events: Event[] = [];
    const sizes: number[] = [];
    let NextToken: string | undefined;
    do {
      clock += 1000; // stay within the rate limit
      const out = await lookup({ ...input, NextToken }, c);
      events.push(...(out.Events ?? []));
      sizes.push(out.Events?.length ?? 0);
      NextToken = out.NextToken;
    } while (NextToken);
    return { events, sizes };
  }

  beforeAll(async () => {
    ct = await startCloudTrail({ registry, now: () => clock });
  });
  afterAll(async () => {
    clients.forEach((c) => c.destroy());
    await ct.close();
  });
  beforeEach(() => {
    clock += 10_000;
    ct.clearEvents();
    ct.clearFaults();
    ct.resetStats();
    ct.setRatePerSecond(2);
  });

  it('pages through every event newest first, 50 at most per page, and maps each event like AWS', async () => {
    const records = generateEvents({ count: 120, region: 'us-east-1', accountId: ACCOUNT, from: T0, to: T0 + 600_000, seed: 7 });
    ct.addEvents('us-east-1', records);
    const { events, sizes } = await all({});
    expect(sizes).toEqual([50, 50, 20]);
    expect(events.map((e) => e.EventId).sort()).toEqual(records.map((r) => r.eventID).sort());
    const times = events.map((e) => (e.EventTime as Date).getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const sample = events[0];
    const record = records.find((r) => r.eventID === sample.EventId);
    expect(JSON.parse(sample.CloudTrailEvent as string)).toEqual(record);
    expect(sample).toMatchObject({
      EventName: record?.eventName,
      EventSource: record?.eventSource,
      EventTime: new Date(record?.eventTime as string),
    });
  });

  it('maps username, read-only flag, access key and resources from the record', async () => {
    const record = loadRecords().find((r) => Array.isArray(r.resources) && r.resources.length > 0 && r.userIdentity?.userName);
    expect(record).toBeDefined();
    if (!record) return;
    ct.addEvents('us-east-1', [record], { accountId: ACCOUNT });
    const [e] = (await lookup({})).Events ?? [];
    expect(e).toMatchObject({
      Username: record.userIdentity?.userName,
      ReadOnly: String(record.readOnly),
      AccessKeyId: record.userIdentity?.accessKeyId,
      Resources: record.resources?.map((r) => ({ ResourceType: r.type, ResourceName: r.ARN })),
    });
  });

  it('keeps events per account and per region (taken from the signature scope)', async () => {
    ct.addEvents('eu-west-1', generateEvents({ count: 3, region: 'eu-west-1', accountId: ACCOUNT, from: T0, perSecond: 1 }));
    const other = registry.createUser('999988887777', 'other');
    expect((await lookup({})).Events).toHaveLength(0);
    clock += 1000;
    expect((await lookup({}, client(user, 'eu-west-1'))).Events).toHaveLength(3);
    expect((await lookup({}, client(other, 'eu-west-1'))).Events).toHaveLength(0);
  });

  it('treats StartTime and EndTime as inclusive', async () => {
    const at = (s: number) => ({ ...loadRecords()[0], eventID: `id-${s}`, eventTime: cloudTrailTime(T0 + s * 1000) });
    ct.addEvents('us-east-1', [at(0), at(1), at(2), at(3)], { accountId: ACCOUNT });
    const out = await lookup({ StartTime: new Date(T0 + 1000), EndTime: new Date(T0 + 2000) });
    expect(out.Events?.map((e) => e.EventId)).toEqual(['id-2', 'id-1']);
    clock += 1000;
    await expect(lookup({ StartTime: new Date(T0 + 2001), EndTime: new Date(T0 + 2000) })).rejects.toBeInstanceOf(InvalidTimeRangeException);
  });

  it('filters on EventName, EventSource and ReadOnly', async () => {
    const records = loadRecords();
    ct.addEvents('us-east-1', records, { accountId: ACCOUNT });
    const count = (f: (r: (typeof records)[number]) => boolean) => records.filter(f).length;
    const byName = await all({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'ConsoleLogin' }] });
    expect(byName.events.length).toBe(count((r) => r.eventName === 'ConsoleLogin'));
    expect(byName.events.length).toBeGreaterThan(0);
    const bySource = await all({ LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'ec2.amazonaws.com' }] });
    expect(bySource.events.length).toBe(count((r) => r.eventSource === 'ec2.amazonaws.com'));
    const readOnly = await all({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'true' }] });
    expect(readOnly.events.length).toBe(count((r) => r.readOnly === true));
    expect(readOnly.events.every((e) => e.ReadOnly === 'true')).toBe(true);
  });

  it('rejects MaxResults over 50 and a NextToken reused with another query', async () => {
    ct.addEvents('us-east-1', generateEvents({ count: 10, region: 'us-east-1', accountId: ACCOUNT, from: T0, perSecond: 1 }));
    await expect(lookup({ MaxResults: 51 })).rejects.toBeInstanceOf(InvalidMaxResultsException);
    clock += 1000;
    const first = await lookup({ MaxResults: 4, StartTime: new Date(T0) });
    expect(first.NextToken).toBeDefined();
    clock += 1000;
    await expect(lookup({ MaxResults: 4, StartTime: new Date(T0 + 1000), NextToken: first.NextToken })).rejects.toBeInstanceOf(
      InvalidNextTokenException,
    );
    clock += 1000;
    await expect(lookup({ NextToken: 'not-a-token' })).rejects.toBeInstanceOf(InvalidNextTokenException);
    clock += 1000;
    // Only MaxResults may change between pages.
    const second = await lookup({ MaxResults: 6, StartTime: new Date(T0), NextToken: first.NextToken });
    expect(second.Events).toHaveLength(6);
    expect(second.NextToken).toBeUndefined();
  });

  it('throttles the third request in a 1 s window (half-open) and records what the client did', async () => {
    const c = client();
    await lookup({}, c);
    clock += 500;
    await lookup({}, c);
    clock += 499; // window (t-1000, t] still holds both
    const err = await lookup({}, c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThrottlingException);
    expect(err).toMatchObject({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    clock += 1; // the first request has left the window
    await expect(lookup({}, c)).resolves.toBeDefined();

    const s = ct.stats();
    expect(s).toMatchObject({ lookups: 4, throttled: 1 });
    expect(s.regions['us-east-1'].maxInAnyWindow).toBe(3);
    expect(s.accountRegions[`${ACCOUNT}/us-east-1`].requestTimes).toHaveLength(4);
  });

  it('limits each account and region separately', async () => {
    await lookup({});
    await lookup({});
    await expect(lookup({}, client(user, 'eu-west-1'))).resolves.toBeDefined();
    await expect(lookup({})).rejects.toBeInstanceOf(ThrottlingException);
  });

  it('hides late events until they are released', async () => {
    const [early, late] = generateEvents({ count: 2, region: 'us-east-1', accountId: ACCOUNT, from: T0, perSecond: 1 });
    ct.addEvents('us-east-1', [early]);
    ct.addEvents('us-east-1', [late], { visibleAt: clock + 5000 });
    expect((await lookup({})).Events?.map((e) => e.EventId)).toEqual([early.eventID]);
    clock += 5000;
    expect((await lookup({})).Events?.map((e) => e.EventId)).toEqual([late.eventID, early.eventID]);
  });

  it('releases each event a per-event delay after its EventTime', async () => {
    const events = generateEvents({ count: 3, region: 'us-east-1', accountId: ACCOUNT, from: clock - 3000, perSecond: 1 });
    const delays = new Map(events.map((e, i) => [e.eventID, [1000, 60_000, 600_000][i]]));
    ct.addEvents('us-east-1', events, { releaseAfterMs: (r) => delays.get(r.eventID) as number });
    const visible = async () => ((await lookup({})).Events ?? []).map((e) => e.EventId).sort();
    expect(await visible()).toEqual([events[0].eventID]);
    clock = Date.parse(events[1].eventTime) + 60_000;
    expect(await visible()).toEqual([events[0].eventID, events[1].eventID].sort());
    clock = Date.parse(events[2].eventTime) + 600_000;
    expect(await visible()).toEqual(events.map((e) => e.eventID).sort());
  });

  it('answers auth failures with the codes and messages AWS uses', async () => {
    const codeOf = (p: Pick<Principal, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>) =>
      lookup({}, client(p)).then(
        () => 'ok',
        (e: { name: string; message: string }) => e,
      );
    expect(await codeOf({ accessKeyId: 'AKIANOTKNOWN00000000', secretAccessKey: 'x'.repeat(40) })).toMatchObject({
      name: 'UnrecognizedClientException',
    });
    expect(await codeOf({ ...user, secretAccessKey: 'wrong'.repeat(8) })).toMatchObject({ name: 'InvalidSignatureException' });

    const denied = registry.createUser(ACCOUNT, 'no-lookup', { deniedActions: ['cloudtrail:LookupEvents'] });
    expect(await codeOf(denied)).toMatchObject({
      name: 'AccessDeniedException',
      message: `User: ${denied.userArn} is not authorized to perform: cloudtrail:LookupEvents because no identity-based policy allows the cloudtrail:LookupEvents action`,
    });
    const expired = registry.createUser(ACCOUNT, 'expired');
    registry.expire(expired.accessKeyId);
    expect(await codeOf(expired)).toMatchObject({ name: 'ExpiredTokenException' });
    expect(ct.stats().lookups).toBe(0);
  });

  describe('injected faults', () => {
    beforeEach(() => {
      ct.addEvents('us-east-1', generateEvents({ count: 30, region: 'us-east-1', accountId: ACCOUNT, from: T0, perSecond: 1 }));
    });

    it('throttle: a burst of ThrottlingException, then normal service', async () => {
      ct.setRatePerSecond(100);
      ct.injectFault({ kind: 'throttle', times: 2 });
      await expect(lookup({})).rejects.toBeInstanceOf(ThrottlingException);
      await expect(lookup({})).rejects.toBeInstanceOf(ThrottlingException);
      expect((await lookup({})).Events).toHaveLength(30);
      expect(ct.stats()).toMatchObject({ throttled: 2, faultsApplied: 2 });
    });

    it('internal: 500/503 that the SDK retries on its own', async () => {
      ct.setRatePerSecond(100);
      ct.injectFault({ kind: 'internal', status: 503 });
      const err = await lookup({}).catch((e: { name: string; $metadata: { httpStatusCode: number } }) => e);
      expect(err).toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
      ct.injectFault({ kind: 'internal' });
      const out = await lookup({}, client(user, 'us-east-1', 3));
      expect(out.Events).toHaveLength(30);
      expect(out.$metadata.attempts).toBe(2);
    });

    it('reset: the connection drops mid-response', async () => {
      ct.injectFault({ kind: 'reset' });
      await expect(lookup({})).rejects.toThrow();
      clock += 1000;
      expect((await lookup({})).Events).toHaveLength(30);
    });

    it('short-page: fewer events than asked, with a NextToken, and nothing lost', async () => {
      ct.injectFault({ kind: 'short-page', size: 3, times: 2 });
      const { events, sizes } = await all({ MaxResults: 10 });
      expect(sizes).toEqual([3, 3, 10, 10, 4]);
      expect(new Set(events.map((e) => e.EventId)).size).toBe(30);
    });

    it('delay: the page comes late', async () => {
      ct.injectFault({ kind: 'delay', ms: 300 });
      const started = Date.now();
      expect((await lookup({})).Events).toHaveLength(30);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    });

    it('applies faults only to the region asked for', async () => {
      ct.injectFault({ kind: 'throttle', region: 'eu-west-1' });
      expect((await lookup({})).Events).toHaveLength(30);
      expect(ct.pendingFaults()).toBe(1);
      await expect(lookup({}, client(user, 'eu-west-1'))).rejects.toBeInstanceOf(ThrottlingException);
      expect(ct.pendingFaults()).toBe(0);
    });
  });
});
