/**
 * dnif.syslog end to end: the real handler delivers CloudTrail events to a DNIF Adapter
 * stand-in over TLS with a client certificate, as RFC 5424 messages framed by octet counting,
 * through a dropped connection, an outage and a certificate rotation.
 */
import { ForwarderRunError } from '../../functions/forwarder/forward';
import { startStandIns, type CloudTrailRecord, type StandIns } from '../../standins';
import { startSyslogReceiver, type SyslogReceiver } from '../../standins/syslog-receiver';
import { captureStdout, invokeForwarder, newConnector, recentEvents, sorted, storedCursor, syslogConnector } from '../helpers/forwarder-helpers';

jest.setTimeout(120_000);

let s: StandIns;
let rx: SyslogReceiver;
let undoEnv: () => void;
beforeAll(async () => {
  s = await startStandIns();
  undoEnv = s.applyEnv();
  rx = await startSyslogReceiver({ tls: 'trusted', requireClientCert: true });
});
afterAll(async () => {
  undoEnv();
  await rx.close();
  await s.stop();
});
beforeEach(async () => {
  rx.clear();
  await rx.accept();
});
afterEach(() => rx.expectClean());

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];

async function connectorWithEvents(perRegion: number[], target: Record<string, unknown> = {}): Promise<{ name: string; events: CloudTrailRecord[] }> {
  const name = await newConnector(s, (n) => syslogConnector(s, rx, { connectorName: n, awsRegion: undefined, awsRegions: REGIONS }, target));
  const events: CloudTrailRecord[] = [];
  REGIONS.forEach((r, i) => {
    const batch = recentEvents(perRegion[i], r, s.accountId, 900 + i * 7 + perRegion[i]);
    s.cloudtrail.addEvents(r, batch);
    events.push(...batch);
  });
  return { name, events };
}

describe('dnif.syslog', () => {
  it('delivers every event of 3 regions exactly once as RFC 5424 over mutual TLS, MSG being the record plus dnifForwarder', async () => {
    const { name, events } = await connectorWithEvents([400, 120, 15]);

    const summary = await invokeForwarder();

    expect(summary.forwarded).toBe(events.length);
    expect(sorted(rx.eventsById().keys())).toEqual(sorted(events.map((e) => e.eventID)));
    expect(rx.duplicates).toBe(0);
    const byId = new Map(events.map((e) => [e.eventID, e]));
    for (const m of rx.messages) {
      const { dnifForwarder, ...record } = m.json ?? {};
      const original = byId.get(String(record.eventID)) as CloudTrailRecord;
      expect(record).toEqual(original);
      expect(dnifForwarder).toEqual({ connectorName: name, eventId: original.eventID, region: original.awsRegion, accountId: s.accountId, forwardedAt: expect.any(String) });
      expect(m).toMatchObject({ version: 1, facility: 16, severity: 6, timestamp: original.eventTime, hostname: name, appName: 'cloudtrail', procId: null, msgId: original.eventName, structuredData: null });
    }
    // Oldest first within each region.
    for (const r of REGIONS) {
      const times = rx.messages.filter((m) => m.json?.dnifForwarder?.region === r).map((m) => Date.parse(String(m.timestamp)));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    // One connection per batch, each closed by us and answered by the Adapter: its confirmation.
    expect(rx.connections.length).toBe(summary.regions['us-east-1'].batches + summary.regions['eu-west-1'].batches + summary.regions['ap-southeast-2'].batches);
    for (const c of rx.connections) expect(c).toMatchObject({ closedBy: 'client', clientCert: expect.any(String), tlsProtocol: 'TLSv1.3' });

    expect((await invokeForwarder()).forwarded).toBe(0);
  });

  it('loses nothing when the Adapter drops the connection mid-run: only the unconfirmed batch comes twice', async () => {
    const { events } = await connectorWithEvents([300, 200, 100]);
    rx.dropAfter(250);

    const summary = await invokeForwarder();

    expect(summary.forwarded).toBe(events.length);
    expect(sorted(rx.eventsById().keys())).toEqual(sorted(events.map((e) => e.eventID)));
    const broken = rx.connections.filter((c) => c.closedBy === 'receiver');
    expect(broken).toHaveLength(1);
    // What came twice is what the broken connection had taken of its one batch (≤ 500 events).
    expect(rx.duplicates).toBe(broken[0].messages);
    expect(rx.duplicates).toBeGreaterThan(0);
    expect(rx.messages.length).toBe(events.length + rx.duplicates);
    expect((await invokeForwarder()).forwarded).toBe(0);
  });

  it('keeps the checkpoint while the Adapter is down, and the next run delivers everything once', async () => {
    const { name, events } = await connectorWithEvents([40, 20, 10]);
    await rx.refuse();

    const err = (await invokeForwarder(30_000).catch((e: unknown) => e)) as ForwarderRunError;

    expect(err).toBeInstanceOf(ForwarderRunError);
    for (const r of REGIONS) {
      expect(err.summary.regions[r].error).toMatchObject({ code: 'DnifUnavailable', message: expect.stringContaining('ECONNREFUSED') });
      const oldest = Math.min(...events.filter((e) => e.awsRegion === r).map((e) => Date.parse(e.eventTime) / 1000));
      expect(Number((await storedCursor(s, name, r))?.head ?? 0)).toBeLessThanOrEqual(oldest);
    }
    expect(rx.messages).toHaveLength(0);

    await rx.accept();
    const next = await invokeForwarder();
    expect(next.forwarded).toBe(events.length);
    expect(rx.eventsById().size).toBe(events.length);
    expect(rx.duplicates).toBe(0);
  });

  it('reads the secret again once when the Adapter refuses the client certificate, and recovers once it is rotated in', async () => {
    // The secret lacks the client certificate DNIF asks for.
    const { events } = await connectorWithEvents([30, 0, 0], { cert: undefined, key: undefined });
    const reads = s.secrets.getSecretValueCalls;

    const err = (await invokeForwarder().catch((e: unknown) => e)) as ForwarderRunError;

    expect(err).toBeInstanceOf(ForwarderRunError);
    expect(err.summary.regions['us-east-1'].error).toMatchObject({ code: 'DnifAuthRejected', message: expect.stringMatching(/refused the TLS connection \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\).*dnif\.syslog\.cert\/key/) });
    expect(s.secrets.getSecretValueCalls - reads).toBe(2); // the first read, and one more after the rejection
    expect(rx.messages).toHaveLength(0);

    // The certificate is put in the secret; the function still holds the old one in its cache.
    const fixed = syslogConnector(s, rx, { connectorName: err.summary.connectorName, awsRegion: undefined, awsRegions: REGIONS });
    s.putConnectorSecret(fixed);
    const summary = await invokeForwarder();

    expect(s.secrets.getSecretValueCalls - reads).toBe(3);
    expect(summary.forwarded).toBe(events.length);
    expect(rx.eventsById().size).toBe(events.length);
    expect(rx.duplicates).toBe(0);
  });

  it('fails the run and keeps the checkpoint when syslog without TLS is aimed at a TLS listener (issue 11 #2)', async () => {
    // A plain configuration mistake: before, every batch counted as sent once flushed, and the
    // checkpoint moved past all of them while the listener threw the bytes away.
    const { name, events } = await connectorWithEvents([30, 20, 10], { tls: false, ca: undefined, cert: undefined, key: undefined });

    const { error, output } = await captureStdout(() => invokeForwarder(30_000));
    const err = error as ForwarderRunError;
    expect(output).toContain('did not confirm the batch');

    expect(err).toBeInstanceOf(ForwarderRunError);
    expect(err.summary.forwarded).toBe(0);
    for (const r of REGIONS) {
      expect(err.summary.regions[r].error).toMatchObject({ code: 'DnifUnavailable', message: expect.stringContaining('did not confirm the batch') });
      const oldest = Math.min(...events.filter((e) => e.awsRegion === r).map((e) => Date.parse(e.eventTime) / 1000));
      expect(Number((await storedCursor(s, name, r))?.head ?? 0)).toBeLessThanOrEqual(oldest);
    }
    expect(rx.messages).toHaveLength(0);
  });

  it('shrinks a record larger than dnif.syslog.maxMessageBytes and counts it as truncated (issue 11 #3)', async () => {
    const name = await newConnector(s, (n) => syslogConnector(s, rx, { connectorName: n }, { maxMessageBytes: 4096 }));
    const [big, ...rest] = recentEvents(5, s.region, s.accountId, 4242);
    const huge = { ...big, requestParameters: { policyDocument: 'p'.repeat(30_000) } } as typeof big;
    s.cloudtrail.addEvents(s.region, [huge, ...rest]);

    const summary = await invokeForwarder();

    expect(summary.forwarded).toBe(5);
    expect(summary.regions[s.region].truncated).toBe(1);
    for (const m of rx.messages) expect(m.length).toBeLessThanOrEqual(4096);
    const got = rx.eventsById().get(big.eventID);
    expect(got?.requestParameters).toMatch(/^\[removed by forwarder: \d+ bytes\]$/);
    expect(got?.dnifForwarder).toMatchObject({ connectorName: name, truncated: expect.arrayContaining(['requestParameters']) });
  });
});
